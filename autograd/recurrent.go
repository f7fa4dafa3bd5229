package autograd

import (
	"fmt"
	"math"
	"unsafe"

	"github.com/descentml/descent/internal/kernel"
	"github.com/descentml/descent/tensor"
)

// The recurrent operations run a whole sequence through one layer's cell.
// The input projections gi = x·W_ihᵀ + b_ih of every step come in as one
// tensor [B, T, G·H], computed beforehand by one Linear over the whole
// batch and sequence; each step then adds h·W_hhᵀ + b_hh by one matrix
// multiply of the batch [B, H] by W_hhᵀ and applies the gates in plain
// loops. The backward pass runs the steps in reverse, one matrix multiply
// per step for the gradient that flows back through h, and gathers the
// gradient of W_hh in one multiply over every step at the end.

// LSTM runs PyTorch's LSTM cell (gate blocks i, f, g, o) over a sequence:
//
//	[i, f, g, o] = gi_t + h·W_hhᵀ + b_hh
//	c ← σ(f)·c + σ(i)·tanh(g),  h ← σ(o)·tanh(c)
//
// gi is [B, T, 4H], whh [4H, H], bhh [4H] or nil, and h0 and c0 the initial
// states [B, H] or nil for zeros. The result is [2, B, T, H]: every step's h
// (index 0; the layer's output, and h_n at step T−1), then every step's c.
func (t *Tape[T]) LSTM(gi, h0, c0, whh, bhh *Var[T]) *Var[T] {
	return t.recurrent(opLSTM, gi, h0, c0, whh, bhh)
}

// GRU runs PyTorch's GRU cell (gate blocks r, z, n) over a sequence, with
// gh = h·W_hhᵀ + b_hh:
//
//	r = σ(gi_r + gh_r),  z = σ(gi_z + gh_z),  n = tanh(gi_n + r·gh_n)
//	h ← (1 − z)·n + z·h
//
// (r multiplies gh_n including its bias, as PyTorch's). gi is [B, T, 3H],
// whh [3H, H], bhh [3H] or nil, h0 [B, H] or nil for zeros. The result is
// every step's h, [B, T, H].
func (t *Tape[T]) GRU(gi, h0, whh, bhh *Var[T]) *Var[T] {
	return t.recurrent(opGRU, gi, h0, nil, whh, bhh)
}

// RNN runs PyTorch's plain RNN cell with tanh over a sequence:
// h ← tanh(gi_t + h·W_hhᵀ + b_hh). gi is [B, T, H], whh [H, H], bhh [H] or
// nil, h0 [B, H] or nil for zeros. The result is every step's h, [B, T, H].
func (t *Tape[T]) RNN(gi, h0, whh, bhh *Var[T]) *Var[T] {
	return t.recurrent(opRNN, gi, h0, nil, whh, bhh)
}

// gates returns the number of gate blocks of a recurrent operation.
func gates(op opKind) int {
	switch op {
	case opLSTM:
		return 4
	case opGRU:
		return 3
	}
	return 1
}

