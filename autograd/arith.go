package autograd

import (
	"math"
	"unsafe"

	"github.com/descentml/descent/internal/kernel"
	"github.com/descentml/descent/tensor"
)

// Add returns a + b, elementwise, with NumPy broadcasting: a bias of shape
// [C] adds to every row of a [N, C] batch, a scalar (shape []) to every
// element. The gradient of a broadcast operand is summed over the
// dimensions it was broadcast along.
func (t *Tape[T]) Add(a, b *Var[T]) *Var[T] { return t.binary(opAdd, a, b) }

// Sub returns a − b, elementwise, with broadcasting as in Add.
func (t *Tape[T]) Sub(a, b *Var[T]) *Var[T] { return t.binary(opSub, a, b) }

// Mul returns a ⊙ b, elementwise, with broadcasting as in Add.
func (t *Tape[T]) Mul(a, b *Var[T]) *Var[T] { return t.binary(opMul, a, b) }

// Div returns a / b, elementwise, with broadcasting as in Add.
func (t *Tape[T]) Div(a, b *Var[T]) *Var[T] { return t.binary(opDiv, a, b) }

func (t *Tape[T]) binary(op opKind, a, b *Var[T]) *Var[T] {
	name := opNames[op]
	if t.skip2(name, a, b) {
		return t.dead
	}
	shape, err := tensor.Broadcast(t.shape, name, a.Shape(), b.Shape())
	if err != nil {
		return t.Fail(err)
	}
	t.shape = shape
	out := t.result(shape, a, b)
	z, x, y := out.value.Data(), a.value.Data(), b.value.Data()
	if op == opAdd && tensor.SameShape(a.Shape(), b.Shape()) {
		t.spreadElems(job[T]{kind: jobAdd, n: len(z), x: x, b: y, y: z})
	} else if tensor.SameShape(a.Shape(), b.Shape()) {
		binaryRow(op, z, x, 1, y, 1)
	} else {
		t.sa = tensor.BroadcastStrides(t.sa, a.Shape(), shape)
		t.sb = tensor.BroadcastStrides(t.sb, b.Shape(), shape)
		t.idx = growInts(t.idx, len(shape))
		da, db := lastStride(t.sa), lastStride(t.sb)
		tensor.ForEachRow(shape, t.sa, t.sb, t.idx, func(o, ia, ib, n int) {
			binaryRow(op, z[o:o+n], x[ia:], da, y[ib:], db)
		})
	}
	t.push(op, out, a, b, nil)
	return out
}

// binaryRow computes one row of a binary operation: z[j] = x[j·dx] ∘ y[j·dy].
func binaryRow[T tensor.Float](op opKind, z, x []T, dx int, y []T, dy int) {
	for j := range z {
		u, v := x[j*dx], y[j*dy]
		switch op {
		case opAdd:
			z[j] = u + v
		case opSub:
			z[j] = u - v
		case opMul:
			z[j] = u * v
		case opDiv:
			z[j] = u / v
		}
	}
}

func (t *Tape[T]) binaryBackward(n *node[T]) {
	a, b := n.a, n.b
	g, x, y := n.out.grad.Data(), a.value.Data(), b.value.Data()
	if n.op == opAdd && tensor.SameShape(a.Shape(), b.Shape()) {
		// A residual connection: each operand's gradient is g, copied
		// into a new buffer or added to one that holds gradient already.
		for _, v := range []*Var[T]{a, b} {
			if gv, add := t.gradOut(v); gv != nil {
				t.spreadElems(job[T]{kind: jobAccum, n: len(g), x: g, z: gv, add: add})
			}
		}
		return
	}
	ga, gb := t.grad(a), t.grad(b)
	if tensor.SameShape(a.Shape(), b.Shape()) {
		binaryBackwardRow(n.op, g, x, ga, 1, y, gb, 1)
		return
	}
	shape := n.out.Shape()
	t.sa = tensor.BroadcastStrides(t.sa, a.Shape(), shape)
	t.sb = tensor.BroadcastStrides(t.sb, b.Shape(), shape)
	t.idx = growInts(t.idx, len(shape))
	da, db := lastStride(t.sa), lastStride(t.sb)
	tensor.ForEachRow(shape, t.sa, t.sb, t.idx, func(o, ia, ib, m int) {
		var gai, gbi []T
		if ga != nil {
			gai = ga[ia:]
		}
		if gb != nil {
			gbi = gb[ib:]
		}
		binaryBackwardRow(n.op, g[o:o+m], x[ia:], gai, da, y[ib:], gbi, db)
	})
}

