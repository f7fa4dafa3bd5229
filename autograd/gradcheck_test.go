package autograd

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/descentml/descent/tensor"
)

// An opCase is one differentiable operation for the finite-difference check:
// the shapes of its inputs, how to fill them, and the operation itself.
type opCase struct {
	name   string
	shapes [][]int
	// fill sets input i's values; nil means standard normal draws.
	fill func(i int, x []float64, rng *rand.Rand)
	op   func(t *Tape[float64], in []*Var[float64]) *Var[float64]
}

// awayFromZero fills x with values of magnitude in [0.5, 1.5] and random
// sign, so that kinks at 0 (ReLU) and poles (division) stay out of reach of
// the finite differences.
func awayFromZero(_ int, x []float64, rng *rand.Rand) {
	for j := range x {
		x[j] = (0.5 + rng.Float64()) * float64(1-2*rng.IntN(2))
	}
}

// distinct fills x with a random permutation of multiples of 0.1, so that a
// window's maximum is unique by a margin larger than the finite-difference
// step.
func distinct(_ int, x []float64, rng *rand.Rand) {
	for j, p := range rng.Perm(len(x)) {
		x[j] = 0.1*float64(p) - 0.05*float64(len(x))
	}
}

var labels = []int{2, 0, 3, 1, 3}

