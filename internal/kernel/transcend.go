package kernel

import (
	"math"
	"unsafe"
)

// The transcendental kernels: eˣ, tanh and the logistic sigmoid over
// slices, the activations of recurrent gates, GELU and softmax. For float64
// they are the math package's functions, one element at a time. For
// float32 they are polynomial approximations in float32 arithmetic (after
// Cephes, S. L. Moshier, 1984–2000, expf and tanhf), with vector versions
// that repeat the reference loops' operations in the same order, so that
// results match them bit for bit. Their relative error against the exact
// function is below 4·2⁻²⁴ (2.4e-7) wherever the result is a normal
// float32, and tests check it against math's float64 functions.

// Exp sets y to eˣ elementwise. y may be x. For float64, y[i] =
// math.Exp(x[i]); for float32, with x clamped to [−104, 89] (which keeps
// NaN, gives +Inf above the largest finite result and 0 below the least
// subnormal one), the reference loop is
//
//	n := RoundToEven(x·log₂e)
//	r := (x − n·ln2hi) − n·ln2lo
//	p := ((((c₅r + c₄)r + c₃)r + c₂)r + c₁)r + c₀
//	y[i] = (((p·r²) + r) + 1) · 2^⌊n/2⌋ · 2^(n−⌊n/2⌋)
//
// each operation rounded to float32 (no fused multiply-adds).
func Exp[T Float](x, y []T) {
	table[T]().exp(x, y[:len(x)])
}

// Tanh sets y to tanh x elementwise. y may be x. For float64, y[i] =
// math.Tanh(x[i]); for float32, an odd polynomial below |x| = 0.625 and
// 1 − 2/(e^{2|x|} + 1), with the sign of x, above:
//
//	if |x| < 0.625 { z := x·x; y[i] = ((((d₄z + d₃)z + d₂)z + d₁)z + d₀)·z·x + x }
//	else { y[i] = ±(1 − 2/(Exp(|x| + |x|) + 1)) }
func Tanh[T Float](x, y []T) {
	table[T]().tanh(x, y[:len(x)])
}

// Sigmoid sets y to the logistic function 1/(1 + e⁻ˣ) elementwise, without
// overflow for large |x|. y may be x. With e = e^(−|x|) (Exp for float32,
// math.Exp for float64):
//
//	y[i] = e/(1 + e) if x[i] < 0, else 1/(1 + e)
func Sigmoid[T Float](x, y []T) {
	table[T]().sigmoid(x, y[:len(x)])
}

func expRef[T Float](x, y []T) {
	y = y[:len(x)]
	if unsafe.Sizeof(T(0)) == 4 {
		for i, v := range x {
			y[i] = T(exp32(float32(v)))
		}
		return
	}
	for i, v := range x {
		y[i] = T(math.Exp(float64(v)))
	}
}

func tanhRef[T Float](x, y []T) {
	y = y[:len(x)]
	if unsafe.Sizeof(T(0)) == 4 {
		for i, v := range x {
			y[i] = T(tanh32(float32(v)))
		}
		return
	}
	for i, v := range x {
		y[i] = T(math.Tanh(float64(v)))
	}
}

func sigmoidRef[T Float](x, y []T) {
	y = y[:len(x)]
	if unsafe.Sizeof(T(0)) == 4 {
		for i, v := range x {
			e := exp32(math.Float32frombits(math.Float32bits(float32(v)) | 1<<31))
			if d := 1 + e; v < 0 {
				y[i] = T(e / d)
			} else {
				y[i] = T(1 / d)
			}
		}
		return
	}
	for i, v := range x {
		if f := float64(v); f >= 0 {
			y[i] = T(1 / (1 + math.Exp(-f)))
		} else {
			e := math.Exp(f)
			y[i] = T(e / (1 + e))
		}
	}
}

// The constants of exp32 and tanh32: ln 2 split so that n·ln2hi is exact
// for |n| < 2¹⁵, and Cephes' minimax coefficients.
const (
	expLo    = -104
	expHi    = 89
	log2e32  = float32(1.44269504088896341)
	ln2hi32  = float32(0.693359375)
	ln2lo32  = float32(-2.12194440e-4)
	expC5    = float32(1.9875691500e-4)
	expC4    = float32(1.3981999507e-3)
	expC3    = float32(8.3334519073e-3)
	expC2    = float32(4.1665795894e-2)
	expC1    = float32(1.6666665459e-1)
	expC0    = float32(5.0000001201e-1)
	tanhD4   = float32(-5.70498872745e-3)
	tanhD3   = float32(2.06390887954e-2)
	tanhD2   = float32(-5.37397155531e-2)
	tanhD1   = float32(1.33314422036e-1)
	tanhD0   = float32(-3.33332819422e-1)
	tanhEdge = float32(0.625)
)

