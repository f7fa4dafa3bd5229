package nn

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/descentml/descent/autograd"
	"github.com/descentml/descent/tensor"
)

// A layerCase is one module for the finite-difference check: how to build it
// (from a random source for its initial weights), the input shape, and a
// hook run before every forward pass (to re-seed dropout).
type layerCase struct {
	name   string
	build  func(rng *rand.Rand) Module[float64]
	input  []int
	mode   Mode
	before func()
	tokens int // > 0: the input is token ids below tokens, with no gradient
}

var dropSrc = rand.NewPCG(5, 6)

var layerCases = []layerCase{
	{name: "Linear", build: func(r *rand.Rand) Module[float64] { return NewLinear[float64](4, 3, r) }, input: []int{5, 4}},
	{name: "Conv2D", build: func(r *rand.Rand) Module[float64] {
		return NewConv2D[float64](Conv2DConfig{In: 2, Out: 3, Kernel: 3, Padding: 1}, r)
	}, input: []int{2, 2, 4, 5}},
	{name: "Conv2D/stride2-nobias", build: func(r *rand.Rand) Module[float64] {
		return NewConv2D[float64](Conv2DConfig{In: 1, Out: 2, Kernel: 2, Stride: 2, NoBias: true}, r)
	}, input: []int{3, 1, 5, 5}},
	{name: "MaxPool2D", build: func(*rand.Rand) Module[float64] { return NewMaxPool2D[float64](2) }, input: []int{2, 2, 4, 6}},
	{name: "BatchNorm1d/train", build: func(*rand.Rand) Module[float64] { return NewBatchNorm1d[float64](3) }, input: []int{6, 3}},
	{name: "BatchNorm1d/train-3d", build: func(*rand.Rand) Module[float64] { return NewBatchNorm1d[float64](3) }, input: []int{4, 3, 2}},
	{name: "BatchNorm1d/eval", build: func(*rand.Rand) Module[float64] { return NewBatchNorm1d[float64](3) }, input: []int{6, 3}, mode: Eval},
	{name: "BatchNorm2d/train", build: func(*rand.Rand) Module[float64] { return NewBatchNorm2d[float64](2) }, input: []int{3, 2, 2, 3}},
	{name: "BatchNorm2d/eval", build: func(*rand.Rand) Module[float64] { return NewBatchNorm2d[float64](2) }, input: []int{3, 2, 2, 3}, mode: Eval},
	{name: "Dropout", build: func(*rand.Rand) Module[float64] { return NewDropout[float64](0.3, rand.New(dropSrc)) }, input: []int{4, 5},
		before: func() { dropSrc.Seed(5, 6) }},
	{name: "Dropout/eval", build: func(*rand.Rand) Module[float64] { return NewDropout[float64](0.3, rand.New(dropSrc)) }, input: []int{4, 5}, mode: Eval},
	{name: "Flatten", build: func(*rand.Rand) Module[float64] { return NewFlatten[float64]() }, input: []int{2, 3, 2}},
	{name: "ReLU", build: func(*rand.Rand) Module[float64] { return NewReLU[float64]() }, input: []int{3, 4}},
	{name: "Tanh", build: func(*rand.Rand) Module[float64] { return NewTanh[float64]() }, input: []int{3, 4}},
	{name: "Sigmoid", build: func(*rand.Rand) Module[float64] { return NewSigmoid[float64]() }, input: []int{3, 4}},
	{name: "GELU", build: func(*rand.Rand) Module[float64] { return NewGELU[float64]() }, input: []int{3, 4}},
	{name: "Sequential/cnn", build: func(r *rand.Rand) Module[float64] {
		return NewSequential(
			NewConv2D[float64](Conv2DConfig{In: 1, Out: 2, Kernel: 3, Padding: 1}, r),
			NewBatchNorm2d[float64](2),
			NewTanh[float64](),
			NewMaxPool2D[float64](2),
			NewFlatten[float64](),
			NewLinear[float64](8, 3, r),
		)
	}, input: []int{3, 1, 4, 4}},
	{name: "Sequential/mlp", build: func(r *rand.Rand) Module[float64] {
		return NewSequential(
			NewLinear[float64](4, 6, r),
			NewBatchNorm1d[float64](6),
			NewGELU[float64](),
			NewLinear[float64](6, 2, r),
			NewSigmoid[float64](),
		)
	}, input: []int{5, 4}},
}

// TestLayerGradients checks the gradient of every layer with respect to its
// input and each of its parameters against central finite differences, in
// float64, on L = Σ r ⊙ layer(x) with fixed random r.
func TestLayerGradients(t *testing.T) {
	for _, tc := range layerCases {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(3, 4))
			m := tc.build(rng)
			if ms, ok := m.(ModeSetter); ok {
				ms.SetMode(tc.mode)
			}
			if tc.mode == Eval {
				// Move the running statistics off their initial values.
				for _, b := range m.Buffers() {
					for i := range b.Value {
						b.Value[i] += 0.5 * rng.Float64()
					}
				}
			}
			x := tensor.New[float64](tc.input...)
			for i := range x.Data() {
				if tc.tokens > 0 {
					x.Data()[i] = float64(rng.IntN(tc.tokens))
				} else {
					x.Data()[i] = rng.NormFloat64()
				}
			}
			var weights *tensor.Tensor[float64]
			loss := func(tape *autograd.Tape[float64], in *autograd.Var[float64]) float64 {
				if tc.before != nil {
					tc.before()
				}
				y, err := m.Forward(tape, in)
				if err != nil {
					t.Fatal(err)
				}
				if weights == nil {
					weights = tensor.New[float64](y.Shape()...)
					for i := range weights.Data() {
						weights.Data()[i] = rng.NormFloat64()
					}
				}
				l := tape.Sum(tape.Mul(y, tape.Const(weights)))
				if in.RequiresGrad() {
					if err := tape.Backward(l); err != nil {
						t.Fatal(err)
					}
				}
				return l.Value().Item()
			}

			xv := autograd.NewVar(x, true)
			loss(autograd.NewTape[float64](), xv)
			eval := func() float64 { return loss(autograd.NewTape[float64](), autograd.NewVar(x, false)) }

			check := func(what string, value, grad []float64) {
				const h = 1e-6
				for j := range value {
					old := value[j]
					value[j] = old + h
					up := eval()
					value[j] = old - h
					down := eval()
					value[j] = old
					want := (up - down) / (2 * h)
					if math.Abs(grad[j]-want) > 1e-6*(1+math.Abs(want)) {
						t.Errorf("∂L/∂%s[%d] = %.10g; want %.10g (finite differences)", what, j, grad[j], want)
					}
				}
			}
			if tc.tokens == 0 {
				check("x", x.Data(), xv.Grad().Data())
			}
			for _, p := range m.Params() {
				check(p.Name, p.Value, p.Grad)
			}
		})
	}
}
