package autograd

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"

	"github.com/descentml/descent/tensor"
)

func init() {
	bn := func(t *Tape[float64], in []*Var[float64]) *Var[float64] {
		return t.BatchNormReLU(in[0], in[1], in[2], 1e-5, nil, nil)
	}
	bnEval := func(t *Tape[float64], in []*Var[float64]) *Var[float64] {
		return t.BatchNormEvalReLU(in[0], in[1], in[2], 1e-5, []float64{0.1, -0.2, 0.3}, []float64{0.5, 1.5, 2})
	}
	opCases = append(opCases,
		opCase{name: "BatchNormReLU/1d", shapes: [][]int{{6, 3}, {3}, {3}}, op: fresh(bn)},
		opCase{name: "BatchNormReLU/1d-twice", shapes: [][]int{{6, 3}, {3}, {3}}, op: twice(bn)},
		opCase{name: "BatchNormReLU/2d", shapes: [][]int{{2, 3, 2, 2}, {3}, {3}}, op: fresh(bn)},
		opCase{name: "BatchNormEvalReLU/1d", shapes: [][]int{{5, 3}, {3}, {3}}, op: twice(bnEval)})
}

// TestBatchNormReLUMatchesUnfused checks BatchNormReLU and
// BatchNormEvalReLU against BatchNorm (or BatchNormEval) and ReLU one after
// another, for float32 and float64, with 1, 2 and 3 threads: the output,
// the batch statistics and every gradient the same bit for bit, with and
// without γ and β, with the input's gradient set or added to another's.
// The shapes cover the MLP's layers, odd sizes that leave the bands
// unequal, one too small to be spread, and an input [N, C, L] (run as the
// two operations).
func TestBatchNormReLUMatchesUnfused(t *testing.T) {
	defer tensor.SetThreads(0)
	// Spread uses at most GOMAXPROCS workers: allow 3.
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(max(3, runtime.GOMAXPROCS(0))))
	for _, c := range []normCase{
		{[]int{128, 256}, true, false, false},
		{[]int{128, 256}, true, true, false},
		{[]int{127, 33}, true, true, true},
		{[]int{130, 257}, false, true, false},
		{[]int{131, 300}, true, false, true},
		{[]int{5, 7}, true, true, false}, // not spread
		{[]int{9, 6, 5}, true, true, true},
	} {
		for _, eval := range []bool{false, true} {
			c.eval = eval
			testBatchNormReLU[float32](t, c)
			testBatchNormReLU[float64](t, c)
		}
	}
}

type normCase struct {
	shape             []int
	affine, add, eval bool // add: the input's gradient also gets another term
}

func testBatchNormReLU[T tensor.Float](t *testing.T, c normCase) {
	t.Helper()
	rng := rand.New(rand.NewPCG(13, 14))
	ch := c.shape[1]
	param := func(grad bool, shape ...int) *Var[T] {
		x := tensor.New[T](shape...)
		for i := range x.Data() {
			x.Data()[i] = T(rng.NormFloat64())
		}
		return NewVar(x, grad)
	}
	x := param(true, c.shape...)
	x.Value().Data()[3] = 0 // an exact zero, and a value the norm maps near it
	var gamma, beta *Var[T]
	if c.affine {
		gamma, beta = param(true, ch), param(true, ch)
	}
	mean, variance := make([]T, ch), make([]T, ch)
	for i := range mean {
		mean[i], variance[i] = T(rng.NormFloat64()), T(0.5+rng.Float64())
	}
	weights := tensor.New[T](c.shape...)
	for i := range weights.Data() {
		weights.Data()[i] = T(i%7 - 3)
	}
	run := func(threads int, fused bool) [][]T {
		tensor.SetThreads(threads)
		for _, v := range []*Var[T]{x, gamma, beta} {
			if v != nil {
				v.ZeroGrad()
			}
		}
		tape := NewTape[T]()
		bm, bv := make([]T, ch), make([]T, ch)
		var y *Var[T]
		switch {
		case c.eval && fused:
			y = tape.BatchNormEvalReLU(x, gamma, beta, 1e-5, mean, variance)
		case c.eval:
			y = tape.ReLU(tape.BatchNormEval(x, gamma, beta, 1e-5, mean, variance))
		case fused:
			y = tape.BatchNormReLU(x, gamma, beta, 1e-5, bm, bv)
		default:
			y = tape.ReLU(tape.BatchNorm(x, gamma, beta, 1e-5, bm, bv))
		}
		if fused { // one operation for [N, C], the two otherwise
			ran := false
			for _, n := range tape.nodes {
				ran = ran || n.op == opBatchNormReLU || n.op == opBatchNormEvalReLU
			}
			if want := len(c.shape) == 2; ran != want {
				t.Fatalf("BatchNormReLU %T %+v: fused operation on the tape %v; want %v", T(0), c, ran, want)
			}
		}
		loss := tape.Sum(tape.Mul(y, tape.Const(weights)))
		if c.add {
			loss = tape.Add(loss, tape.Sum(tape.Scale(x, 0.5)))
		}
		if err := tape.Backward(loss); err != nil {
			t.Fatal(err)
		}
		out := [][]T{append([]T(nil), y.Value().Data()...), bm, bv}
		for _, v := range []*Var[T]{x, gamma, beta} {
			if v != nil && v.Grad() != nil {
				out = append(out, append([]T(nil), v.Grad().Data()...))
			}
		}
		return out
	}
	name := fmt.Sprintf("%T %+v", T(0), c)
	want := run(1, false)
	for _, threads := range []int{1, 2, 3} {
		got := run(threads, true)
		if len(got) != len(want) {
			t.Fatalf("BatchNormReLU %s: %d results; unfused %d", name, len(got), len(want))
		}
		for i := range want {
			for j := range want[i] {
				if math.Float64bits(float64(got[i][j])) != math.Float64bits(float64(want[i][j])) {
					t.Fatalf("BatchNormReLU %s with %d threads: result %d [%d] = %v; unfused %v", name, threads, i, j, got[i][j], want[i][j])
				}
			}
		}
	}
}

