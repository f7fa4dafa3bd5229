package autograd

import (
	"fmt"
	"math/rand/v2"
)

// Dropout zeroes each element of x with probability p and scales the others
// by 1/(1 − p), so that the expected value is unchanged (inverted dropout,
// as PyTorch's in training mode). The draws come from rng, one Float64 per
// element in order, so a seeded rng gives a reproducible mask. p must be in
// [0, 1]; p = 1 zeroes everything.
func (t *Tape[T]) Dropout(x *Var[T], p float64, rng *rand.Rand) *Var[T] {
	if t.skip("dropout", x) {
		return t.dead
	}
	if !(p >= 0 && p <= 1) {
		return t.Fail(fmt.Errorf("autograd: dropout probability %v: want a value in [0, 1]", p))
	}
	if rng == nil {
		panic("autograd: Dropout with a nil rng")
	}
	out := t.result(x.Shape(), x)
	mask := t.arena.Get(x.Shape()...)
	keep := T(0)
	if p < 1 {
		keep = T(1 / (1 - p))
	}
	y, md := out.value.Data(), mask.Data()
	for i, v := range x.value.Data() {
		if rng.Float64() < p {
			md[i] = 0
		} else {
			md[i] = keep
		}
		y[i] = v * md[i]
	}
	if n := t.push(opDropout, out, x, nil, nil); n != nil {
		n.saved = mask
	}
	return out
}

func (t *Tape[T]) dropoutBackward(n *node[T]) {
	if gx := t.grad(n.a); gx != nil {
		m := n.saved.Data()
		for i, g := range n.out.grad.Data() {
			gx[i] += g * m[i]
		}
	}
}
