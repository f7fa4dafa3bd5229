package autograd

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/descentml/descent/tensor"
)

func init() {
	fused := func(t *Tape[float64], in []*Var[float64]) *Var[float64] { return t.LinearReLU(in[0], in[1], in[2]) }
	shapes := [][]int{{3, 4}, {5, 4}, {5}}
	opCases = append(opCases,
		opCase{name: "LinearReLU/fresh", shapes: shapes, op: fresh(fused)},
		opCase{name: "LinearReLU/twice", shapes: shapes, op: twice(fused)})
}

// TestLinearReLUMatchesUnfused checks LinearReLU against Linear and ReLU
// one after another, for float32 and float64, with 1, 2 and 3 threads: the
// output and every gradient the same bit for bit, with and without a bias,
// with the input's gradient wanted or not, every gradient set (the
// operands intermediate) or added to (leaves, and an input with another
// term), and with a NaN and exact zeros among the outputs. The shapes cover
// layers cut by units (wide) and by rows (narrow, as a classifier's
// output), odd sizes that leave the bands unequal, and a layer too small
// to be spread.
func TestLinearReLUMatchesUnfused(t *testing.T) {
	for _, c := range []linearCase{
		{rows: 128, in: 784, out: 256, bias: true}, // the MLP's first layer
		{rows: 128, in: 256, out: 256, bias: true, gradX: true},
		{rows: 128, in: 256, out: 256, bias: true, gradX: true, set: true},
		{rows: 127, in: 33, out: 200, bias: true, gradX: true, special: true},
		{rows: 131, in: 256, out: 10, bias: true, gradX: true}, // narrow: cut by rows
		{rows: 131, in: 256, out: 10, bias: true, gradX: true, set: true, special: true},
		{rows: 130, in: 100, out: 257, gradX: true},
		{rows: 130, in: 100, out: 257, gradX: true, set: true, special: true},
		{rows: 3, in: 300, out: 300, bias: true, gradX: true},
		{rows: 5, in: 7, out: 10, bias: true, gradX: true, set: true}, // not spread
	} {
		testLinearReLU[float32](t, c)
		testLinearReLU[float64](t, c)
	}
}

type linearCase struct {
	rows, in, out int
	bias, gradX   bool
	set           bool // the operands intermediate: their gradients set, not added to
	special       bool // a NaN in the input and a row of zeros
}

func testLinearReLU[T tensor.Float](t *testing.T, c linearCase) {
	t.Helper()
	rng := rand.New(rand.NewPCG(11, 12))
	param := func(grad bool, shape ...int) *Var[T] { return normalVar[T](rng, grad, shape...) }
	x, w := param(c.gradX, c.rows, c.in), param(true, c.out, c.in)
	var b *Var[T]
	if c.bias {
		b = param(true, c.out)
		b.Value().Data()[0] = T(math.Copysign(0, -1))
	}
	if c.special {
		x.Value().Data()[c.in+1] = T(math.NaN()) // row 1 of the output NaN
		clear(x.Value().Data()[2*c.in : 3*c.in]) // row 2 the bias alone
	}
	weights := param(false, c.rows, c.out).Value() // of the outputs in the loss
	run := func(threads int, fused bool) [][]T {
		tensor.SetThreads(threads)
		x.ZeroGrad()
		w.ZeroGrad()
		if b != nil {
			b.ZeroGrad()
		}
		tape := NewTape[T]()
		xi, wi, bi := x, w, b
		if c.set {
			xi, wi = tape.Scale(x, 1), tape.Scale(w, 1)
			if b != nil {
				bi = tape.Scale(b, 1)
			}
		}
		var y *Var[T]
		if fused {
			y = tape.LinearReLU(xi, wi, bi)
			ran := false
			for _, n := range tape.nodes {
				ran = ran || n.op == opLinearReLU
			}
			if !ran {
				t.Fatalf("LinearReLU %T %+v: no fused operation on the tape", T(0), c)
			}
		} else {
			y = tape.ReLU(tape.Linear(xi, wi, bi))
		}
		loss := tape.Sum(tape.Mul(y, tape.Const(weights)))
		if !c.set {
			// x's gradient also gets a second term, so that the product adds to it.
			loss = tape.Add(loss, tape.Sum(tape.Scale(x, 0.5)))
		}
		if err := tape.Backward(loss); err != nil {
			t.Fatal(err)
		}
		out := [][]T{append([]T(nil), y.Value().Data()...), append([]T(nil), y.Grad().Data()...)}
		return append(out, gradsOf(x, w, b, xi, wi, bi)...)
	}
	matchOnThreads(t, fmt.Sprintf("LinearReLU %T %+v", T(0), c), run)
}

// firstDiff returns the first place i, j where a[i][j] and b[i][j] differ
// bit for bit (a float32 converts to float64 exactly, NaN payload and
// all), j = -1 if only the lengths of a[i] and b[i] do, and i = -1 if a and
// b are the same.
func firstDiff[T tensor.Float](a, b [][]T) (i, j int) {
	for i := range max(len(a), len(b)) {
		if i >= len(a) || i >= len(b) || len(a[i]) != len(b[i]) {
			return i, -1
		}
		for j := range a[i] {
			if math.Float64bits(float64(a[i][j])) != math.Float64bits(float64(b[i][j])) {
				return i, j
			}
		}
	}
	return -1, -1
}

// at returns a[i][j], or the length of a[i] (a's length when there is no
// a[i]) for j = -1.
func at[T tensor.Float](a [][]T, i, j int) any {
	switch {
	case i >= len(a):
		return len(a)
	case j < 0:
		return len(a[i])
	}
	return a[i][j]
}

// TestLinearNoInputs checks Linear and LinearReLU on an input of no
// features, [N, 0]: each row of the output is the bias (rectified), and the
// bias's gradient sums the output's over the N rows.
func TestLinearNoInputs(t *testing.T) {
	for _, relu := range []bool{false, true} {
		tape := NewTape[float64]()
		x := NewVar(tensor.New[float64](4, 0), true)
		w := NewVar(tensor.New[float64](3, 0), true)
		b := NewVar(tensor.FromSlice([]float64{1, -2, 3}, 3), true)
		var y *Var[float64]
		if relu {
			y = tape.LinearReLU(x, w, b)
		} else {
			y = tape.Linear(x, w, b)
		}
		if err := tape.Backward(tape.Sum(y)); err != nil {
			t.Fatal(err)
		}
		row, grad := []float64{1, -2, 3}, []float64{4, 4, 4}
		if relu {
			row, grad = []float64{1, 0, 3}, []float64{4, 0, 4}
		}
		for i := range 4 {
			if got := y.Value().Data()[3*i : 3*i+3]; !slices.Equal(got, row) {
				t.Errorf("relu %v: row %d = %v; want the bias %v", relu, i, got, row)
			}
		}
		if got := b.Grad().Data(); !slices.Equal(got, grad) {
			t.Errorf("relu %v: bias gradient %v; want %v", relu, got, grad)
		}
	}
}
