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
	if t.err != nil {
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
		nd.ints = append(nd.ints, heads)
	}
	return out
}

// attnScale is 1/√D for heads of width d.
func attnScale[T tensor.Float](d int) T { return T(1 / math.Sqrt(float64(d))) }

// attnForward computes item i = (sequence, head) of an attention job: x the
// packed qkv, y the output, z the probabilities, n the length T, p the width
// E, ld the heads, train whether causal.
func (j *job[T]) attnForward(i int) {
	n, e, heads := j.n, j.p, j.ld
	d := e / heads
	seq, h := i/heads, i%heads
	q := j.x[seq*n*3*e+h*d:]
	k, v := q[e:], q[2*e:]
	p := j.z[i*n*n : (i+1)*n*n]
	kernel.Gemm(false, true, n, n, d, attnScale[T](d), q, 3*e, k, 3*e, 0, p, n)
	if j.train {
		for r := range n {
			kernel.SoftmaxRows(1, r+1, p[r*n:], n, p[r*n:], n)
			clear(p[r*n+r+1 : (r+1)*n])
		}
	} else {
		kernel.SoftmaxRows(n, n, p, n, p, n)
	}
	kernel.Gemm(false, false, n, d, n, 1, p, n, v, 3*e, 0, j.y[seq*n*e+h*d:], e)
}

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
		b: gx, tmp: tmp, n: n, p: e, ld: heads, add: add}, b*heads)
}

// attnBackward computes item i of an attention's backward job on worker w:
// x the packed qkv, y the output gradient, z the probabilities, b the
// gradient of qkv (added to when add), tmp per-worker scratch of n·n.
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
	kernel.Gemm(false, true, n, n, d, 1, g, e, v, 3*e, 0, dp, n)
	kernel.Gemm(true, false, n, d, n, 1, p, n, g, e, beta, dv, 3*e)
	for r := range n {
		pr, dr := p[r*n:(r+1)*n], dp[r*n:(r+1)*n]
		var dot float64
		for c, pv := range pr {
			dot += float64(pv) * float64(dr[c])
		}
		for c, pv := range pr {
			dr[c] = pv * (dr[c] - T(dot))
		}
	}
	sc := attnScale[T](d)
	kernel.Gemm(false, false, n, d, n, sc, dp, n, k, 3*e, beta, dq, 3*e)
	kernel.Gemm(true, false, n, d, n, sc, dp, n, q, 3*e, beta, dk, 3*e)
}
