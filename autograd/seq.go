package autograd

import (
	"fmt"
	"math"

	"github.com/descentml/descent/internal/kernel"
	"github.com/descentml/descent/tensor"
)

// Embedding returns the rows of the table w [V, D] that ids select, PyTorch's
// F.embedding: ids holds integer indices in [0, V) laid out in the given
// shape (a batch of sequences [B, T], say), and the result has shape
// shape + [D]. An index may repeat; the gradient of its row then sums one
// upstream row per occurrence. With padding ≥ 0, row padding is still
// returned by the forward pass but never receives a gradient (PyTorch's
// padding_idx rule); padding < 0 means none. An index out of range, or ids
// that do not fill shape, is an error on the tape naming it. ids is copied.
func (t *Tape[T]) Embedding(w *Var[T], ids []int, shape []int, padding int) *Var[T] {
	if t.skip("embedding", w) {
		return t.dead
	}
	ws := w.Shape()
	if len(ws) != 2 {
		return t.Fail(fmt.Errorf("autograd: embedding: table of shape %v: want [V, D]", ws))
	}
	v, d := ws[0], ws[1]
	if len(ids) != tensor.Size(shape) {
		return t.Fail(fmt.Errorf("autograd: embedding: %d indices for shape %v", len(ids), shape))
	}
	for i, id := range ids {
		if id < 0 || id >= v {
			return t.Fail(fmt.Errorf("autograd: embedding: index %d at position %d is out of range [0, %d)", id, i, v))
		}
	}
	t.shape = append(append(t.shape[:0], shape...), d)
	out := t.result(t.shape, w)
	y, table := out.value.Data(), w.value.Data()
	for i, id := range ids {
		copy(y[i*d:(i+1)*d], table[id*d:(id+1)*d])
	}
	if n := t.push(opEmbedding, out, w, nil, nil); n != nil {
		n.ints = append(n.ints, ids...)
		n.scalar = float64(padding)
	}
	return out
}

// embeddingBackward adds each upstream row to the gradient of the row its
// index selected, in order, except the padding row's.
func (t *Tape[T]) embeddingBackward(n *node[T]) {
	gw, add := t.gradOut(n.a)
	if gw == nil {
		return
	}
	if !add {
		clear(gw)
	}
	d := n.a.Shape()[1]
	pad := int(n.scalar)
	g := n.out.grad.Data()
	for i, id := range n.ints {
		if id != pad {
			kernel.Axpy(1, g[i*d:(i+1)*d], gw[id*d:(id+1)*d])
		}
	}
}

// LayerNorm normalizes x over its last dimension D, PyTorch's
// F.layer_norm with normalized_shape [D]:
//
//	y = (x − mean)/√(var + eps)·w + b
//
// with the mean and the biased variance (÷D) of each row, in float64. w
// and b are [D], or nil for 1 and 0.
func (t *Tape[T]) LayerNorm(x, w, b *Var[T], eps float64) *Var[T] {
	return t.layerNorm(opLayerNorm, x, w, b, eps)
}

// RMSNorm scales x by the root mean square of its last dimension D, as
// PyTorch's nn.RMSNorm (torch ≥ 2.4) with the given eps:
//
//	y = x/√(mean(x²) + eps)·w
//
// w is [D], or nil for 1.
func (t *Tape[T]) RMSNorm(x, w *Var[T], eps float64) *Var[T] {
	return t.layerNorm(opRMSNorm, x, w, nil, eps)
}

func (t *Tape[T]) layerNorm(op opKind, x, w, b *Var[T], eps float64) *Var[T] {
	if t.skip(opNames[op], x) {
		return t.dead
	}
	xs := x.Shape()
	if len(xs) == 0 {
		return t.Fail(fmt.Errorf("autograd: layer norm of a scalar: want at least one dimension"))
	}
	d := xs[len(xs)-1]
	for _, p := range []*Var[T]{w, b} {
		if p != nil && (len(p.Shape()) != 1 || p.Shape()[0] != d) {
			return t.Fail(fmt.Errorf("autograd: layer norm: input %v and parameter %v: want [%d]", xs, p.Shape(), d))
		}
	}
	rows := x.value.Len() / max(d, 1)
	out := t.result(xs, x, w, b)
	stats := t.arena.Get(2, rows) // per row: the mean (0 for RMSNorm), then 1/√(var + eps)
	mu, rs := stats.Data()[:rows], stats.Data()[rows:]
	xd, y := x.value.Data(), out.value.Data()
	var wd, bd []T
	if w != nil {
		wd = w.value.Data()
	}
	if b != nil {
		bd = b.value.Data()
	}
	t.spreadNorm(job[T]{kind: jobLayerNorm, op: op, x: xd, y: y, gamma: wd, beta: bd, mean: mu, variance: rs, eps: eps, p: d}, rows)
	if n := t.push(op, out, x, w, b); n != nil {
		n.saved = stats
	}
	return out
}

