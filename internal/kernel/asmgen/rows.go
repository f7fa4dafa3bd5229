package main

import (
	asm "github.com/mmcloughlin/avo/build"
	op "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// A rows kernel copies (or adds) an m×n block of a matrix with row stride
// lds to one with row stride ldd: whole vectors along each row, then the
// rest of the row under a mask. Rows of a few elements, as in the lowering
// of small images for a convolution, take one masked vector each.
type rows struct {
	name string
	add  bool // dst += src rather than dst = src
}

func (r rows) id() string { return r.name }

func (r rows) emit(v vm) {
	text(v.fn(r.name), "func(m, n int, src []"+v.goType+", lds int, dst []"+v.goType+", ldd int)")
	m, n := gp("m"), gp("n")
	src := asm.Load(asm.Param("src").Base(), asm.GP64()).(reg.GPVirtual)
	dst := asm.Load(asm.Param("dst").Base(), asm.GP64()).(reg.GPVirtual)
	lds, ldd := v.stride("lds"), v.stride("ldd")
	full, rem, mask := v.rowSplit(n)
	v.blockRows(m, src, lds, dst, ldd, full, rem, mask, r.add, "done")
	asm.Label("done")
	asm.VZEROUPPER()
	asm.RET()
}

// rowSplit returns the full vectors of a row of n elements, the elements
// left, and the mask of those.
func (v *vm) rowSplit(n reg.GPVirtual) (full, rem reg.GPVirtual, mask reg.Register) {
	full, rem = asm.GP64(), asm.GP64()
	asm.MOVQ(n, full)
	asm.SHRQ(op.U8(log2(v.lanes())), full)
	asm.MOVQ(n, rem)
	asm.ANDQ(op.U32(v.lanes()-1), rem)
	v.setTail(rem)
	mask, v.tail = v.tail, nil
	return full, rem, mask
}

// blockRows emits the copy (or, with add, the sum into dst) of the m rows
// of a block at src, lds bytes apart, to dst, ldd apart: full vectors along
// each row, then rem elements under mask; src, dst and m move on a row at a
// time, and it jumps to exit when m is 0.
func (v *vm) blockRows(m, src, lds, dst, ldd, full, rem reg.GPVirtual, mask reg.Register, add bool, exit string) {
	off, cnt := asm.GP64(), asm.GP64()
	move := func() {
		at := func(base reg.GPVirtual) op.Mem { return op.Mem{Base: base, Index: off, Scale: 1} }
		x := v.load(at(src))
		if add {
			x = v.add(v.load(at(dst)), x)
		}
		v.store(x, at(dst))
	}
	asm.Label("row")
	asm.TESTQ(m, m)
	asm.JZ(op.LabelRef(exit))
	asm.XORQ(off, off)
	asm.MOVQ(full, cnt)
	asm.Label("vector")
	asm.TESTQ(cnt, cnt)
	asm.JZ(op.LabelRef("tail"))
	move()
	asm.ADDQ(op.U32(v.bytes), off)
	asm.DECQ(cnt)
	asm.JMP(op.LabelRef("vector"))
	asm.Label("tail")
	asm.TESTQ(rem, rem)
	asm.JZ(op.LabelRef("next"))
	v.tail = mask
	move()
	v.tail = nil
	asm.Label("next")
	asm.ADDQ(lds, src)
	asm.ADDQ(ldd, dst)
	asm.DECQ(m)
	asm.JMP(op.LabelRef("row"))
}

func log2(n int) int {
	k := 0
	for 1<<k < n {
		k++
	}
	return k
}