var opCases = []opCase{
	{name: "Add/same", shapes: [][]int{{3, 4}, {3, 4}}, op: func(t *Tape[float64], in []*Var[float64]) *Var[float64] { return t.Add(in[0], in[1]) }},
	{name: "Add/bias", shapes: [][]int{{3, 4}, {4}}, op: func(t *Tape[float64], in []*Var[float64]) *Var[float64] { return t.Add(in[0], in[1]) }},
	{name: "Add/outer", shapes: [][]int{{2, 3, 1}, {1, 4}}, op: func(t *Tape[float64], in []*Var[float64]) *Var[float64] { return t.Add(in[0], in[1]) }},
	{name: "Add/scalar", shapes: [][]int{{}, {2, 3}}, op: func(t *Tape[float64], in []*Var[float64]) *Var[float64] { return t.Add(in[0], in[1]) }},
	{name: "Sub/bias", shapes: [][]int{{4}, {3, 4}}, op: func(t *Tape[float64], in []*Var[float64]) *Var[float64] { return t.Sub(in[0], in[1]) }},
	{name: "Mul/same", shapes: [][]int{{3, 4}, {3, 4}}, op: func(t *Tape[float64], in []*Var[float64]) *Var[float64] { return t.Mul(in[0], in[1]) }},
	{name: "Mul/scale", shapes: [][]int{{2, 3, 4}, {3, 1}}, op: func(t *Tape[float64], in []*Var[float64]) *Var[float64] { return t.Mul(in[0], in[1]) }},
	{name: "Div/same", shapes: [][]int{{3, 4}, {3, 4}}, fill: awayFromZero, op: func(t *Tape[float64], in []*Var[float64]) *Var[float64] { return t.Div(in[0], in[1]) }},
	{name: "Div/broadcast", shapes: [][]int{{3, 4}, {3, 1}}, fill: awayFromZero, op: func(t *Tape[float64], in []*Var[float64]) *Var[float64] { return t.Div(in[0], in[1]) }},
	{name: "Scale", shapes: [][]int{{3, 4}}, op: func(t *Tape[float64], in []*Var[float64]) *Var[float64] { return t.Scale(in[0], -2.5) }},
	{name: "Sum", shapes: [][]int{{3, 4}}, op: func(t *Tape[float64], in []*Var[float64]) *Var[float64] { return t.Sum(in[0]) }},
	{name: "Mean", shapes: [][]int{{3, 4}}, op: func(t *Tape[float64], in []*Var[float64]) *Var[float64] { return t.Mean(in[0]) }},
	{name: "SumSquares", shapes: [][]int{{3, 4}}, op: func(t *Tape[float64], in []*Var[float64]) *Var[float64] { return t.SumSquares(in[0]) }},
	{name: "Exp", shapes: [][]int{{3, 4}}, op: func(t *Tape[float64], in []*Var[float64]) *Var[float64] { return t.Exp(in[0]) }},
	{name: "Log", shapes: [][]int{{3, 4}}, fill: func(_ int, x []float64, rng *rand.Rand) {
		for j := range x {
			x[j] = 0.5 + rng.Float64()
		}
	}, op: func(t *Tape[float64], in []*Var[float64]) *Var[float64] { return t.Log(in[0]) }},
	{name: "Square", shapes: [][]int{{3, 4}}, op: func(t *Tape[float64], in []*Var[float64]) *Var[float64] { return t.Square(in[0]) }},
	{name: "ReLU", shapes: [][]int{{3, 4}}, fill: awayFromZero, op: func(t *Tape[float64], in []*Var[float64]) *Var[float64] { return t.ReLU(in[0]) }},
	{name: "Tanh", shapes: [][]int{{3, 4}}, op: func(t *Tape[float64], in []*Var[float64]) *Var[float64] { return t.Tanh(in[0]) }},
	{name: "Sigmoid", shapes: [][]int{{3, 4}}, op: func(t *Tape[float64], in []*Var[float64]) *Var[float64] { return t.Sigmoid(in[0]) }},
	{name: "GELU", shapes: [][]int{{3, 4}}, op: func(t *Tape[float64], in []*Var[float64]) *Var[float64] { return t.GELU(in[0]) }},
	{name: "Softmax", shapes: [][]int{{3, 5}}, op: func(t *Tape[float64], in []*Var[float64]) *Var[float64] { return t.Softmax(in[0]) }},
	{name: "LogSoftmax", shapes: [][]int{{2, 3, 5}}, op: func(t *Tape[float64], in []*Var[float64]) *Var[float64] { return t.LogSoftmax(in[0]) }},
	{name: "MatMul", shapes: [][]int{{3, 4}, {4, 5}}, op: func(t *Tape[float64], in []*Var[float64]) *Var[float64] { return t.MatMul(in[0], in[1]) }},
	{name: "Linear", shapes: [][]int{{3, 4}, {5, 4}, {5}}, op: func(t *Tape[float64], in []*Var[float64]) *Var[float64] { return t.Linear(in[0], in[1], in[2]) }},
	{name: "Linear/nobias-rank3", shapes: [][]int{{2, 3, 4}, {5, 4}}, op: func(t *Tape[float64], in []*Var[float64]) *Var[float64] { return t.Linear(in[0], in[1], nil) }},
	{name: "Reshape", shapes: [][]int{{3, 4}}, op: func(t *Tape[float64], in []*Var[float64]) *Var[float64] { return t.Tanh(t.Reshape(in[0], 2, -1)) }},
	{name: "Flatten", shapes: [][]int{{2, 3, 2}}, op: func(t *Tape[float64], in []*Var[float64]) *Var[float64] { return t.Flatten(in[0]) }},
	{name: "Transpose", shapes: [][]int{{3, 4}}, op: func(t *Tape[float64], in []*Var[float64]) *Var[float64] { return t.Transpose(in[0]) }},
	{name: "Slice", shapes: [][]int{{5, 2}}, op: func(t *Tape[float64], in []*Var[float64]) *Var[float64] { return t.Slice(in[0], 1, 4) }},
	{name: "Conv2D/pad1", shapes: [][]int{{2, 2, 5, 5}, {3, 2, 3, 3}, {3}}, op: func(t *Tape[float64], in []*Var[float64]) *Var[float64] {
		return t.Conv2D(in[0], in[1], in[2], [2]int{1, 1}, [2]int{1, 1})
	}},
	{name: "Conv2D/stride-rect-nobias", shapes: [][]int{{3, 2, 7, 6}, {2, 2, 2, 3}}, op: func(t *Tape[float64], in []*Var[float64]) *Var[float64] {
		return t.Conv2D(in[0], in[1], nil, [2]int{2, 3}, [2]int{0, 2})
	}},
	{name: "Conv2D/batch1", shapes: [][]int{{1, 1, 4, 4}, {2, 1, 3, 3}, {2}}, op: func(t *Tape[float64], in []*Var[float64]) *Var[float64] {
		return t.Conv2D(in[0], in[1], in[2], [2]int{1, 1}, [2]int{0, 0})
	}},
	{name: "MaxPool2D", shapes: [][]int{{2, 3, 4, 4}}, fill: distinct, op: func(t *Tape[float64], in []*Var[float64]) *Var[float64] {
		return t.MaxPool2D(in[0], [2]int{2, 2}, [2]int{2, 2}, [2]int{0, 0})
	}},
	{name: "MaxPool2D/overlap-pad", shapes: [][]int{{1, 2, 5, 5}}, fill: distinct, op: func(t *Tape[float64], in []*Var[float64]) *Var[float64] {
		return t.MaxPool2D(in[0], [2]int{3, 3}, [2]int{2, 2}, [2]int{1, 1})
	}},
	{name: "Dropout", shapes: [][]int{{4, 5}}, op: func(t *Tape[float64], in []*Var[float64]) *Var[float64] {
		return t.Dropout(in[0], 0.4, rand.New(rand.NewPCG(7, 8))) // the same mask at every evaluation
	}},
	{name: "BatchNorm/1d", shapes: [][]int{{6, 4}, {4}, {4}}, op: func(t *Tape[float64], in []*Var[float64]) *Var[float64] {
		return t.BatchNorm(in[0], in[1], in[2], 1e-5, nil, nil)
	}},
	{name: "BatchNorm/2d", shapes: [][]int{{2, 3, 2, 2}, {3}, {3}}, op: func(t *Tape[float64], in []*Var[float64]) *Var[float64] {
		return t.BatchNorm(in[0], in[1], in[2], 1e-5, nil, nil)
	}},
	{name: "BatchNorm/noaffine", shapes: [][]int{{5, 2, 3}}, op: func(t *Tape[float64], in []*Var[float64]) *Var[float64] {
		return t.BatchNorm(in[0], nil, nil, 1e-5, nil, nil)
	}},
	{name: "BatchNormEval", shapes: [][]int{{4, 3, 2}, {3}, {3}}, op: func(t *Tape[float64], in []*Var[float64]) *Var[float64] {
		return t.BatchNormEval(in[0], in[1], in[2], 1e-5, []float64{0.1, -0.2, 0.3}, []float64{0.5, 1.5, 2})
	}},
	{name: "CrossEntropy", shapes: [][]int{{5, 4}}, op: func(t *Tape[float64], in []*Var[float64]) *Var[float64] {
		return t.CrossEntropy(in[0], labels)
	}},
	{name: "BCEWithLogits", shapes: [][]int{{2, 3}, {2, 3}}, op: func(t *Tape[float64], in []*Var[float64]) *Var[float64] {
		return t.BCEWithLogits(in[0], in[1])
	}},
}

