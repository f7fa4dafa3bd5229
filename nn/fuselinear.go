package nn

import (
	"github.com/descentml/descent/autograd"
	"github.com/descentml/descent/tensor"
)

// forwardLinearReLU runs the first two layers of layers as autograd's
// LinearReLU when they are a Linear and a ReLU and the input fits the
// Linear layer; it returns 2, or 0 (and runs nothing) otherwise.
func forwardLinearReLU[T tensor.Float](t *autograd.Tape[T], layers []Module[T], x *autograd.Var[T]) (*autograd.Var[T], int, error) {
	if len(layers) < 2 {
		return nil, 0, nil
	}
	l, ok := layers[0].(*Linear[T])
	if !ok {
		return nil, 0, nil
	}
	if _, ok := layers[1].(*ReLU[T]); !ok {
		return nil, 0, nil
	}
	if s := x.Shape(); len(s) == 0 || s[len(s)-1] != l.in {
		return nil, 0, nil
	}
	return t.LinearReLU(x, l.weight, l.bias), 2, t.Err()
}
