package autograd

import (
	"fmt"
	"math"

	"github.com/descentml/descent/internal/kernel"
	"github.com/descentml/descent/tensor"
)

// Attention returns multi-head scaled dot-product attention over a batch of
// sequences whose queries, keys and values come packed in one tensor, the
// output of PyTorch's packed in_proj (x·in_proj_weightᵀ + in_proj_bias):
// qkv is [B, T, 3E], q, k and v its last-dimension slices [0, E), [E, 2E)
// and [2E, 3E). Head h takes columns [hD, (h+1)D) of each, D = E/heads:
//
//	s = q_h·k_hᵀ/√D  (+ −∞ above the diagonal when causal: i sees j ≤ i)
//	p = softmax(s) along the key axis
//	o_h = p·v_h
//
// and the result is the heads concatenated back in order, [B, T, E], the
// input of the output projection. Each product is one matrix multiply per
// sequence and head, read in place from qkv (row stride 3E); the sequences
// and heads are spread over the kernel pool. A shape whose last dimension is
// not a multiple of 3·heads is an error on the tape.
func (t *Tape[T]) Attention(qkv *Var[T], heads int, causal bool) *Var[T] {
	if t.skip("attention", qkv) {
		return t.dead
	}
	s := qkv.Shape()
	if len(s) != 3 || heads <= 0 || s[2]%(3*heads) != 0 {
		return t.Fail(fmt.Errorf("autograd: attention: packed input of shape %v with %d heads: want [B, T, 3E] with E a multiple of the heads", s, heads))
	}
	b, n, e := s[0], s[1], s[2]/3
	t.shape = append(t.shape[:0], b, n, e)
	out := t.result(t.shape, qkv)
	probs := t.arena.Get(b, heads, n, n)
	t.spreadItems(job[T]{kind: jobAttn, x: qkv.value.Data(), y: out.value.Data(), z: probs.Data(),
		n: n, p: e, ld: heads, train: causal}, b*heads)
	if nd := t.push(opAttention, out, qkv, nil, nil); nd != nil {
		nd.saved = probs
		nd.ints = append(nd.ints, heads, boolInt(causal))
	}
	return out
}

// attnScale is 1/√D for heads of width d.
func attnScale[T tensor.Float](d int) T { return T(1 / math.Sqrt(float64(d))) }

// attnForward computes item i = (sequence, head) of an attention job: x the
// packed qkv, y the output, z the probabilities, n the length T, p the width
// E, ld the heads, train whether causal. A causal attention runs in blocks
// of attnBlock rows, each block's products over the keys up to its last
// row only: the scores above the diagonal are never computed, and the
// probabilities there (zero) are not multiplied.
func (j *job[T]) attnForward(i int) {
	n, e, heads := j.n, j.p, j.ld
	d := e / heads
	seq, h := i/heads, i%heads
	q := j.x[seq*n*3*e+h*d:]
	k, v := q[e:], q[2*e:]
	p := j.z[i*n*n : (i+1)*n*n]
	y := j.y[seq*n*e+h*d:]
	if j.train {
		for r0 := 0; r0 < n; r0 += attnBlock {
			r1 := min(n, r0+attnBlock)
			kernel.Gemm(false, true, r1-r0, r1, d, attnScale[T](d), q[r0*3*e:], 3*e, k, 3*e, 0, p[r0*n:], n)
			for r := r0; r < r1; r++ {
				kernel.SoftmaxRows(1, r+1, p[r*n:], n, p[r*n:], n)
				clear(p[r*n+r+1 : (r+1)*n])
			}
			kernel.Gemm(false, false, r1-r0, d, r1, 1, p[r0*n:], n, v, 3*e, 0, y[r0*e:], e)
		}
		return
	}
	kernel.Gemm(false, true, n, n, d, attnScale[T](d), q, 3*e, k, 3*e, 0, p, n)
	kernel.SoftmaxRows(n, n, p, n, p, n)
	kernel.Gemm(false, false, n, d, n, 1, p, n, v, 3*e, 0, y, e)
}

// attnBlock is the number of rows of a causal attention's blocks: the
// products of a block run over the keys up to its last row, so the work
// above the diagonal left is the triangle inside the blocks.
const attnBlock = 32