// binaryBackwardRow adds one row's contribution to the operands' gradients
// ga and gb (either may be nil), which are read with steps dx and dy like x
// and y, so that broadcast positions (step 0) accumulate.
func binaryBackwardRow[T tensor.Float](op opKind, g, x, ga []T, dx int, y, gb []T, dy int) {
	for j, gj := range g {
		u, v := x[j*dx], y[j*dy]
		switch op {
		case opAdd:
			if ga != nil {
				ga[j*dx] += gj
			}
			if gb != nil {
				gb[j*dy] += gj
			}
		case opSub:
			if ga != nil {
				ga[j*dx] += gj
			}
			if gb != nil {
				gb[j*dy] -= gj
			}
		case opMul:
			if ga != nil {
				ga[j*dx] += gj * v
			}
			if gb != nil {
				gb[j*dy] += gj * u
			}
		case opDiv:
			if ga != nil {
				ga[j*dx] += gj / v
			}
			if gb != nil {
				gb[j*dy] -= gj * u / (v * v)
			}
		}
	}
}

func lastStride(s []int) int {
	if len(s) == 0 {
		return 0
	}
	return s[len(s)-1]
}

func growInts(s []int, n int) []int {
	if cap(s) < n {
		return make([]int, n)
	}
	return s[:n]
}

func growBytes(s []uint8, n int) []uint8 {
	if cap(s) < n {
		return make([]uint8, n)
	}
	return s[:n]
}

// Scale returns c·x.
func (t *Tape[T]) Scale(x *Var[T], c float64) *Var[T] {
	if t.skip("scale", x) {
		return t.dead
	}
	out := t.result(x.Shape(), x)
	y, s := out.value.Data(), T(c)
	for i, v := range x.value.Data() {
		y[i] = s * v
	}
	if n := t.push(opScale, out, x, nil, nil); n != nil {
		n.scalar = c
	}
	return out
}

func (t *Tape[T]) scaleBackward(n *node[T]) {
	if gx := t.grad(n.a); gx != nil {
		s := T(n.scalar)
		for i, g := range n.out.grad.Data() {
			gx[i] += s * g
		}
	}
}

// Sum returns the sum of x's elements, a scalar (shape []).
func (t *Tape[T]) Sum(x *Var[T]) *Var[T] { return t.reduce(opSum, x) }

// Mean returns the mean of x's elements, a scalar (shape []). The mean of no
// elements is NaN.
func (t *Tape[T]) Mean(x *Var[T]) *Var[T] { return t.reduce(opMean, x) }

// SumSquares returns Σ x², the squared Euclidean norm of x, a scalar.
func (t *Tape[T]) SumSquares(x *Var[T]) *Var[T] { return t.reduce(opSumSquares, x) }

func (t *Tape[T]) reduce(op opKind, x *Var[T]) *Var[T] {
	if t.skip(opNames[op], x) {
		return t.dead
	}
	out := t.result(nil, x)
	var s float64
	xs := x.value.Data()
	if op == opSumSquares {
		for _, v := range xs {
			s += float64(v) * float64(v)
		}
	} else {
		for _, v := range xs {
			s += float64(v)
		}
	}
	if op == opMean {
		s /= float64(len(xs))
	}
	out.value.Data()[0] = T(s)
	t.push(op, out, x, nil, nil)
	return out
}

func (t *Tape[T]) sumBackward(n *node[T]) {
	gx := t.grad(n.a)
	if gx == nil {
		return
	}
	g := n.out.grad.Data()[0]
	if n.op == opMean {
		g /= T(len(gx))
	}
	for i := range gx {
		gx[i] += g
	}
}

func (t *Tape[T]) sumSquaresBackward(n *node[T]) {
	gx := t.grad(n.a)
	if gx == nil {
		return
	}
	g := 2 * n.out.grad.Data()[0]
	for i, v := range n.a.value.Data() {
		gx[i] += g * v
	}
}

// Exp returns eˣ, elementwise.
func (t *Tape[T]) Exp(x *Var[T]) *Var[T] { return t.unary(opExp, x) }

// Log returns the natural logarithm of x, elementwise.
func (t *Tape[T]) Log(x *Var[T]) *Var[T] { return t.unary(opLog, x) }

// Square returns x², elementwise.
func (t *Tape[T]) Square(x *Var[T]) *Var[T] { return t.unary(opSquare, x) }

