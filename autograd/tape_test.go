package autograd

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/descentml/descent/tensor"
)

// TestErrorsAreSticky checks that the first error is kept, later
// operations do nothing, and Backward returns the error; Reset clears it.
func TestErrorsAreSticky(t *testing.T) {
	tape := NewTape[float32]()
	x := tape.Const(tensor.New[float32](32, 784))
	w := NewVar(tensor.New[float32](128, 10), true)
	h := tape.MatMul(x, w)
	const want = "tensor: matmul [32 784] × [128 10]: inner dimensions 784 and 128 differ"
	if err := tape.Err(); err == nil || err.Error() != want {
		t.Fatalf("Err() = %v; want %s", err, want)
	}
	y := tape.ReLU(tape.Add(h, tape.Const(tensor.New[float32](7, 7))))
	if err := tape.Backward(tape.Sum(y)); err == nil || err.Error() != want {
		t.Errorf("Backward after the error = %v; want the first error %s", err, want)
	}
	tape.Reset()
	if tape.Err() != nil {
		t.Errorf("Err() after Reset = %v; want nil", tape.Err())
	}
}

// TestBackwardTwice checks that a second Backward or BackwardWith without
// Reset is the tape's error and changes no gradient, and that Reset clears
// it.
func TestBackwardTwice(t *testing.T) {
	tape := NewTape[float64]()
	w := NewVar(tensor.FromSlice([]float64{1, 2, 3, 4}, 2, 2), true)
	y := tape.Tanh(w)
	if err := tape.Backward(tape.Sum(y)); err != nil {
		t.Fatal(err)
	}
	want := append([]float64(nil), w.Grad().Data()...)
	if err := tape.Backward(tape.Sum(y)); err != errBackwardTwice {
		t.Errorf("second Backward = %v; want %v", err, errBackwardTwice)
	}
	if err := tape.Err(); err != errBackwardTwice {
		t.Errorf("Err() after a second Backward = %v; want %v", err, errBackwardTwice)
	}
	if got := w.Grad().Data(); !slices.Equal(got, want) {
		t.Errorf("gradient after a second Backward = %v; want %v", got, want)
	}
	tape.Reset()
	y = tape.Tanh(w)
	if err := tape.BackwardWith(y, tensor.New[float64](2, 2)); err != nil {
		t.Fatalf("Backward after Reset: %v", err)
	}
	if err := tape.BackwardWith(y, tensor.New[float64](2, 2)); err != errBackwardTwice {
		t.Errorf("second BackwardWith = %v; want %v", err, errBackwardTwice)
	}
}

// TestNoGrad checks that with gradient tracking off nothing is recorded
// and results need no gradient.
func TestNoGrad(t *testing.T) {
	tape := NewTape[float64]()
	w := NewVar(tensor.FromSlice([]float64{1, 2, 3, 4}, 2, 2), true)
	tape.SetNoGrad(true)
	y := tape.Sum(tape.Reshape(tape.Tanh(w), 4))
	if y.RequiresGrad() || len(tape.nodes) != 0 {
		t.Errorf("with SetNoGrad(true): result requires grad %v, %d nodes recorded; want false, 0", y.RequiresGrad(), len(tape.nodes))
	}
	tape.Reset()
	tape.SetNoGrad(false)
	if y := tape.Tanh(w); !y.RequiresGrad() {
		t.Error("after SetNoGrad(false) the result of an op on a parameter needs no gradient")
	}
}

