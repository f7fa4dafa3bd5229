package nn

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/descentml/descent/autograd"
	"github.com/descentml/descent/tensor"
)

// Embedding is a lookup table of Num vectors of Dim values, PyTorch's
// nn.Embedding: an input of token ids of any shape gives their rows, an
// output of shape input + [Dim]. Its parameter is "weight" [Num, Dim].
//
// A Module's input is a tensor of the model's element type, so Forward
// reads the ids as values (whole numbers, exact in float32 below 2²⁴);
// [Embedding.Lookup] takes them as ints. A row that several positions
// select gets the sum of their gradients. With a padding index, that row is
// returned as stored but never gets a gradient (PyTorch's padding_idx).
type Embedding[T tensor.Float] struct {
	num, dim, padding int
	weight            *autograd.Var[T]
	params            []Param[T]
	ids               []int // scratch: the ids of Forward's input
}

var _ Module[float32] = (*Embedding[float32])(nil)

// NewEmbedding returns a table of num vectors of dim values drawn from the
// standard normal distribution, as PyTorch's nn.Embedding initialises
// them, with no padding index. It panics if a size is not positive or rng
// is nil.
func NewEmbedding[T tensor.Float](num, dim int, rng *rand.Rand) *Embedding[T] {
	return NewEmbeddingPadding[T](num, dim, -1, rng)
}

// NewEmbeddingPadding is NewEmbedding with padding_idx = padding: that row
// starts at zero and receives no gradient. A negative padding means none.
func NewEmbeddingPadding[T tensor.Float](num, dim, padding int, rng *rand.Rand) *Embedding[T] {
	if num <= 0 || dim <= 0 || padding >= num {
		panic("nn: invalid embedding sizes")
	}
	if rng == nil {
		panic("nn: nil rng for initialisation")
	}
	w := tensor.New[T](num, dim)
	for i := range w.Data() {
		w.Data()[i] = T(rng.NormFloat64())
	}
	if padding >= 0 {
		clear(w.Data()[padding*dim : (padding+1)*dim])
	} else {
		padding = -1
	}
	e := &Embedding[T]{num: num, dim: dim, padding: padding, params: []Param[T]{newParam("weight", w)}}
	e.weight = e.params[0].Var
	return e
}

// Forward returns the rows of the ids x holds, shape x + [Dim]. A value
// that is not a whole number in [0, Num) is an error naming its position.
func (e *Embedding[T]) Forward(t *autograd.Tape[T], x *autograd.Var[T]) (*autograd.Var[T], error) {
	ids, err := e.idsOf(x)
	if err != nil {
		return fail(t, err)
	}
	return e.Lookup(t, ids, x.Shape())
}

// idsOf reads x's values as token ids into the layer's scratch.
func (e *Embedding[T]) idsOf(x *autograd.Var[T]) ([]int, error) {
	xs := x.Value().Data()
	if cap(e.ids) < len(xs) {
		e.ids = make([]int, len(xs))
	}
	ids := e.ids[:len(xs)]
	for i, v := range xs {
		f := float64(v)
		if f != math.Trunc(f) || f < 0 || f >= float64(e.num) {
			return nil, fmt.Errorf("nn: %v: input %v holds %v at position %d: want a token id in [0, %d)", e, x.Shape(), f, i, e.num)
		}
		ids[i] = int(f)
	}
	return ids, nil
}

// Lookup returns the rows of ids, laid out in shape, as an array of shape
// shape + [Dim]. An id out of range is an error naming it.
func (e *Embedding[T]) Lookup(t *autograd.Tape[T], ids []int, shape []int) (*autograd.Var[T], error) {
	y := t.Embedding(e.weight, ids, shape, e.padding)
	if err := t.Err(); err != nil {
		return y, fmt.Errorf("nn: %v: %w", e, err)
	}
	return y, nil
}

// Weight returns the table [Num, Dim] as a leaf of the autograd graph; a
// language model whose output layer shares it (weight tying) multiplies
// by it.
func (e *Embedding[T]) Weight() *autograd.Var[T] { return e.weight }

// Params returns "weight".
func (e *Embedding[T]) Params() []Param[T] { return e.params }

// Buffers returns nil: Embedding has none.
func (*Embedding[T]) Buffers() []Buffer[T] { return nil }

// String returns "Embedding(num, dim)" or "Embedding(num, dim, padding_idx=p)".
func (e *Embedding[T]) String() string {
	if e.padding >= 0 {
		return fmt.Sprintf("Embedding(%d, %d, padding_idx=%d)", e.num, e.dim, e.padding)
	}
	return fmt.Sprintf("Embedding(%d, %d)", e.num, e.dim)
}

// LayerNorm normalizes its input over the last dimension, PyTorch's
// nn.LayerNorm with normalized_shape [Dim] and elementwise_affine:
//
//	y = (x − mean)/√(var + Eps)·weight + bias
//
// with the mean and the biased variance of each row. Its parameters are
// "weight" (initially 1) and "bias" (initially 0), both [Dim].
type LayerNorm[T tensor.Float] struct {
	// Eps is added to the variance; NewLayerNorm sets PyTorch's 1e-5.
	Eps float64

	dim          int
	weight, bias *autograd.Var[T]
	params       []Param[T]
}

var _ Module[float32] = (*LayerNorm[float32])(nil)