// ReLU returns max(x, 0), elementwise; −0 becomes 0 and NaN stays NaN. Its
// gradient at 0 is 0, as PyTorch's.
func (t *Tape[T]) ReLU(x *Var[T]) *Var[T] { return t.unary(opReLU, x) }

// Tanh returns tanh(x), elementwise.
func (t *Tape[T]) Tanh(x *Var[T]) *Var[T] { return t.unary(opTanh, x) }

// Sigmoid returns σ(x) = 1/(1 + e⁻ˣ), elementwise.
func (t *Tape[T]) Sigmoid(x *Var[T]) *Var[T] { return t.unary(opSigmoid, x) }

// GELU returns x·Φ(x), elementwise, where Φ is the standard normal
// cumulative distribution: x/2·(1 + erf(x/√2)). This is the exact form,
// PyTorch's default (approximate='none'), not the tanh approximation.
func (t *Tape[T]) GELU(x *Var[T]) *Var[T] { return t.unary(opGELU, x) }

// GELUTanh returns the tanh approximation of GELU, elementwise, as PyTorch's
// approximate='tanh' (GPT-2's form):
//
//	x/2·(1 + tanh(√(2/π)·(x + 0.044715·x³)))
func (t *Tape[T]) GELUTanh(x *Var[T]) *Var[T] { return t.unary(opGELUTanh, x) }

// SiLU returns x·σ(x), elementwise (the swish activation, PyTorch's
// nn.SiLU).
func (t *Tape[T]) SiLU(x *Var[T]) *Var[T] { return t.unary(opSiLU, x) }

// Sqrt returns √x, elementwise (NaN for x < 0). Its gradient is
// ∂y/(2√x), as PyTorch's: +Inf at x = 0 for a positive upstream gradient,
// NaN for a zero one.
func (t *Tape[T]) Sqrt(x *Var[T]) *Var[T] { return t.unary(opSqrt, x) }

// Abs returns |x|, elementwise. Its gradient is sign(x)·∂y, with sign(0) =
// 0 as PyTorch's (and sign(NaN) = 0 too, as PyTorch 1.13's).
func (t *Tape[T]) Abs(x *Var[T]) *Var[T] { return t.unary(opAbs, x) }

// Pow returns xᵖ, elementwise, for a constant exponent p, as PyTorch's
// torch.pow(x, p) with a scalar exponent, including its special cases:
// p = 0 gives 1 (even for NaN) and p = 1 x itself; p = ½, −½ and −1 are
// computed as √x, 1/√x and 1/x (so (−∞)^½ is NaN, not the +∞ of
// math.Pow), and p = 2, 3 and −2 as x·x, x·x·x and 1/(x·x) in T, so that
// these give PyTorch's bits; other exponents by math.Pow in float64,
// rounded once, where PyTorch's float32 pow (SLEEF's, within 1 ulp) may
// differ from it in the last bit. The gradient is
//
//	∂x = ∂y·(p·x^(p−1))
//
// with x^(p−1) computed as above, so that at x = 0 it is 0 for p > 1, ∂y
// for p = 1 and ±Inf (or NaN) for p < 1, as PyTorch's; for p = 0 it is 0
// everywhere.
func (t *Tape[T]) Pow(x *Var[T], p float64) *Var[T] { return t.unaryArgs(opPow, x, [2]float64{p}) }

// Clamp returns x limited to [lo, hi], elementwise, as PyTorch's
// torch.clamp(x, lo, hi): lo where x < lo, hi where x > hi, x otherwise
// (−0 stays −0, NaN stays NaN). Either bound may be infinite, for a
// one-sided clamp. If lo > hi every element is hi, and if either bound is
// NaN every element is NaN, as PyTorch's. The gradient passes where
// lo ≤ x ≤ hi, bounds included, and is 0 elsewhere (everywhere when
// lo > hi, and at NaN).
func (t *Tape[T]) Clamp(x *Var[T], lo, hi float64) *Var[T] {
	return t.unaryArgs(opClamp, x, [2]float64{lo, hi})
}

func (t *Tape[T]) unary(op opKind, x *Var[T]) *Var[T] { return t.unaryArgs(op, x, [2]float64{}) }

