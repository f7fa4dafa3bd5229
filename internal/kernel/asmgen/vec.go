package main

import (
	"fmt"

	asm "github.com/mmcloughlin/avo/build"
	op "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// An isa is a vector instruction set. AVX-512 kernels run on zmm registers
// and finish a slice with opmask-predicated loads and stores; AVX2 kernels
// run on ymm registers and finish with VMASKMOV.
type isa struct {
	name  string // suffix of the function names
	bytes int    // vector width
}

var (
	avx512 = isa{"AVX512", 64}
	avx2   = isa{"AVX2", 32}
)

// An elem is the element type of a kernel.
type elem struct {
	size   int    // bytes
	goType string // float32 or float64
}

var (
	f32 = elem{4, "float32"}
	f64 = elem{8, "float64"}
)

// vm emits instructions for one isa and element type. Every operation
// returns a fresh virtual register; avo allocates the physical ones.
type vm struct {
	isa
	elem
	tail reg.Register // the mask of a partial last vector (asm.K or vector register); nil for whole vectors
}

func (v *vm) is512() bool  { return v.bytes == 64 }
func (v *vm) single() bool { return v.size == 4 }
func (v *vm) lanes() int   { return v.bytes / v.size }

// fn is the name of the kernel's instance for this isa and element type.
func (v *vm) fn(kernel string) string {
	return fmt.Sprintf("%s%d%s", kernel, 8*v.size, v.name)
}

func (v *vm) vec() reg.VecVirtual {
	if v.is512() {
		return asm.ZMM()
	}
	return asm.YMM()
}

// ps picks the single- or double-precision form of an instruction.
func (v *vm) ps(s, d func(...op.Op)) func(...op.Op) {
	if v.single() {
		return s
	}
	return d
}

func (v *vm) op3(s, d func(...op.Op), a, b op.Op) reg.VecVirtual {
	r := v.vec()
	v.ps(s, d)(b, a, r)
	return r
}

func (v *vm) add(a, b op.Op) reg.VecVirtual { return v.op3(asm.VADDPS, asm.VADDPD, a, b) }
func (v *vm) sub(a, b op.Op) reg.VecVirtual { return v.op3(asm.VSUBPS, asm.VSUBPD, a, b) }
func (v *vm) mul(a, b op.Op) reg.VecVirtual { return v.op3(asm.VMULPS, asm.VMULPD, a, b) }
func (v *vm) div(a, b op.Op) reg.VecVirtual { return v.op3(asm.VDIVPS, asm.VDIVPD, a, b) }

func (v *vm) sqrt(a op.Op) reg.VecVirtual {
	r := v.vec()
	v.ps(asm.VSQRTPS, asm.VSQRTPD)(a, r)
	return r
}

// and is the bitwise and. VANDPS on zmm needs AVX512DQ; VPANDD does not.
func (v *vm) and(a, b op.Op) reg.VecVirtual {
	if v.is512() {
		return v.op3(asm.VPANDD, asm.VPANDQ, a, b)
	}
	return v.op3(asm.VANDPS, asm.VANDPD, a, b)
}

// xor is the bitwise exclusive or (VPXORD on zmm, which needs no AVX512DQ).
func (v *vm) xor(a, b op.Op) reg.VecVirtual {
	if v.is512() {
		return v.op3(asm.VPXORD, asm.VPXORQ, a, b)
	}
	return v.op3(asm.VXORPS, asm.VXORPD, a, b)
}

// Comparison predicates (quiet: NaN compares false, raises nothing).
const (
	cmpEQ    = 0x00
	cmpUNORD = 0x03
	cmpNEQ   = 0x04 // unordered: true for NaN
	cmpLT    = 0x11
	cmpLE    = 0x12
	cmpGE    = 0x1d
	cmpGT    = 0x1e
)

// cmp returns the mask of the lanes where a pred b.
func (v *vm) cmp(pred uint8, a, b op.Op) reg.Register {
	var m reg.Register
	if v.is512() {
		m = asm.K()
	} else {
		m = asm.YMM()
	}
	v.ps(asm.VCMPPS, asm.VCMPPD)(op.U8(pred), b, a, m)
	return m
}

// sel returns m ? t : f, lane by lane.
func (v *vm) sel(m reg.Register, t, f op.Op) reg.VecVirtual {
	r := v.vec()
	switch {
	case v.is512():
		v.ps(asm.VBLENDMPS, asm.VBLENDMPD)(t, f, m, r)
	case v.single():
		asm.VBLENDVPS(m, t, f, r)
	default:
		asm.VBLENDVPD(m, t, f, r)
	}
	return r
}

// maxNaN returns Go's max(a, b), provided b is never −0: NaN in either gives
// NaN. VMAXPS returns its second source, b, when either is NaN and when both
// are zeros, so only a NaN in a needs mending.
func (v *vm) maxNaN(a, b op.Op) reg.VecVirtual {
	r := v.op3(asm.VMAXPS, asm.VMAXPD, a, b)
	return v.sel(v.cmp(cmpUNORD, a, a), a, r)
}

// load reads one vector (the tail lanes only, zero elsewhere, in the tail).
func (v *vm) load(m op.Mem) reg.VecVirtual {
	r := v.vec()
	v.loadInto(m, r)
	return r
}

// loadInto is load into a given register.
func (v *vm) loadInto(m op.Mem, r reg.VecVirtual) {
	switch {
	case v.tail == nil:
		v.ps(asm.VMOVUPS, asm.VMOVUPD)(m, r)
	case v.is512() && v.single():
		asm.VMOVUPS_Z(m, v.tail, r)
	case v.is512():
		asm.VMOVUPD_Z(m, v.tail, r)
	case v.single():
		asm.VMASKMOVPS(m, v.tail, r)
	default:
		asm.VMASKMOVPD(m, v.tail, r)
	}
}

// store writes one vector (the tail lanes only, in the tail).
func (v *vm) store(r reg.Register, m op.Mem) {
	switch {
	case v.tail == nil:
		v.ps(asm.VMOVUPS, asm.VMOVUPD)(r, m)
	case v.is512():
		v.ps(asm.VMOVUPS, asm.VMOVUPD)(r, v.tail, m)
	case v.single():
		asm.VMASKMOVPS(r, v.tail, m)
	default:
		asm.VMASKMOVPD(r, v.tail, m)
	}
}

// broadcast fills a vector with the scalar at m.
func (v *vm) broadcast(m op.Mem) reg.VecVirtual {
	r := v.vec()
	v.ps(asm.VBROADCASTSS, asm.VBROADCASTSD)(m, r)
	return r
}

// splat fills a vector with the element whose bits are b.
func (v *vm) splat(name string, b uint64) reg.VecVirtual {
	if v.single() {
		return v.broadcast(constant(name+"32", op.U32(b)))
	}
	return v.broadcast(constant(name+"64", op.U64(b)))
}

func (v *vm) one() reg.VecVirtual {
	if v.single() {
		return v.splat("one", 0x3f800000)
	}
	return v.splat("one", 0x3ff0000000000000)
}

func (v *vm) absMask() reg.VecVirtual {
	if v.single() {
		return v.splat("absmask", 0x7fffffff)
	}
	return v.splat("absmask", 0x7fffffffffffffff)
}

func (v *vm) zero() reg.VecVirtual {
	r := v.vec()
	v.ps(asm.VXORPS, asm.VXORPD)(r, r, r)
	return r
}

// text starts a function with a Go signature; its pointers do not escape.
func text(name, signature string) {
	asm.TEXT(name, asm.NOSPLIT, signature)
	asm.Pragma("noescape")
}

// gp loads an integer or pointer parameter into a register.
func gp(name string) reg.GPVirtual {
	return asm.Load(asm.Param(name), asm.GP64()).(reg.GPVirtual)
}

var constants = map[string]op.Mem{}

// constant returns read-only data holding c, emitted once per file.
func constant(name string, c op.Constant) op.Mem {
	if m, ok := constants[name]; ok {
		return m
	}
	m := asm.GLOBL(name, asm.RODATA|asm.NOPTR)
	asm.DATA(0, c)
	constants[name] = m
	return m
}

// setTail sets v.tail to the mask of the first n lanes, 0 < n < lanes. It
// reads the mask from a table: 17 words (1<<i)−1 for AVX-512, and for AVX2
// eight −1 dwords followed by eight 0 dwords, read 32−n·size bytes in.
func (v *vm) setTail(n reg.GPVirtual) {
	if v.is512() {
		tab := asm.GP64()
		asm.LEAQ(constantTailMask(), tab)
		k := asm.K()
		asm.KMOVW(op.Mem{Base: tab, Index: n, Scale: 2}, k)
		v.tail = k
		return
	}
	if _, ok := constants["tailmask8"]; !ok {
		m := asm.GLOBL("tailmask8", asm.RODATA|asm.NOPTR)
		for i := 0; i < 16; i++ { // the assembler wants ascending offsets
			m := uint32(0)
			if i < 8 {
				m = 0xffffffff
			}
			asm.DATA(4*i, op.U32(m))
		}
		constants["tailmask8"] = m
	}
	off := asm.GP64()
	asm.MOVQ(n, off)
	asm.NEGQ(off)
	tab := asm.GP64()
	asm.LEAQ(constants["tailmask8"], tab)
	m := asm.YMM()
	asm.VMOVDQU(op.Mem{Base: tab, Index: off, Scale: byte(v.size), Disp: 32}, m)
	v.tail = m
}
