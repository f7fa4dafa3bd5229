package main

import (
	"strings"

	asm "github.com/mmcloughlin/avo/build"
	"github.com/mmcloughlin/avo/gotypes"
	op "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// The layers' elementwise kernels. As the optimizers' kernels, each repeats
// its reference loop in internal/kernel/layer.go in the same order, so
// results match it bit for bit.

var layers = []stream{
	{
		// y = x where !(x <= 0), else +0: NaN passes, −0 becomes +0.
		name: "relu", params: "x, y []T", slices: []string{"x", "y"}, unroll: 4,
		prep: func(e *step) { e.def("0", e.zero()) },
		body: func(e *step, _ map[string]bool) {
			x := e.ld("x")
			e.st("y", e.sel(e.cmp(cmpLE, x, e.c("0")), e.c("0"), x))
		},
	},
	{
		// dx = dy where !(x <= 0), else +0.
		name: "reluGrad", params: "x, dy, dx []T", slices: []string{"x", "dy", "dx"}, unroll: 4,
		prep: func(e *step) { e.def("0", e.zero()) },
		body: func(e *step, _ map[string]bool) {
			x, dy := e.ld("x"), e.ld("dy")
			e.st("dx", e.sel(e.cmp(cmpLE, x, e.c("0")), e.c("0"), dy))
		},
	},
	{
		// y = x + c
		name: "addConst", params: "c T, x, y []T", slices: []string{"x", "y"}, scalars: []string{"c"}, unroll: 4,
		body: func(e *step, _ map[string]bool) {
			e.st("y", e.add(e.ld("x"), e.c("c")))
		},
	},
	{
		// y = x·a + b
		name: "mulAdd", params: "x, a, b, y []T", slices: []string{"x", "a", "b", "y"}, unroll: 4,
		body: func(e *step, _ map[string]bool) {
			e.st("y", e.add(e.mul(e.ld("x"), e.ld("a")), e.ld("b")))
		},
	},
	{
		// y = x·a + b where !(x·a + b <= 0), else +0: mulAdd, then relu's test
		name: "mulAddReLU", params: "x, a, b, y []T", slices: []string{"x", "a", "b", "y"}, unroll: 4,
		prep: func(e *step) { e.def("0", e.zero()) },
		body: func(e *step, _ map[string]bool) {
			y := e.add(e.mul(e.ld("x"), e.ld("a")), e.ld("b"))
			e.st("y", e.sel(e.cmp(cmpLE, y, e.c("0")), e.c("0"), y))
		},
	},
	{
		// y = x·a + b, a and b scalars
		name: "affine", params: "a, b T, x, y []T", slices: []string{"x", "y"}, scalars: []string{"a", "b"}, unroll: 4,
		body: func(e *step, _ map[string]bool) {
			e.st("y", e.add(e.mul(e.ld("x"), e.c("a")), e.c("b")))
		},
	},
	{
		// dx = ((dy − a) − (x − mean)·k)·c, the scalars a channel's
		name: "normGradRun", params: "x, dy, dx []T, mean, a, k, c T", slices: []string{"x", "dy", "dx"},
		scalars: []string{"mean", "a", "k", "c"}, unroll: 4,
		body: func(e *step, _ map[string]bool) {
			x, dy := e.ld("x"), e.ld("dy")
			e.st("dx", e.mul(e.sub(e.sub(dy, e.c("a")), e.mul(e.sub(x, e.c("mean")), e.c("k"))), e.c("c")))
		},
	},
	{
		// s += (x − mean)·dy
		name: "addDiffProduct", params: "x, mean, dy, s []T", slices: []string{"x", "mean", "dy", "s"}, unroll: 4,
		body: func(e *step, _ map[string]bool) {
			x, mean, dy, s := e.ld("x"), e.ld("mean"), e.ld("dy"), e.ld("s")
			e.st("s", e.add(s, e.mul(e.sub(x, mean), dy)))
		},
	},
	{
		// dx = ((dy − a) − (x − mean)·k)·c
		name: "normGrad", params: "x, dy, mean, a, k, c, dx []T", slices: []string{"x", "dy", "mean", "a", "k", "c", "dx"}, unroll: 2,
		body: func(e *step, _ map[string]bool) {
			x, dy, mean, a, k, c := e.ld("x"), e.ld("dy"), e.ld("mean"), e.ld("a"), e.ld("k"), e.ld("c")
			e.st("dx", e.mul(e.sub(e.sub(dy, a), e.mul(e.sub(x, mean), k)), c))
		},
	},
	{
		// dx = ((g − a) − (x − mean)·k)·c, g = dy where !(y <= 0), else +0:
		// normGrad of the gradient let through by a ReLU whose output was y
		name: "normGradReLU", params: "x, y, dy, mean, a, k, c, dx []T", slices: []string{"x", "y", "dy", "mean", "a", "k", "c", "dx"}, unroll: 2,
		prep: func(e *step) { e.def("0", e.zero()) },
		body: func(e *step, _ map[string]bool) {
			x, y, dy, mean, a, k, c := e.ld("x"), e.ld("y"), e.ld("dy"), e.ld("mean"), e.ld("a"), e.ld("k"), e.ld("c")
			g := e.sel(e.cmp(cmpLE, y, e.c("0")), e.c("0"), dy)
			e.st("dx", e.mul(e.sub(e.sub(g, a), e.mul(e.sub(x, mean), k)), c))
		},
	},
	{
		// z = x + y
		name: "add", params: "x, y, z []T", slices: []string{"x", "y", "z"}, unroll: 4,
		body: func(e *step, _ map[string]bool) {
			e.st("z", e.add(e.ld("x"), e.ld("y")))
		},
	},
	{
		// z = x·y
		name: "mul", params: "x, y, z []T", slices: []string{"x", "y", "z"}, unroll: 4,
		body: func(e *step, _ map[string]bool) {
			e.st("z", e.mul(e.ld("x"), e.ld("y")))
		},
	},
	{
		// y = ((x − m)·s)·w + b, a layer norm's row
		name: "layerNorm", params: "x, w, b, y []T, m, s T", slices: []string{"x", "w", "b", "y"}, scalars: []string{"m", "s"}, unroll: 4,
		body: func(e *step, _ map[string]bool) {
			e.st("y", e.add(e.mul(e.mul(e.sub(e.ld("x"), e.c("m")), e.c("s")), e.ld("w")), e.ld("b")))
		},
	},
	{
		// acc += ((x − m)·s)·dy, a layer norm's weight gradient
		name: "addNormProduct", params: "x, dy, acc []T, m, s T", slices: []string{"x", "dy", "acc"}, scalars: []string{"m", "s"}, unroll: 4,
		body: func(e *step, _ map[string]bool) {
			e.st("acc", e.add(e.ld("acc"), e.mul(e.mul(e.sub(e.ld("x"), e.c("m")), e.c("s")), e.ld("dy"))))
		},
	},
	{
		// dp = p·(dp − c), a softmax's input gradient with c = Σ p·dp
		name: "softmaxGrad", params: "p, dp []T, c T", slices: []string{"p", "dp"}, scalars: []string{"c"}, unroll: 4,
		body: func(e *step, _ map[string]bool) {
			e.st("dp", e.mul(e.ld("p"), e.sub(e.ld("dp"), e.c("c"))))
		},
	},
	{
		// s += (x − mean)·(x − mean)
		name: "addSquaredDiff", params: "x, mean, s []T", slices: []string{"x", "mean", "s"}, unroll: 4,
		body: func(e *step, _ map[string]bool) {
			x, mean, s := e.ld("x"), e.ld("mean"), e.ld("s")
			d := e.sub(x, mean)
			e.st("s", e.add(s, e.mul(d, d)))
		},
	},
}

// A band kernel works on an m×n band of a matrix (rows ld elements apart)
// column block by column block: a block of a few vectors across, down all
// m rows, then the next, the last block one partial vector under a mask.
// What a column needs across the rows (a bias, a sum) stays in registers
// for the whole block, and each element is computed as in the reference
// loop in internal/kernel/layer.go, so results match it bit for bit.
type band struct {
	name   string
	params string // the Go parameters after m, n int, with T for the element type
	unroll int    // vectors per block
	// block emits the work of a block of k vectors whose first column is off
	// bytes into the rows, v.tail set for the partial one; label prefixes its
	// labels.
	block func(v *vm, m, off reg.GPVirtual, k int, label string)
}

// bands are the band kernels of the layer set.
var bands = []band{
	{
		// x[i,j] += b[j], a dense layer's bias
		name: "addRowVector", params: "b, x []T, ldx int", unroll: 4,
		block: func(v *vm, m, off reg.GPVirtual, k int, label string) {
			v.biasRows(m, off, k, label, false)
		},
	},
	{
		// x[i,j] = relu(x[i,j] + b[j]): the bias, then ReLU's test as in relu
		name: "biasReLU", params: "b, x []T, ldx int", unroll: 4,
		block: func(v *vm, m, off reg.GPVirtual, k int, label string) {
			v.biasRows(m, off, k, label, true)
		},
	},
	{
		// s[j] += x[0,j] + x[1,j] + …, the rows added in order
		name: "addColumnSums", params: "x []T, ldx int, s []T", unroll: 8,
		block: func(v *vm, m, off reg.GPVirtual, k int, label string) {
			s := offset(asm.Param("s").Base(), off)
			acc := make([]reg.VecVirtual, k)
			for j := range acc {
				acc[j] = v.load(op.Mem{Base: s, Disp: j * v.bytes})
			}
			v.downRows(m, off, []string{"x"}, label, func(p []reg.GPVirtual) {
				for j := range acc {
					x := op.Op(op.Mem{Base: p[0], Disp: j * v.bytes})
					if v.tail != nil {
						x = v.load(x.(op.Mem))
					}
					v.ps(asm.VADDPS, asm.VADDPD)(x, acc[j], acc[j]) // acc + x, in place down the rows
				}
			})
			for j, a := range acc {
				v.store(a, op.Mem{Base: s, Disp: j * v.bytes})
			}
		},
	},
	// s[j] += (x[0,j] − mean[j])² + …: addSquaredDiff down the rows, the
	// sums held in registers
	columnSums("addColumnSquaredDiffs", squaredDiffs),
	// s[j] += dy[0,j] + dy[1,j] + … and d[j] += (x[0,j] − mean[j])·dy[0,j] + …:
	// addColumnSums and addDiffProduct down the rows in one pass
	columnSums("addColumnSumsDots", sumsDots),
	// addColumnSumsDots of g = dy where !(y <= 0), else +0, the gradient let
	// through by a ReLU
	columnSums("addReLUColumnSumsDots", reluSumsDots),
	{
		// dx[i,j] = dy[i,j] where !(y[i,j] <= 0), else +0, as reluGrad
		name: "reluGradRows", params: "y []T, ldy int, dy []T, lddy int, dx []T, lddx int", unroll: 4,
		block: func(v *vm, m, off reg.GPVirtual, k int, label string) {
			zero := v.zero()
			v.downRows(m, off, []string{"y", "dy", "dx"}, label, func(p []reg.GPVirtual) {
				for j := 0; j < k; j++ {
					at := func(r reg.GPVirtual) op.Mem { return op.Mem{Base: r, Disp: j * v.bytes} }
					y, dy := v.load(at(p[0])), v.load(at(p[1]))
					v.store(v.sel(v.cmp(cmpLE, y, zero), zero, dy), at(p[2]))
				}
			})
		},
	},
}

func (b band) id() string { return b.name }

func (b band) emit(v vm) {
	text(v.fn(b.name), "func(m, n int, "+strings.ReplaceAll(b.params, "T", v.goType)+")")
	m, n := gp("m"), gp("n")
	off, left := asm.GP64(), asm.GP64()
	asm.XORQ(off, off)
	asm.MOVQ(n, left)
	asm.Label("wide")
	asm.CMPQ(left, op.U32(b.unroll*v.lanes()))
	asm.JB(op.LabelRef("narrow"))
	b.block(&v, m, off, b.unroll, "wide")
	asm.ADDQ(op.U32(b.unroll*v.bytes), off)
	asm.SUBQ(op.U32(b.unroll*v.lanes()), left)
	asm.JMP(op.LabelRef("wide"))
	asm.Label("narrow")
	asm.CMPQ(left, op.U32(v.lanes()))
	asm.JB(op.LabelRef("last"))
	b.block(&v, m, off, 1, "narrow")
	asm.ADDQ(op.U32(v.bytes), off)
	asm.SUBQ(op.U32(v.lanes()), left)
	asm.JMP(op.LabelRef("narrow"))
	asm.Label("last")
	asm.TESTQ(left, left)
	asm.JZ(op.LabelRef("done"))
	v.setTail(left)
	b.block(&v, m, off, 1, "last")
	v.tail = nil
	asm.Label("done")
	asm.VZEROUPPER()
	asm.RET()
}

// offset returns a register holding the address off bytes into the slice
// parameter base.
func offset(base gotypes.Component, off reg.GPVirtual) reg.GPVirtual {
	p := asm.Load(base, asm.GP64()).(reg.GPVirtual)
	asm.ADDQ(off, p)
	return p
}

// downRows emits the loop over the m rows of a block whose first column is
// off bytes in: each of the matrices named (slice parameters, with their
// row strides in the parameters "ld"+name) is walked a row at a time, row
// gets the registers pointing at the current row's block.
func (v *vm) downRows(m, off reg.GPVirtual, mats []string, label string, row func(p []reg.GPVirtual)) {
	p := make([]reg.GPVirtual, len(mats))
	ld := make([]reg.GPVirtual, len(mats))
	for i, name := range mats {
		p[i] = offset(asm.Param(name).Base(), off)
		ld[i] = v.stride("ld" + name)
	}
	cnt := asm.GP64()
	asm.MOVQ(m, cnt)
	asm.Label(label + "_row")
	asm.TESTQ(cnt, cnt)
	asm.JZ(op.LabelRef(label + "_end"))
	row(p)
	for i := range p {
		asm.ADDQ(ld[i], p[i])
	}
	asm.DECQ(cnt)
	asm.JMP(op.LabelRef(label + "_row"))
	asm.Label(label + "_end")
}

// biasRows emits a block of addRowVector (or, with relu, biasReLU): the
// bias's k vectors held in registers down the rows of x.
func (v *vm) biasRows(m, off reg.GPVirtual, k int, label string, relu bool) {
	b := offset(asm.Param("b").Base(), off)
	bias := make([]reg.VecVirtual, k)
	for j := range bias {
		bias[j] = v.load(op.Mem{Base: b, Disp: j * v.bytes})
	}
	var zero reg.VecVirtual
	if relu {
		zero = v.zero()
	}
	v.downRows(m, off, []string{"x"}, label, func(p []reg.GPVirtual) {
		for j := range bias {
			at := op.Mem{Base: p[0], Disp: j * v.bytes}
			y := v.add(v.load(at), bias[j]) // x + b, x the first operand as in the reference
			if relu {
				y = v.sel(v.cmp(cmpLE, y, zero), zero, y)
			}
			v.store(y, at)
		}
	})
}

// A sumsKind is what a columnSums kernel adds down the rows.
type sumsKind int

const (
	squaredDiffs sumsKind = iota // (x − mean)² to s
	sumsDots                     // g = dy to s and (x − mean)·g to d
	reluSumsDots                 // the same with g = dy where !(y <= 0), else +0
)

// columnSums returns the band kernel named name that adds the terms of
// kind down the rows to its sums, held in registers (and the means) for a
// block.
func columnSums(name string, kind sumsKind) band {
	params := map[sumsKind]string{
		squaredDiffs: "x []T, ldx int, mean, s []T",
		sumsDots:     "x []T, ldx int, mean, dy []T, lddy int, s, d []T",
		reluSumsDots: "x []T, ldx int, mean, y []T, ldy int, dy []T, lddy int, s, d []T",
	}[kind]
	unroll := 4
	if kind != squaredDiffs { // two sums, the means (and the mask): 16 ymm registers hold two vectors across
		unroll = 2
	}
	return band{name: name, params: params, unroll: unroll, block: func(v *vm, m, off reg.GPVirtual, k int, label string) {
		v.columnSums(m, off, k, label, kind)
	}}
}

// columnSums emits a block of a columnSums kernel: the sums' k vectors and
// the means' loaded into registers, each row's terms added to them in the
// reference loop's order (acc + term, the term computed as it computes
// it), the sums stored after the last row.
func (v *vm) columnSums(m, off reg.GPVirtual, k int, label string, kind sumsKind) {
	sums, mats := []string{"s"}, []string{"x"}
	switch kind {
	case sumsDots:
		sums, mats = append(sums, "d"), append(mats, "dy")
	case reluSumsDots:
		sums, mats = append(sums, "d"), append(mats, "dy", "y")
	}
	at := func(r reg.GPVirtual, j int) op.Mem { return op.Mem{Base: r, Disp: j * v.bytes} }
	ptr, acc := make([]reg.GPVirtual, len(sums)), make([][]reg.VecVirtual, len(sums))
	for i, name := range sums {
		ptr[i], acc[i] = offset(asm.Param(name).Base(), off), make([]reg.VecVirtual, k)
		for j := range k {
			acc[i][j] = v.load(at(ptr[i], j))
		}
	}
	mu, mean := offset(asm.Param("mean").Base(), off), make([]reg.VecVirtual, k)
	for j := range mean {
		mean[j] = v.load(at(mu, j))
	}
	var zero reg.VecVirtual
	if kind == reluSumsDots {
		zero = v.zero()
	}
	addTo := func(a reg.VecVirtual, t reg.VecVirtual) { v.ps(asm.VADDPS, asm.VADDPD)(t, a, a) } // a + t, in place down the rows
	v.downRows(m, off, mats, label, func(p []reg.GPVirtual) {
		for j := range k {
			d := v.sub(v.load(at(p[0], j)), mean[j])
			if kind == squaredDiffs {
				addTo(acc[0][j], v.mul(d, d))
				continue
			}
			g := v.load(at(p[1], j))
			if kind == reluSumsDots {
				g = v.sel(v.cmp(cmpLE, v.load(at(p[2], j)), zero), zero, g)
			}
			addTo(acc[0][j], g)
			addTo(acc[1][j], v.mul(d, g))
		}
	})
	for i := range sums {
		for j := range k {
			v.store(acc[i][j], at(ptr[i], j))
		}
	}
}

func init() {
	tableKernels["layer"] = append(tableKernels["layer"], kernels(bands)...)
}
