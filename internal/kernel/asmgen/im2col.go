package main

import (
	asm "github.com/mmcloughlin/avo/build"
	op "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// im2colTaps lowers one channel of an image for a convolution with column
// stride 1 and no padding, for the Im2colAt of internal/kernel/conv.go: its
// kh·kw taps, each an oh×ow block of the image copied into a row of cols:
//
//	for ki < kh, kj < kw, i < oh: cols[(ki*kw+kj)*ldc + i*ow + j] = x[ki*w + kj + i*lds + j]  (j < ow)
//
// as one CopyRows per tap would, but in one call: on the small images of a
// CNN (rows of 11) the calls cost as much as the copies. It needs oh ≥ 1. AVX-512 only, for
// its masked tails.
type im2colTaps struct{}

func (im2colTaps) id() string { return "im2colTaps" }

func (im2colTaps) supports(i isa) bool { return i == avx512 }

func (c im2colTaps) emit(v vm) {
	t := v.goType
	text(v.fn(c.id()), "func(kh, kw, oh, ow, w, lds int, x []"+t+", cols []"+t+", ldc int)")
	ow := gp("ow")
	full, rem, mask := v.rowSplit(ow)
	owb := ow // bytes of a row of a tap's block
	asm.SHLQ(op.U8(v.log2size()), owb)
	lds := v.stride("lds")
	xk := asm.Load(asm.Param("x").Base(), asm.GP64()).(reg.GPVirtual)     // window row ki's first tap in x
	dst := asm.Load(asm.Param("cols").Base(), asm.GP64()).(reg.GPVirtual) // the tap's row of cols
	kj := asm.AllocLocal(8)                                               // taps left in the window row
	asm.Label("windowRow")
	asm.CMPQ(v.param("kh"), op.U32(0))
	asm.JLE(op.LabelRef("done"))
	xj := asm.GP64()
	asm.MOVQ(xk, xj)
	n := gp("kw")
	asm.MOVQ(n, kj)
	asm.Label("tap")
	asm.CMPQ(kj, op.U32(0))
	asm.JLE(op.LabelRef("nextWindowRow"))
	src, d, i := asm.GP64(), asm.GP64(), gp("oh")
	asm.MOVQ(xj, src)
	asm.MOVQ(dst, d)
	// Rows shorter than a vector (the CNN's 11) take a loop of one masked
	// copy a row, without the general loop's counting of vectors.
	asm.TESTQ(full, full)
	asm.JNZ(op.LabelRef("row"))
	asm.Label("shortRow")
	v.tail = mask
	v.store(v.load(op.Mem{Base: src}), op.Mem{Base: d})
	v.tail = nil
	asm.ADDQ(lds, src)
	asm.ADDQ(owb, d)
	asm.DECQ(i)
	asm.JNZ(op.LabelRef("shortRow"))
	asm.JMP(op.LabelRef("nextTap"))
	v.blockRows(i, src, lds, d, owb, full, rem, mask, false, "nextTap")
	asm.Label("nextTap")
	ldc := v.stride("ldc")
	asm.ADDQ(ldc, dst)
	asm.ADDQ(op.U32(v.size), xj)
	asm.DECQ(kj)
	asm.JMP(op.LabelRef("tap"))
	asm.Label("nextWindowRow")
	w := v.stride("w")
	asm.ADDQ(w, xk)
	asm.DECQ(v.param("kh"))
	asm.JMP(op.LabelRef("windowRow"))
	asm.Label("done")
	asm.VZEROUPPER()
	asm.RET()
}
