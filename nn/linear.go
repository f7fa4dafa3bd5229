package nn

import (
	"fmt"
	"math/rand/v2"

	"github.com/descentml/descent/autograd"
	"github.com/descentml/descent/tensor"
)

// Linear is a fully connected layer, PyTorch's nn.Linear: y = x·Wᵀ + b for
// an input [..., In] (usually a batch [N, In]) and output [..., Out]. Its
// parameters are "weight" [Out, In] and "bias" [Out].
type Linear[T tensor.Float] struct {
	in, out      int
	weight, bias *autograd.Var[T]
	params       []Param[T]
}

var _ Module[float32] = (*Linear[float32])(nil)

// NewLinear returns a Linear layer from in to out features with PyTorch's
// default initialisation, drawn from rng: the weight from
// U(−1/√in, 1/√in) (Kaiming uniform with a = √5), then the bias from the
// same distribution. It panics if rng is nil or a size is negative.
func NewLinear[T tensor.Float](in, out int, rng *rand.Rand) *Linear[T] {
	w, b := tensor.New[T](out, in), tensor.New[T](out)
	kaimingUniform(w.Data(), in, rng)
	kaimingUniform(b.Data(), in, rng)
	l := &Linear[T]{in: in, out: out}
	l.params = []Param[T]{newParam("weight", w), newParam("bias", b)}
	l.weight, l.bias = l.params[0].Var, l.params[1].Var
	return l
}

// Forward returns x·Wᵀ + b. An input whose last dimension is not In is an
// error naming both.
func (l *Linear[T]) Forward(t *autograd.Tape[T], x *autograd.Var[T]) (*autograd.Var[T], error) {
	if !l.fits(x.Shape()) {
		return fail(t, fmt.Errorf("nn: %v: input of shape %v: want [..., %d]", l, x.Shape(), l.in))
	}
	return t.Linear(x, l.weight, l.bias), t.Err()
}

// fits reports whether an input of shape s is one Forward takes: [..., In].
func (l *Linear[T]) fits(s []int) bool { return len(s) > 0 && s[len(s)-1] == l.in }

// Weight returns the weight [Out, In] as a leaf of the autograd graph.
func (l *Linear[T]) Weight() *autograd.Var[T] { return l.weight }

// Bias returns the bias [Out] as a leaf of the autograd graph.
func (l *Linear[T]) Bias() *autograd.Var[T] { return l.bias }

// Params returns "weight" and "bias".
func (l *Linear[T]) Params() []Param[T] { return l.params }

// Buffers returns nil: Linear has none.
func (l *Linear[T]) Buffers() []Buffer[T] { return nil }

// String returns "Linear(in, out)".
func (l *Linear[T]) String() string { return fmt.Sprintf("Linear(%d, %d)", l.in, l.out) }
