package nn

import (
	"github.com/descentml/descent/autograd"
	"github.com/descentml/descent/tensor"
)

// forwardFused runs the first layers of layers as one fused operation when
// they form a block that has one: Conv2D, ReLU and a 2×2 MaxPool2D of
// stride 2 without padding run as autograd's Conv2DReLUPool, BatchNorm
// and ReLU as its BatchNormReLU (forwardBatchNormReLU), and Linear and ReLU
// as its LinearReLU (forwardLinearReLU), Linear, BatchNorm and ReLU in
// training mode as its LinearBatchNormReLU (forwardLinearBatchNormReLU),
// whose results are those of the layers bit for bit. It returns the number of layers run, 0 (and nothing
// run) if they form no such block or the input does not fit it, so that
// the layers report the error one by one.
func forwardFused[T tensor.Float](t *autograd.Tape[T], layers []Module[T], x *autograd.Var[T]) (*autograd.Var[T], int, error) {
	if y, n, err := forwardLinearBatchNormReLU(t, layers, x); n > 0 {
		return y, n, err
	}
	if y, n, err := forwardLinearReLU(t, layers, x); n > 0 {
		return y, n, err
	}
	if y, n, err := forwardBatchNormReLU(t, layers, x); n > 0 {
		return y, n, err
	}
	if len(layers) < 3 {
		return nil, 0, nil
	}
	c, ok := layers[0].(*Conv2D[T])
	if !ok {
		return nil, 0, nil
	}
	if _, ok := layers[1].(*ReLU[T]); !ok {
		return nil, 0, nil
	}
	if p, ok := layers[2].(*MaxPool2D[T]); !ok || p.Kernel != 2 || p.stride() != 2 || p.Padding != 0 {
		return nil, 0, nil
	}
	if oh, ow, ok := c.outSize(x.Shape()); !ok || oh < 2 || ow < 2 {
		return nil, 0, nil
	}
	st, p := [2]int{c.cfg.Stride, c.cfg.Stride}, [2]int{c.cfg.Padding, c.cfg.Padding}
	return t.Conv2DReLUPool(x, c.weight, c.bias, st, p), 3, t.Err()
}

// forwardLinearReLU runs the first two layers of layers as autograd's
// LinearReLU when they are a Linear and a ReLU and the input fits the
// Linear layer ([..., in]); it returns 2, or 0 (and runs nothing)
// otherwise, so that a layer that rejects its input says so as itself.
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
	if !l.fits(x.Shape()) {
		return nil, 0, nil
	}
	return t.LinearReLU(x, l.weight, l.bias), 2, t.Err()
}

// forwardLinearBatchNormReLU runs the first three layers of layers as
// autograd's LinearBatchNormReLU when they are a Linear, a BatchNorm in
// training mode over its outputs and a ReLU, the input is a batch [N, in]
// of at least two examples and the batch norm is not synchronised across
// processes; it returns 3, or 0 (and runs nothing) otherwise, the layers
// then running as before (eval mode as a Linear and a BatchNormEvalReLU).
// The batch norm's running statistics are updated as by its Forward.
func forwardLinearBatchNormReLU[T tensor.Float](t *autograd.Tape[T], layers []Module[T], x *autograd.Var[T]) (*autograd.Var[T], int, error) {
	if len(layers) < 3 {
		return nil, 0, nil
	}
	l, isLinear := layers[0].(*Linear[T])
	b, isNorm := layers[1].(*BatchNorm[T])
	_, isReLU := layers[2].(*ReLU[T])
	s := x.Shape()
	if !isLinear || !isNorm || !isReLU || b.mode == Eval || b.ranks[0] > 2 || b.features != l.out ||
		len(s) != 2 || !l.fits(s) || s[0] < 2 || t.BatchReducer() != nil {
		return nil, 0, nil
	}
	y := t.LinearBatchNormReLU(x, l.weight, l.bias, b.weight, b.bias, b.Eps, b.batchMean, b.batchVar)
	if err := t.Err(); err != nil {
		return y, 3, err
	}
	b.track(s[0])
	return y, 3, nil
}
