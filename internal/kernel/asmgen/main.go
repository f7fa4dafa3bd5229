// Command asmgen writes descent's assembly kernels for amd64 with avo.
//
// It is its own module, so that the main module does not depend on avo. Run
// it through go generate in internal/kernel, which writes each set of kernels
// to a .s file, their Go declarations to a _decl_amd64.go file, and the
// function that puts them into the dispatch tables to a _table_amd64.go file:
//
//	go run . -set update -out ../update_amd64.s -stubs ../update_decl_amd64.go -table ../update_table_amd64.go -pkg kernel
package main

import (
	"bytes"
	"flag"
	"fmt"
	"go/format"
	"log"
	"os"
	"strings"

	asm "github.com/mmcloughlin/avo/build"
)

func main() {
	set := flag.String("set", "", "the kernels to write: update, layer, gemm or prefetch")
	tableFile := flag.String("table", "", "the Go file to write the dispatch table to")
	flag.Parse()
	asm.ConstraintExpr("amd64,!noasm")
	isas := []isa{avx512, avx2}
	elems := []elem{f32, f64}
	ks := tableKernels[*set]
	switch *set {
	case "update", "layer":
		for _, i := range isas {
			for _, t := range elems {
				for _, k := range ks {
					if supports(k, i) && hasElem(k, t) {
						k.emit(vm{isa: i, elem: t})
					}
				}
			}
		}
	case "gemm":
		for _, i := range isas {
			for _, t := range elems {
				v := vm{isa: i, elem: t}
				for _, transA := range []bool{false, true} {
					for nv := 1; nv <= 2; nv++ {
						for mr := 1; mr <= v.tileRows(); mr++ {
							tile{mr: mr, nv: nv, transA: transA}.emit(v)
						}
					}
				}
				for _, trans := range []bool{false, true} {
					for nv := 1; nv <= 2; nv++ {
						pack{nv: nv, trans: trans}.emit(v)
					}
				}
			}
		}
	case "prefetch":
		for _, f := range prefetchers {
			f.emit()
		}
	default:
		log.Fatalf("asmgen: unknown set %q", *set)
	}
	if *tableFile != "" {
		if *set == "gemm" {
			writeGemmTable(*tableFile, isas, elems)
		} else {
			writeTable(*tableFile, *set, isas, elems, ks)
		}
	}
	asm.Generate()
}

// A kernel has an entry of its own in the table of its element type.
type kernel interface {
	id() string // the name of the entry
	emit(v vm)
}

// supports reports whether kernel k has a version for instruction set i:
// those that do not say otherwise (with a method supports) have one for
// every set; elsewhere the table keeps the reference loop.
func supports(k kernel, i isa) bool {
	if p, ok := k.(interface{ supports(isa) bool }); ok {
		return p.supports(i)
	}
	return true
}

// hasElem reports whether kernel k has a version for element type t: those
// that do not say otherwise (with a method hasElem) have one for both.
func hasElem(k kernel, t elem) bool {
	if p, ok := k.(interface{ hasElem(elem) bool }); ok {
		return p.hasElem(t)
	}
	return true
}

func (s stream) id() string    { return s.name }
func (r reduction) id() string { return r.name }

// tableKernels are the sets of kernels with table entries.
var tableKernels = map[string][]kernel{
	"update": append(append(append(kernels(updates), kernels(steps)...), kernels(moreSteps)...), kernels(reductions)...),
	"layer":  append(append(kernels(layers), pool{}, pool{relu: true}, pool{grad: true}, pool{grad: true, relu: true}, rows{name: "copyRows"}, rows{name: "addRows", add: true}, col2imTaps{}, im2colTaps{}, conv3x3{}, conv3x3{grad: true}), kernels(transcendentals)...),
}

func kernels[K kernel](ks []K) []kernel {
	var out []kernel
	for _, k := range ks {
		out = append(out, k)
	}
	return out
}

// writeTable writes the function that points the table entries of the
// kernels ks at their assembly for a level.
func writeTable(file, set string, isas []isa, elems []elem, ks []kernel) {
	var b bytes.Buffer
	header(&b)
	fmt.Fprintf(&b, "// accelerate%s points the %s kernels of the tables at the assembly for level l.\n", title(set), set)
	fmt.Fprintf(&b, "func accelerate%s(l level) {\n\tswitch l {\n", title(set))
	for _, i := range isas {
		fmt.Fprintf(&b, "\tcase %s:\n", strings.ToLower(i.name))
		for _, t := range elems {
			v := vm{isa: i, elem: t}
			for _, k := range ks {
				if supports(k, i) && hasElem(k, t) {
					fmt.Fprintf(&b, "\t\tk%d.%s = %s\n", 8*t.size, k.id(), v.fn(k.id()))
				}
			}
		}
	}
	fmt.Fprintf(&b, "\t}\n}\n")
	write(file, b.Bytes())
}

// writeGemmTable writes the function that fills the matrix multiply's tables
// for a level.
func writeGemmTable(file string, isas []isa, elems []elem) {
	var b bytes.Buffer
	header(&b)
	fmt.Fprintf(&b, "// accelerateGemm fills the matrix multiply's tables with the assembly for level l.\n")
	fmt.Fprintf(&b, "func accelerateGemm(l level) {\n\tswitch l {\n")
	for _, i := range isas {
		fmt.Fprintf(&b, "\tcase %s:\n", strings.ToLower(i.name))
		for _, t := range elems {
			v := vm{isa: i, elem: t}
			g := fmt.Sprintf("g%d", 8*t.size)
			fmt.Fprintf(&b, "\t\t%s.rows, %s.lanes = %d, %d\n", g, g, v.tileRows(), v.lanes())
			for ta, transA := range []bool{false, true} {
				for nv := 1; nv <= 2; nv++ {
					fmt.Fprintf(&b, "\t\t%s.tiles[%d][%d] = []gemmTile[%s]{", g, ta, nv-1, t.goType)
					for mr := 1; mr <= v.tileRows(); mr++ {
						fmt.Fprintf(&b, "%s, ", v.fn(tile{mr: mr, nv: nv, transA: transA}.name()))
					}
					fmt.Fprintf(&b, "}\n")
				}
			}
			for tb, trans := range []bool{false, true} {
				for nv := 1; nv <= 2; nv++ {
					fmt.Fprintf(&b, "\t\t%s.pack[%d][%d] = %s\n", g, tb, nv-1, v.fn(pack{nv: nv, trans: trans}.name()))
				}
			}
		}
	}
	fmt.Fprintf(&b, "\t}\n}\n")
	write(file, b.Bytes())
}

func header(b *bytes.Buffer) {
	fmt.Fprintf(b, "// Code generated by command: go run . %s. DO NOT EDIT.\n\n", strings.Join(os.Args[1:], " "))
	fmt.Fprintf(b, "//go:build amd64 && !noasm\n\npackage kernel\n\n")
}

func write(file string, src []byte) {
	src, err := format.Source(src)
	if err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile(file, src, 0o644); err != nil {
		log.Fatal(err)
	}
}

func title(s string) string { return strings.ToUpper(s[:1]) + s[1:] }