// unaryArgs is an elementwise operation with up to two scalars (Pow's
// exponent, Clamp's bounds), kept on its node as scalar and hi.
func (t *Tape[T]) unaryArgs(op opKind, x *Var[T], args [2]float64) *Var[T] {
	if t.skip(opNames[op], x) {
		return t.dead
	}
	out := t.result(x.Shape(), x)
	y := out.value.Data()
	xs := x.value.Data()
	var saved *tensor.Tensor[T] // GELUTanh: the tanh, for the backward pass
	if op == opGELUTanh && out.needGrad {
		saved = t.arena.Get(x.Shape()...)
	}
	switch op {
	case opReLU:
		t.spreadElemRows(job[T]{kind: jobReLU, n: len(y), rows: leadingDim(x.Shape()), x: xs, y: y})
	case opSquare:
		for i, v := range xs {
			y[i] = v * v
		}
	default:
		j := job[T]{kind: jobUnary, op: op, n: len(y), x: xs, y: y, args: args}
		if saved != nil {
			j.z = saved.Data()
		}
		t.spreadElems(j)
	}
	if n := t.push(op, out, x, nil, nil); n != nil {
		n.saved = saved
		n.scalar, n.hi = args[0], args[1]
	}
	return out
}

// leadingDim is the rows of a tensor of the given shape: its first
// dimension, 1 for a scalar.
func leadingDim(shape []int) int {
	if len(shape) == 0 {
		return 1
	}
	return shape[0]
}

// unaryRange sets y = op(x) elementwise; for GELUTanh it also sets s, if
// not nil, to the tanh that its gradient needs. For float32, eˣ, tanh and
// σ (also inside SiLU) come from the vector kernels, in float32; GELUTanh
// is kernel.GELUTanh for both types; otherwise each element is computed in
// float64 and rounded once.
func unaryRange[T tensor.Float](op opKind, x, y, s []T, args [2]float64) {
	y = y[:len(x)]
	switch op {
	case opAbs:
		for i, v := range x {
			y[i] = T(math.Abs(float64(v)))
		}
		return
	case opPow:
		p := args[0]
		for i, v := range x {
			y[i] = pow(v, p)
		}
		return
	case opClamp:
		lo, hi := T(args[0]), T(args[1])
		if lo != lo || hi != hi {
			for i := range y {
				y[i] = T(math.NaN())
			}
			return
		}
		for i, v := range x {
			// Compared, not min and max: −0 stays −0 at a bound 0, as
			// PyTorch's std::min(std::max(x, lo), hi).
			if v < lo {
				v = lo
			}
			if v > hi {
				v = hi
			}
			y[i] = v
		}
		return
	}
	if unsafe.Sizeof(T(0)) == 4 {
		switch op {
		case opExp:
			kernel.Exp(x, y)
			return
		case opTanh:
			kernel.Tanh(x, y)
			return
		case opSigmoid:
			kernel.Sigmoid(x, y)
			return
		case opSiLU:
			kernel.Sigmoid(x, y)
			for i, v := range x {
				y[i] *= v
			}
			return
		}
	}
	if op == opGELUTanh {
		if s != nil {
			kernel.GELUTanh(x, y, s)
			return
		}
		var th [256]T
		for a := 0; a < len(x); a += len(th) {
			b := min(len(x), a+len(th))
			kernel.GELUTanh(x[a:b], y[a:b], th[:b-a])
		}
		return
	}
	for i, v := range x {
		y[i] = T(unaryFunc(op, float64(v)))
	}
}

func unaryFunc(op opKind, x float64) float64 {
	switch op {
	case opExp:
		return math.Exp(x)
	case opLog:
		return math.Log(x)
	case opTanh:
		return math.Tanh(x)
	case opSigmoid:
		return sigmoid(x)
	case opGELU:
		return x * normalCDF(x)
	case opSiLU:
		return x * sigmoid(x)
	case opSqrt:
		return math.Sqrt(x)
	}
	panic("autograd: not a unary operation")
}

// pow is xᵖ as PyTorch's torch.pow(x, p) for a scalar p (see Tape.Pow).
func pow[T tensor.Float](x T, p float64) T {
	switch p {
	case 0:
		return 1
	case 1:
		return x
	case 0.5:
		return T(math.Sqrt(float64(x)))
	case -0.5:
		return 1 / T(math.Sqrt(float64(x))) // PyTorch's rsqrt: 1/√x, both rounded to T
	case -1:
		return 1 / x
	case 2:
		return x * x
	case 3:
		return x * x * x
	case -2:
		return 1 / (x * x)
	}
	return T(math.Pow(float64(x), p))
}