// TestCNNStepAllocatesNothing checks that a step through convolution,
// pooling, batch norm and dropout allocates nothing after the first.
func TestCNNStepAllocatesNothing(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	param := func(shape ...int) *Var[float32] {
		x := tensor.New[float32](shape...)
		for i := range x.Data() {
			x.Data()[i] = float32(rng.NormFloat64()) * 0.1
		}
		return NewVar(x, true)
	}
	w1, b1 := param(4, 1, 3, 3), param(4)
	g, beta := param(4), param(4)
	w2, b2 := param(10, 4*3*3), param(10)
	x := tensor.New[float32](8, 1, 6, 6)
	for i := range x.Data() {
		x.Data()[i] = float32(rng.Float64())
	}
	labels := []int{0, 1, 2, 3, 4, 5, 6, 7}
	mean, variance := make([]float32, 4), make([]float32, 4)
	drop := rand.New(rand.NewPCG(3, 4))
	checkStepAllocs(t, "a CNN step", func(tape *Tape[float32]) *Var[float32] {
		h := tape.Conv2D(tape.Const(x), w1, b1, [2]int{1, 1}, [2]int{1, 1})
		h = tape.BatchNorm(h, g, beta, 1e-5, mean, variance)
		h = tape.MaxPool2D(tape.ReLU(h), [2]int{2, 2}, [2]int{2, 2}, [2]int{0, 0})
		h = tape.Dropout(tape.Flatten(h), 0.25, drop)
		return tape.CrossEntropy(tape.Linear(h, w2, b2), labels)
	})
}

// checkStepAllocs runs steps of loss, Backward and Reset on one Tape and
// checks that every step after the first allocates nothing.
func checkStepAllocs(t *testing.T, name string, loss func(*Tape[float32]) *Var[float32]) {
	t.Helper()
	tape := NewTape[float32]()
	step := func() {
		if err := tape.Backward(loss(tape)); err != nil {
			t.Fatal(err)
		}
		tape.Reset()
	}
	step()
	if allocs := testing.AllocsPerRun(10, step); allocs != 0 {
		t.Errorf("%s after the first allocates %v times; want 0", name, allocs)
	}
}

// TestForeignVar checks that a Var made by another Tape, as an operand or
// as the loss, is the tape's error, not a silent zero gradient, while a
// leaf (NewVar) may be used on any Tape.
func TestForeignVar(t *testing.T) {
	t1, t2 := NewTape[float32](), NewTape[float32]()
	w := NewVar(tensor.FromSlice([]float32{1, 2, 3}, 3), true)
	h := t1.Mul(w, w)
	if s := t2.Sum(t2.Mul(w, w)); t2.Backward(s) != nil || w.Grad().Data()[2] != 6 {
		t.Fatalf("a leaf on a second tape: gradient %v, error %v; want 2w", w.Grad().Data(), t2.Err())
	}
	t2.Reset()
	if err := t2.Backward(t2.Sum(h)); err == nil || !strings.Contains(err.Error(), "another Tape") {
		t.Errorf("Backward of t2.Sum(t1's Var) = %v; want an error naming another Tape", err)
	}
	t2.Reset()
	if err := t2.Backward(t1.Sum(h)); err == nil || !strings.Contains(err.Error(), "another Tape") {
		t.Errorf("t2.Backward(t1's loss) = %v; want an error naming another Tape", err)
	}
}

