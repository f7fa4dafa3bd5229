package autograd

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/descentml/descent/tensor"
)

// The golden values of golden_ops_test.go, made by testdata/golden_ops.py
// with PyTorch 1.13, use these for what Go has no literal for.
var (
	nan  = math.NaN()
	inf  = math.Inf(1)
	negz = math.Copysign(0, -1)
)

// An elemCase is an elementwise operation's output and input gradient,
// from elemX and the upstream gradient elemG.
type elemCase struct {
	op, name string
	args     [2]float64
	y, gx    []float64
}

// A dimCase is a reduction along dimension dim of x, with upstream
// gradient g.
type dimCase struct {
	op       string
	shape    []int
	dim      int
	x, g     []float64
	outShape []int
	y, gx    []float64
}

// A concatCase is a Concat along dim of operands xs, of which those with
// grads[i] need a gradient, with upstream gradient g.
type concatCase struct {
	dim    int
	shapes [][]int
	grads  []bool
	xs     [][]float64
	g, y   []float64
	gxs    [][]float64
}

// elemOp applies the elementwise operation op with args.
func elemOp[T tensor.Float](t *Tape[T], op string, x *Var[T], args [2]float64) *Var[T] {
	switch op {
	case "sqrt":
		return t.Sqrt(x)
	case "abs":
		return t.Abs(x)
	case "pow":
		return t.Pow(x, args[0])
	case "clamp":
		return t.Clamp(x, args[0], args[1])
	}
	panic("unknown op " + op)
}

// near reports whether got is want within tol relative to want's
// magnitude (or absolute below 1): NaN equals NaN, an infinity itself;
// the sign of a zero is not compared (a leaf's gradient adds −0 to 0).
func near(got, want, tol float64) bool {
	if math.IsNaN(want) || math.IsInf(want, 0) {
		return math.IsNaN(got) && math.IsNaN(want) || got == want
	}
	return math.Abs(got-want) <= tol*max(1, math.Abs(want))
}

// checkNear reports the first element of got that is not near want, or
// with signed, a zero of the other sign.
func checkNear[T tensor.Float](t *testing.T, what string, got []T, want []float64, tol float64, signed bool) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d values; want %d", what, len(got), len(want))
		return
	}
	for i, w := range want {
		g := float64(got[i])
		if !near(g, w, tol) || signed && w == 0 && math.Signbit(g) != math.Signbit(w) {
			t.Errorf("%s[%d] = %v; want %v (PyTorch 1.13)", what, i, got[i], w)
			return
		}
	}
}

// roundTo returns xs rounded to T.
func roundTo[T tensor.Float](xs []float64) []T {
	out := make([]T, len(xs))
	for i, v := range xs {
		out[i] = T(v)
	}
	return out
}

func testElemGolden[T tensor.Float](t *testing.T, tol float64) {
	for _, c := range elemGolden {
		x := NewVar(tensor.FromSlice(roundTo[T](elemX), len(elemX)), true)
		tape := NewTape[T]()
		y := elemOp(tape, c.op, x, c.args)
		if err := tape.BackwardWith(y, tensor.FromSlice(roundTo[T](elemG), len(elemG))); err != nil {
			t.Fatal(err)
		}
		checkNear(t, c.name+"(x)", y.Value().Data(), c.y, tol, true)
		checkNear(t, "∂/∂x "+c.name+"(x)", x.Grad().Data(), c.gx, tol, false)
	}
}

// TestElemGolden checks Sqrt, Abs, Pow and Clamp, forward and backward,
// against PyTorch 1.13 at zeros of both signs, bounds, infinities and
// NaN: in float64 to the last bits, in float32 to its precision.
func TestElemGolden(t *testing.T) {
	testElemGolden[float64](t, 1e-15)
	testElemGolden[float32](t, 1e-6)
}

// TestDimGolden checks SumDim and MeanDim on every dimension, negative
// ones included, and on a dimension of size 0, against PyTorch 1.13.
func TestDimGolden(t *testing.T) {
	for _, c := range dimGolden {
		x := NewVar(tensor.FromSlice(slices.Clone(c.x), c.shape...), true)
		tape := NewTape[float64]()
		var y *Var[float64]
		if c.op == "sum" {
			y = tape.SumDim(x, c.dim)
		} else {
			y = tape.MeanDim(x, c.dim)
		}
		name := strings.ToUpper(c.op[:1]) + c.op[1:] + "Dim"
		if err := tape.Err(); err != nil {
			t.Fatalf("%s(%v, %d): %v", name, c.shape, c.dim, err)
		}
		if !slices.Equal(y.Shape(), c.outShape) {
			t.Fatalf("%s(%v, %d) has shape %v; want %v", name, c.shape, c.dim, y.Shape(), c.outShape)
		}
		if err := tape.BackwardWith(y, tensor.FromSlice(slices.Clone(c.g), c.outShape...)); err != nil {
			t.Fatal(err)
		}
		checkNear(t, name, y.Value().Data(), c.y, 1e-14, false)
		checkNear(t, "∂/∂x "+name, x.Grad().Data(), c.gx, 1e-15, false)
	}
}