// layerNormBackward, with x̂ = (x − mean)·s, s = 1/√(var + eps), and
// ĝ = ∂y·w per row:
//
//	∂w += Σ_rows ∂y·x̂,  ∂b += Σ_rows ∂y
//	∂x += s·(ĝ − mean(ĝ) − x̂·mean(ĝ·x̂))   (LayerNorm)
//	∂x += s·(ĝ − x̂·mean(ĝ·x̂))             (RMSNorm)
func (t *Tape[T]) layerNormBackward(n *node[T]) {
	xs := n.a.Shape()
	d := xs[len(xs)-1]
	rows := n.a.value.Len() / max(d, 1)
	st := n.saved.Data()
	mu, rs := st[:rows], st[rows:]
	xd, g := n.a.value.Data(), n.out.grad.Data()
	var wd []T
	if n.b != nil {
		wd = n.b.value.Data()
	}
	gw, addW := t.gradOut(n.b)
	gb, addB := t.gradOut(n.c)
	if gw != nil && !addW {
		clear(gw)
	}
	if gb != nil && !addB {
		clear(gb)
	}
	gx, addX := t.gradOut(n.a)
	j := job[T]{op: n.op, x: xd, z: g, gamma: wd, mean: mu, variance: rs, p: d,
		dx: gx, add: addX, dgamma: gw, dbeta: gb}
	if gx != nil {
		j.kind = jobLayerNormGrad
		if wd != nil {
			j.tmp = t.arena.Get(kernel.Threads(), d).Data() // each worker's ĝ
		}
		t.spreadNorm(j, rows)
		j.tmp = nil
	}
	if (gw != nil || gb != nil) && rows > 0 {
		// The parameters' gradients sum over the rows: each of up to
		// lnParts blocks of rows into partial sums of its own (spread over
		// the pool), which are then added to them in order. The blocks
		// depend on the rows only, so results do not depend on the threads.
		parts := min(lnParts, rows)
		j.kind, j.n, j.chunk = jobLayerNormParamGrad, rows, (rows+parts-1)/parts
		j.tmp = t.arena.Get(parts, 2*d).Data()
		if rows*d < spreadAt {
			for i := range parts {
				j.lnParamGradPart(i)
			}
		} else {
			t.spreadItems(j, parts)
		}
		for i := range parts {
			part := j.tmp[2*i*d : 2*(i+1)*d]
			if gw != nil {
				kernel.Axpy(1, part[:d], gw)
			}
			if gb != nil {
				kernel.Axpy(1, part[d:], gb)
			}
		}
	}
}

// Narrow returns the part of x from start through start+length−1 along
// dimension dim (a copy), as PyTorch's torch.narrow: the last time step
// of a batch of sequences [B, T, H] is Narrow(x, 1, T−1, 1). A negative
// dim counts from the end, as PyTorch's (−1 is the last dimension).
func (t *Tape[T]) Narrow(x *Var[T], dim, start, length int) *Var[T] {
	if t.skip("narrow", x) {
		return t.dead
	}
	s := x.Shape()
	d, ok := axis(dim, len(s))
	if !ok || start < 0 || length < 0 || start+length > s[d] {
		return t.Fail(fmt.Errorf("autograd: narrow %v along dimension %d from %d for %d: out of range", s, dim, start, length))
	}
	dim = d
	t.shape = append(t.shape[:0], s...)
	t.shape[dim] = length
	out := t.result(t.shape, x)
	outer, inner := tensor.Size(s[:dim]), tensor.Size(s[dim+1:])
	xd, y := x.value.Data(), out.value.Data()
	for o := range outer {
		copy(y[o*length*inner:(o+1)*length*inner], xd[(o*s[dim]+start)*inner:(o*s[dim]+start+length)*inner])
	}
	if n := t.push(opNarrow, out, x, nil, nil); n != nil {
		n.ints = append(n.ints, dim, start)
	}
	return out
}

func (t *Tape[T]) narrowBackward(n *node[T]) {
	gx := t.grad(n.a)
	if gx == nil {
		return
	}
	s := n.a.Shape()
	dim, start := n.ints[0], n.ints[1]
	length := n.out.Shape()[dim]
	outer, inner := tensor.Size(s[:dim]), tensor.Size(s[dim+1:])
	g := n.out.grad.Data()
	for o := range outer {
		kernel.Axpy(1, g[o*length*inner:(o+1)*length*inner], gx[(o*s[dim]+start)*inner:])
	}
}

// lnRows is the number of rows of one item of a spread layer norm, and
// lnParts the number of blocks of rows its parameters' gradients are
// summed over, each alone.
const lnRows, lnParts = 32, 8