// The cases below run operations on intermediate results (fresh: the
// operation's backward pass is the first to write its operands' gradients,
// and overwrites them) and twice on the same operands (twice: the second
// backward pass adds to what the first wrote), where opCases run them on
// leaves, whose gradients accumulate.

// mid returns an intermediate result holding 1.5·v.
func mid(t *Tape[float64], v *Var[float64]) *Var[float64] { return t.Scale(v, 1.5) }

// mids returns mid of each of in.
func mids(t *Tape[float64], in []*Var[float64]) []*Var[float64] {
	out := make([]*Var[float64], len(in))
	for i, v := range in {
		out[i] = mid(t, v)
	}
	return out
}

// twice returns op(in) + op(in) on intermediates of in.
func twice(op func(*Tape[float64], []*Var[float64]) *Var[float64]) func(*Tape[float64], []*Var[float64]) *Var[float64] {
	return func(t *Tape[float64], in []*Var[float64]) *Var[float64] {
		m := mids(t, in)
		return t.Add(op(t, m), op(t, m))
	}
}

// fresh returns op on intermediates of in.
func fresh(op func(*Tape[float64], []*Var[float64]) *Var[float64]) func(*Tape[float64], []*Var[float64]) *Var[float64] {
	return func(t *Tape[float64], in []*Var[float64]) *Var[float64] { return op(t, mids(t, in)) }
}