// TestConcatGolden checks Concat's result and gradients against
// PyTorch 1.13, negative dimensions and empty operands included, and
// that an operand that needs no gradient gets none.
func TestConcatGolden(t *testing.T) {
	for _, c := range concatGolden {
		xs := make([]*Var[float64], len(c.xs))
		for i, x := range c.xs {
			xs[i] = NewVar(tensor.FromSlice(slices.Clone(x), c.shapes[i]...), c.grads[i])
		}
		tape := NewTape[float64]()
		y := tape.Concat(c.dim, xs...)
		if err := tape.BackwardWith(y, tensor.FromSlice(slices.Clone(c.g), y.Shape()...)); err != nil {
			t.Fatalf("Concat(%d, %v): %v", c.dim, c.shapes, err)
		}
		checkNear(t, "Concat", y.Value().Data(), c.y, 0, true)
		for i, x := range xs {
			if c.gxs[i] == nil {
				if x.Grad() != nil {
					t.Errorf("Concat(%d, %v): operand %d without requiresGrad got a gradient", c.dim, c.shapes, i)
				}
				continue
			}
			checkNear(t, "∂/∂x Concat", x.Grad().Data(), c.gxs[i], 0, false)
		}
	}
}

// TestDimOfScalar: a scalar has one dimension, 0 or −1, as in PyTorch
// (torch.tensor(3.).sum(0) is 3, its gradient 1), for SumDim and MeanDim.
func TestDimOfScalar(t *testing.T) {
	for _, dim := range []int{0, -1} {
		for _, mean := range []bool{false, true} {
			x := NewVar(tensor.FromSlice([]float32{3}), true)
			tape := NewTape[float32]()
			var y *Var[float32]
			if mean {
				y = tape.MeanDim(x, dim)
			} else {
				y = tape.SumDim(x, dim)
			}
			if err := tape.Backward(tape.Scale(y, 2)); err != nil {
				t.Fatalf("dim %d, mean %v: %v", dim, mean, err)
			}
			if len(y.Shape()) != 0 || y.Value().Item() != 3 || x.Grad().Item() != 2 {
				t.Errorf("dim %d, mean %v of the scalar 3: %v of shape %v, gradient %v; want 3 of shape [], gradient 2", dim, mean, y.Value().Item(), y.Shape(), x.Grad().Item())
			}
		}
	}
}

// TestDimErrors checks that a dimension out of range, and operands that
// do not fit, are the tape's error.
func TestDimErrors(t *testing.T) {
	v := func(shape ...int) *Var[float32] { return NewVar(tensor.New[float32](shape...), true) }
	for _, c := range []struct {
		op   func(t *Tape[float32]) *Var[float32]
		want string
	}{
		{func(t *Tape[float32]) *Var[float32] { return t.SumDim(v(2, 3), 2) }, "autograd: sum: dimension 2 of shape [2 3]: out of range"},
		{func(t *Tape[float32]) *Var[float32] { return t.MeanDim(v(2, 3), -3) }, "autograd: mean: dimension -3 of shape [2 3]: out of range"},
		{func(t *Tape[float32]) *Var[float32] { return t.SumDim(v(), 1) }, "autograd: sum: dimension 1 of shape []: out of range"},
		{func(t *Tape[float32]) *Var[float32] { return t.MeanDim(v(), -2) }, "autograd: mean: dimension -2 of shape []: out of range"},
		{func(t *Tape[float32]) *Var[float32] { return t.Narrow(v(2, 3), -3, 0, 1) }, "autograd: narrow [2 3] along dimension -3 from 0 for 1: out of range"},
		{func(t *Tape[float32]) *Var[float32] { return t.Concat(0) }, "autograd: concat: no operands"},
		{func(t *Tape[float32]) *Var[float32] { return t.Concat(2, v(2, 3), v(2, 3)) }, "autograd: concat: dimension 2 of shape [2 3]: out of range"},
		{func(t *Tape[float32]) *Var[float32] { return t.Concat(0, v(2, 3), v(3)) }, "autograd: concat: operand 2 of shape [3] and operand 1 of shape [2 3]: want the same rank"},
		{func(t *Tape[float32]) *Var[float32] { return t.Concat(-1, v(2, 3), v(2, 1), v(3, 3)) },
			"autograd: concat along dimension -1: operand 3 of shape [3 3] and operand 1 of shape [2 3]: want the same size in dimension 0"},
		{func(t *Tape[float32]) *Var[float32] { return t.Concat(0, v(2), nil) }, "autograd: concat: operand 2 of 2 is nil"},
	} {
		tape := NewTape[float32]()
		y := c.op(tape)
		if err := tape.Err(); err == nil || err.Error() != c.want || y == nil {
			t.Errorf("result %v, error %v; want a placeholder and %s", y, err, c.want)
		}
	}
}