// spreadNorm runs the layer-norm job j (jobLayerNorm or jobLayerNormGrad)
// over its rows, in items of lnRows rows on the pool when there are many
// elements. Each row is computed alone, so results do not depend on the
// threads.
func (t *Tape[T]) spreadNorm(j job[T], rows int) {
	if rows*j.p < spreadAt {
		j.lnRows(0, 0, rows)
		return
	}
	t.spreadItems(j, (rows+lnRows-1)/lnRows)
}

// lnRows runs rows lo…hi−1 of a layer-norm job: for jobLayerNorm, with
// x the input, y the output, gamma and beta the weight and bias (or nil),
// mean and variance the saved mean and 1/√(var + eps) of each row, p the
// row length; for jobLayerNormGrad, dx (added to if add) from the output
// gradient z, on worker w.
func (j *job[T]) lnRows(w, lo, hi int) {
	d := j.p
	for r := lo; r < hi; r++ {
		row := j.x[r*d : (r+1)*d]
		if j.kind == jobLayerNorm {
			j.lnForwardRow(r, row, j.y[r*d:(r+1)*d])
		} else {
			j.lnGradRow(w, r, row, j.z[r*d:(r+1)*d], j.dx[r*d:(r+1)*d])
		}
	}
}

// lnForwardRow normalizes row r (see layerNorm).
func (j *job[T]) lnForwardRow(r int, row, yr []T) {
	d := len(row)
	var m, v float64
	if j.op == opLayerNorm {
		m = kernel.Sum(row) / float64(d)
		v = kernel.SumSquaredDiff(row, m) / float64(d)
	} else {
		v = kernel.SumSquares(row) / float64(d)
	}
	s := 1 / math.Sqrt(v+j.eps)
	j.mean[r], j.variance[r] = T(m), T(s)
	if j.gamma != nil && j.beta != nil {
		kernel.LayerNormRow(row, j.gamma, j.beta, yr, T(m), T(s))
		return
	}
	for k, u := range row {
		h := (float64(u) - m) * s
		if j.gamma != nil {
			h *= float64(j.gamma[k])
		}
		if j.beta != nil {
			h += float64(j.beta[k])
		}
		yr[k] = T(h)
	}
}

// lnGradRow writes (or adds) row r of the input's gradient gxr from the
// output's gr (see layerNormBackward), on worker w, whose row of tmp (if
// not nil) is its scratch.
func (j *job[T]) lnGradRow(w, r int, row, gr, gxr []T) {
	d := len(row)
	if j.gamma != nil && j.tmp != nil {
		// ĝ = ∂y·w, then ∂x = ((ĝ − mean(ĝ)) − (x − mean)·(s·mean(ĝ·x̂)))·s
		// by the vector kernels, in T, with the sums in float64.
		m, s := j.mean[r], j.variance[r]
		gh := j.tmp[w*d : (w+1)*d]
		kernel.Mul(gr, j.gamma, gh)
		var mg float64
		if j.op == opLayerNorm {
			mg = kernel.Sum(gh) / float64(d)
		}
		mgx := kernel.DotDiff(row, gh, float64(m)) * float64(s) / float64(d)
		out := gxr
		if j.add {
			out = gh
		}
		kernel.BatchNormGrad(row, gh, out, m, T(mg), T(float64(s)*mgx), s)
		if j.add {
			kernel.Axpy(1, gh, gxr)
		}
		return
	}
	m, s := float64(j.mean[r]), float64(j.variance[r])
	var sg, sgx float64 // Σĝ and Σĝ·x̂
	for k, u := range row {
		h := (float64(u) - m) * s
		gk := float64(gr[k])
		if j.gamma != nil {
			gk *= float64(j.gamma[k])
		}
		sg += gk
		sgx += gk * h
	}
	mg, mgx := sg/float64(d), sgx/float64(d)
	if j.op == opRMSNorm {
		mg = 0
	}
	for k, u := range row {
		h := (float64(u) - m) * s
		gk := float64(gr[k])
		if j.gamma != nil {
			gk *= float64(j.gamma[k])
		}
		v := T(s * (gk - mg - h*mgx))
		if j.add {
			v += gxr[k]
		}
		gxr[k] = v
	}
}

// lnParamGradPart sets part i of tmp (2·p long) to the sums, over rows
// chunk·i … chunk·(i+1)−1 of the j.n, of their shares of the weight's
// gradient (if dgamma is not nil) and of the bias's (if dbeta is not nil).
func (j *job[T]) lnParamGradPart(i int) {
	d := j.p
	part := j.tmp[2*i*d : 2*(i+1)*d]
	clear(part)
	pw, pb := part[:d], part[d:]
	for r := i * j.chunk; r < min(j.n, (i+1)*j.chunk); r++ {
		row, gr := j.x[r*d:(r+1)*d], j.z[r*d:(r+1)*d]
		if j.dgamma != nil {
			kernel.AddNormProduct(row, gr, pw, j.mean[r], j.variance[r])
		}
		if j.dbeta != nil {
			kernel.Axpy(1, gr, pb)
		}
	}
}
