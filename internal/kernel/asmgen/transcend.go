package main

import (
	"math"

	asm "github.com/mmcloughlin/avo/build"
	op "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// The transcendental kernels, float32 only (float64 keeps the math
// package's functions): eˣ, tanh, the logistic sigmoid, and GELU's tanh
// approximation with its gradient. Each repeats exp32, tanh32 and the
// reference loops of internal/kernel/transcend.go operation for operation,
// every product rounded before the sum it feeds, so results match the
// reference loops bit for bit.
var transcendentals = []stream{
	{
		name: "exp", params: "x, y []T", slices: []string{"x", "y"}, unroll: 2, float32Only: true,
		body: func(e *step, _ map[string]bool) {
			e.st("y", e.exp32(e.ld("x")))
		},
	},
	{
		// with e = exp(−|x|): y = x < 0 ? e/(1 + e) : 1/(1 + e)
		name: "sigmoid", params: "x, y []T", slices: []string{"x", "y"}, unroll: 2, float32Only: true,
		body: func(e *step, _ map[string]bool) {
			x := e.ld("x")
			ex := e.exp32(e.or(x, e.f32("signbit", 0x80000000)))
			d := e.add(ex, e.f32("one", 0x3f800000))
			e.st("y", e.sel(e.cmp(cmpLT, x, e.zero()), e.div(ex, d), e.div(e.f32("one", 0x3f800000), d)))
		},
	},
	{
		// |x| < 0.625: odd polynomial; else ±(1 − 2/(exp(2|x|) + 1))
		name: "tanh", params: "x, y []T", slices: []string{"x", "y"}, unroll: 1, float32Only: true,
		body: func(e *step, _ map[string]bool) {
			e.st("y", e.tanh32(e.ld("x")))
		},
	},
	{
		// u = k·(x + ((c·x)·x)·x); th = tanh u; y = (½x)·(1 + th)
		name: "geluTanh", params: "x, y, th []T", slices: []string{"x", "y", "th"}, unroll: 1, float32Only: true,
		body: func(e *step, _ map[string]bool) {
			x := e.ld("x")
			u := e.mul(e.c32(geluK), e.add(x, e.mul(e.mul(e.mul(e.c32(geluC), x), x), x)))
			th := e.tanh32(u)
			e.st("th", th)
			e.st("y", e.mul(e.mul(e.c32(0.5), x), e.add(th, e.f32("one", 0x3f800000))))
		},
	},
	{
		// dx (+)= dy·(½(1 + th) + ((½x)·(1 − th·th))·(k·(1 + 3c·(x·x))))
		name: "geluTanhGrad", params: "x, th, dy, dx []T, add bool", slices: []string{"x", "th", "dy", "dx"},
		flags: []choice{{name: "add"}}, unroll: 2, float32Only: true,
		body: func(e *step, on map[string]bool) {
			x, th := e.ld("x"), e.ld("th")
			one := e.f32("one", 0x3f800000)
			a := e.mul(e.c32(0.5), e.add(th, one))
			b := e.mul(e.mul(e.c32(0.5), x), e.sub(one, e.mul(th, th)))
			c := e.mul(e.c32(geluK), e.add(e.mul(e.c32(geluC3), e.mul(x, x)), one))
			g := e.mul(e.ld("dy"), e.add(a, e.mul(b, c)))
			if on["add"] {
				g = e.add(e.ld("dx"), g)
			}
			e.st("dx", g)
		},
	},
}

// geluK, geluC and geluC3 are the constants of GELU's tanh approximation,
// √(2/π), c = 0.044715 and 3c, each rounded once to float32, as
// internal/kernel's geluK32, geluC32 and geluC332.
const (
	geluK  = float32(0.7978845608028654)
	geluC  = float32(0.044715)
	geluC3 = float32(3 * 0.044715)
)

// tanh32 returns tanh of the float32 lanes of x, as tanh32 in transcend.go:
// |x| < 0.625: odd polynomial; else ±(1 − 2/(exp(2|x|) + 1)).
func (v *vm) tanh32(x reg.VecVirtual) reg.VecVirtual {
	a := v.and(x, v.f32("absmask", 0x7fffffff))
	ex := v.exp32(v.add(a, a))
	big := v.sub(v.f32("one", 0x3f800000), v.div(v.f32("two", 0x40000000), v.add(ex, v.f32("one", 0x3f800000))))
	big = v.or(big, v.and(x, v.f32("signbit", 0x80000000)))
	z := v.mul(x, x)
	p := v.add(v.mul(v.c32(-5.70498872745e-3), z), v.c32(2.06390887954e-2))
	p = v.add(v.mul(p, z), v.c32(-5.37397155531e-2))
	p = v.add(v.mul(p, z), v.c32(1.33314422036e-1))
	p = v.add(v.mul(p, z), v.c32(-3.33332819422e-1))
	small := v.add(v.mul(v.mul(p, z), x), x)
	return v.sel(v.cmp(cmpLT, a, v.c32(0.625)), small, big)
}

// f32 fills a vector with the float32 whose bits are b (read from memory at
// each use: AVX2 has too few registers to hold every constant).
func (v *vm) f32(name string, b uint32) reg.VecVirtual {
	return v.splat(name, uint64(b))
}

// c32 fills a vector with the float32 c.
func (v *vm) c32(c float32) reg.VecVirtual {
	b := math.Float32bits(c)
	return v.splat(constName(b), uint64(b))
}

func constName(b uint32) string {
	const hex = "0123456789abcdef"
	s := []byte("c_")
	for i := 28; i >= 0; i -= 4 {
		s = append(s, hex[b>>i&15])
	}
	return string(s)
}

// exp32 returns eˣ of the float32 lanes of x, as exp32 in transcend.go.
func (v *vm) exp32(x reg.VecVirtual) reg.VecVirtual {
	// VMAXPS and VMINPS return their second source when either is NaN.
	x = v.op3(asm.VMAXPS, asm.VMAXPD, v.c32(-104), x)
	x = v.op3(asm.VMINPS, asm.VMINPD, v.c32(89), x)
	n := v.vec()
	asm.VCVTPS2DQ(v.mul(x, v.c32(1.44269504088896341)), n) // rounds to nearest even
	fn := v.vec()
	asm.VCVTDQ2PS(n, fn)
	r := v.sub(x, v.mul(fn, v.c32(0.693359375)))
	r = v.sub(r, v.mul(fn, v.c32(-2.12194440e-4)))
	p := v.add(v.mul(v.c32(1.9875691500e-4), r), v.c32(1.3981999507e-3))
	p = v.add(v.mul(p, r), v.c32(8.3334519073e-3))
	p = v.add(v.mul(p, r), v.c32(4.1665795894e-2))
	p = v.add(v.mul(p, r), v.c32(1.6666665459e-1))
	p = v.add(v.mul(p, r), v.c32(5.0000001201e-1))
	y := v.add(v.add(v.mul(p, v.mul(r, r)), r), v.f32("one", 0x3f800000))
	// 2^(n>>1) and 2^(n−n>>1), built in the exponent field.
	n1 := v.vec()
	asm.VPSRAD(op.U8(1), n, n1)
	n2 := v.op3(asm.VPSUBD, asm.VPSUBD, n, n1)
	s1, s2 := v.vec(), v.vec()
	asm.VPSLLD(op.U8(23), v.op3(asm.VPADDD, asm.VPADDD, n1, v.f32("bias127", 127)), s1)
	asm.VPSLLD(op.U8(23), v.op3(asm.VPADDD, asm.VPADDD, n2, v.f32("bias127", 127)), s2)
	return v.mul(v.mul(y, s1), s2)
}

// or is the bitwise or (VPORD on zmm, which needs no AVX512DQ).
func (v *vm) or(a, b op.Op) reg.VecVirtual {
	if v.is512() {
		return v.op3(asm.VPORD, asm.VPORQ, a, b)
	}
	return v.op3(asm.VORPS, asm.VORPD, a, b)
}
