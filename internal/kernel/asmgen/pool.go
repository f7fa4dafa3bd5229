package main

import (
	asm "github.com/mmcloughlin/avo/build"
	op "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// The 2×2 max-pooling kernels of internal/kernel/pool2.go, for AVX-512 only:
// they need its two-table permutes to split a row into the even and odd
// columns of its windows (and to merge them back), its opmasks, and its
// truncating stores of the argmax codes. Elsewhere the reference loops run.
//
// A window is a, b (its first row) and c, d (its second); its maximum is
// the first largest in that order, or the last NaN. Both kernels walk the
// planes of a call one after another, a plane two rows at a time and each
// pair of rows one vector of windows at a time, the last one under masks;
// the windows' maximum is found as max(max(a, b), max(c, d)), each max
// taking its second operand when it is larger or NaN, which picks the same
// element as the reference's loop over a, b, c, d.
//
// With relu, the pooling kernel first adds each plane's bias b[p] to its
// elements and takes their ReLU, as AddConst and ReLU would before it; the
// gradient kernel first zeroes the gradient of each window whose pooled
// output is ≤ 0, as ReLUGrad would before it (the pooled outputs of a
// ReLU, y, laid out as the gradients).
type pool struct{ grad, relu bool }

func (p pool) id() string {
	switch {
	case p.relu && p.grad:
		return "reluMaxPoolGrad"
	case p.relu:
		return "biasReLUMaxPool"
	case p.grad:
		return "maxPoolGrad"
	}
	return "maxPool"
}

func (pool) supports(i isa) bool { return i == avx512 }

// poolRegs are the registers of a walk over the windows of a plane.
type poolRegs struct {
	rows, ow  reg.GPVirtual // row pairs left; windows per row pair
	w         reg.GPVirtual // bytes per image row
	img, img1 reg.GPVirtual // the row pair's two rows
	out, code reg.GPVirtual // the row pair's outputs (or gradients) and codes
	j         reg.GPVirtual // the first window of the vector
	j2        reg.GPVirtual // its first image column, 2·j
	n         reg.GPVirtual // windows in the vector
	kn        reg.Register  // the n windows
	k0, k1    reg.Register  // their 2n image columns, in two vectors
}

// walk emits the loops over the planes, their row pairs and the vectors of
// windows of a row pair; body emits the work on one vector. A plane's image
// rows begin ldx elements after the previous plane's, its pooled outputs
// (or gradients) and codes ldy after. A row pair's vectors are full but
// for its last one, of 1…lanes windows (ow ≥ 1): the masks of both kinds
// are the same for every row pair, so they are set once, and the body is
// emitted twice, for the full vectors and for the last one.
func (v *vm) walk(r *poolRegs, plane, body func()) {
	lanes := v.lanes()
	last := asm.GP64() // windows in the last vector: (ow − 1) mod lanes + 1
	asm.MOVQ(r.ow, last)
	asm.DECQ(last)
	asm.ANDQ(op.U32(lanes-1), last)
	asm.INCQ(last)
	v.setTail(last)
	kn := v.tail
	cols := asm.GP64()
	asm.LEAQ(op.Mem{Base: last, Index: last, Scale: 1}, cols)
	v.setTail(v.clampCount(cols, 0))
	k0 := v.tail
	v.setTail(v.clampCount(cols, lanes))
	k1 := v.tail
	v.tail = nil
	asm.Label("plane")
	asm.Load(asm.Param("oh"), r.rows)
	if plane != nil {
		plane()
	}
	asm.Label("pair")
	asm.TESTQ(r.rows, r.rows)
	asm.JZ(op.LabelRef("done"))
	asm.MOVQ(r.img, r.img1)
	asm.ADDQ(r.w, r.img1)
	asm.XORQ(r.j, r.j)
	asm.Label("vector")
	asm.MOVQ(r.ow, r.n)
	asm.SUBQ(r.j, r.n)
	asm.CMPQ(r.n, op.U32(lanes))
	asm.JLE(op.LabelRef("last"))
	full := asm.GP64()
	asm.MOVQ(op.U32(lanes), full)
	v.setTail(full)
	r.kn, r.k0, r.k1 = v.tail, v.tail, v.tail
	v.tail = nil
	asm.LEAQ(op.Mem{Base: r.j, Index: r.j, Scale: 1}, r.j2)
	body()
	asm.ADDQ(op.U32(lanes), r.j)
	asm.JMP(op.LabelRef("vector"))
	asm.Label("last")
	r.kn, r.k0, r.k1 = kn, k0, k1
	asm.LEAQ(op.Mem{Base: r.j, Index: r.j, Scale: 1}, r.j2)
	body()
	asm.LEAQ(op.Mem{Base: r.img, Index: r.w, Scale: 2}, r.img)
	step := asm.GP64()
	asm.MOVQ(r.ow, step)
	asm.SHLQ(op.U8(v.log2size()), step)
	asm.ADDQ(step, r.out)
	asm.ADDQ(r.ow, r.code)
	asm.DECQ(r.rows)
	asm.JMP(op.LabelRef("pair"))
	asm.Label("done")
	// The row pairs moved img on by oh·2w bytes and out and code on by
	// oh·ow elements: the next plane starts ldx and ldy elements after
	// this one.
	asm.DECQ(v.param("planes"))
	asm.JZ(op.LabelRef("end"))
	walked := gp("oh")
	asm.IMULQ(r.w, walked)
	asm.SHLQ(op.U8(1), walked)
	asm.SUBQ(walked, r.img)
	asm.ADDQ(v.stride("ldx"), r.img)
	pooled := gp("oh")
	asm.IMULQ(r.ow, pooled)
	skip := gp("ldy")
	asm.SUBQ(pooled, skip)
	asm.ADDQ(skip, r.code)
	asm.SHLQ(op.U8(v.log2size()), skip)
	asm.ADDQ(skip, r.out)
	asm.JMP(op.LabelRef("plane"))
	asm.Label("end")
	asm.VZEROUPPER()
	asm.RET()
}

// at returns the address of element j (a register) of the row at base,
// plus disp bytes, for elements of the given size.
func at(base, j reg.GPVirtual, size, disp int) op.Mem {
	return op.Mem{Base: base, Index: j, Scale: byte(size), Disp: disp}
}

// table returns read-only data holding the given lane indices, as dwords
// or qwords like the lanes of v.
func (v *vm) table(name string, idx []int) reg.VecVirtual {
	full := name + v.goType
	if _, ok := constants[full]; !ok {
		m := asm.GLOBL(full, asm.RODATA|asm.NOPTR)
		for i, x := range idx {
			if v.single() {
				asm.DATA(4*i, op.U32(x))
			} else {
				asm.DATA(8*i, op.U64(x))
			}
		}
		constants[full] = m
	}
	r := v.vec()
	v.ps(asm.VMOVUPS, asm.VMOVUPD)(constants[full], r)
	return r
}

// permute returns the lanes of the two-vector table (a, b) that idx picks.
func (v *vm) permute(idx, a, b reg.VecVirtual) reg.VecVirtual {
	r := v.vec()
	v.ps(asm.VMOVAPS, asm.VMOVAPD)(a, r)
	v.ps(asm.VPERMT2PS, asm.VPERMT2PD)(b, idx, r)
	return r
}

// indices returns the lane indices from, from+step, … of a vector of v.
func (v *vm) indices(from, step int) []int {
	idx := make([]int, v.lanes())
	for i := range idx {
		idx[i] = from + i*step
	}
	return idx
}

// takes returns the mask of the lanes where y replaces x as the maximum:
// y > x, or y is NaN.
func (v *vm) takes(x, y reg.VecVirtual) reg.Register {
	k := v.cmp(cmpGT, y, x)
	nan := v.cmp(cmpUNORD, y, y)
	asm.KORW(nan, k, k)
	return k
}

// masked sets r to the lanes of x (a register or memory) that k selects,
// and the others to zero.
func (v *vm) masked(x op.Op, k reg.Register, r reg.VecVirtual) {
	if v.single() {
		asm.VMOVUPS_Z(x, k, r)
	} else {
		asm.VMOVUPD_Z(x, k, r)
	}
}

func (p pool) emit(v vm) {
	if !p.supports(v.isa) {
		return
	}
	lanes := v.lanes()
	r := &poolRegs{j: asm.GP64(), j2: asm.GP64(), n: asm.GP64(), img1: asm.GP64()}
	if !p.grad {
		bs := ""
		if p.relu {
			bs = ", b []" + v.goType
		}
		text(v.fn(p.id()), "func(x []"+v.goType+", w, oh, ow int, y []"+v.goType+", codes []uint8, planes, ldx, ldy int"+bs+")")
		r.img = asm.Load(asm.Param("x").Base(), asm.GP64()).(reg.GPVirtual)
		r.out = asm.Load(asm.Param("y").Base(), asm.GP64()).(reg.GPVirtual)
	} else {
		ys := ""
		if p.relu {
			ys = "y, "
		}
		text(v.fn(p.id()), "func("+ys+"g []"+v.goType+", codes []uint8, w, oh, ow int, gx []"+v.goType+", planes, ldx, ldy int)")
		r.out = asm.Load(asm.Param("g").Base(), asm.GP64()).(reg.GPVirtual)
		r.img = asm.Load(asm.Param("gx").Base(), asm.GP64()).(reg.GPVirtual)
	}
	var yOff reg.GPVirtual // y's distance from g in bytes, with relu
	if p.relu {
		yOff = asm.Load(asm.Param("y").Base(), asm.GP64()).(reg.GPVirtual)
		asm.SUBQ(r.out, yOff)
	}
	r.code = asm.Load(asm.Param("codes").Base(), asm.GP64()).(reg.GPVirtual)
	r.w, r.rows, r.ow = v.stride("w"), asm.GP64(), gp("ow")
	codes := make([]reg.VecVirtual, 4)
	for c := range codes {
		codes[c] = v.splat("code"+string(rune('0'+c)), uint64(c))
	}
	if !p.grad {
		even, odd := v.table("even", v.indices(0, 2)), v.table("odd", v.indices(1, 2))
		var plane func()
		var bias, zero reg.VecVirtual
		if p.relu {
			bp := asm.Load(asm.Param("b").Base(), asm.GP64()).(reg.GPVirtual)
			bias, zero = v.vec(), v.zero()
			plane = func() { // this plane's bias, and the next plane's next
				v.ps(asm.VBROADCASTSS, asm.VBROADCASTSD)(op.Mem{Base: bp}, bias)
				asm.ADDQ(op.U32(v.size), bp)
			}
		}
		v.walk(r, plane, func() {
			split := func(row reg.GPVirtual) (reg.VecVirtual, reg.VecVirtual) {
				lo, hi := v.vec(), v.vec()
				v.masked(at(row, r.j2, v.size, 0), r.k0, lo)
				v.masked(at(row, r.j2, v.size, v.bytes), r.k1, hi)
				if p.relu { // x + b, then +0 where that is ≤ 0
					for _, x := range []reg.VecVirtual{lo, hi} {
						v.ps(asm.VADDPS, asm.VADDPD)(bias, x, x)
						v.ps(asm.VMOVAPS, asm.VMOVAPD)(zero, v.cmp(cmpLE, x, zero), x)
					}
				}
				return v.permute(even, lo, hi), v.permute(odd, lo, hi)
			}
			a, b := split(r.img)
			c, d := split(r.img1)
			k := v.takes(a, b)
			h0, c0 := v.sel(k, b, a), v.sel(k, codes[1], codes[0])
			k = v.takes(c, d)
			h1, c1 := v.sel(k, d, c), v.sel(k, codes[3], codes[2])
			k = v.takes(h0, h1)
			v.ps(asm.VMOVUPS, asm.VMOVUPD)(v.sel(k, h1, h0), r.kn, at(r.out, r.j, v.size, 0))
			v.ps(asm.VPMOVDB, asm.VPMOVQB)(v.sel(k, c1, c0), r.kn, at(r.code, r.j, 1, 0))
		})
		return
	}
	// lo and hi interleave the lower and upper halves of two vectors.
	inter := func(name string, half int) reg.VecVirtual {
		idx := make([]int, lanes)
		for i := range idx {
			idx[i] = half*lanes/2 + i/2 + i%2*lanes
		}
		return v.table(name, idx)
	}
	lo, hi := inter("interlo", 0), inter("interhi", 1)
	var zero reg.VecVirtual
	if p.relu {
		zero = v.zero()
	}
	v.walk(r, nil, func() {
		g := v.vec()
		v.masked(at(r.out, r.j, v.size, 0), r.kn, g)
		if p.relu {
			ya := asm.GP64()
			asm.LEAQ(op.Mem{Base: r.out, Index: yOff, Scale: 1}, ya)
			y := v.vec()
			v.masked(at(ya, r.j, v.size, 0), r.kn, y)
			g = v.sel(v.cmp(cmpLE, y, zero), zero, g)
		}
		c := v.vec()
		if v.single() {
			asm.VPMOVZXBD_Z(at(r.code, r.j, 1, 0), r.kn, c)
		} else {
			asm.VPMOVZXBQ_Z(at(r.code, r.j, 1, 0), r.kn, c)
		}
		e := make([]reg.VecVirtual, 4)
		for i := range e {
			k := asm.K()
			v.ps(asm.VPCMPEQD, asm.VPCMPEQQ)(codes[i], c, k)
			e[i] = v.vec()
			v.masked(g, k, e[i])
		}
		for row, base := range []reg.GPVirtual{r.img, r.img1} {
			a, b := e[2*row], e[2*row+1]
			v.ps(asm.VMOVUPS, asm.VMOVUPD)(v.permute(lo, a, b), r.k0, at(base, r.j2, v.size, 0))
			v.ps(asm.VMOVUPS, asm.VMOVUPD)(v.permute(hi, a, b), r.k1, at(base, r.j2, v.size, v.bytes))
		}
	})
}