// TestBatchNormEmpty runs every batch norm (synchronised over processes
// too) on inputs with no elements, no channels or no examples: an empty
// result and gradient, not a kernel's panic over a zero row stride.
func TestBatchNormEmpty(t *testing.T) {
	for _, shape := range [][]int{{4, 0}, {0, 3}, {4, 0, 5}, {0, 2, 3}} {
		c := shape[1]
		norms := map[string]func(tape *Tape[float32], x, g, b *Var[float32]) *Var[float32]{
			"BatchNorm": func(tape *Tape[float32], x, g, b *Var[float32]) *Var[float32] {
				return tape.BatchNorm(x, g, b, 1e-5, make([]float32, c), make([]float32, c))
			},
			"BatchNormReLU": func(tape *Tape[float32], x, g, b *Var[float32]) *Var[float32] {
				return tape.BatchNormReLU(x, g, b, 1e-5, nil, nil)
			},
			"BatchNormEval": func(tape *Tape[float32], x, g, b *Var[float32]) *Var[float32] {
				return tape.BatchNormEval(x, g, b, 1e-5, make([]float32, c), make([]float32, c))
			},
			"BatchNormEvalReLU": func(tape *Tape[float32], x, g, b *Var[float32]) *Var[float32] {
				return tape.BatchNormEvalReLU(x, g, b, 1e-5, make([]float32, c), make([]float32, c))
			},
		}
		norms["BatchNorm synchronised"] = func(tape *Tape[float32], x, g, b *Var[float32]) *Var[float32] {
			tape.SetBatchReducer(sumNone{})
			return tape.BatchNorm(x, g, b, 1e-5, make([]float32, c), make([]float32, c))
		}
		for name, norm := range norms {
			tape := NewTape[float32]()
			x := NewVar(tensor.New[float32](shape...), true)
			g, b := NewVar(tensor.New[float32](c), true), NewVar(tensor.New[float32](c), true)
			y := norm(tape, x, g, b)
			if err := tape.Err(); err != nil {
				t.Fatalf("%s %v: %v", name, shape, err)
			}
			if !slices.Equal(y.Shape(), shape) {
				t.Errorf("%s %v: output %v", name, shape, y.Shape())
			}
			if err := tape.Backward(tape.Sum(y)); err != nil {
				t.Fatalf("%s %v: backward: %v", name, shape, err)
			}
			if gx := x.Grad(); gx == nil || !slices.Equal(gx.Shape(), shape) {
				t.Errorf("%s %v: input gradient %v", name, shape, gx)
			}
		}
	}
}

// sumNone is a BatchReducer of one process: the sums are its own.
type sumNone struct{}

func (sumNone) AllReduceSum([]float64) error { return nil }
