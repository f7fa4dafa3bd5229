package main

import (
	asm "github.com/mmcloughlin/avo/build"
	op "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// conv3x3 is the direct 3×3 convolution of one input channel with stride 1
// and no padding, for the Conv3x3 of internal/kernel/direct.go: o filters
// f (9 taps each) over an image x of rows w apart, each output row of ow ≤ 32
// positions two vectors under masks, three filters at a time (then two, or
// one, for the rest): their 27 taps stay broadcast in registers while the
// image's rows go by, half a row at a time, and each window's vector is
// loaded once for the three, so that no multiply-add loads its tap:
//
//	y[c*ldy + i*ow + j] = Σ_{ki,kj} f[c*9 + ki*3 + kj]·x[(i+ki)*w + kj + j]
//
// summed in tap order with fused multiply-adds. With grad it is the filters'
// gradient, over n images (ldx apart) and their output gradients g (filter
// c's plane at c*ldg, images ldgi apart), three filters at a time (then
// two, or one, for the rest):
//
//	dw[t*ldw + c] += Σ_img Σ_{i,j} g[img*ldgi + c*ldg + i*ow + j]·x[img*ldx + (i+ki)*w + kj + j]
//
// each sum's lanes added across positions and images, then across lanes;
// a window's vector, loaded once (zero beyond the row, as g), serves all
// three filters. Three filters' 27 sums fit in the registers because a row
// is done one vector of it at a time (each sum still gets its row's first
// vector before its second, so the order of the additions is that of any
// grouping), and a third filter shares the loads of the windows: 18 loads
// for 54 multiply-adds a row rather than 18 for 36.
// AVX-512 and float32 only.
type conv3x3 struct{ grad bool }

func (c conv3x3) id() string {
	if c.grad {
		return "conv3x3Grad"
	}
	return "conv3x3"
}

func (conv3x3) supports(i isa) bool { return i == avx512 }
func (conv3x3) hasElem(t elem) bool { return t.size == 4 }
func (c conv3x3) emit(v vm) {
	if c.grad {
		c.emitGrad(v)
		return
	}
	text(v.fn(c.id()), "func(oh, ow, w int, x, f []float32, o int, y []float32, ldy int)")
	k0, k1, owb := rowMasks(&v)
	w, ldy := v.stride("w"), v.stride("ldy")
	fp := asm.Load(asm.Param("f").Base(), asm.GP64()).(reg.GPVirtual)
	yc := asm.Load(asm.Param("y").Base(), asm.GP64()).(reg.GPVirtual) // the group's first plane
	xBase, _ := asm.Param("x").Base().Resolve()
	left, rows := asm.AllocLocal(8), asm.AllocLocal(8) // filters left; rows left
	cnt := gp("o")
	asm.MOVQ(cnt, left)
	xr, yp := asm.GP64(), asm.GP64()
	group := func(g int, next string) {
		var taps [3][9]reg.VecVirtual
		for c := range g {
			for t := range 9 {
				taps[c][t] = asm.ZMM()
				asm.VBROADCASTSS(op.Mem{Base: fp, Disp: 4 * (c*9 + t)}, taps[c][t])
			}
		}
		asm.MOVQ(xBase.Addr, xr)
		asm.MOVQ(yc, yp)
		asm.MOVQ(v.param("oh"), cnt)
		asm.MOVQ(cnt, rows)
		asm.Label(next + "Row")
		for h, k := range []reg.Register{k0, k1} {
			acc := make([]reg.VecVirtual, g)
			for t := range 9 {
				xv := window(xr, w, t, h, k)
				for c := range g {
					if t == 0 {
						acc[c] = asm.ZMM()
						asm.VMULPS(taps[c][t], xv, acc[c])
					} else {
						asm.VFMADD231PS(taps[c][t], xv, acc[c])
					}
				}
			}
			for c := range g {
				m := op.Mem{Base: yp, Disp: 64 * h}
				if c > 0 {
					m.Index, m.Scale = ldy, byte(c)
				}
				asm.VMOVUPS(acc[c], k, m)
			}
		}
		asm.ADDQ(w, xr)
		asm.ADDQ(owb, yp)
		asm.DECQ(rows)
		asm.JNZ(op.LabelRef(next + "Row"))
	}
	byThrees(left, group, func() { // the next three filters and planes
		asm.ADDQ(op.U32(3*9*4), fp)
		asm.LEAQ(op.Mem{Base: yc, Index: ldy, Scale: 2}, yc)
		asm.ADDQ(ldy, yc)
	})
}

// byThrees emits the calls of a direct convolution's kernel on its filters
// three at a time (group(3, …), then next to move on to the next three),
// while left, the filters left, is at least 3; then on the two or one
// left; and the return.
func byThrees(left op.Mem, group func(g int, next string), next func()) {
	asm.Label("triple")
	asm.CMPQ(left, op.U32(3))
	asm.JL(op.LabelRef("pair"))
	group(3, "triple")
	next()
	asm.SUBQ(op.U32(3), left)
	asm.JMP(op.LabelRef("triple"))
	asm.Label("pair")
	asm.CMPQ(left, op.U32(2))
	asm.JL(op.LabelRef("odd"))
	group(2, "pair")
	asm.JMP(op.LabelRef("done"))
	asm.Label("odd")
	asm.CMPQ(left, op.U32(1))
	asm.JL(op.LabelRef("done"))
	group(1, "one")
	asm.Label("done")
	asm.VZEROUPPER()
	asm.RET()
}

// window loads vector h (under mask k) of the window of tap t in the image
// rows from xr, w bytes apart.
func window(xr, w reg.GPVirtual, t, h int, k reg.Register) reg.VecVirtual {
	m := op.Mem{Base: xr, Disp: 4*(t%3) + 64*h}
	if t/3 > 0 {
		m.Index, m.Scale = w, byte(t/3)
	}
	xv := asm.ZMM()
	asm.VMOVUPS_Z(m, k, xv)
	return xv
}

// rowMasks returns the masks of a row of ow ≤ 32 elements' two vectors and
// the row's bytes.
func rowMasks(v *vm) (k0, k1 reg.Register, owb reg.GPVirtual) {
	ow := gp("ow")
	n0 := asm.GP64()
	asm.MOVQ(op.U32(16), n0)
	asm.CMPQ(ow, n0)
	asm.CMOVQLT(ow, n0)
	v.setTail(n0)
	k0 = v.tail
	asm.SUBQ(n0, ow)
	v.setTail(ow)
	k1 = v.tail
	v.tail = nil
	owb = gp("ow")
	asm.SHLQ(op.U8(2), owb)
	return k0, k1, owb
}

func (c conv3x3) emitGrad(v vm) {
	text(v.fn(c.id()), "func(oh, ow, w int, x []float32, ldx, n int, g []float32, ldg, ldgi, o int, dw []float32, ldw int)")
	k0, k1, owb := rowMasks(&v)
	w, ldg := v.stride("w"), v.stride("ldg")
	local := func(name string) op.Mem {
		m := asm.AllocLocal(8)
		r := v.stride(name)
		asm.MOVQ(r, m)
		return m
	}
	ldxb, ldgib, ldwb := local("ldx"), local("ldgi"), local("ldw")
	left, imgs, rows := asm.AllocLocal(8), asm.AllocLocal(8), asm.AllocLocal(8) // filters left
	gf := asm.Load(asm.Param("g").Base(), asm.GP64()).(reg.GPVirtual)
	dwp := asm.Load(asm.Param("dw").Base(), asm.GP64()).(reg.GPVirtual)
	xBase, _ := asm.Param("x").Base().Resolve()
	xi, gi, xr, gr := asm.GP64(), asm.GP64(), asm.GP64(), asm.GP64()
	cnt := gp("o")
	asm.MOVQ(cnt, left)
	group := func(g int, next string) {
		acc := make([][9]reg.VecVirtual, g)
		for c := range g {
			for t := range 9 {
				acc[c][t] = asm.ZMM()
				asm.VXORPS(acc[c][t], acc[c][t], acc[c][t])
			}
		}
		asm.MOVQ(xBase.Addr, xi)
		asm.MOVQ(gf, gi)
		asm.MOVQ(v.param("n"), cnt)
		asm.MOVQ(cnt, imgs)
		asm.Label(next + "Image")
		asm.CMPQ(imgs, op.U32(0))
		asm.JE(op.LabelRef(next + "Sum"))
		asm.MOVQ(xi, xr)
		asm.MOVQ(gi, gr)
		asm.MOVQ(v.param("oh"), cnt)
		asm.MOVQ(cnt, rows)
		asm.Label(next + "Row")
		for h, k := range []reg.Register{k0, k1} {
			gv := make([]reg.VecVirtual, g)
			for c := range g {
				m := op.Mem{Base: gr, Disp: 64 * h}
				switch c {
				case 1, 2:
					m.Index, m.Scale = ldg, byte(c)
				}
				gv[c] = asm.ZMM()
				asm.VMOVUPS_Z(m, k, gv[c])
			}
			for t := range 9 {
				xv := window(xr, w, t, h, k)
				for c := range g {
					asm.VFMADD231PS(xv, gv[c], acc[c][t])
				}
			}
		}
		asm.ADDQ(w, xr)
		asm.ADDQ(owb, gr)
		asm.DECQ(rows)
		asm.JNZ(op.LabelRef(next + "Row"))
		asm.ADDQ(ldxb, xi)
		asm.ADDQ(ldgib, gi)
		asm.DECQ(imgs)
		asm.JMP(op.LabelRef(next + "Image"))
		asm.Label(next + "Sum")
		tp := asm.GP64()
		asm.MOVQ(dwp, tp)
		for t := range 9 {
			for c := range g {
				y, x, s := asm.YMM(), asm.XMM(), asm.XMM()
				asm.VEXTRACTF64X4(op.U8(1), acc[c][t], y)
				asm.VADDPS(y, acc[c][t].AsY(), y)
				asm.VEXTRACTF32X4(op.U8(1), y, x)
				asm.VADDPS(x, y.AsX(), x)
				asm.VMOVHLPS(x, x, s)
				asm.VADDPS(s, x, x)
				asm.VMOVSHDUP(x, s)
				asm.VADDSS(s, x, x)
				m := op.Mem{Base: tp, Disp: 4 * c}
				asm.VADDSS(m, x, x)
				asm.VMOVSS(x, m)
			}
			asm.ADDQ(ldwb, tp)
		}
	}
	byThrees(left, group, func() { // the next three filters' gradients and sums
		asm.LEAQ(op.Mem{Base: gf, Index: ldg, Scale: 2}, gf)
		asm.ADDQ(ldg, gf)
		asm.ADDQ(op.U32(12), dwp)
	})
}
