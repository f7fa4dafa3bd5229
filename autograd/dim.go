package autograd

import (
	"fmt"

	"github.com/descentml/descent/internal/kernel"
	"github.com/descentml/descent/tensor"
)

// Operations along one dimension of their operands take it as PyTorch
// does: 0 … rank−1, or −rank … −1 counting from the last (−1 is the last
// dimension). Anything else is an error on the tape.

// axis returns dim as an index in 0 … rank−1, counting a negative dim from
// the end, and whether it is in range.
func axis(dim, rank int) (int, bool) {
	if dim < 0 {
		dim += rank
	}
	return dim, dim >= 0 && dim < rank
}

// SumDim returns the sums of x along dimension dim, as PyTorch's
// x.sum(dim) (keepdim=False): x's shape without that dimension, so a
// [B, T, H] batch summed over dim 1 (or −2) is [B, H]; Reshape restores a
// dimension of 1 where keepdim=True is wanted. Each sum is taken in
// float64 in order along dim and rounded once, as Sum's; the sum over a
// dimension of size 0 is 0. A scalar, as in PyTorch, has one dimension,
// 0 or −1, along which its sum is itself. The gradient of every element is the
// gradient of its sum.
func (t *Tape[T]) SumDim(x *Var[T], dim int) *Var[T] { return t.reduceDim(opSumDim, x, dim) }

// MeanDim returns the means of x along dimension dim, as PyTorch's
// x.mean(dim) (keepdim=False): SumDim divided by the size of dim, in
// float64 before rounding. The mean over a dimension of size 0 is NaN.
// The gradient of every element is the gradient of its mean divided by
// the size of dim.
func (t *Tape[T]) MeanDim(x *Var[T], dim int) *Var[T] { return t.reduceDim(opMeanDim, x, dim) }

func (t *Tape[T]) reduceDim(op opKind, x *Var[T], dim int) *Var[T] {
	if t.skip(opNames[op], x) {
		return t.dead
	}
	s := x.Shape()
	d, ok := axis(dim, max(len(s), 1)) // a scalar has dimension 0 (or −1), of size 1, as in PyTorch
	if !ok {
		return t.Fail(fmt.Errorf("autograd: %s: dimension %d of shape %v: out of range", opNames[op], dim, s))
	}
	outer, n, inner := splitAt(s, d)
	if len(s) > 0 {
		t.shape = append(append(t.shape[:0], s[:d]...), s[d+1:]...)
	} else {
		t.shape = t.shape[:0]
	}
	out := t.result(t.shape, x)
	xd, y := x.value.Data(), out.value.Data()
	// The sums of a row of outputs are taken together, in float64, going
	// along dim row by row of x, so that x is read in order; each sum still
	// adds its terms in order along dim.
	if cap(t.dimSums) < inner {
		t.dimSums = make([]float64, inner)
	}
	sums := t.dimSums[:inner]
	for o := range outer {
		clear(sums)
		for k := range n {
			for i, v := range xd[(o*n+k)*inner : (o*n+k+1)*inner] {
				sums[i] += float64(v)
			}
		}
		for i, sum := range sums {
			if op == opMeanDim {
				sum /= float64(n)
			}
			y[o*inner+i] = T(sum)
		}
	}
	if nd := t.push(op, out, x, nil, nil); nd != nil {
		nd.ints = append(nd.ints, d)
	}
	return out
}

// splitAt returns the sizes of a shape before dimension d, at it and after
// it; a scalar (rank 0) is one element along its dimension 0.
func splitAt(s []int, d int) (outer, n, inner int) {
	if len(s) == 0 {
		return 1, 1, 1
	}
	return tensor.Size(s[:d]), s[d], tensor.Size(s[d+1:])
}

// sumDimBackward spreads each element of the output gradient back along
// the summed dimension: ∂x[o, k, i] = ∂y[o, i] (÷ its size for a mean).
func (t *Tape[T]) sumDimBackward(n *node[T]) {
	gx, add := t.gradOut(n.a)
	if gx == nil {
		return
	}
	outer, m, inner := splitAt(n.a.Shape(), n.ints[0])
	g, mean := n.out.grad.Data(), n.op == opMeanDim
	for o := range outer {
		row := g[o*inner : (o+1)*inner]
		for k := range m {
			dst := gx[(o*m+k)*inner : (o*m+k+1)*inner]
			for i, v := range row {
				if mean {
					v /= T(m)
				}
				if add {
					dst[i] += v
				} else {
					dst[i] = v
				}
			}
		}
	}
}

// Concat returns xs joined along dimension dim, as PyTorch's torch.cat:
// the operands must have the same rank and the same size in every other
// dimension, and the result's size along dim is the sum of theirs. Each
// operand's gradient is its part of the result's; an operand that needs
// no gradient gets none. No operands, operands of different shapes, or a
// dimension out of range is an error on the tape. (PyTorch 1.13 also
// accepts, and skips, empty operands of shape [0] among others of any
// rank; Concat does not.)
func (t *Tape[T]) Concat(dim int, xs ...*Var[T]) *Var[T] {
	if t.skipAll("concat", xs...) {
		return t.dead
	}
	if len(xs) == 0 {
		return t.Fail(fmt.Errorf("autograd: concat: no operands"))
	}
	s := xs[0].Shape()
	d, ok := axis(dim, len(s))
	if !ok {
		return t.Fail(fmt.Errorf("autograd: concat: dimension %d of shape %v: out of range", dim, s))
	}
	size := 0
	for i, x := range xs {
		xs := x.Shape()
		if len(xs) != len(s) {
			return t.Fail(fmt.Errorf("autograd: concat: operand %d of shape %v and operand 1 of shape %v: want the same rank", i+1, xs, s))
		}
		for j := range xs {
			if j != d && xs[j] != s[j] {
				return t.Fail(fmt.Errorf("autograd: concat along dimension %d: operand %d of shape %v and operand 1 of shape %v: want the same size in dimension %d", dim, i+1, xs, s, j))
			}
		}
		size += xs[d]
	}
	t.shape = append(t.shape[:0], s...)
	t.shape[d] = size
	out := t.result(t.shape, xs...)
	outer, inner := tensor.Size(s[:d]), tensor.Size(s[d+1:])
	y := out.value.Data()
	at := 0 // the offset of the operand along d
	for _, x := range xs {
		m, xd := x.Shape()[d], x.value.Data()
		for o := range outer {
			copy(y[(o*size+at)*inner:(o*size+at+m)*inner], xd[o*m*inner:(o+1)*m*inner])
		}
		at += m
	}
	if n := t.push(opConcat, out, nil, nil, nil); n != nil {
		n.ints = append(n.ints, d, len(t.operands), len(t.operands)+len(xs))
		t.operands = append(t.operands, xs...)
	}
	return out
}

// concatBackward gives each operand that needs a gradient its part of the
// result's gradient.
func (t *Tape[T]) concatBackward(n *node[T]) {
	s, d := n.out.Shape(), n.ints[0]
	outer, size, inner := tensor.Size(s[:d]), s[d], tensor.Size(s[d+1:])
	g := n.out.grad.Data()
	at := 0
	for _, x := range t.operands[n.ints[1]:n.ints[2]] {
		m := x.Shape()[d]
		if gx, add := t.gradOut(x); gx != nil {
			for o := range outer {
				src, dst := g[(o*size+at)*inner:(o*size+at+m)*inner], gx[o*m*inner:(o+1)*m*inner]
				if add {
					kernel.Axpy(1, src, dst)
				} else {
					copy(dst, src)
				}
			}
		}
		at += m
	}
}
