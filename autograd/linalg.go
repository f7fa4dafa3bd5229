package autograd

import (
	"fmt"

	"github.com/descentml/descent/internal/kernel"
	"github.com/descentml/descent/tensor"
)

// MatMul returns the matrix product a·b of an m×k and a k×n matrix.
func (t *Tape[T]) MatMul(a, b *Var[T]) *Var[T] {
	if t.err != nil {
		return t.dead
	}
	m, n, k, err := tensor.MatMulShape(a.Shape(), b.Shape(), false, false)
	if err != nil {
		return t.Fail(err)
	}
	t.shape = append(t.shape[:0], m, n)
	out := t.result(t.shape, a, b)
	kernel.Gemm(false, false, m, n, k, 1, a.value.Data(), max(k, 1), b.value.Data(), max(n, 1), 0, out.value.Data(), max(n, 1))
	t.push(opMatMul, out, a, b, nil)
	return out
}

// matMulBackward: for C = A·B, ∂A += ∂C·Bᵀ and ∂B += Aᵀ·∂C.
func (t *Tape[T]) matMulBackward(n *node[T]) {
	m, k := n.a.Shape()[0], n.a.Shape()[1]
	nc := n.b.Shape()[1]
	g := n.out.grad.Data()
	if ga, add := t.gradOut(n.a); ga != nil {
		kernel.Gemm(false, true, m, k, nc, 1, g, max(nc, 1), n.b.value.Data(), max(nc, 1), beta[T](add), ga, max(k, 1))
	}
	if gb, add := t.gradOut(n.b); gb != nil {
		kernel.Gemm(true, false, k, nc, m, 1, n.a.value.Data(), max(k, 1), g, max(nc, 1), beta[T](add), gb, max(nc, 1))
	}
}

// Linear returns x·Wᵀ + b, the affine map of PyTorch's nn.Linear: x is
// [..., in] (any number of leading dimensions, usually one: the batch),
// the weight w is [out, in], the bias b is [out] or nil for none, and the
// result is [..., out]. The whole batch is one matrix multiply.
func (t *Tape[T]) Linear(x, w, b *Var[T]) *Var[T] {
	if t.err != nil {
		return t.dead
	}
	xs, ws := x.Shape(), w.Shape()
	if len(ws) != 2 || len(xs) == 0 || xs[len(xs)-1] != ws[1] {
		return t.Fail(fmt.Errorf("autograd: linear: input %v and weight %v: want input [..., %d]", xs, ws, dimOr(ws, 1)))
	}
	in, outF := ws[1], ws[0]
	if b != nil && (len(b.Shape()) != 1 || b.Shape()[0] != outF) {
		return t.Fail(fmt.Errorf("autograd: linear: weight %v and bias %v: want bias [%d]", ws, b.Shape(), outF))
	}
	rows := x.value.Len() / max(in, 1)
	t.shape = append(append(t.shape[:0], xs[:len(xs)-1]...), outF)
	out := t.result(t.shape, x, w, b)
	y := out.value.Data()
	kernel.Gemm(false, true, rows, outF, in, 1, x.value.Data(), max(in, 1), w.value.Data(), max(in, 1), 0, y, max(outF, 1))
	if b != nil {
		kernel.AddRowVector(rows, outF, b.value.Data(), y, max(outF, 1))
	}
	t.push(opLinear, out, x, w, b)
	return out
}

// linearBackward: for Y = X·Wᵀ + b, ∂X += ∂Y·W, ∂W += ∂Yᵀ·X and ∂b += the
// column sums of ∂Y. The weight and bias gradients accumulate into the
// parameters' buffers directly (β = 1).
func (t *Tape[T]) linearBackward(n *node[T]) {
	ws := n.b.Shape()
	in, outF := ws[1], ws[0]
	rows := n.a.value.Len() / max(in, 1)
	g := n.out.grad.Data()
	if gx, add := t.gradOut(n.a); gx != nil {
		kernel.Gemm(false, false, rows, in, outF, 1, g, max(outF, 1), n.b.value.Data(), max(in, 1), beta[T](add), gx, max(in, 1))
	}
	if gw, add := t.gradOut(n.b); gw != nil {
		kernel.Gemm(true, false, outF, in, rows, 1, g, max(outF, 1), n.a.value.Data(), max(in, 1), beta[T](add), gw, max(in, 1))
	}
	if gb, add := t.gradOut(n.c); gb != nil {
		if !add {
			clear(gb)
		}
		for o := 0; o < len(g); o += outF {
			kernel.Axpy(1, g[o:o+outF], gb)
		}
	}
}

func dimOr(s []int, i int) int {
	if i < len(s) {
		return s[i]
	}
	return 0
}
