package main

import (
	asm "github.com/mmcloughlin/avo/build"
	op "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// col2imTaps adds the kw taps of each of kh window rows of a convolution
// with column stride 1 and no padding across back into the image rows they
// were read from, for the Col2imAt of internal/kernel/conv.go:
//
//	for ki < kh, i < m, kj < kw: x[ki*w + i*ldx + kj + j] += cols[(ki*kw+kj)*ldc + i*lds + j]  (j < ow)
//
// The taps of a row overlap in x (each shifted one column from the last), so
// adding them one after the other, a vector at a time, makes every load of
// x wait for the store before it; this kernel keeps a vector of x in a
// register while it adds the taps' elements to it, under masks, in the
// order of the taps, and stores it once. AVX-512 only: the masks of the
// shifted taps are opmasks, computed once for a block of columns and kept
// on the stack, which holds those of kw ≤ maxTaps taps; for kw = 3 (a 3×3
// window's) they are kept in registers too and a row's taps are unrolled,
// which saves a third of the instructions of a row of the CNN's 11.
type col2imTaps struct{}

func (col2imTaps) id() string { return "col2imTaps" }

// maxTaps is the most taps of a window row that col2imTaps takes; the
// Go code's maxWindow.
const maxTaps = 16

func (col2imTaps) supports(i isa) bool { return i == avx512 }

func (c col2imTaps) emit(v vm) {
	t := v.goType
	text(v.fn(c.id()), "func(kh, m, w, ow, kw int, cols []"+t+", ldc, lds int, x []"+t+", ldx int)")
	lanes := v.lanes()
	tapStep := v.stride("ldc") // from one tap's element to the next tap's one column left
	asm.SUBQ(op.U32(v.size), tapStep)
	ldx, lds := v.stride("ldx"), v.stride("lds")
	jb := asm.GP64() // the first image column of the vector
	tapMasks := asm.AllocLocal(2 * maxTaps)
	tab := asm.GP64()
	asm.LEAQ(constantTailMask(), tab)
	asm.Label("windowRow")
	asm.XORQ(jb, jb)
	mask := func(n reg.Register) reg.Register { // the first n lanes
		k := asm.K()
		asm.KMOVW(op.Mem{Base: tab, Index: n, Scale: 2}, k)
		return k
	}
	clamp := func(r reg.GPVirtual) { // to [0, lanes]
		zero, full := asm.GP64(), asm.GP64()
		asm.XORQ(zero, zero)
		asm.CMPQ(r, zero)
		asm.CMOVQLT(zero, r)
		asm.MOVQ(op.U32(lanes), full)
		asm.CMPQ(r, full)
		asm.CMOVQGT(full, r)
	}
	asm.Label("block")
	w := gp("w")
	nx := asm.GP64()
	asm.MOVQ(w, nx)
	asm.SUBQ(jb, nx)
	asm.JLE(op.LabelRef("done"))
	clamp(nx)
	kx := mask(nx)
	// The lanes of the block that each tap adds to, the same in every row:
	// lanes kj − jb ≤ l < kj + ow − jb read tap kj at column jb + l − kj.
	kj := asm.GP64()
	asm.XORQ(kj, kj)
	asm.Label("tapMask")
	asm.CMPQ(kj, v.param("kw"))
	asm.JGE(op.LabelRef("tapsMasked"))
	lo, hi := asm.GP64(), asm.GP64()
	asm.MOVQ(kj, lo)
	asm.SUBQ(jb, lo)
	clamp(lo)
	asm.MOVQ(kj, hi)
	asm.ADDQ(v.param("ow"), hi)
	asm.SUBQ(jb, hi)
	clamp(hi)
	k := mask(hi)
	asm.KANDNW(k, mask(lo), k)
	asm.KMOVW(k, tapMasks.Idx(kj, 2))
	asm.INCQ(kj)
	asm.JMP(op.LabelRef("tapMask"))
	asm.Label("tapsMasked")
	// A 3×3 window's three masks stay in registers, and its rows take
	// the three taps unrolled (other widths take the loop over the taps).
	var k3 [3]reg.Register
	for i := range k3 {
		k3[i] = asm.K()
		asm.KMOVW(tapMasks.Offset(2*i), k3[i])
	}
	// The even rows first, then the odd ones: a row's load would otherwise
	// wait for the masked store of the row before, whose vector it overlaps.
	parity := asm.GP64()
	asm.XORQ(parity, parity)
	asm.Label("parity")
	asm.CMPQ(parity, op.U32(2))
	asm.JGE(op.LabelRef("next"))
	xp := asm.Load(asm.Param("x").Base(), asm.GP64()).(reg.GPVirtual)
	sp := asm.Load(asm.Param("cols").Base(), asm.GP64()).(reg.GPVirtual)
	off := asm.GP64()
	asm.MOVQ(jb, off)
	asm.SHLQ(op.U8(v.log2size()), off)
	asm.ADDQ(off, xp)
	asm.ADDQ(off, sp)
	rows := gp("m")
	asm.SUBQ(parity, rows)
	asm.INCQ(rows)
	asm.SHRQ(op.U8(1), rows) // (m − parity + 1)/2 rows of this parity
	odd := asm.GP64()
	asm.MOVQ(ldx, odd)
	asm.IMULQ(parity, odd)
	asm.ADDQ(odd, xp)
	asm.MOVQ(lds, odd)
	asm.IMULQ(parity, odd)
	asm.ADDQ(odd, sp)
	asm.Label("row")
	asm.TESTQ(rows, rows)
	asm.JZ(op.LabelRef("nextParity"))
	acc := v.vec()
	v.masked(op.Mem{Base: xp}, kx, acc)
	tp := asm.GP64()
	asm.MOVQ(sp, tp)
	asm.CMPQ(v.param("kw"), op.U32(3))
	asm.JNE(op.LabelRef("taps"))
	for _, k := range k3 {
		x := v.vec()
		v.masked(op.Mem{Base: tp}, k, x)
		v.ps(asm.VADDPS, asm.VADDPD)(x, acc, k, acc)
		asm.ADDQ(tapStep, tp)
	}
	asm.JMP(op.LabelRef("store"))
	asm.Label("taps")
	asm.XORQ(kj, kj)
	asm.Label("tap")
	asm.CMPQ(kj, v.param("kw"))
	asm.JGE(op.LabelRef("store"))
	k = asm.K()
	asm.KMOVW(tapMasks.Idx(kj, 2), k)
	x := v.vec()
	v.masked(op.Mem{Base: tp}, k, x)
	v.ps(asm.VADDPS, asm.VADDPD)(x, acc, k, acc) // other lanes keep acc, −0 too
	asm.ADDQ(tapStep, tp)
	asm.INCQ(kj)
	asm.JMP(op.LabelRef("tap"))
	asm.Label("store")
	v.ps(asm.VMOVUPS, asm.VMOVUPD)(acc, kx, op.Mem{Base: xp})
	asm.LEAQ(op.Mem{Base: xp, Index: ldx, Scale: 2}, xp)
	asm.LEAQ(op.Mem{Base: sp, Index: lds, Scale: 2}, sp)
	asm.DECQ(rows)
	asm.JMP(op.LabelRef("row"))
	asm.Label("nextParity")
	asm.INCQ(parity)
	asm.JMP(op.LabelRef("parity"))
	asm.Label("next")
	asm.ADDQ(op.U32(lanes), jb)
	asm.JMP(op.LabelRef("block"))
	asm.Label("done")
	// The next window row: its taps kw rows of cols on, its image rows one
	// row of x on.
	asm.DECQ(v.param("kh"))
	asm.JLE(op.LabelRef("end"))
	row := v.stride("w")
	asm.ADDQ(row, sliceBase("x"))
	taps := v.stride("ldc")
	asm.IMULQ(v.param("kw"), taps)
	asm.ADDQ(taps, sliceBase("cols"))
	asm.JMP(op.LabelRef("windowRow"))
	asm.Label("end")
	asm.VZEROUPPER()
	asm.RET()
}

// sliceBase returns the address of the pointer of a slice parameter.
func sliceBase(name string) op.Mem {
	b, err := asm.Param(name).Base().Resolve()
	if err != nil {
		panic(err)
	}
	return b.Addr
}

// constantTailMask returns the table of setTail's AVX-512 masks.
func constantTailMask() op.Mem {
	if _, ok := constants["tailmask16"]; !ok {
		m := asm.GLOBL("tailmask16", asm.RODATA|asm.NOPTR)
		for i := 0; i <= 16; i++ {
			asm.DATA(2*i, op.U16(1<<i-1))
		}
		constants["tailmask16"] = m
	}
	return constants["tailmask16"]
}
