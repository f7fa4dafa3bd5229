package autograd

import (
	"fmt"

	"github.com/descentml/descent/internal/kernel"
	"github.com/descentml/descent/tensor"
)

// Reshape returns x with a new shape holding the same number of elements;
// one dimension may be -1, inferred from the others. The result shares x's
// data (no copy).
func (t *Tape[T]) Reshape(x *Var[T], shape ...int) *Var[T] {
	if t.skip("reshape", x) || t.foreign(x) { // shares x: no result
		return t.dead
	}
	s, err := tensor.ReshapeShape(t.shape, x.Shape(), shape)
	if err != nil {
		return t.Fail(err)
	}
	t.shape = s
	out := t.newVar(t.arena.View(x.value.Data(), s...), x.needGrad && !t.noGrad)
	t.push(opReshape, out, x, nil, nil)
	return out
}

// Flatten returns x reshaped to [N, rest]: the first dimension (the batch)
// kept, the others flattened into one, as PyTorch's nn.Flatten. A rank-1 x
// becomes [N, 1].
func (t *Tape[T]) Flatten(x *Var[T]) *Var[T] {
	if t.skip("flatten", x) {
		return t.dead
	}
	s := x.Shape()
	if len(s) == 0 {
		return t.Fail(fmt.Errorf("autograd: flatten: input of shape %v: want a batch dimension", s))
	}
	rest := 1
	for _, d := range s[1:] {
		rest *= d
	}
	return t.Reshape(x, s[0], rest)
}

func (t *Tape[T]) reshapeBackward(n *node[T]) {
	if gx := t.grad(n.a); gx != nil {
		kernel.Axpy(1, n.out.grad.Data(), gx)
	}
}

// Transpose returns the transpose of a matrix (a copy).
func (t *Tape[T]) Transpose(x *Var[T]) *Var[T] {
	if t.skip("transpose", x) {
		return t.dead
	}
	s := x.Shape()
	if len(s) != 2 {
		return t.Fail(fmt.Errorf("tensor: transpose %v: want a matrix (rank 2)", s))
	}
	t.shape = append(t.shape[:0], s[1], s[0])
	out := t.result(t.shape, x)
	tensor.TransposeInto(out.value.Data(), x.value.Data(), s[0], s[1])
	t.push(opTranspose, out, x, nil, nil)
	return out
}

func (t *Tape[T]) transposeBackward(n *node[T]) {
	gx := t.grad(n.a)
	if gx == nil {
		return
	}
	r, c := n.a.Shape()[0], n.a.Shape()[1]
	g := n.out.grad.Data() // c×r
	for j := 0; j < c; j++ {
		row := g[j*r : (j+1)*r]
		for i, v := range row {
			gx[i*c+j] += v
		}
	}
}

// Slice returns rows from through to−1 of x along its first dimension (a
// part of a batch), sharing x's data.
func (t *Tape[T]) Slice(x *Var[T], from, to int) *Var[T] {
	if t.skip("slice", x) || t.foreign(x) { // shares x: no result
		return t.dead
	}
	s := x.Shape()
	if len(s) == 0 || from < 0 || to < from || to > s[0] {
		return t.Fail(fmt.Errorf("autograd: slice [%d:%d] of shape %v: out of range", from, to, s))
	}
	row := x.value.Len() / max(s[0], 1)
	t.shape = append(t.shape[:0], s...)
	t.shape[0] = to - from
	out := t.newVar(t.arena.View(x.value.Data()[from*row:to*row], t.shape...), x.needGrad && !t.noGrad)
	if n := t.push(opSlice, out, x, nil, nil); n != nil {
		n.ints = append(n.ints, from*row)
	}
	return out
}

func (t *Tape[T]) sliceBackward(n *node[T]) {
	if gx := t.grad(n.a); gx != nil {
		kernel.Axpy(1, n.out.grad.Data(), gx[n.ints[0]:])
	}
}
