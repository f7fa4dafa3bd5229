package nn

import (
	"fmt"
	"math/rand/v2"

	"github.com/descentml/descent/autograd"
	"github.com/descentml/descent/tensor"
)

// ReLU applies max(x, 0) elementwise, as PyTorch's nn.ReLU.
type ReLU[T tensor.Float] struct{}

// Tanh applies tanh elementwise, as PyTorch's nn.Tanh.
type Tanh[T tensor.Float] struct{}

// Sigmoid applies σ(x) = 1/(1 + e⁻ˣ) elementwise, as PyTorch's nn.Sigmoid.
type Sigmoid[T tensor.Float] struct{}

// GELU applies x·Φ(x) elementwise, as PyTorch's nn.GELU: in its exact (erf)
// form, PyTorch's default approximate='none', or with Tanh in the tanh
// approximation x/2·(1 + tanh(√(2/π)·(x + 0.044715·x³))) of
// approximate='tanh' (GPT-2's).
type GELU[T tensor.Float] struct {
	// Tanh selects the tanh approximation; false (the zero value) is the
	// exact form.
	Tanh bool
}

// SiLU applies x·σ(x) elementwise (swish), as PyTorch's nn.SiLU.
type SiLU[T tensor.Float] struct{}

// Flatten reshapes [N, d₁, d₂, …] to [N, d₁·d₂·…], as PyTorch's nn.Flatten,
// between the convolutional and the fully connected part of a CNN.
type Flatten[T tensor.Float] struct{}

var (
	_ Module[float32] = (*ReLU[float32])(nil)
	_ Module[float32] = (*Tanh[float32])(nil)
	_ Module[float32] = (*Sigmoid[float32])(nil)
	_ Module[float32] = (*GELU[float32])(nil)
	_ Module[float32] = (*SiLU[float32])(nil)
	_ Module[float32] = (*Flatten[float32])(nil)
	_ Module[float32] = (*Dropout[float32])(nil)
	_ ModeSetter      = (*Dropout[float32])(nil)
)

// NewReLU returns a ReLU layer.
func NewReLU[T tensor.Float]() *ReLU[T] { return new(ReLU[T]) }

// NewTanh returns a Tanh layer.
func NewTanh[T tensor.Float]() *Tanh[T] { return new(Tanh[T]) }

// NewSigmoid returns a Sigmoid layer.
func NewSigmoid[T tensor.Float]() *Sigmoid[T] { return new(Sigmoid[T]) }

// NewGELU returns a GELU layer in the exact form.
func NewGELU[T tensor.Float]() *GELU[T] { return new(GELU[T]) }

// NewGELUTanh returns a GELU layer in the tanh approximation.
func NewGELUTanh[T tensor.Float]() *GELU[T] { return &GELU[T]{Tanh: true} }

// NewSiLU returns a SiLU layer.
func NewSiLU[T tensor.Float]() *SiLU[T] { return new(SiLU[T]) }

// NewFlatten returns a Flatten layer.
func NewFlatten[T tensor.Float]() *Flatten[T] { return new(Flatten[T]) }

// Forward returns max(x, 0).
func (*ReLU[T]) Forward(t *autograd.Tape[T], x *autograd.Var[T]) (*autograd.Var[T], error) {
	return t.ReLU(x), t.Err()
}

// Forward returns tanh(x).
func (*Tanh[T]) Forward(t *autograd.Tape[T], x *autograd.Var[T]) (*autograd.Var[T], error) {
	return t.Tanh(x), t.Err()
}

// Forward returns σ(x).
func (*Sigmoid[T]) Forward(t *autograd.Tape[T], x *autograd.Var[T]) (*autograd.Var[T], error) {
	return t.Sigmoid(x), t.Err()
}

// Forward returns x·Φ(x), or its tanh approximation.
func (g *GELU[T]) Forward(t *autograd.Tape[T], x *autograd.Var[T]) (*autograd.Var[T], error) {
	if g.Tanh {
		return t.GELUTanh(x), t.Err()
	}
	return t.GELU(x), t.Err()
}