// TestNarrowNegative checks that Narrow counts a negative dimension from
// the end, as PyTorch's.
func TestNarrowNegative(t *testing.T) {
	tape := NewTape[float32]()
	x := tape.Const(tensor.FromSlice([]float32{1, 2, 3, 4, 5, 6}, 2, 3))
	y := tape.Narrow(x, -1, 1, 2)
	if want := []float32{2, 3, 5, 6}; tape.Err() != nil || !slices.Equal(y.Value().Data(), want) {
		t.Errorf("Narrow([[1 2 3] [4 5 6]], -1, 1, 2) = %v, error %v; want %v", y.Value().Data(), tape.Err(), want)
	}
}

// positive fills x with values in [0.5, 1.5], away from the kinks and
// poles of Sqrt and Pow at 0.
func positive(_ int, x []float64, rng *rand.Rand) {
	for j := range x {
		x[j] = 0.5 + rng.Float64()
	}
}

func init() {
	one := func(f func(t *Tape[float64], x *Var[float64]) *Var[float64]) func(*Tape[float64], []*Var[float64]) *Var[float64] {
		return func(t *Tape[float64], in []*Var[float64]) *Var[float64] { return f(t, in[0]) }
	}
	concat := func(dim int) func(*Tape[float64], []*Var[float64]) *Var[float64] {
		return func(t *Tape[float64], in []*Var[float64]) *Var[float64] { return t.Concat(dim, in...) }
	}
	cases := []opCase{
		{name: "Sqrt", shapes: [][]int{{3, 4}}, fill: positive, op: one(func(t *Tape[float64], x *Var[float64]) *Var[float64] { return t.Sqrt(x) })},
		{name: "Abs", shapes: [][]int{{3, 4}}, fill: awayFromZero, op: one(func(t *Tape[float64], x *Var[float64]) *Var[float64] { return t.Abs(x) })},
		{name: "Pow/1.7", shapes: [][]int{{3, 4}}, fill: positive, op: one(func(t *Tape[float64], x *Var[float64]) *Var[float64] { return t.Pow(x, 1.7) })},
		{name: "Pow/-0.5", shapes: [][]int{{3, 4}}, fill: positive, op: one(func(t *Tape[float64], x *Var[float64]) *Var[float64] { return t.Pow(x, -0.5) })},
		{name: "Pow/3", shapes: [][]int{{3, 4}}, op: one(func(t *Tape[float64], x *Var[float64]) *Var[float64] { return t.Pow(x, 3) })},
		{name: "Pow/-2", shapes: [][]int{{3, 4}}, fill: awayFromZero, op: one(func(t *Tape[float64], x *Var[float64]) *Var[float64] { return t.Pow(x, -2) })},
		{name: "Pow/0", shapes: [][]int{{3, 4}}, op: one(func(t *Tape[float64], x *Var[float64]) *Var[float64] { return t.Pow(x, 0) })},
		{name: "Clamp", shapes: [][]int{{4, 5}}, op: one(func(t *Tape[float64], x *Var[float64]) *Var[float64] { return t.Clamp(x, -0.7, 0.9) })},
		{name: "Clamp/below", shapes: [][]int{{4, 5}}, op: one(func(t *Tape[float64], x *Var[float64]) *Var[float64] { return t.Clamp(x, math.Inf(-1), 0.3) })},
		{name: "Clamp/crossed", shapes: [][]int{{4, 5}}, op: one(func(t *Tape[float64], x *Var[float64]) *Var[float64] { return t.Clamp(x, 1, -1) })},
		{name: "SumDim/0", shapes: [][]int{{2, 3, 4}}, op: one(func(t *Tape[float64], x *Var[float64]) *Var[float64] { return t.SumDim(x, 0) })},
		{name: "SumDim/-2", shapes: [][]int{{2, 3, 4}}, op: one(func(t *Tape[float64], x *Var[float64]) *Var[float64] { return t.SumDim(x, -2) })},
		{name: "MeanDim/2", shapes: [][]int{{2, 3, 4}}, op: one(func(t *Tape[float64], x *Var[float64]) *Var[float64] { return t.MeanDim(x, 2) })},
		{name: "MeanDim/rank1", shapes: [][]int{{5}}, op: one(func(t *Tape[float64], x *Var[float64]) *Var[float64] { return t.MeanDim(x, 0) })},
		{name: "Concat/1", shapes: [][]int{{2, 3}, {2, 1}, {2, 2}}, op: concat(1)},
		{name: "Concat/0", shapes: [][]int{{1, 3, 2}, {2, 3, 2}}, op: concat(0)},
		{name: "Concat/-2", shapes: [][]int{{2, 1, 3}, {2, 2, 3}}, op: concat(-2)},
		{name: "Concat/same", shapes: [][]int{{2, 3}}, op: func(t *Tape[float64], in []*Var[float64]) *Var[float64] {
			return t.Concat(1, in[0], t.Square(in[0]), in[0])
		}},
	}
	opCases = append(opCases, cases...)
	for _, c := range cases {
		if strings.HasPrefix(c.name, "Concat") || strings.HasPrefix(c.name, "SumDim") || c.name == "Clamp" {
			opCases = append(opCases,
				opCase{name: c.name + "/fresh", shapes: c.shapes, fill: c.fill, op: fresh(c.op)},
				opCase{name: c.name + "/twice", shapes: c.shapes, fill: c.fill, op: twice(c.op)})
		}
	}
}

