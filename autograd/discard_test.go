package autograd

import (
	"math"
	"slices"
	"testing"

	"github.com/descentml/descent/tensor"
)

// TestDiscardedGradients runs every operation of the finite-difference
// check (opCases: each layer's parameters, written first and added to)
// twice on leaves whose gradients start zeroed, and twice on leaves whose
// gradients are discarded (Var.DiscardGrad) over buffers of NaN: the first
// Backward must overwrite every element with what it gives over zeros
// (equal but for the sign of a zero), and the second add to it as it does
// to those, as a second micro-batch does.
func TestDiscardedGradients(t *testing.T) {
	for _, tc := range opCases {
		t.Run(tc.name, func(t *testing.T) {
			inputs, loss := tc.problem()
			run := func(discard bool) [][]float64 {
				vars := make([]*Var[float64], len(inputs))
				for i, x := range inputs {
					vars[i] = NewVar(x, true)
				}
				resetGrads(vars, discard)
				var grads [][]float64
				for range 2 {
					tape := NewTape[float64]()
					if err := tape.Backward(loss(tape, vars)); err != nil {
						t.Fatal(err)
					}
					for _, v := range vars {
						// The buffer as the pass left it: Grad would clear
						// one still discarded.
						grads = append(grads, slices.Clone(v.grad.Data()))
					}
				}
				return grads
			}
			want, got := run(false), run(true)
			for i := range got {
				pass, input := i/len(inputs)+1, i%len(inputs)
				for j := range got[i] {
					if !sameGrad(got[i][j], want[i][j]) {
						t.Fatalf("after Backward %d, ∂L/∂input%d[%d] = %v over a discarded gradient; %v over zeros", pass, input, j, got[i][j], want[i][j])
					}
				}
			}
		})
	}
}

// TestDiscardedGradientsSpread is TestDiscardedGradients with every
// recurrent step's rows spread over the pool.
func TestDiscardedGradientsSpread(t *testing.T) {
	defer func(n int) { spreadRows = n }(spreadRows)
	spreadRows = 0
	TestDiscardedGradients(t)
}

// TestDiscardedUnreached checks that a discarded gradient that no backward
// operation wrote reads as zero through Grad, and stays discarded until
// read; that ZeroGrad and a write end the discard; and that DiscardGrad on
// a Var without a gradient does nothing.
func TestDiscardedUnreached(t *testing.T) {
	w := NewVar(tensor.FromSlice([]float32{1, 2, 3}, 3), true)
	u := NewVar(tensor.FromSlice([]float32{4, 5, 6}, 3), true)
	resetGrads([]*Var[float32]{w, u}, true)
	tape := NewTape[float32]()
	if err := tape.Backward(tape.Sum(u)); err != nil {
		t.Fatal(err)
	}
	if u.GradDiscarded() {
		t.Error("u.GradDiscarded() = true after a Backward that reached it; want false")
	}
	if !w.GradDiscarded() {
		t.Error("w.GradDiscarded() = false after a Backward that did not reach it; want true")
	}
	if !math.IsNaN(float64(w.grad.Data()[0])) {
		t.Errorf("w's discarded buffer [0] = %v before it is read; want NaN (left as it was)", w.grad.Data()[0])
	}
	for i, g := range w.Grad().Data() {
		if g != 0 {
			t.Errorf("w.Grad()[%d] = %v, discarded and unreached; want 0", i, g)
		}
	}
	if w.GradDiscarded() {
		t.Error("w.GradDiscarded() = true after Grad cleared it; want false")
	}
	u.DiscardGrad()
	u.ZeroGrad()
	if u.GradDiscarded() {
		t.Error("u.GradDiscarded() = true after ZeroGrad; want false")
	}
	c := NewVar(tensor.New[float32](2), false)
	c.DiscardGrad()
	if c.GradDiscarded() || c.Grad() != nil {
		t.Errorf("a Var without a gradient, discarded: GradDiscarded() = %v, Grad() = %v; want false, nil", c.GradDiscarded(), c.Grad())
	}
}
