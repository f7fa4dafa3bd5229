package autograd

import (
	"fmt"
	"math"

	"github.com/descentml/descent/internal/kernel"
	"github.com/descentml/descent/tensor"
)

// BatchNorm normalizes x [N, C, ...] per channel (dimension 1) with the
// batch's statistics, as PyTorch's batch normalization in training mode:
//
//	y = γ·(x − μ)/√(σ² + eps) + β
//
// where μ and σ² are the mean and the biased variance (divided by the count
// m = N·(product of the dimensions after C)) of the channel over the batch
// and the other dimensions. gamma (γ) and beta (β) are [C], or nil for 1 and
// 0. If mean and variance are not nil (length C), they receive μ and the
// biased σ², for a layer to update its running statistics.
func (t *Tape[T]) BatchNorm(x, gamma, beta *Var[T], eps float64, mean, variance []T) *Var[T] {
	return t.batchNorm(opBatchNorm, x, gamma, beta, eps, mean, variance)
}

// BatchNormEval normalizes x [N, C, ...] per channel with given statistics,
// as PyTorch's batch normalization in eval mode:
//
//	y = γ·(x − mean)/√(variance + eps) + β
//
// mean and variance are [C] (a layer's running statistics); gamma and beta
// are as in BatchNorm.
func (t *Tape[T]) BatchNormEval(x, gamma, beta *Var[T], mean, variance []T, eps float64) *Var[T] {
	return t.batchNorm(opBatchNormEval, x, gamma, beta, eps, mean, variance)
}

func (t *Tape[T]) batchNorm(op opKind, x, gamma, beta *Var[T], eps float64, mean, variance []T) *Var[T] {
	if t.err != nil {
		return t.dead
	}
	xs := x.Shape()
	if len(xs) < 2 {
		return t.Fail(fmt.Errorf("autograd: batch norm: input of shape %v: want [N, C, ...]", xs))
	}
	c := xs[1]
	for _, p := range []*Var[T]{gamma, beta} {
		if p != nil && (len(p.Shape()) != 1 || p.Shape()[0] != c) {
			return t.Fail(fmt.Errorf("autograd: batch norm: input %v and parameter %v: want [%d]", xs, p.Shape(), c))
		}
	}
	if (op == opBatchNormEval || mean != nil || variance != nil) && (len(mean) != c || len(variance) != c) {
		return t.Fail(fmt.Errorf("autograd: batch norm: input %v with statistics of lengths %d and %d: want %d", xs, len(mean), len(variance), c))
	}
	batch, inner := xs[0], tensor.Size(xs[2:])
	m := float64(batch * inner)
	out := t.result(xs, x, gamma, beta)
	stats := t.arena.Get(2, c) // per channel 1/√(σ² + eps), then μ
	xd, y, st := x.value.Data(), out.value.Data(), stats.Data()
	if inner == 1 {
		t.batchNormRows(op, batch, c, xd, y, st, gamma, beta, eps, mean, variance)
		if n := t.push(op, out, x, gamma, beta); n != nil {
			n.saved = stats
		}
		return out
	}
	for ch := 0; ch < c; ch++ {
		var mu, v float64
		if op == opBatchNorm {
			for i := 0; i < batch; i++ {
				for _, u := range xd[(i*c+ch)*inner : (i*c+ch+1)*inner] {
					mu += float64(u)
				}
			}
			mu /= m
			for i := 0; i < batch; i++ {
				for _, u := range xd[(i*c+ch)*inner : (i*c+ch+1)*inner] {
					d := float64(u) - mu
					v += d * d
				}
			}
			v /= m
			if mean != nil {
				mean[ch], variance[ch] = T(mu), T(v)
			}
		} else {
			mu, v = float64(mean[ch]), float64(variance[ch])
		}
		s := 1 / math.Sqrt(v+eps)
		st[ch], st[c+ch] = T(s), T(mu)
		g, b := 1.0, 0.0
		if gamma != nil {
			g = float64(gamma.value.Data()[ch])
		}
		if beta != nil {
			b = float64(beta.value.Data()[ch])
		}
		for i := 0; i < batch; i++ {
			lo, hi := (i*c+ch)*inner, (i*c+ch+1)*inner
			for k, u := range xd[lo:hi] {
				y[lo+k] = T(g*(float64(u)-mu)*s + b)
			}
		}
	}
	if n := t.push(op, out, x, gamma, beta); n != nil {
		n.saved = stats
	}
	return out
}

// batchNormRows is batch normalization of an input [N, C] (one value per
// channel and example), row by row with vector kernels: the statistics are
// sums in the element type over the rows in order, and the normalization
// is y = x·a + b per channel, with a = γ·s and b = β − μ·γ·s (s = 1/√(σ² +
// eps)) rounded once from float64, as PyTorch's CPU kernel computes it. st
// receives s and μ.
func (t *Tape[T]) batchNormRows(op opKind, batch, c int, x, y, st []T, gamma, beta *Var[T], eps float64, mean, variance []T) {
	is, mu := st[:c], st[c:]
	coef := t.arena.Get(2, c).Data()
	a, b := coef[:c], coef[c:]
	v := b // the variance, until b is computed
	if op == opBatchNorm {
		kernel.ColumnMeanVar(batch, c, x, c, mu, v)
		if mean != nil {
			copy(mean, mu)
			copy(variance, v)
		}
	} else {
		copy(mu, mean)
		copy(v, variance)
	}
	for ch := range c {
		s := 1 / math.Sqrt(float64(v[ch])+eps)
		g, sh := 1.0, 0.0
		if gamma != nil {
			g = float64(gamma.value.Data()[ch])
		}
		if beta != nil {
			sh = float64(beta.value.Data()[ch])
		}
		is[ch] = T(s)
		a[ch], b[ch] = T(g*s), T(sh-float64(mu[ch])*g*s)
	}
	kernel.AffineRows(batch, c, x, c, a, b, y, c)
}