// Forward returns x·σ(x).
func (*SiLU[T]) Forward(t *autograd.Tape[T], x *autograd.Var[T]) (*autograd.Var[T], error) {
	return t.SiLU(x), t.Err()
}

// Params returns nil: the layer has none.
func (*SiLU[T]) Params() []Param[T] { return nil }

// Buffers returns nil: the layer has none.
func (*SiLU[T]) Buffers() []Buffer[T] { return nil }

// String returns "SiLU".
func (*SiLU[T]) String() string { return "SiLU" }

// Forward returns x reshaped to [N, rest].
func (*Flatten[T]) Forward(t *autograd.Tape[T], x *autograd.Var[T]) (*autograd.Var[T], error) {
	return t.Flatten(x), t.Err()
}

// Params returns nil: the layer has none.
func (*ReLU[T]) Params() []Param[T] { return nil }

// Params returns nil: the layer has none.
func (*Tanh[T]) Params() []Param[T] { return nil }

// Params returns nil: the layer has none.
func (*Sigmoid[T]) Params() []Param[T] { return nil }

// Params returns nil: the layer has none.
func (*GELU[T]) Params() []Param[T] { return nil }

// Params returns nil: the layer has none.
func (*Flatten[T]) Params() []Param[T] { return nil }

// Buffers returns nil: the layer has none.
func (*ReLU[T]) Buffers() []Buffer[T] { return nil }

// Buffers returns nil: the layer has none.
func (*Tanh[T]) Buffers() []Buffer[T] { return nil }

// Buffers returns nil: the layer has none.
func (*Sigmoid[T]) Buffers() []Buffer[T] { return nil }

// Buffers returns nil: the layer has none.
func (*GELU[T]) Buffers() []Buffer[T] { return nil }

// Buffers returns nil: the layer has none.
func (*Flatten[T]) Buffers() []Buffer[T] { return nil }

// String returns "ReLU".
func (*ReLU[T]) String() string { return "ReLU" }

// String returns "Tanh".
func (*Tanh[T]) String() string { return "Tanh" }

// String returns "Sigmoid".
func (*Sigmoid[T]) String() string { return "Sigmoid" }

// String returns "GELU", or "GELU(approximate='tanh')".
func (g *GELU[T]) String() string {
	if g.Tanh {
		return "GELU(approximate='tanh')"
	}
	return "GELU"
}

// String returns "Flatten".
func (*Flatten[T]) String() string { return "Flatten" }

// Dropout zeroes each element with probability P in training mode and
// scales the rest by 1/(1 − P), as PyTorch's nn.Dropout; in eval mode it
// passes its input through. The mask is drawn from the layer's own random
// source, so a seeded source gives a reproducible run.
type Dropout[T tensor.Float] struct {
	p    float64
	rng  *rand.Rand
	mode Mode
}

// NewDropout returns a Dropout layer, in training mode, that drops with
// probability p drawing from rng. It panics if p is outside [0, 1] or rng is
// nil: validate a user's p before calling it.
func NewDropout[T tensor.Float](p float64, rng *rand.Rand) *Dropout[T] {
	if !(p >= 0 && p <= 1) {
		panic("nn: dropout probability outside [0, 1]")
	}
	if rng == nil {
		panic("nn: NewDropout with a nil rng")
	}
	return &Dropout[T]{p: p, rng: rng}
}

// Forward drops elements of x in training mode and returns x unchanged in
// eval mode.
func (d *Dropout[T]) Forward(t *autograd.Tape[T], x *autograd.Var[T]) (*autograd.Var[T], error) {
	if d.mode == Eval || d.p == 0 {
		return x, t.Err()
	}
	return t.Dropout(x, d.p, d.rng), t.Err()
}

// SetMode sets whether the layer drops (Train) or not (Eval).
func (d *Dropout[T]) SetMode(m Mode) { d.mode = m }

// Params returns nil: the layer has none.
func (*Dropout[T]) Params() []Param[T] { return nil }

// Buffers returns nil: the layer has none.
func (*Dropout[T]) Buffers() []Buffer[T] { return nil }

// String returns "Dropout(p=P)".
func (d *Dropout[T]) String() string { return fmt.Sprintf("Dropout(p=%g)", d.p) }