// sigmoid is 1/(1 + e⁻ˣ), computed without overflow for large |x|.
func sigmoid(x float64) float64 {
	if x >= 0 {
		return 1 / (1 + math.Exp(-x))
	}
	e := math.Exp(x)
	return e / (1 + e)
}

// normalCDF is Φ(x) = (1 + erf(x/√2))/2.
func normalCDF(x float64) float64 {
	return 0.5 * (1 + math.Erf(x/math.Sqrt2))
}

func (t *Tape[T]) unaryBackward(n *node[T]) {
	if n.op == opReLU {
		if gx, add := t.gradOut(n.a); gx != nil {
			t.spreadElemRows(job[T]{kind: jobReLUGrad, n: len(gx), rows: leadingDim(n.a.Shape()), x: n.out.grad.Data(), y: n.out.value.Data(), z: gx, add: add})
		}
		return
	}
	var gx []T
	add := true
	if n.op == opGELUTanh {
		gx, add = t.gradOut(n.a) // its kernel sets or adds
	} else {
		gx = t.grad(n.a)
	}
	if gx == nil {
		return
	}
	if n.op == opPow && n.scalar == 0 {
		return // a constant: PyTorch's zero gradient, even where ∂y is NaN
	}
	j := job[T]{kind: jobUnaryGrad, op: n.op, n: len(gx), x: n.a.value.Data(), y: n.out.value.Data(), z: gx, b: n.out.grad.Data(), add: add,
		args: [2]float64{n.scalar, n.hi}}
	if n.saved != nil {
		j.tmp = n.saved.Data()
	}
	t.spreadElems(j)
}

// unaryGradRange adds g·op′(x) to gx elementwise, where y = op(x) and s
// is GELUTanh's saved tanh; for GELUTanh it sets gx instead unless add.
func unaryGradRange[T tensor.Float](op opKind, g, x, y, s, gx []T, add bool, args [2]float64) {
	switch op {
	case opSqrt:
		for i, v := range y {
			gx[i] += g[i] / (2 * v)
		}
	case opAbs:
		for i, v := range x {
			switch { // sign(x)·∂y, computed as PyTorch's; 0 at 0 and NaN
			case v > 0:
				gx[i] += g[i]
			case v < 0:
				gx[i] += -g[i]
			default:
				gx[i] += 0 * g[i]
			}
		}
	case opPow:
		p := args[0]
		c := T(p)
		for i, v := range x {
			gx[i] += g[i] * (c * pow(v, p-1))
		}
	case opClamp:
		lo, hi := T(args[0]), T(args[1])
		for i, v := range x {
			if v >= lo && v <= hi {
				gx[i] += g[i]
			}
		}
	case opSquare:
		for i, v := range x {
			gx[i] += 2 * v * g[i]
		}
	case opExp:
		for i, v := range y {
			gx[i] += g[i] * v
		}
	case opLog:
		for i, v := range x {
			gx[i] += g[i] / v
		}
	case opTanh:
		for i, v := range y {
			gx[i] += g[i] * (1 - v*v)
		}
	case opSigmoid:
		for i, v := range y {
			gx[i] += g[i] * v * (1 - v)
		}
	case opGELU:
		// d/dx x·Φ(x) = Φ(x) + x·φ(x), φ(x) = e^(−x²/2)/√(2π).
		for i, v := range x {
			u := float64(v)
			d := normalCDF(u) + u*math.Exp(-u*u/2)/math.Sqrt(2*math.Pi)
			gx[i] += g[i] * T(d)
		}
	case opGELUTanh:
		// With u = k(x + c·x³): ½(1 + tanh u) + ½x(1 − tanh²u)·k(1 + 3c·x²).
		kernel.GELUTanhGrad(x, s, g, gx, add)
	case opSiLU:
		// σ(x)·(1 + x·(1 − σ(x))).
		if unsafe.Sizeof(T(0)) == 4 {
			var sig [256]T
			for a := 0; a < len(x); a += len(sig) {
				xa := x[a:min(len(x), a+len(sig))]
				kernel.Sigmoid(xa, sig[:len(xa)])
				for i, v := range xa {
					s := sig[i]
					gx[a+i] += g[a+i] * (s * (1 + v*(1-s)))
				}
			}
			return
		}
		for i, v := range x {
			u := float64(v)
			s := sigmoid(u)
			gx[i] += g[i] * T(s*(1+u*(1-s)))
		}
	}
}