// NewLayerNorm returns layer normalization over the last dimension of
// size dim. It panics if dim is not positive.
func NewLayerNorm[T tensor.Float](dim int) *LayerNorm[T] {
	if dim <= 0 {
		panic("nn: layer norm with no features")
	}
	l := &LayerNorm[T]{Eps: 1e-5, dim: dim, params: []Param[T]{newParam("weight", ones[T](dim)), newParam("bias", tensor.New[T](dim))}}
	l.weight, l.bias = l.params[0].Var, l.params[1].Var
	return l
}

// Forward normalizes x [..., Dim]. A last dimension other than Dim is an
// error naming both.
func (l *LayerNorm[T]) Forward(t *autograd.Tape[T], x *autograd.Var[T]) (*autograd.Var[T], error) {
	if s := x.Shape(); len(s) == 0 || s[len(s)-1] != l.dim {
		return fail(t, fmt.Errorf("nn: %v: input of shape %v: want [..., %d]", l, s, l.dim))
	}
	return t.LayerNorm(x, l.weight, l.bias, l.Eps), t.Err()
}

// Params returns "weight" and "bias".
func (l *LayerNorm[T]) Params() []Param[T] { return l.params }

// Buffers returns nil: LayerNorm has none.
func (*LayerNorm[T]) Buffers() []Buffer[T] { return nil }

// String returns "LayerNorm((dim,), eps=…)".
func (l *LayerNorm[T]) String() string { return fmt.Sprintf("LayerNorm((%d,), eps=%g)", l.dim, l.Eps) }

// RMSNorm scales its input by the root mean square of the last dimension,
// PyTorch's nn.RMSNorm (torch ≥ 2.4) with normalized_shape [Dim]:
//
//	y = x/√(mean(x²) + Eps)·weight
//
// Its parameter is "weight" [Dim], initially 1; there is no bias.
type RMSNorm[T tensor.Float] struct {
	// Eps is added to the mean square; NewRMSNorm sets 1e-6 (PyTorch's
	// default, eps=None, is the dtype's machine epsilon; give Eps to
	// match a model made with it).
	Eps float64

	dim    int
	weight *autograd.Var[T]
	params []Param[T]
}

var _ Module[float32] = (*RMSNorm[float32])(nil)

// NewRMSNorm returns RMS normalization over the last dimension of size
// dim. It panics if dim is not positive.
func NewRMSNorm[T tensor.Float](dim int) *RMSNorm[T] {
	if dim <= 0 {
		panic("nn: RMS norm with no features")
	}
	l := &RMSNorm[T]{Eps: 1e-6, dim: dim, params: []Param[T]{newParam("weight", ones[T](dim))}}
	l.weight = l.params[0].Var
	return l
}

// Forward normalizes x [..., Dim]. A last dimension other than Dim is an
// error naming both.
func (l *RMSNorm[T]) Forward(t *autograd.Tape[T], x *autograd.Var[T]) (*autograd.Var[T], error) {
	if s := x.Shape(); len(s) == 0 || s[len(s)-1] != l.dim {
		return fail(t, fmt.Errorf("nn: %v: input of shape %v: want [..., %d]", l, s, l.dim))
	}
	return t.RMSNorm(x, l.weight, l.Eps), t.Err()
}

// Params returns "weight".
func (l *RMSNorm[T]) Params() []Param[T] { return l.params }

// Buffers returns nil: RMSNorm has none.
func (*RMSNorm[T]) Buffers() []Buffer[T] { return nil }

// String returns "RMSNorm((dim,), eps=…)".
func (l *RMSNorm[T]) String() string { return fmt.Sprintf("RMSNorm((%d,), eps=%g)", l.dim, l.Eps) }

func ones[T tensor.Float](n int) *tensor.Tensor[T] {
	x := tensor.New[T](n)
	for i := range x.Data() {
		x.Data()[i] = 1
	}
	return x
}

// Residual adds a module's output to its input: y = x + Inner(x), the skip
// connection of a residual block. Its parameters, buffers and mode are
// Inner's, under Inner's names.
type Residual[T tensor.Float] struct {
	Inner Module[T]
}

var (
	_ Container[float32] = (*Residual[float32])(nil)
	_ ModeSetter         = (*Residual[float32])(nil)
)

// NewResidual returns x + inner(x).
func NewResidual[T tensor.Float](inner Module[T]) *Residual[T] { return &Residual[T]{Inner: inner} }

// Forward returns x + Inner(x). An Inner whose output shape is not x's is
// an error naming both.
func (r *Residual[T]) Forward(t *autograd.Tape[T], x *autograd.Var[T]) (*autograd.Var[T], error) {
	y, err := r.Inner.Forward(t, x)
	if err != nil {
		return y, err
	}
	if !tensor.SameShape(x.Shape(), y.Shape()) {
		return fail(t, fmt.Errorf("nn: residual around %v: input %v and output %v differ", r.Inner, x.Shape(), y.Shape()))
	}
	return t.Add(x, y), t.Err()
}

// Params returns Inner's parameters.
func (r *Residual[T]) Params() []Param[T] { return r.Inner.Params() }

// Buffers returns Inner's buffers.
func (r *Residual[T]) Buffers() []Buffer[T] { return r.Inner.Buffers() }

// Layers returns Inner, its one layer ([Container]).
func (r *Residual[T]) Layers() []Module[T] { return []Module[T]{r.Inner} }

// SetMode passes m on to Inner.
func (r *Residual[T]) SetMode(m Mode) {
	if ms, ok := r.Inner.(ModeSetter); ok {
		ms.SetMode(m)
	}
}

// String returns "Residual(inner)".
func (r *Residual[T]) String() string { return fmt.Sprintf("Residual(%v)", r.Inner) }