// exp32 is one element of Exp for float32; every product is rounded before
// the sum it feeds, as the vector versions compute it.
func exp32(x float32) float32 {
	if expLo > x { // as VMAXPS(lo, x): a NaN x stays
		x = expLo
	}
	if expHi < x {
		x = expHi
	}
	if x != x {
		return x
	}
	n := int32(math.RoundToEven(float64(x * log2e32)))
	fn := float32(n)
	r := x - float32(fn*ln2hi32)
	r -= float32(fn * ln2lo32)
	p := float32(expC5*r) + expC4
	p = float32(p*r) + expC3
	p = float32(p*r) + expC2
	p = float32(p*r) + expC1
	p = float32(p*r) + expC0
	y := float32(float32(p*float32(r*r))+r) + 1
	n1 := n >> 1
	s1 := math.Float32frombits(uint32(n1+127) << 23)
	s2 := math.Float32frombits(uint32(n-n1+127) << 23)
	return float32(y*s1) * s2
}

// tanh32 is one element of Tanh for float32.
func tanh32(x float32) float32 {
	a := math.Float32frombits(math.Float32bits(x) &^ (1 << 31))
	if a < tanhEdge {
		z := float32(x * x)
		p := float32(tanhD4*z) + tanhD3
		p = float32(p*z) + tanhD2
		p = float32(p*z) + tanhD1
		p = float32(p*z) + tanhD0
		return float32(float32(p*z)*x) + x
	}
	t := 1 - 2/(exp32(a+a)+1)
	return math.Float32frombits(math.Float32bits(t) | math.Float32bits(x)&(1<<31))
}

// The constants of GELU's tanh approximation, √(2/π) and 0.044715, and 3
// times the latter, rounded once to float32.
const (
	geluK32  = float32(0.7978845608028654)
	geluC32  = float32(0.044715)
	geluC332 = float32(3 * 0.044715)
)

// GELUTanh sets y to the tanh approximation of GELU (GPT-2's, PyTorch's
// approximate='tanh') and th to the tanh inside it, which its gradient
// needs. y may be x. For float64 the constants are float64 and tanh is
// math.Tanh; for float32 tanh is Tanh's, and every operation is rounded to
// float32:
//
//	u := k·(x + ((c·x)·x)·x)       k = √(2/π), c = 0.044715
//	th[i] = tanh u
//	y[i] = (½x)·(1 + th[i])
func GELUTanh[T Float](x, y, th []T) {
	table[T]().geluTanh(x, y[:len(x)], th[:len(x)])
}

func geluTanhRef[T Float](x, y, th []T) {
	y, th = y[:len(x)], th[:len(x)]
	k, c := T(0.7978845608028654), T(0.044715)
	if unsafe.Sizeof(T(0)) == 4 {
		k, c = T(geluK32), T(geluC32)
	}
	for i, v := range x {
		u := T(k * (v + T(T(T(c*v)*v)*v)))
		var t T
		if unsafe.Sizeof(T(0)) == 4 {
			t = T(tanh32(float32(u)))
		} else {
			t = T(math.Tanh(float64(u)))
		}
		th[i] = t
		y[i] = T(T(0.5*v) * (1 + t))
	}
}

// GELUTanhGrad sets dx, or adds to it if add, the gradient dy let through
// by GELUTanh at x, th the tanh it saved. dx may be dy. Every operation is
// rounded to T:
//
//	a := ½(1 + th[i])
//	b := (½x)·(1 − th[i]·th[i])
//	d := k·(1 + 3c·(x·x))
//	dx[i] = dy[i]·(a + b·d)  (dx[i] += … if add)
func GELUTanhGrad[T Float](x, th, dy, dx []T, add bool) {
	n := len(x)
	table[T]().geluTanhGrad(x, th[:n], dy[:n], dx[:n], add)
}

func geluTanhGradRef[T Float](x, th, dy, dx []T, add bool) {
	n := len(x)
	th, dy, dx = th[:n], dy[:n], dx[:n]
	k, c3 := T(0.7978845608028654), T(3*0.044715)
	if unsafe.Sizeof(T(0)) == 4 {
		k, c3 = T(geluK32), T(geluC332)
	}
	for i, v := range x {
		t := th[i]
		a := T(0.5 * (1 + t))
		b := T(T(0.5*v) * (1 - T(t*t)))
		d := T(k * (1 + T(c3*T(v*v))))
		g := T(dy[i] * (a + T(b*d)))
		if add {
			g += dx[i]
		}
		dx[i] = g
	}
}