func init() {
	relu := func(t *Tape[float64], in []*Var[float64]) *Var[float64] { return t.ReLU(in[0]) }
	pool := func(t *Tape[float64], in []*Var[float64]) *Var[float64] {
		return t.MaxPool2D(in[0], [2]int{2, 2}, [2]int{2, 2}, [2]int{0, 0})
	}
	conv := func(t *Tape[float64], in []*Var[float64]) *Var[float64] {
		return t.Conv2D(in[0], in[1], in[2], [2]int{1, 1}, [2]int{1, 0})
	}
	linear := func(t *Tape[float64], in []*Var[float64]) *Var[float64] { return t.Linear(in[0], in[1], in[2]) }
	matmul := func(t *Tape[float64], in []*Var[float64]) *Var[float64] { return t.MatMul(in[0], in[1]) }
	bn := func(t *Tape[float64], in []*Var[float64]) *Var[float64] {
		return t.BatchNorm(in[0], in[1], in[2], 1e-5, nil, nil)
	}
	bnEval := func(t *Tape[float64], in []*Var[float64]) *Var[float64] {
		return t.BatchNormEval(in[0], in[1], in[2], 1e-5, []float64{0.1, -0.2, 0.3}, []float64{0.5, 1.5, 2})
	}
	for _, c := range []struct {
		name   string
		shapes [][]int
		fill   func(i int, x []float64, rng *rand.Rand)
		op     func(*Tape[float64], []*Var[float64]) *Var[float64]
	}{
		{"ReLU", [][]int{{3, 4}}, awayFromZero, relu},
		{"MaxPool2D/odd", [][]int{{2, 3, 5, 7}}, distinct, pool},
		{"Conv2D", [][]int{{2, 2, 4, 5}, {3, 2, 3, 2}, {3}}, nil, conv},
		{"Linear", [][]int{{3, 4}, {5, 4}, {5}}, nil, linear},
		{"MatMul", [][]int{{3, 4}, {4, 5}}, nil, matmul},
		{"BatchNorm/1d", [][]int{{6, 4}, {4}, {4}}, nil, bn},
		{"BatchNormEval/1d", [][]int{{5, 3}, {3}, {3}}, nil, bnEval},
		{"BatchNorm/2d", [][]int{{2, 3, 2, 3}, {3}, {3}}, nil, bn},
		{"BatchNormEval/2d", [][]int{{3, 3, 2, 2}, {3}, {3}}, nil, bnEval},
	} {
		opCases = append(opCases,
			opCase{name: c.name + "/fresh", shapes: c.shapes, fill: c.fill, op: fresh(c.op)},
			opCase{name: c.name + "/twice", shapes: c.shapes, fill: c.fill, op: twice(c.op)})
	}
}

// problem returns the case's inputs, filled as fill says, and the loss
// L = Σ r ⊙ op(inputs) with fixed random r, drawn at its first call.
func (tc opCase) problem() ([]*tensor.Tensor[float64], func(*Tape[float64], []*Var[float64]) *Var[float64]) {
	rng := rand.New(rand.NewPCG(1, 2))
	inputs := make([]*tensor.Tensor[float64], len(tc.shapes))
	for i, s := range tc.shapes {
		inputs[i] = tensor.New[float64](s...)
		if tc.fill != nil {
			tc.fill(i, inputs[i].Data(), rng)
		} else {
			for j := range inputs[i].Data() {
				inputs[i].Data()[j] = rng.NormFloat64()
			}
		}
	}
	var weights *tensor.Tensor[float64]
	loss := func(tape *Tape[float64], vars []*Var[float64]) *Var[float64] {
		out := tc.op(tape, vars)
		if weights == nil {
			weights = tensor.New[float64](out.Shape()...)
			for j := range weights.Data() {
				weights.Data()[j] = rng.NormFloat64()
			}
		}
		return tape.Sum(tape.Mul(out, tape.Const(weights)))
	}
	return inputs, loss
}

// TestGradients checks every operation's gradient against central finite
// differences, in float64, on L = Σ r ⊙ op(inputs) with fixed random r.
func TestGradients(t *testing.T) {
	for _, tc := range opCases {
		t.Run(tc.name, func(t *testing.T) {
			inputs, loss := tc.problem()
			vars := make([]*Var[float64], len(inputs))
			for i, x := range inputs {
				vars[i] = NewVar(x, true)
			}
			tape := NewTape[float64]()
			if err := tape.Backward(loss(tape, vars)); err != nil {
				t.Fatal(err)
			}

			const h = 1e-6
			eval := func() float64 {
				tp := NewTape[float64]()
				consts := make([]*Var[float64], len(inputs))
				for i, x := range inputs {
					consts[i] = NewVar(x, false)
				}
				l := loss(tp, consts)
				if tp.Err() != nil {
					t.Fatal(tp.Err())
				}
				return l.Value().Item()
			}
			for i, x := range inputs {
				got := vars[i].Grad().Data()
				for j := range x.Data() {
					old := x.Data()[j]
					x.Data()[j] = old + h
					up := eval()
					x.Data()[j] = old - h
					down := eval()
					x.Data()[j] = old
					want := (up - down) / (2 * h)
					if math.Abs(got[j]-want) > 1e-6*(1+math.Abs(want)) {
						t.Errorf("∂L/∂input%d[%d] = %.10g; want %.10g (finite differences)", i, j, got[j], want)
					}
				}
			}
		})
	}
}