// TestNilOperands checks that a nil operand that may not be nil, given to
// any operation, is the tape's error naming the operation, not a nil
// dereference, and that the optional operands may be nil.
func TestNilOperands(t *testing.T) {
	v := func(shape ...int) *Var[float32] { return NewVar(tensor.New[float32](shape...), true) }
	for _, c := range []struct {
		name string
		in   func() []*Var[float32] // the operands that may not be nil
		op   func(t *Tape[float32], in []*Var[float32]) *Var[float32]
	}{
		{"add", func() []*Var[float32] { return []*Var[float32]{v(2), v(2)} }, func(t *Tape[float32], in []*Var[float32]) *Var[float32] { return t.Add(in[0], in[1]) }},
		{"div", func() []*Var[float32] { return []*Var[float32]{v(2), v(2)} }, func(t *Tape[float32], in []*Var[float32]) *Var[float32] { return t.Div(in[0], in[1]) }},
		{"scale", func() []*Var[float32] { return []*Var[float32]{v(2)} }, func(t *Tape[float32], in []*Var[float32]) *Var[float32] { return t.Scale(in[0], 2) }},
		{"mean", func() []*Var[float32] { return []*Var[float32]{v(2)} }, func(t *Tape[float32], in []*Var[float32]) *Var[float32] { return t.Mean(in[0]) }},
		{"relu", func() []*Var[float32] { return []*Var[float32]{v(2)} }, func(t *Tape[float32], in []*Var[float32]) *Var[float32] { return t.ReLU(in[0]) }},
		{"gelu", func() []*Var[float32] { return []*Var[float32]{v(2)} }, func(t *Tape[float32], in []*Var[float32]) *Var[float32] { return t.GELUTanh(in[0]) }},
		{"attention", func() []*Var[float32] { return []*Var[float32]{v(1, 2, 6)} }, func(t *Tape[float32], in []*Var[float32]) *Var[float32] { return t.Attention(in[0], 1, true) }},
		{"conv2d", func() []*Var[float32] { return []*Var[float32]{v(1, 1, 3, 3), v(1, 1, 2, 2)} }, func(t *Tape[float32], in []*Var[float32]) *Var[float32] {
			return t.Conv2D(in[0], in[1], nil, [2]int{1, 1}, [2]int{})
		}},
		{"conv2d", func() []*Var[float32] { return []*Var[float32]{v(1, 1, 4, 4), v(1, 1, 1, 1)} }, func(t *Tape[float32], in []*Var[float32]) *Var[float32] {
			return t.Conv2DReLUPool(in[0], in[1], nil, [2]int{1, 1}, [2]int{})
		}},
		{"maxpool2d", func() []*Var[float32] { return []*Var[float32]{v(1, 1, 2, 2)} }, func(t *Tape[float32], in []*Var[float32]) *Var[float32] {
			return t.MaxPool2D(in[0], [2]int{2, 2}, [2]int{2, 2}, [2]int{})
		}},
		{"dropout", func() []*Var[float32] { return []*Var[float32]{v(2)} }, func(t *Tape[float32], in []*Var[float32]) *Var[float32] {
			return t.Dropout(in[0], 0.5, rand.New(rand.NewPCG(1, 2)))
		}},
		{"matmul", func() []*Var[float32] { return []*Var[float32]{v(2, 3), v(3, 2)} }, func(t *Tape[float32], in []*Var[float32]) *Var[float32] { return t.MatMul(in[0], in[1]) }},
		{"linear", func() []*Var[float32] { return []*Var[float32]{v(2, 3), v(4, 3)} }, func(t *Tape[float32], in []*Var[float32]) *Var[float32] { return t.Linear(in[0], in[1], nil) }},
		{"linear", func() []*Var[float32] { return []*Var[float32]{v(2, 3), v(4, 3)} }, func(t *Tape[float32], in []*Var[float32]) *Var[float32] { return t.LinearReLU(in[0], in[1], nil) }},
		{"linear", func() []*Var[float32] { return []*Var[float32]{v(2, 3), v(4, 3)} }, func(t *Tape[float32], in []*Var[float32]) *Var[float32] {
			return t.LinearBatchNormReLU(in[0], in[1], nil, nil, nil, 1e-5, nil, nil)
		}},
		{"batch norm", func() []*Var[float32] { return []*Var[float32]{v(2, 3)} }, func(t *Tape[float32], in []*Var[float32]) *Var[float32] {
			return t.BatchNorm(in[0], nil, nil, 1e-5, nil, nil)
		}},
		{"batch norm", func() []*Var[float32] { return []*Var[float32]{v(2, 3)} }, func(t *Tape[float32], in []*Var[float32]) *Var[float32] {
			return t.BatchNormEvalReLU(in[0], nil, nil, 1e-5, make([]float32, 3), make([]float32, 3))
		}},
		{"lstm", func() []*Var[float32] { return []*Var[float32]{v(1, 2, 8), v(8, 2)} }, func(t *Tape[float32], in []*Var[float32]) *Var[float32] { return t.LSTM(in[0], nil, nil, in[1], nil) }},
		{"gru", func() []*Var[float32] { return []*Var[float32]{v(1, 2, 6), v(6, 2)} }, func(t *Tape[float32], in []*Var[float32]) *Var[float32] { return t.GRU(in[0], nil, in[1], nil) }},
		{"rnn", func() []*Var[float32] { return []*Var[float32]{v(1, 2, 2), v(2, 2)} }, func(t *Tape[float32], in []*Var[float32]) *Var[float32] { return t.RNN(in[0], nil, in[1], nil) }},
		{"embedding", func() []*Var[float32] { return []*Var[float32]{v(3, 2)} }, func(t *Tape[float32], in []*Var[float32]) *Var[float32] {
			return t.Embedding(in[0], []int{0, 2}, []int{2}, -1)
		}},
		{"layer norm", func() []*Var[float32] { return []*Var[float32]{v(2, 3)} }, func(t *Tape[float32], in []*Var[float32]) *Var[float32] { return t.LayerNorm(in[0], nil, nil, 1e-5) }},
		{"rms norm", func() []*Var[float32] { return []*Var[float32]{v(2, 3)} }, func(t *Tape[float32], in []*Var[float32]) *Var[float32] { return t.RMSNorm(in[0], nil, 1e-5) }},
		{"narrow", func() []*Var[float32] { return []*Var[float32]{v(2, 3)} }, func(t *Tape[float32], in []*Var[float32]) *Var[float32] { return t.Narrow(in[0], 1, 0, 2) }},
		{"reshape", func() []*Var[float32] { return []*Var[float32]{v(2, 3)} }, func(t *Tape[float32], in []*Var[float32]) *Var[float32] { return t.Reshape(in[0], 3, 2) }},
		{"flatten", func() []*Var[float32] { return []*Var[float32]{v(2, 3)} }, func(t *Tape[float32], in []*Var[float32]) *Var[float32] { return t.Flatten(in[0]) }},
		{"transpose", func() []*Var[float32] { return []*Var[float32]{v(2, 3)} }, func(t *Tape[float32], in []*Var[float32]) *Var[float32] { return t.Transpose(in[0]) }},
		{"slice", func() []*Var[float32] { return []*Var[float32]{v(2, 3)} }, func(t *Tape[float32], in []*Var[float32]) *Var[float32] { return t.Slice(in[0], 0, 1) }},
		{"log-softmax", func() []*Var[float32] { return []*Var[float32]{v(2, 3)} }, func(t *Tape[float32], in []*Var[float32]) *Var[float32] { return t.LogSoftmax(in[0]) }},
		{"cross-entropy", func() []*Var[float32] { return []*Var[float32]{v(2, 3)} }, func(t *Tape[float32], in []*Var[float32]) *Var[float32] {
			return t.CrossEntropyIgnore(in[0], []int{0, 1}, -1)
		}},
		{"sqrt", func() []*Var[float32] { return []*Var[float32]{v(2)} }, func(t *Tape[float32], in []*Var[float32]) *Var[float32] { return t.Sqrt(in[0]) }},
		{"abs", func() []*Var[float32] { return []*Var[float32]{v(2)} }, func(t *Tape[float32], in []*Var[float32]) *Var[float32] { return t.Abs(in[0]) }},
		{"pow", func() []*Var[float32] { return []*Var[float32]{v(2)} }, func(t *Tape[float32], in []*Var[float32]) *Var[float32] { return t.Pow(in[0], 2) }},
		{"clamp", func() []*Var[float32] { return []*Var[float32]{v(2)} }, func(t *Tape[float32], in []*Var[float32]) *Var[float32] { return t.Clamp(in[0], 0, 1) }},
		{"sum", func() []*Var[float32] { return []*Var[float32]{v(2, 3)} }, func(t *Tape[float32], in []*Var[float32]) *Var[float32] { return t.SumDim(in[0], 1) }},
		{"mean", func() []*Var[float32] { return []*Var[float32]{v(2, 3)} }, func(t *Tape[float32], in []*Var[float32]) *Var[float32] { return t.MeanDim(in[0], -1) }},
		{"concat", func() []*Var[float32] { return []*Var[float32]{v(2, 3), v(2, 1), v(2, 2)} }, func(t *Tape[float32], in []*Var[float32]) *Var[float32] { return t.Concat(1, in...) }},
		{"binary cross-entropy", func() []*Var[float32] { return []*Var[float32]{v(2), v(2)} }, func(t *Tape[float32], in []*Var[float32]) *Var[float32] { return t.BCEWithLogits(in[0], in[1]) }},
	} {
		tape := NewTape[float32]()
		if y := c.op(tape, c.in()); tape.Err() != nil || y == nil {
			t.Fatalf("%s with no nil operand: %v, error %v; want a result", c.name, y, tape.Err())
		}
		n := len(c.in())
		for i := range n {
			tape.Reset()
			in := c.in()
			in[i] = nil
			y := c.op(tape, in)
			want := "autograd: " + c.name + ": nil operand"
			if n > 1 {
				want = fmt.Sprintf("autograd: %s: operand %d of %d is nil", c.name, i+1, n)
			}
			if err := tape.Err(); err == nil || err.Error() != want || y == nil {
				t.Errorf("%s with operand %d nil: result %v, error %v; want a placeholder and %s", c.name, i+1, y, err, want)
			}
			if err := tape.Backward(tape.Sum(y)); err == nil || err.Error() != want {
				t.Errorf("%s with operand %d nil: Backward() = %v; want %s", c.name, i+1, err, want)
			}
		}
	}
}