// TestNewOpsIndependentOfThreads runs Sqrt, Abs, Pow, Clamp, SumDim,
// MeanDim and Concat on operands large enough to spread over the pool,
// with 1, 2 and 3 threads, and checks that the result and the gradient
// are the same bits.
func TestNewOpsIndependentOfThreads(t *testing.T) {
	defer tensor.SetThreads(0)
	rng := rand.New(rand.NewPCG(9, 10))
	const rows, cols = 300, 257 // more than spreadAt elements, not a multiple of chunkLen
	xt, gt := tensor.New[float32](rows, cols), tensor.New[float32](2*rows, cols)
	for i := range xt.Data() {
		xt.Data()[i] = float32(rng.NormFloat64())
	}
	for i := range gt.Data() {
		gt.Data()[i] = float32(rng.NormFloat64())
	}
	x := NewVar(xt, true)
	run := func(threads int) [][]float32 {
		tensor.SetThreads(threads)
		x.ZeroGrad()
		tape := NewTape[float32]()
		a := tape.Pow(tape.Sqrt(tape.Abs(x)), 1.5)
		b := tape.Clamp(x, -0.5, 0.75)
		c := tape.Pow(x, 2)
		s := tape.Reshape(tape.SumDim(tape.Reshape(tape.Concat(1, a, b), rows, 2, cols), 1), rows, cols)
		m := tape.Reshape(tape.MeanDim(tape.Reshape(tape.Concat(0, c, s), 2, rows, cols), 0), rows, cols)
		y := tape.Concat(0, s, m)
		if err := tape.BackwardWith(y, gt); err != nil {
			t.Fatal(err)
		}
		return [][]float32{slices.Clone(y.Value().Data()), slices.Clone(x.Grad().Data())}
	}
	want := run(1)
	for _, threads := range []int{2, 3, 1} {
		got := run(threads)
		for i := range got {
			for k := range got[i] {
				if math.Float32bits(got[i][k]) != math.Float32bits(want[i][k]) {
					t.Fatalf("output/gradient %d [%d] with %d threads = %v; with 1 thread %v", i, k, threads, got[i][k], want[i][k])
				}
			}
		}
	}
}

// TestNewOpsStepAllocatesNothing checks that a step through the new
// operations allocates nothing after the first.
func TestNewOpsStepAllocatesNothing(t *testing.T) {
	w := NewVar(tensor.FromSlice([]float32{0.5, -1, 2, 0, 3, -0.25}, 2, 3), true)
	b := NewVar(tensor.FromSlice([]float32{1, 2}, 2, 1), true)
	checkStepAllocs(t, "a step of Sqrt, Abs, Pow, Clamp, SumDim, MeanDim and Concat", func(tape *Tape[float32]) *Var[float32] {
		h := tape.Concat(-1, tape.Abs(w), tape.Clamp(b, 0, 1.5))
		h = tape.Pow(tape.Sqrt(tape.Add(h, h)), 3)
		return tape.Sum(tape.MeanDim(tape.SumDim(h, 0), 0))
	})
}