func (t *Tape[T]) recurrent(op opKind, gi, h0, c0, whh, bhh *Var[T]) *Var[T] {
	if t.skip2(opNames[op], gi, whh) {
		return t.dead
	}
	g := gates(op)
	ws, s := whh.Shape(), gi.Shape()
	if len(ws) != 2 || ws[0] != g*ws[1] {
		return t.Fail(fmt.Errorf("autograd: recurrent: hidden weight of shape %v: want [%d·H, H]", ws, g))
	}
	h := ws[1]
	if len(s) != 3 || s[2] != g*h {
		return t.Fail(fmt.Errorf("autograd: recurrent: input projections of shape %v: want [B, T, %d]", s, g*h))
	}
	b, n := s[0], s[1]
	if bhh != nil && !tensor.SameShape(bhh.Shape(), []int{g * h}) {
		return t.Fail(fmt.Errorf("autograd: recurrent: hidden bias of shape %v: want [%d]", bhh.Shape(), g*h))
	}
	for _, st := range []*Var[T]{h0, c0} {
		if st != nil && (st.value.Len() != b*h || len(st.Shape()) == 0 || st.Shape()[len(st.Shape())-1] != h) {
			return t.Fail(fmt.Errorf("autograd: recurrent: initial state of shape %v: want [B, H] = [%d, %d]", st.Shape(), b, h))
		}
	}
	if op == opLSTM {
		t.shape = append(t.shape[:0], 2, b, n, h)
	} else {
		t.shape = append(t.shape[:0], b, n, h)
	}
	out := t.result(t.shape, gi, whh, bhh, h0, c0)
	// saved: LSTM the activated gates (4H) and tanh(c) (H) per step; GRU
	// r, z, n and gh_n (4H) per step.
	var saved *tensor.Tensor[T]
	switch op {
	case opLSTM:
		saved = t.arena.Get(b, n, 5*h)
	case opGRU:
		saved = t.arena.Get(b, n, 4*h)
	}
	gh := t.arena.Get(b, g*h).Data() // h·W_hhᵀ + b_hh of one step
	r := recur[T]{op: op, b: b, n: n, h: h, gi: gi.value.Data(), whh: whh.value.Data(), out: out.value.Data()}
	if bhh != nil {
		r.bhh = bhh.value.Data()
	}
	if h0 != nil {
		r.h0 = h0.value.Data()
	}
	if c0 != nil {
		r.c0 = c0.value.Data()
	}
	if saved != nil {
		r.saved = saved.Data()
	}
	r.gh = gh
	for step := range n * min(b, 1) { // an empty batch has no steps to run

		r.step = step
		r.forward()
		t.rows(&r, jobRecur)
	}
	if nd := t.push(op, out, gi, whh, bhh); nd != nil {
		nd.d, nd.e = h0, c0
		nd.saved = saved
	}
	return out
}

// recur holds the data of one recurrent operation: sizes b (batch), n
// (steps), h (hidden); the input projections gi [b, n, G·h], the hidden
// weight and bias, the initial states (nil for zeros), the output and what
// the backward pass needs.
type recur[T tensor.Float] struct {
	op         opKind
	b, n, h    int
	gi         []T
	whh, bhh   []T
	h0, c0     []T
	out, saved []T

	// the step being run, and its scratch: gh = h·W_hhᵀ + b_hh (forward);
	// the output gradient g, the gates' gradients dgi and dgh, and ∂h, ∂c
	// of this step and of the next (backward)
	step                   int
	gh                     []T
	g, dgi, dgh            []T
	dh, dc, dhNext, dcNext []T
}

// spreadRows is the least number of gate values per step whose rows are
// spread over the kernel pool.
var spreadRows = 1 << 12

// rows runs rows 0…b−1 of the current step of r, forward or backward
// (kind jobRecur or jobRecurGrad), on the pool when the step is large.
func (t *Tape[T]) rows(r *recur[T], kind jobKind) {
	if r.b*r.h*gates(r.op) < spreadRows {
		if kind == jobRecur {
			r.forwardRows(0, r.b)
		} else {
			r.backwardRows(0, r.b)
		}
		return
	}
	t.spreadItems(job[T]{kind: kind, rec: *r}, r.b)
}

// prevH returns the h that step s starts from and its row stride, or nil.
func (r *recur[T]) prevH(s int) ([]T, int) {
	if s > 0 {
		return r.out[(s-1)*r.h:], r.n * r.h
	}
	return r.h0, r.h
}

// prevC returns the c that step s starts from and its row stride, or nil.
func (r *recur[T]) prevC(s int) ([]T, int) {
	if r.op != opLSTM {
		return nil, 0
	}
	if s > 0 {
		return r.out[r.b*r.n*r.h+(s-1)*r.h:], r.n * r.h
	}
	return r.c0, r.h
}

// forward computes gh = h·W_hhᵀ + b_hh of the current step for the whole
// batch, one matrix multiply; forwardRows then applies the gates.
func (r *recur[T]) forward() {
	s, gh := r.step, r.gh
	b, h := r.b, r.h
	gw := gates(r.op) * h
	for i := range b {
		if r.bhh != nil {
			copy(gh[i*gw:(i+1)*gw], r.bhh)
		} else {
			clear(gh[i*gw : (i+1)*gw])
		}
	}
	if hp, ld := r.prevH(s); hp != nil {
		kernel.Gemm(false, true, b, gw, h, 1, hp, ld, r.whh, h, 1, gh, gw)
	}
}