// attentionBackward, per sequence and head, with G = ∂o_h:
//
//	∂p = G·v_hᵀ,  ∂v_h = pᵀ·G
//	∂s = p ⊙ (∂p − rowsum(∂p ⊙ p))
//	∂q_h = ∂s·k_h/√D,  ∂k_h = ∂sᵀ·q_h/√D
//
// Each item writes its own columns of ∂qkv.
func (t *Tape[T]) attentionBackward(nd *node[T]) {
	gx, add := t.gradOut(nd.a)
	if gx == nil {
		return
	}
	s := nd.a.Shape()
	b, n, e := s[0], s[1], s[2]/3
	heads := nd.ints[0]
	tmp := t.arena.Get(kernel.Threads(), n*n).Data()
	t.spreadItems(job[T]{kind: jobAttnGrad, x: nd.a.value.Data(), y: nd.out.grad.Data(), z: nd.saved.Data(),
		b: gx, tmp: tmp, n: n, p: e, ld: heads, add: add, train: nd.ints[1] == 1}, b*heads)
}

// attnBackward computes item i of an attention's backward job on worker w:
// x the packed qkv, y the output gradient, z the probabilities, b the
// gradient of qkv (added to when add), tmp per-worker scratch of n·n, train
// whether causal. A causal attention's products run in blocks of attnBlock
// rows over the part of the triangle below the diagonal each needs.
func (j *job[T]) attnBackward(w, i int) {
	n, e, heads := j.n, j.p, j.ld
	d := e / heads
	seq, h := i/heads, i%heads
	off := seq*n*3*e + h*d
	q, k, v := j.x[off:], j.x[off+e:], j.x[off+2*e:]
	dq, dk, dv := j.b[off:], j.b[off+e:], j.b[off+2*e:]
	g := j.y[seq*n*e+h*d:]
	p := j.z[i*n*n : (i+1)*n*n]
	dp := j.tmp[w*n*n : (w+1)*n*n]
	beta := beta[T](j.add)
	sc := attnScale[T](d)
	if !j.train {
		kernel.Gemm(false, true, n, n, d, 1, g, e, v, 3*e, 0, dp, n)
		kernel.Gemm(true, false, n, d, n, 1, p, n, g, e, beta, dv, 3*e)
		softmaxGradRows(n, n, n, p, dp)
		kernel.Gemm(false, false, n, d, n, sc, dp, n, k, 3*e, beta, dq, 3*e)
		kernel.Gemm(true, false, n, d, n, sc, dp, n, q, 3*e, beta, dk, 3*e)
		return
	}
	// Row r of p and ∂s is zero beyond column r: ∂p's rows need the values
	// up to their block's last row, ∂q's rows the keys up to it, and rows
	// c of ∂v and ∂k the queries from c on.
	for r0 := 0; r0 < n; r0 += attnBlock {
		r1 := min(n, r0+attnBlock)
		kernel.Gemm(false, true, r1-r0, r1, d, 1, g[r0*e:], e, v, 3*e, 0, dp[r0*n:], n)
		for r := r0; r < r1; r++ {
			softmaxGradRows(1, r+1, n, p[r*n:], dp[r*n:])
			clear(dp[r*n+r+1 : (r+1)*n])
		}
		kernel.Gemm(false, false, r1-r0, d, r1, sc, dp[r0*n:], n, k, 3*e, beta, dq[r0*3*e:], 3*e)
	}
	for c0 := 0; c0 < n; c0 += attnBlock {
		c1 := min(n, c0+attnBlock)
		kernel.Gemm(true, false, c1-c0, d, n-c0, 1, p[c0*n+c0:], n, g[c0*e:], e, beta, dv[c0*3*e:], 3*e)
		kernel.Gemm(true, false, c1-c0, d, n-c0, sc, dp[c0*n+c0:], n, q[c0*3*e:], 3*e, beta, dk[c0*3*e:], 3*e)
	}
}

// softmaxGradRows sets the first c columns of m rows of ∂p (row stride ld)
// to the gradient of the softmax scores, p ⊙ (∂p − rowsum(∂p ⊙ p)), p the
// probabilities with the same stride; the row sums are accumulated in
// float64 by the vector kernel.DotDiff, the rest is kernel.SoftmaxGrad.
func softmaxGradRows[T tensor.Float](m, c, ld int, p, dp []T) {
	for r := range m {
		pr, dr := p[r*ld:r*ld+c], dp[r*ld:r*ld+c]
		kernel.SoftmaxGrad(pr, dr, T(kernel.DotDiff(pr, dr, 0)))
	}
}
