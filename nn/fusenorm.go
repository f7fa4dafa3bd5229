package nn

import (
	"github.com/descentml/descent/autograd"
	"github.com/descentml/descent/tensor"
)

// forwardBatchNormReLU runs the first two layers of layers as autograd's
// BatchNormReLU (or BatchNormEvalReLU) when they are a BatchNorm and a
// ReLU and the input is one the batch norm accepts as [N, C]; it returns
// 2, or 0 (and runs nothing) otherwise, so that a layer that rejects its
// input says so as itself.
func forwardBatchNormReLU[T tensor.Float](t *autograd.Tape[T], layers []Module[T], x *autograd.Var[T]) (*autograd.Var[T], int, error) {
	if len(layers) < 2 {
		return nil, 0, nil
	}
	b, ok := layers[0].(*BatchNorm[T])
	if !ok {
		return nil, 0, nil
	}
	if _, ok := layers[1].(*ReLU[T]); !ok {
		return nil, 0, nil
	}
	s := x.Shape()
	fits := len(s) == 2 && len(s) >= b.ranks[0] && s[1] == b.features
	tooFew := b.mode != Eval && fits && s[0] < 2 && t.BatchReducer() == nil // an error of the layer's own
	if !fits || tooFew {
		return nil, 0, nil
	}
	y, err := b.forward(t, x, true)
	return y, 2, err
}