// forwardRows applies the gates of the current step to batch rows i0…i1−1,
// writing h (and c) and what the backward pass needs.
func (r *recur[T]) forwardRows(i0, i1 int) {
	s, gh := r.step, r.gh
	b, n, h := r.b, r.n, r.h
	gw := gates(r.op) * h
	hp, ldh := r.prevH(s)
	cp, ldc := r.prevC(s)
	for i := i0; i < i1; i++ {
		x := r.gi[(i*n+s)*gw : (i*n+s+1)*gw]
		hg := gh[i*gw : (i+1)*gw]
		ho := r.out[(i*n+s)*h : (i*n+s+1)*h]
		if unsafe.Sizeof(T(0)) == 4 {
			r.forwardRow32(i, x, hg, ho, hp, ldh, cp, ldc)
			continue
		}
		switch r.op {
		case opRNN:
			for j := range ho {
				ho[j] = T(math.Tanh(float64(x[j]) + float64(hg[j])))
			}
		case opLSTM:
			co := r.out[b*n*h+(i*n+s)*h : b*n*h+(i*n+s+1)*h]
			sv := r.saved[(i*n+s)*5*h : (i*n+s+1)*5*h]
			for j := range ho {
				ig := sigmoid(float64(x[j]) + float64(hg[j]))
				fg := sigmoid(float64(x[h+j]) + float64(hg[h+j]))
				gg := math.Tanh(float64(x[2*h+j]) + float64(hg[2*h+j]))
				og := sigmoid(float64(x[3*h+j]) + float64(hg[3*h+j]))
				c := ig * gg
				if cp != nil {
					c += fg * float64(cp[i*ldc+j])
				}
				c = float64(T(c))
				tc := math.Tanh(c)
				co[j], ho[j] = T(c), T(og*tc)
				sv[j], sv[h+j], sv[2*h+j], sv[3*h+j], sv[4*h+j] = T(ig), T(fg), T(gg), T(og), T(tc)
			}
		case opGRU:
			sv := r.saved[(i*n+s)*4*h : (i*n+s+1)*4*h]
			for j := range ho {
				rg := sigmoid(float64(x[j]) + float64(hg[j]))
				zg := sigmoid(float64(x[h+j]) + float64(hg[h+j]))
				ng := math.Tanh(float64(x[2*h+j]) + rg*float64(hg[2*h+j]))
				v := (1 - zg) * ng
				if hp != nil {
					v += zg * float64(hp[i*ldh+j])
				}
				ho[j] = T(v)
				sv[j], sv[h+j], sv[2*h+j], sv[3*h+j] = T(rg), T(zg), T(ng), hg[2*h+j]
			}
		}
	}
}

// forwardRow32 is forwardRows for batch row i in float32: the gates'
// pre-activations x + hg are summed into the saved gates (or the output h),
// raised there by the vector kernels kernel.Sigmoid and kernel.Tanh, and
// combined in float64 and rounded once, as the float64 loop combines them.
func (r *recur[T]) forwardRow32(i int, x, hg, ho, hp []T, ldh int, cp []T, ldc int) {
	s, n, h := r.step, r.n, r.h
	switch r.op {
	case opRNN:
		for j := range ho {
			ho[j] = x[j] + hg[j]
		}
		kernel.Tanh(ho, ho)
	case opLSTM:
		co := r.out[r.b*n*h+(i*n+s)*h : r.b*n*h+(i*n+s+1)*h]
		sv := r.saved[(i*n+s)*5*h : (i*n+s+1)*5*h]
		for j := range 4 * h {
			sv[j] = x[j] + hg[j]
		}
		kernel.Sigmoid(sv[:2*h], sv[:2*h])
		kernel.Tanh(sv[2*h:3*h], sv[2*h:3*h])
		kernel.Sigmoid(sv[3*h:4*h], sv[3*h:4*h])
		for j := range co {
			c := float64(sv[j]) * float64(sv[2*h+j])
			if cp != nil {
				c += float64(sv[h+j]) * float64(cp[i*ldc+j])
			}
			co[j] = T(c)
		}
		tc := sv[4*h : 5*h]
		kernel.Tanh(co, tc)
		for j := range ho {
			ho[j] = sv[3*h+j] * tc[j]
		}
	case opGRU:
		sv := r.saved[(i*n+s)*4*h : (i*n+s+1)*4*h]
		for j := range 2 * h {
			sv[j] = x[j] + hg[j]
		}
		kernel.Sigmoid(sv[:2*h], sv[:2*h])
		for j := range h {
			sv[2*h+j] = T(float64(x[2*h+j]) + float64(sv[j])*float64(hg[2*h+j]))
		}
		kernel.Tanh(sv[2*h:3*h], sv[2*h:3*h])
		for j := range ho {
			zg, ng := float64(sv[h+j]), float64(sv[2*h+j])
			v := (1 - zg) * ng
			if hp != nil {
				v += zg * float64(hp[i*ldh+j])
			}
			ho[j] = T(v)
			sv[3*h+j] = hg[2*h+j]
		}
	}
}

