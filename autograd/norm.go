package autograd

import (
	"fmt"
	"math"
	"runtime"
	"sync/atomic"

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
	return t.batchNorm(opBatchNorm, x, gamma, beta, eps, mean, variance, false)
}

// BatchNormEval normalizes x [N, C, ...] per channel with given statistics,
// as PyTorch's batch normalization in eval mode:
//
//	y = γ·(x − mean)/√(variance + eps) + β
//
// mean and variance are [C] (a layer's running statistics); gamma and beta
// are as in BatchNorm, and the arguments come in BatchNorm's order.
func (t *Tape[T]) BatchNormEval(x, gamma, beta *Var[T], eps float64, mean, variance []T) *Var[T] {
	return t.batchNorm(opBatchNormEval, x, gamma, beta, eps, mean, variance, false)
}

// batchNorm is BatchNorm (op opBatchNorm) or BatchNormEval
// (opBatchNormEval), followed by ReLU when relu is set: in the same pass
// for an input [N, C] normalized on this process (as opBatchNormReLU or
// opBatchNormEvalReLU), as the two operations otherwise.
func (t *Tape[T]) batchNorm(op opKind, x, gamma, beta *Var[T], eps float64, mean, variance []T, relu bool) *Var[T] {
	if t.skip("batch norm", x) {
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
	synced := op == opBatchNorm && t.reducer != nil && c > 0 // no channels: nothing to reduce, on every process alike
	if relu && (inner != 1 || synced) {
		return t.ReLU(t.batchNorm(op, x, gamma, beta, eps, mean, variance, false))
	}
	out := t.result(xs, x, gamma, beta)
	stats := t.arena.Get(2, c) // per channel s = 1/√(σ² + eps), then μ
	j := normJob(x.value.Data(), out.value.Data(), stats.Data(), gamma, beta, batch, inner, mean, variance, eps, op == opBatchNorm, relu)
	t.syncedCount = 0
	var m float64 // the whole batch's count per channel, under a BatchReducer
	switch {
	case synced:
		var err error
		if m, err = t.syncBatchNorm(j, c); err != nil {
			return t.Fail(err)
		}
		t.syncedCount = int(m)
	case inner == 1:
		t.batchNormRows(j, c)
	default:
		t.spreadItems(j, c)
	}
	switch {
	case relu && op == opBatchNorm:
		op = opBatchNormReLU
	case relu:
		op = opBatchNormEvalReLU
	}
	if n := t.push(op, out, x, gamma, beta); n != nil {
		n.saved = stats
		n.scalar = m
	}
	return out
}

// normJob returns the job (jobNorm) of a batch norm of x, batch×C×inner,
// into y, with its statistics into stats.
func normJob[T tensor.Float](x, y, stats []T, gamma, beta *Var[T], batch, inner int, mean, variance []T, eps float64, train, relu bool) job[T] {
	j := job[T]{kind: jobNorm, x: x, y: y, z: stats, p: inner, n: batch,
		mean: mean, variance: variance, eps: eps, train: train, relu: relu}
	if gamma != nil {
		j.gamma = gamma.value.Data()
	}
	if beta != nil {
		j.beta = beta.value.Data()
	}
	return j
}

// coefficients returns the scale and shift that normalize channel ch of a
// batch norm's job with mean mu and variance v: a = γ·s and b = β − μ·γ·s
// with s = 1/√(v + eps), in float64. It sets the channel's s and μ in the
// job's statistics (z).
func (j *job[T]) coefficients(ch int, mu, v float64) (a, b float64) {
	s := 1 / math.Sqrt(v+j.eps)
	g, sh := 1.0, 0.0
	if j.gamma != nil {
		g = float64(j.gamma[ch])
	}
	if j.beta != nil {
		sh = float64(j.beta[ch])
	}
	c := len(j.z) / 2
	j.z[ch], j.z[c+ch] = T(s), T(mu)
	return g * s, sh - mu*g*s
}

// batchNormRows is batch normalization of an input [N, C] (one value per
// channel and example), rectified when j.relu is set, row by row with
// vector kernels: the statistics are sums in the element type over the
// rows in order, and the normalization is y = x·a + b per channel with a
// and b rounded once from float64, as PyTorch's CPU kernel computes it.
//
// On the pool it runs in two phases (normRows): the statistics and the
// coefficients by bands of channels, each channel's sums still over all
// rows in order as on one core, then y by bands of rows. Every pass that
// writes an [N, C] array cuts it by rows: two cores writing bands of the
// columns of the same rows take turns at every row's cache lines (their
// prefetchers pull each other's lines), and AffineRows and ReLU of
// 128×256 on two cores took 35 µs by bands of columns against 3.9 µs by
// bands of rows and 4.0 µs on one core. Reading by bands of columns costs
// no more than on one core. In eval mode the coefficients, a few
// divisions per channel, are made on the caller before the one phase by
// rows.
func (t *Tape[T]) batchNormRows(j job[T], c int) {
	if c == 0 {
		return // no channels: an empty output, and nothing for the kernels (whose row strides are at least 1)
	}
	j.coef = t.arena.Get(2, c).Data()
	j.kind = jobNormRows
	j.phases = 2
	if !j.train {
		j.normCoef(0, c)
		j.phase = 1
	}
	t.spreadRows(j, j.n*c)
}

// normRows runs part w of workers of phase j.phase of batchNormRows: the
// statistics and coefficients of a band of channels (normCoef) in phase 0,
// y for a band of rows (normOut) in phase 1.
func (j *job[T]) normRows(w, workers int) {
	if j.phase == 0 {
		j.normCoef(kernel.Band(len(j.z)/2, w, workers))
	} else {
		j.normOut(kernel.Band(j.n, w, workers))
	}
}

// normCoef sets the statistics of channels lo…hi−1 of an input [N, C] (in
// training mode; else it takes them from the job's) and their coefficients
// a and b (in coef).
func (j *job[T]) normCoef(lo, hi int) {
	c := len(j.z) / 2
	mu := j.z[c+lo : c+hi]
	a, b := j.coef[lo:hi], j.coef[c+lo:c+hi]
	v := b // the variance, until b is computed
	if j.train {
		kernel.ColumnMeanVar(j.n, hi-lo, j.x[lo:], c, mu, v)
		if j.mean != nil {
			copy(j.mean[lo:hi], mu)
			copy(j.variance[lo:hi], v)
		}
	} else {
		copy(mu, j.mean[lo:hi])
		copy(v, j.variance[lo:hi])
	}
	for i := range hi - lo {
		ac, bc := j.coefficients(lo+i, float64(mu[i]), float64(v[i]))
		a[i], b[i] = T(ac), T(bc)
	}
}

// normOut sets rows lo…hi−1 of the output y of an input [N, C] from the
// coefficients: y = x·a + b, rectified in the same pass when j.relu is set.
func (j *job[T]) normOut(lo, hi int) {
	c := len(j.z) / 2
	x, y, a, b := j.x[lo*c:hi*c], j.y[lo*c:hi*c], j.coef[:c], j.coef[c:]
	if j.relu {
		kernel.AffineReLURows(hi-lo, c, x, c, a, b, y, c)
	} else {
		kernel.AffineRows(hi-lo, c, x, c, a, b, y, c)
	}
}

// normChannel is batch normalization of channel ch of an input [N, C, ...]
// whose channels hold p values per example: the statistics in float64, two
// passes, and y = x·a + b as in batchNormRows.
func (j *job[T]) normChannel(ch int) {
	c, p := len(j.z)/2, j.p
	run := func(x []T, i int) []T { return x[(i*c+ch)*p : (i*c+ch+1)*p] }
	var mu, v float64
	if j.train {
		m := float64(j.n * p)
		for i := range j.n {
			mu += kernel.Sum(run(j.x, i))
		}
		mu /= m
		for i := range j.n {
			v += kernel.SumSquaredDiff(run(j.x, i), mu)
		}
		v /= m
		if j.mean != nil {
			j.mean[ch], j.variance[ch] = T(mu), T(v)
		}
	} else {
		mu, v = float64(j.mean[ch]), float64(j.variance[ch])
	}
	a, b := j.coefficients(ch, mu, v)
	for i := range j.n {
		kernel.Affine(T(a), T(b), run(j.x, i), run(j.y, i))
	}
}

// batchNormBackward, with s = 1/√(σ² + eps), sums over the batch and the
// dimensions after C:
//
//	∂β += Σ∂y,  ∂γ += s·Σ(x − μ)·∂y
//	∂x += ((∂y − a) − (x − μ)·k)·c   (training)
//	∂x += ∂y·c                       (eval)
//
// with a = Σ∂y/m, k = s²·Σ(x − μ)·∂y/m and c = s·γ, the operations of
// PyTorch's CPU kernel (batch_norm_cpu_backward) in its order. The sums are
// in the element type over the rows in order for an input [N, C], in
// float64 for one [N, C, ...].
//
// The order matters more than it seems: the gradient of a bias just before
// a batch norm is zero but for rounding, and Adam scales rounding noise up
// to steps of the learning rate.
//
// After BatchNormReLU, ∂y is first the output's gradient where the output
// is positive (or NaN), else 0, as ReLU's backward pass gives it.
//
// When the Linear layer that read the output has taken the sums over the
// batch in its own backward pass (normSums), only ∂x is left.
func (t *Tape[T]) batchNormBackward(n *node[T]) {
	if t.sums.node == n { // the sums taken (normSums): ∂x is left
		j := t.sums.job
		t.sums.node, t.sums.job = nil, job[T]{}
		if j.dx != nil {
			j.phase = 2
			t.spreadRows(j, j.n*len(j.z)/2)
		}
		return
	}
	j := t.normGradJob(n)
	xs := n.a.Shape()
	c, inner := xs[1], tensor.Size(xs[2:])
	if n.scalar > 0 {
		t.syncBatchNormBackward(j, c, n.scalar)
		return
	}
	if inner == 1 {
		t.batchNormRowsBackward(j, c)
		return
	}
	if j.add { // one scratch run: one channel at a time
		for ch := range c {
			j.normGradChannel(ch)
		}
		return
	}
	t.spreadItems(j, c)
}

// normGradJob returns the job of batch norm node n's backward pass, its
// gradients' buffers taken (gradOut).
func (t *Tape[T]) normGradJob(n *node[T]) job[T] {
	xs := n.a.Shape()
	c, batch, inner := xs[1], xs[0], tensor.Size(xs[2:])
	j := job[T]{kind: jobNormGrad, x: n.a.value.Data(), y: n.out.grad.Data(), z: n.saved.Data(), p: inner, n: batch,
		train: n.op == opBatchNorm || n.op == opBatchNormReLU}
	switch n.op { // [N, C] only
	case opBatchNormReLU: // masked as it is read (batchNormRowsBackward)
		j.mask = n.out.value.Data()
	case opBatchNormEvalReLU:
		j.mask, j.masked = n.out.value.Data(), t.arena.Get(batch, c).Data()
	}
	if n.b != nil {
		j.gamma = n.b.value.Data()
	}
	j.dgamma, j.addGamma = t.gradOut(n.b)
	j.dbeta, j.addBeta = t.gradOut(n.c)
	j.dx, j.add = t.gradOut(n.a)
	if j.add { // ∂x is computed aside and added
		j.tmp = t.arena.Get(max(inner, c)).Data()
	}
	return j
}

// addParamGrads adds (or sets) the gradients of β and γ of channel ch from
// Σ∂y and Σ(x − μ)·∂y, and returns the coefficients of ∂x: a, k and c.
func (j *job[T]) addParamGrads(ch int, sum, dot float64) (a, k, c float64) {
	return j.paramGrads(ch, sum, dot, float64(len(j.x)/(len(j.z)/2)))
}

// paramGrads is addParamGrads given m, the number of values per channel.
func (j *job[T]) paramGrads(ch int, sum, dot, m float64) (a, k, c float64) {
	s := float64(j.z[ch])
	if j.dbeta != nil {
		d := T(sum)
		if j.addBeta {
			d += j.dbeta[ch]
		}
		j.dbeta[ch] = d
	}
	if j.dgamma != nil {
		d := T(dot * s)
		if j.addGamma {
			d += j.dgamma[ch]
		}
		j.dgamma[ch] = d
	}
	w := 1.0
	if j.gamma != nil {
		w = float64(j.gamma[ch])
	}
	return sum / m, dot * s * s / m, s * w
}

// batchNormRowsBackward is batchNormBackward for an input [N, C], row by row
// with vector kernels. On the pool it runs in phases as batchNormRows
// (normRowsGrad): the sums over the batch, which only read, by bands of
// channels, then ∂x by bands of rows. After BatchNormReLU both read the
// output's gradient masked as they go (kernel.ReLUColumnSumsDots and the
// like, the same bits), where a pass by rows writing the masked gradient
// first would add a pass over [N, C] and a wait for the other cores. After
// BatchNormEvalReLU, rarely differentiated, that pass does run (phase 0).
func (t *Tape[T]) batchNormRowsBackward(j job[T], c int) {
	if c == 0 {
		return
	}
	t.spreadRows(t.rowsGradJob(j, c), j.n*c)
}

// rowsGradJob returns j, a batch norm's backward job of an input [N, C],
// made a job in phases (normRowsGrad) from the first that it needs.
func (t *Tape[T]) rowsGradJob(j job[T], c int) job[T] {
	j.coef = t.arena.Get(5, c).Data()
	if j.add { // a row of scratch per worker
		j.tmp = t.arena.Get(kernel.Threads(), c).Data()
	}
	j.kind = jobNormRowsGrad
	j.phases = 3
	if j.dx == nil {
		j.phases = 2
	}
	if j.masked == nil {
		j.phase = 1
	}
	return j
}

// fuseNormSums is whether a Linear layer's backward pass takes the sums of
// the batch norm before it (normSums); tests turn it off to compare.
var fuseNormSums = true

// normSums is the backward pass of a batch norm of an input [N, C] whose
// output only a Linear layer read, begun by that layer's backward pass:
// each of its parts adds the rows of ∂y it has just computed, its band of
// the batch's rows, to the batch norm's sums over the batch (Σ∂y and
// Σ(x − μ)·∂y of every channel) while they are in its cache, so that the
// batch norm needs no pass of its own over the batch for them, nor a wait
// for the other cores. The rows are added in order, part after part,
// bit for bit the batch norm's own sums: part 0 computes ∂y first and
// then its sums; every other part first its share of the Linear layer's
// weight gradient, then ∂y, then waits for the part before it to be
// done with the sums (seq), which it by then has usually been. The last
// part computes the parameters' gradients and the coefficients of ∂x,
// which the batch norm's node then computes from (batchNormBackward).
//
// A part waits only for parts before it, and the caller of kernel.Spread
// runs part 0 before any other, so the parts never wait in a circle.
type normSums[T tensor.Float] struct {
	node *node[T] // the batch norm's node; nil for none
	job  job[T]   // its backward job (rowsGradJob), at the phase of ∂x
	seq  atomic.Int32
}

// takeNormSums sets up the backward pass of node p, the batch norm whose
// output the Linear layer n (job lin) reads, for lin to take its sums,
// when p's sums can be so taken (normBefore): lin's input gradient, the
// batch norm's output gradient, is written by lin alone, and the batch
// norm's γ and β are none of n's operands, whose gradients lin writes in
// the same Spread call as the last part writes theirs.
func (t *Tape[T]) takeNormSums(lin *job[T], n, p *node[T]) {
	if p == nil || lin.z == nil || lin.add {
		return
	}
	for _, v := range []*Var[T]{p.b, p.c} {
		if v != nil && (v == n.a || v == n.b || v == n.c) {
			return
		}
	}
	c := p.a.Shape()[1]
	j := t.rowsGradJob(t.normGradJob(p), c)
	j.phase = 2 // the sums (phase 1) are lin's
	t.sums.node, t.sums.job = p, j
	t.sums.seq.Store(0)
	lin.sums = &t.sums
}

// normBefore returns the node before n, whose backward pass runs next, when
// it is a batch norm in training mode of an input [N, C] on this process
// whose output is n's input a; else nil.
func (t *Tape[T]) normBefore(n *node[T]) *node[T] {
	if !fuseNormSums || t.bwd == 0 || t.bwd >= len(t.nodes) || &t.nodes[t.bwd] != n {
		return nil
	}
	p := &t.nodes[t.bwd-1]
	if p.out != n.a || (p.op != opBatchNorm && p.op != opBatchNormReLU) || p.scalar > 0 || len(p.a.Shape()) != 2 || p.a.Shape()[1] == 0 {
		return nil
	}
	return p
}

// add adds part w of workers of the batch's rows to the sums (the rows
// the part computed ∂y of), after the parts before it, and in the last
// part computes the coefficients. When a part before it has panicked
// (abandon), it returns at once, so that the panic reaches Spread's caller
// instead of the parts after it waiting forever.
func (s *normSums[T]) add(w, workers int) {
	j := &s.job
	c := len(j.z) / 2
	for i := 0; ; i++ {
		seq := s.seq.Load()
		if seq < 0 {
			return
		}
		if seq == int32(w) {
			break
		}
		if i%1024 == 1023 {
			runtime.Gosched()
		}
	}
	lo, hi := kernel.Band(j.n, w, workers)
	sum, dot := j.coef[:c], j.coef[c:2*c]
	if w == 0 {
		clear(sum)
		clear(dot)
	}
	g, mask := j.gradIn()
	mu := j.z[c:]
	if mask != nil {
		kernel.AddReLUColumnSumsDots(hi-lo, c, j.x[lo*c:], c, mu, mask[lo*c:], c, g[lo*c:], c, sum, dot)
	} else {
		kernel.AddColumnSumsDots(hi-lo, c, j.x[lo*c:], c, mu, g[lo*c:], c, sum, dot)
	}
	if w == workers-1 {
		j.normGradCoef(0, c)
	}
	s.seq.Store(int32(w + 1))
}

// abandon, deferred by a part that adds to the sums, tells the parts after
// it to give up when the part did not finish (it panicked): done is false.
func (s *normSums[T]) abandon(done *bool) {
	if !*done {
		s.seq.Store(-1)
	}
}

// normRowsGrad runs part w of workers of phase j.phase of
// batchNormRowsBackward: in phase 0 ReLU's gradient for a band of rows
// (into masked); in phase 1 the sums over the batch for a band of
// channels (normGradSums); in phase 2 ∂x for a band of rows
// (normGradOut).
func (j *job[T]) normRowsGrad(w, workers int) {
	c := len(j.z) / 2
	switch j.phase {
	case 0:
		lo, hi := kernel.Band(j.n, w, workers)
		kernel.ReLUGrad(j.mask[lo*c:hi*c], j.y[lo*c:hi*c], j.masked[lo*c:hi*c])
	case 1:
		j.normGradSums(kernel.Band(c, w, workers))
	default:
		lo, hi := kernel.Band(j.n, w, workers)
		j.normGradOut(w, lo, hi)
	}
}

// gradIn returns the output's gradient and the mask to apply to it as it
// is read (nil for none): the gradient masked in phase 0 and no mask, or
// the output's gradient and the output when it was rectified.
func (j *job[T]) gradIn() (g, mask []T) {
	if j.masked != nil {
		return j.masked, nil
	}
	return j.y, j.mask
}

// normGradSums sets, for channels lo…hi−1 of an input [N, C], the sums
// over the batch (in coef: Σ∂y, Σ(x − μ)·∂y), the parameters' gradients
// and the coefficients of ∂x (a, k and c, in coef).
func (j *job[T]) normGradSums(lo, hi int) {
	c, n := len(j.z)/2, hi-lo
	g, mask := j.gradIn()
	mu := j.z[c+lo : c+hi]
	band := func(i int) []T { return j.coef[i*c+lo : i*c+hi] }
	sum, dot := band(0), band(1)
	if mask != nil {
		kernel.ReLUColumnSumsDots(j.n, n, j.x[lo:], c, mu, mask[lo:], c, g[lo:], c, sum, dot)
	} else {
		kernel.ColumnSumsDots(j.n, n, j.x[lo:], c, mu, g[lo:], c, sum, dot)
	}
	j.normGradCoef(lo, hi)
}

// normGradCoef sets, for channels lo…hi−1 of an input [N, C] whose sums
// over the batch are in coef, the parameters' gradients and the
// coefficients of ∂x (paramGrads, with the count of values per channel
// divided out once, not per channel: the sums taken by a Linear layer,
// normSums, leave every channel to one core).
func (j *job[T]) normGradCoef(lo, hi int) {
	c := len(j.z) / 2
	band := func(i int) []T { return j.coef[i*c+lo : i*c+hi] }
	sum, dot, a, k, cc := band(0), band(1), band(2), band(3), band(4)
	m := float64(len(j.x) / c)
	for i := range sum {
		ac, kc, cc64 := j.paramGrads(lo+i, float64(sum[i]), float64(dot[i]), m)
		a[i], k[i], cc[i] = T(ac), T(kc), T(cc64)
	}
	if !j.train {
		clear(a)
	}
}

// normGradOut sets (or adds to) rows lo…hi−1 of ∂x of an input [N, C], as
// worker w (whose row of tmp it uses when it adds).
func (j *job[T]) normGradOut(w, lo, hi int) {
	c := len(j.z) / 2
	g, mask := j.gradIn()
	mu := j.z[c:]
	a, k, cc := j.coef[2*c:3*c], j.coef[3*c:4*c], j.coef[4*c:]
	rows := func(i, m int, dx []T) { // rows i…i+m−1 into dx
		x, g := j.x[i*c:(i+m)*c], g[i*c:(i+m)*c]
		switch {
		case !j.train: // never masked here: BatchNormEvalReLU masks in phase 0
			kernel.AffineRows(m, c, g, c, cc, a, dx, c)
		case mask != nil:
			kernel.ReLUBatchNormGradRows(m, c, x, c, mask[i*c:(i+m)*c], c, g, c, mu, a, k, cc, dx, c)
		default:
			kernel.BatchNormGradRows(m, c, x, c, g, c, mu, a, k, cc, dx, c)
		}
	}
	if !j.add {
		rows(lo, hi-lo, j.dx[lo*c:hi*c])
		return
	}
	tmp := j.tmp[w*c : (w+1)*c]
	for i := lo; i < hi; i++ {
		rows(i, 1, tmp)
		kernel.Axpy(1, tmp, j.dx[i*c:(i+1)*c])
	}
}

// normGradChannel is batchNormBackward for channel ch of an input
// [N, C, ...] whose channels hold p values per example.
func (j *job[T]) normGradChannel(ch int) {
	c, p := len(j.z)/2, j.p
	run := func(x []T, i int) []T { return x[(i*c+ch)*p : (i*c+ch+1)*p] }
	mu := float64(j.z[c+ch])
	var sum, dot float64
	for i := range j.n {
		sum += kernel.Sum(run(j.y, i))
		dot += kernel.DotDiff(run(j.x, i), run(j.y, i), mu)
	}
	a, k, cc := j.addParamGrads(ch, sum, dot)
	if j.dx == nil {
		return
	}
	for i := range j.n {
		dx := run(j.dx, i)
		if j.add {
			dx = j.tmp[:p]
		}
		if j.train {
			kernel.BatchNormGrad(run(j.x, i), run(j.y, i), dx, T(mu), T(a), T(k), T(cc))
		} else {
			kernel.Affine(T(cc), 0, run(j.y, i), dx)
		}
		if j.add {
			kernel.Axpy(1, dx, run(j.dx, i))
		}
	}
}