// TestBackwardErrorsAreRecorded checks that Backward and BackwardWith
// record what they refuse — a nil Var, a Var of more than one value, a nil
// or mismatched gradient — as the tape's error, as every operation does:
// Err returns it, and it is kept over a later error.
func TestBackwardErrorsAreRecorded(t *testing.T) {
	for _, tc := range []struct {
		name string
		call func(tape *Tape[float32], y *Var[float32]) error
		want string
	}{
		{"Backward(nil)", func(tape *Tape[float32], _ *Var[float32]) error { return tape.Backward(nil) },
			"autograd: backward: nil operand"},
		{"Backward(y [2 3])", func(tape *Tape[float32], y *Var[float32]) error { return tape.Backward(y) },
			"autograd: backward from a value of shape [2 3]: want a single value (Reset, then use BackwardWith for an upstream gradient)"},
		{"BackwardWith(nil, dy)", func(tape *Tape[float32], _ *Var[float32]) error {
			return tape.BackwardWith(nil, tensor.New[float32](2, 3))
		}, "autograd: backward: nil operand"},
		{"BackwardWith(y, nil)", func(tape *Tape[float32], y *Var[float32]) error { return tape.BackwardWith(y, nil) },
			"autograd: backward with a nil gradient"},
		{"BackwardWith(y, dy [6])", func(tape *Tape[float32], y *Var[float32]) error {
			return tape.BackwardWith(y, tensor.New[float32](6))
		}, "autograd: backward from a value of shape [2 3] with a gradient of shape [6]"},
	} {
		tape := NewTape[float32]()
		y := tape.Tanh(NewVar(tensor.New[float32](2, 3), true))
		err := tc.call(tape, y)
		if err == nil || err.Error() != tc.want {
			t.Errorf("%s = %v; want %s", tc.name, err, tc.want)
			continue
		}
		if got := tape.Err(); got != err {
			t.Errorf("%s: Err() = %v; want the error returned, %v", tc.name, got, err)
		}
		tape.Reshape(y, 5) // a later error does not replace the first
		if got := tape.Err(); got != err {
			t.Errorf("%s, then a bad Reshape: Err() = %v; want the first error, %v", tc.name, got, err)
		}
	}
}

// TestForeignVarShapes checks that the operations that share their
// operand's data (Reshape, Slice) also refuse a Var of another Tape.
func TestForeignVarShapes(t *testing.T) {
	t1, t2 := NewTape[float32](), NewTape[float32]()
	h := t1.Tanh(NewVar(tensor.New[float32](2, 3), true))
	for name, op := range map[string]func() *Var[float32]{
		"reshape": func() *Var[float32] { return t2.Reshape(h, 3, 2) },
		"slice":   func() *Var[float32] { return t2.Slice(h, 0, 1) },
		"flatten": func() *Var[float32] { return t2.Flatten(h) },
	} {
		t2.Reset()
		op()
		if err := t2.Err(); err == nil || !strings.Contains(err.Error(), "another Tape") {
			t.Errorf("%s of another Tape's Var: error %v; want one naming another Tape", name, err)
		}
	}
}