// recurrentBackward runs the steps in reverse. With ∂h the gradient that
// reaches a step's h (from the output and from the next step) and, for the
// LSTM, ∂c likewise:
//
//	RNN:  ∂a = ∂h·(1 − h²);  ∂gi = ∂gh = ∂a
//	LSTM: ∂c += ∂h·o·(1 − tanh²c); ∂o = ∂h·tanh c; ∂i = ∂c·g; ∂g = ∂c·i;
//	      ∂f = ∂c·c_prev; ∂gi = ∂gh = the gates' pre-activation gradients;
//	      ∂c_prev = ∂c·f
//	GRU:  ∂n = ∂h·(1 − z); ∂z = ∂h·(h_prev − n); ∂aₙ = ∂n·(1 − n²);
//	      ∂r = ∂aₙ·ghₙ; ∂gi = [∂r·r(1−r), ∂z·z(1−z), ∂aₙ];
//	      ∂gh = [∂r·r(1−r), ∂z·z(1−z), ∂aₙ·r]; ∂h_prev gains ∂h·z
//
// and ∂h_prev += ∂gh·W_hh. Then ∂W_hh += Σ_steps ∂ghᵀ·h_prev and
// ∂b_hh += Σ ∂gh, and ∂h0, ∂c0 are what flows out of the first step.
func (t *Tape[T]) recurrentBackward(nd *node[T]) {
	gis, ws := nd.a.Shape(), nd.b.Shape()
	b, n, h := gis[0], gis[1], ws[1]
	if b == 0 {
		return // an empty batch adds nothing to any gradient
	}
	gw := gates(nd.op) * h
	r := recur[T]{op: nd.op, b: b, n: n, h: h, gi: nd.a.value.Data(), whh: nd.b.value.Data(), out: nd.out.value.Data()}
	if nd.d != nil {
		r.h0 = nd.d.value.Data()
	}
	if nd.e != nil {
		r.c0 = nd.e.value.Data()
	}
	if nd.saved != nil {
		r.saved = nd.saved.Data()
	}
	g := nd.out.grad.Data()
	dgi := t.arena.Get(b, n, gw).Data()
	dgh := dgi
	if nd.op == opGRU {
		dgh = t.arena.Get(b, n, gw).Data()
	}
	st := t.arena.Zeros(4, b, h).Data() // ∂h and ∂c flowing back from the next step, and this step's
	dhNext, dcNext, dh := st[:b*h], st[b*h:2*b*h], st[2*b*h:3*b*h]
	r.g, r.dgi, r.dgh = g, dgi, dgh
	r.dhNext, r.dcNext, r.dh, r.dc = dhNext, dcNext, dh, st[3*b*h:]
	for s := n - 1; s >= 0; s-- {
		r.step = s
		t.rows(&r, jobRecurGrad)
		// ∂h_prev = ∂gh_s·W_hh (+ ∂h·z for the GRU, now in dh).
		beta := T(0)
		if nd.op == opGRU {
			copy(dhNext, dh)
			beta = 1
		}
		kernel.Gemm(false, false, b, h, gw, 1, dgh[s*gw:], n*gw, r.whh, h, beta, dhNext, h)
	}
	t.recurrentParamGrads(nd, &r)
}

