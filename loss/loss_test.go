package loss

import (
	"math"
	"strings"
	"testing"

	"github.com/descentml/descent/autograd"
	"github.com/descentml/descent/tensor"
)

func TestCrossEntropyExtremeLogits(t *testing.T) {
	tape := autograd.NewTape[float32]()
	logits := autograd.NewVar(tensor.FromSlice([]float32{1000, -1000, 0, -500, 500, 499}, 2, 3), true)
	l, err := CrossEntropy(tape, logits, []int{1, 2})
	if err != nil {
		t.Fatal(err)
	}
	// Row 0: 1000 − (−1000) = 2000; row 1: log(1 + e⁻¹) + 1.
	want := (2000 + math.Log1p(math.Exp(-1)) + 1) / 2
	if got := float64(l.Value().Item()); math.Abs(got-want) > 1e-3 {
		t.Errorf("CrossEntropy = %v; want %v", got, want)
	}
	if err := tape.Backward(l); err != nil {
		t.Fatal(err)
	}
	for i, g := range logits.Grad().Data() {
		if math.IsNaN(float64(g)) || math.IsInf(float64(g), 0) {
			t.Errorf("∂CrossEntropy/∂logits[%d] = %v; want finite", i, g)
		}
	}
}

// TestUserErrors checks that what a user's data can get wrong is a
// returned error naming it, recorded on the tape, and never a panic.
func TestUserErrors(t *testing.T) {
	logits := tensor.FromSlice([]float64{1, 2, 3, 4, 5, 6}, 2, 3)
	nan := tensor.FromSlice([]float64{1, 2, 3, 4, math.NaN(), 6}, 2, 3)
	for _, tc := range []struct {
		name string
		run  func(tape *autograd.Tape[float64]) error
		want string
	}{
		{"label out of range", func(tape *autograd.Tape[float64]) error {
			_, err := CrossEntropy(tape, tape.Const(logits), []int{0, 3})
			return err
		}, "autograd: cross-entropy: label 3 at index 1 is out of range [0, 3) for logits [2 3]"},
		{"negative label", func(tape *autograd.Tape[float64]) error {
			_, err := CrossEntropy(tape, tape.Const(logits), []int{-1, 0})
			return err
		}, "autograd: cross-entropy: label -1 at index 0 is out of range [0, 3) for logits [2 3]"},
		{"label count", func(tape *autograd.Tape[float64]) error {
			_, err := CrossEntropy(tape, tape.Const(logits), []int{0, 1, 2})
			return err
		}, "autograd: cross-entropy: logits [2 3] with 3 labels: want one label per row"},
		{"NaN logits", func(tape *autograd.Tape[float64]) error {
			_, err := CrossEntropy(tape, tape.Const(nan), []int{0, 1})
			return err
		}, "loss: cross-entropy: logits [2 3] hold NaN at [1 1]"},
		{"NaN target", func(tape *autograd.Tape[float64]) error {
			_, err := MSE(tape, tape.Const(logits), tape.Const(nan))
			return err
		}, "loss: mse: target [2 3] hold NaN at [1 1]"},
		{"MSE shapes", func(tape *autograd.Tape[float64]) error {
			_, err := MSE(tape, tape.Const(logits), tape.Const(tensor.New[float64](3, 2)))
			return err
		}, "loss: mse: prediction [2 3] and target [3 2]: want the same shape"},
		{"BCE shapes", func(tape *autograd.Tape[float64]) error {
			_, err := BCEWithLogits(tape, tape.Const(logits), tape.Const(tensor.New[float64](6)))
			return err
		}, "autograd: binary cross-entropy: logits [2 3] and targets [6]: want the same shape"},
	} {
		tape := autograd.NewTape[float64]()
		err := tc.run(tape)
		if err == nil || err.Error() != tc.want {
			t.Errorf("%s: error = %v;\nwant %s", tc.name, err, tc.want)
		}
		if bErr := tape.Backward(tape.Const(tensor.Scalar(1.0))); bErr == nil || !strings.Contains(bErr.Error(), tc.want) {
			t.Errorf("%s: Backward after the error = %v; want the same error", tc.name, bErr)
		}
	}
}

// TestL2 checks the penalty's value λ·Σθ² and its gradient 2λθ.
func TestL2(t *testing.T) {
	w := autograd.NewVar(tensor.FromSlice([]float64{1, -2, 3}, 3), true)
	b := autograd.NewVar(tensor.FromSlice([]float64{0.5}, 1), true)
	tape := autograd.NewTape[float64]()
	const lambda = 0.1
	l, err := L2(tape, lambda, w, b)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := l.Value().Item(), lambda*(1+4+9+0.25); math.Abs(got-want) > 1e-12 {
		t.Errorf("L2 = %v; want %v", got, want)
	}
	if err := tape.Backward(l); err != nil {
		t.Fatal(err)
	}
	for i, v := range w.Value().Data() {
		if got, want := w.Grad().Data()[i], 2*lambda*v; math.Abs(got-want) > 1e-12 {
			t.Errorf("∂L2/∂w[%d] = %v; want 2λθ = %v", i, got, want)
		}
	}
	empty, err := L2[float64](autograd.NewTape[float64](), lambda)
	if err != nil || empty.Value().Item() != 0 {
		t.Errorf("L2 of no parameters = %v, %v; want 0", empty.Value().Item(), err)
	}
}

func TestMSEAndBCEValues(t *testing.T) {
	tape := autograd.NewTape[float64]()
	pred := tape.Const(tensor.FromSlice([]float64{1, 2, 3}, 3))
	target := tape.Const(tensor.FromSlice([]float64{1, 0, 5}, 3))
	l, err := MSE(tape, pred, target)
	if err != nil || l.Value().Item() != 8.0/3 {
		t.Errorf("MSE = %v, %v; want 8/3", l.Value().Item(), err)
	}
	// Large logits stay finite: log(1 + e^−1000) underflows to 0 exactly.
	z := tape.Const(tensor.FromSlice([]float64{1000, -1000}, 2))
	y := tape.Const(tensor.FromSlice([]float64{0, 1}, 2))
	l, err = BCEWithLogits(tape, z, y)
	if err != nil || l.Value().Item() != 1000 {
		t.Errorf("BCEWithLogits(±1000, wrong labels) = %v, %v; want 1000", l.Value().Item(), err)
	}
}