// batchNormBackward, with s = 1/√(σ² + eps), sums over the batch and the
// dimensions after C, and the operations in the order of PyTorch's CPU
// kernel (batch_norm_cpu_backward), so that rounding goes the same way as
// far as it can:
//
//	∂β += Σ∂y,  ∂γ += s·Σ(x − μ)·∂y
//	∂x += (∂y − Σ∂y/m − (x − μ)·k)·s·γ,  k = s²·Σ(x − μ)·∂y/m   (training)
//	∂x += ∂y·s·γ                                               (eval)
//
// The order matters more than it seems: the gradient of a bias just before
// a batch norm is zero but for rounding, and Adam scales rounding noise up
// to steps of the learning rate.
func (t *Tape[T]) batchNormBackward(n *node[T]) {
	xs := n.a.Shape()
	c, batch, inner := xs[1], xs[0], tensor.Size(xs[2:])
	m := float64(batch * inner)
	g, x, st := n.out.grad.Data(), n.a.value.Data(), n.saved.Data()
	if inner == 1 {
		t.batchNormRowsBackward(n, batch, c, g, x, st)
		return
	}
	gx, gg, gb := t.grad(n.a), t.grad(n.b), t.grad(n.c)
	for ch := 0; ch < c; ch++ {
		is, mu := float64(st[ch]), float64(st[c+ch])
		var sum, dotp float64
		for i := 0; i < batch; i++ {
			lo, hi := (i*c+ch)*inner, (i*c+ch+1)*inner
			for k, d := range g[lo:hi] {
				sum += float64(d)
				dotp += (float64(x[lo+k]) - mu) * float64(d)
			}
		}
		if gb != nil {
			gb[ch] += T(sum)
		}
		if gg != nil {
			gg[ch] += T(dotp * is)
		}
		if gx == nil {
			continue
		}
		w := 1.0
		if n.b != nil {
			w = float64(n.b.value.Data()[ch])
		}
		kk := dotp * is * is / m
		for i := 0; i < batch; i++ {
			lo, hi := (i*c+ch)*inner, (i*c+ch+1)*inner
			for k, d := range g[lo:hi] {
				if n.op == opBatchNormEval {
					gx[lo+k] += T(float64(d) * is * w)
					continue
				}
				gx[lo+k] += T((float64(d) - sum/m - (float64(x[lo+k])-mu)*kk) * is * w)
			}
		}
	}
}

// batchNormRowsBackward is batchNormBackward for an input [N, C], row by row
// with vector kernels: the sums run over the rows in order in the element
// type, and ∂x = ((∂y − a) − (x − μ)·k)·c per channel with a = Σ∂y/m,
// k = s²·Σ(x − μ)·∂y/m and c = s·γ rounded once from float64.
func (t *Tape[T]) batchNormRowsBackward(n *node[T], batch, c int, g, x, st []T) {
	is, mu := st[:c], st[c:]
	coef := t.arena.Get(5, c).Data()
	sum, dot, a, k, cc := coef[:c], coef[c:2*c], coef[2*c:3*c], coef[3*c:4*c], coef[4*c:]
	kernel.ColumnSums(batch, c, g, c, sum)
	if n.op == opBatchNorm || n.b != nil && n.b.needGrad {
		kernel.ColumnDiffDots(batch, c, x, c, mu, g, c, dot)
	}
	if gb, add := t.gradOut(n.c); gb != nil {
		for ch, v := range sum {
			if add {
				v += gb[ch]
			}
			gb[ch] = v
		}
	}
	if gg, add := t.gradOut(n.b); gg != nil {
		for ch, v := range dot {
			d := T(float64(v) * float64(is[ch]))
			if add {
				d += gg[ch]
			}
			gg[ch] = d
		}
	}
	gx, add := t.gradOut(n.a)
	if gx == nil {
		return
	}
	m := float64(batch)
	for ch := range c {
		s, w := float64(is[ch]), 1.0
		if n.b != nil {
			w = float64(n.b.value.Data()[ch])
		}
		a[ch], k[ch], cc[ch] = T(float64(sum[ch])/m), T(float64(dot[ch])*s*s/m), T(s*w)
	}
	dx := gx
	if add {
		dx = t.arena.Get(batch, c).Data()
	}
	if n.op == opBatchNormEval {
		clear(a)
		kernel.AffineRows(batch, c, g, c, cc, a, dx, c)
	} else {
		kernel.BatchNormGradRows(batch, c, x, c, g, c, mu, a, k, cc, dx, c)
	}
	if add {
		kernel.Axpy(1, dx, gx)
	}
}