// backwardRows computes the gates' gradients of the current step for batch
// rows i0…i1−1, and the part of ∂c (LSTM) and ∂h (GRU) that flows to the
// previous step directly.
func (r *recur[T]) backwardRows(i0, i1 int) {
	s, b, n, h := r.step, r.b, r.n, r.h
	gw := gates(r.op) * h
	g, dgi, dgh := r.g, r.dgi, r.dgh
	dhNext, dcNext, dh, dc := r.dhNext, r.dcNext, r.dh, r.dc
	hp, ldh := r.prevH(s)
	cp, ldc := r.prevC(s)
	for i := i0; i < i1; i++ {
		row := (i*n + s)
		dhi, dci := dh[i*h:(i+1)*h], dc[i*h:(i+1)*h]
		for j := range dhi {
			dhi[j] = g[row*h+j] + dhNext[i*h+j]
		}
		x, y := dgi[row*gw:(row+1)*gw], dgh[row*gw:(row+1)*gw]
		ho := r.out[row*h : (row+1)*h]
		switch r.op {
		case opRNN:
			for j, v := range ho {
				x[j] = dhi[j] * (1 - v*v)
			}
		case opLSTM:
			sv := r.saved[row*5*h : (row+1)*5*h]
			for j := range dci {
				dci[j] = g[b*n*h+row*h+j] + dcNext[i*h+j]
			}
			for j := range dhi {
				ig, fg, gg, og, tc := sv[j], sv[h+j], sv[2*h+j], sv[3*h+j], sv[4*h+j]
				dcj := dci[j] + dhi[j]*og*(1-tc*tc)
				var cprev T
				if cp != nil {
					cprev = cp[i*ldc+j]
				}
				x[j] = dcj * gg * ig * (1 - ig)
				x[h+j] = dcj * cprev * fg * (1 - fg)
				x[2*h+j] = dcj * ig * (1 - gg*gg)
				x[3*h+j] = dhi[j] * tc * og * (1 - og)
				dcNext[i*h+j] = dcj * fg
			}
		case opGRU:
			sv := r.saved[row*4*h : (row+1)*4*h]
			for j := range dhi {
				rg, zg, ng, hn := sv[j], sv[h+j], sv[2*h+j], sv[3*h+j]
				var hprev T
				if hp != nil {
					hprev = hp[i*ldh+j]
				}
				dz := dhi[j] * (hprev - ng)
				dan := dhi[j] * (1 - zg) * (1 - ng*ng)
				dr := dan * hn
				x[j] = dr * rg * (1 - rg)
				x[h+j] = dz * zg * (1 - zg)
				x[2*h+j] = dan
				y[j], y[h+j], y[2*h+j] = x[j], x[h+j], dan*rg
				dhi[j] *= zg // the direct path to h_prev, added below
			}
		}
	}
}

// recurrentParamGrads adds the gradients of the input projections, W_hh,
// b_hh and the initial states once the steps have run backward.
func (t *Tape[T]) recurrentParamGrads(nd *node[T], r *recur[T]) {
	b, n, h := r.b, r.n, r.h
	gw := gates(nd.op) * h
	dgi, dgh, dhNext, dcNext := r.dgi, r.dgh, r.dhNext, r.dcNext
	t.setGrad(nd.a, dgi)
	if gwhh, add := t.gradOut(nd.b); gwhh != nil {
		// h_prev of every step, [B, T, H]: h0 (or 0) then the outputs shifted.
		hprev := t.arena.Get(b, n, h).Data()
		for i := range b {
			if r.h0 != nil {
				copy(hprev[i*n*h:i*n*h+h], r.h0[i*h:(i+1)*h])
			} else {
				clear(hprev[i*n*h : i*n*h+h])
			}
			copy(hprev[i*n*h+h:(i+1)*n*h], r.out[i*n*h:(i+1)*n*h-h])
		}
		kernel.Gemm(true, false, gw, h, b*n, 1, dgh, gw, hprev, h, beta[T](add), gwhh, h)
	}
	if nd.c != nil && nd.c.needGrad {
		sums := t.arena.Get(gw).Data()
		kernel.ColumnSums(b*n, gw, dgh, gw, sums)
		t.setGrad(nd.c, sums)
	}
	t.setGrad(nd.d, dhNext)
	t.setGrad(nd.e, dcNext)
}

// setGrad adds g to v's gradient, or writes it if v's backward pass is the
// first to reach v; nothing if no gradient flows to v.
func (t *Tape[T]) setGrad(v *Var[T], g []T) {
	if dst, add := t.gradOut(v); add {
		kernel.Axpy(1, g, dst)
	} else if dst != nil {
		copy(dst, g)
	}
}
