package autograd

import (
	"fmt"

	"github.com/descentml/descent/internal/kernel"
)

// A BatchReducer sums batch normalization's per-channel statistics over
// processes that each hold a shard of one batch: synchronised batch norm,
// PyTorch's SyncBatchNorm. With one set (Tape.SetBatchReducer), BatchNorm in
// training mode normalizes every shard with the mean and variance of the
// whole batch, and its backward pass uses the whole batch's sums:
//
//	forward:  Σx and the count, then Σ(x − μ)², per channel, summed over the processes
//	backward: w·Σ∂y and w·Σ(x − μ)·∂y, per channel, summed over the processes
//
// The backward pass assumes what package train does: each process
// back-propagates the gradient of its shard's mean loss, and the processes'
// parameter gradients are then summed with weights w = (shard's count) /
// (batch's count). The gradient a process computes for x is then its
// weight's inverse times the whole batch's, and those of γ and β are its
// shard's, so that the weighted sum is the single-process gradient up to
// rounding. Every process must run the same batch-norm layers in the same
// order, each on a shard of at least one example.
type BatchReducer interface {
	// AllReduceSum replaces x by its element-wise sum over the processes,
	// the same on every process.
	AllReduceSum(x []float64) error
}

// SetBatchReducer makes BatchNorm in training mode synchronised over the
// processes r connects (nil: each process normalizes with its own batch's
// statistics, the default). The setting outlives Reset.
func (t *Tape[T]) SetBatchReducer(r BatchReducer) { t.reducer = r }

// BatchReducer returns the tape's BatchReducer, or nil.
func (t *Tape[T]) BatchReducer() BatchReducer { return t.reducer }

// SyncedCount returns the number of values per channel over all processes
// that the last BatchNorm in training mode under a BatchReducer normalized
// (for a layer's unbiased running variance), or 0 without a BatchReducer.
func (t *Tape[T]) SyncedCount() int { return t.syncedCount }

// syncBuf returns the tape's float64 scratch of length n, zeroed.
func (t *Tape[T]) syncBuf(n int) []float64 {
	if cap(t.syncScratch) < n {
		t.syncScratch = make([]float64, n)
	}
	b := t.syncScratch[:n]
	clear(b)
	return b
}

// syncBatchNorm is the forward pass of batch normalization in training mode
// under the tape's BatchReducer: the statistics in float64, two passes, each
// summed over the processes, then y = x·a + b per channel. It returns the
// whole batch's count per channel.
func (t *Tape[T]) syncBatchNorm(j job[T], c int) (float64, error) {
	p, batch := j.p, j.n
	run := func(x []T, i, ch int) []T { return x[(i*c+ch)*p : (i*c+ch+1)*p] }
	buf := t.syncBuf(2*c + 1)
	sum, sq := buf[:c+1], buf[c+1:]
	for i := range batch {
		if p == 1 { // a run of one: the element itself, without a call (kernel's TestRunsOfOne)
			for ch, v := range j.x[i*c : (i+1)*c] {
				sum[ch] += float64(v)
			}
			continue
		}
		for ch := range c {
			sum[ch] += kernel.Sum(run(j.x, i, ch))
		}
	}
	sum[c] = float64(batch * p)
	if err := t.reducer.AllReduceSum(sum); err != nil {
		return 0, fmt.Errorf("autograd: synchronised batch norm: %w", err)
	}
	m := sum[c]
	mu := sum[:c]
	for ch := range c {
		mu[ch] /= m
	}
	for i := range batch {
		if p == 1 {
			for ch, v := range j.x[i*c : (i+1)*c] {
				d := float64(v) - mu[ch]
				sq[ch] += float64(d * d) // rounded before the sum, as SumSquaredDiff's run of one
			}
			continue
		}
		for ch := range c {
			sq[ch] += kernel.SumSquaredDiff(run(j.x, i, ch), mu[ch])
		}
	}
	if err := t.reducer.AllReduceSum(sq); err != nil {
		return 0, fmt.Errorf("autograd: synchronised batch norm: %w", err)
	}
	coef := t.arena.Get(2, c).Data()
	a, b := coef[:c], coef[c:]
	for ch := range c {
		v := sq[ch] / m
		if j.mean != nil {
			j.mean[ch], j.variance[ch] = T(mu[ch]), T(v)
		}
		ac, bc := j.coefficients(ch, mu[ch], v)
		a[ch], b[ch] = T(ac), T(bc)
	}
	if p == 1 {
		kernel.AffineRows(batch, c, j.x, c, a, b, j.y, c)
		return m, nil
	}
	for i := range batch {
		for ch := range c {
			kernel.Affine(a[ch], b[ch], run(j.x, i, ch), run(j.y, i, ch))
		}
	}
	return m, nil
}

// syncBatchNormBackward is batchNormBackward in training mode under the
// tape's BatchReducer, for a batch of m values per channel over all
// processes: ∂γ and ∂β from this process's sums, ∂x from the whole batch's
// (see BatchReducer for the weights).
func (t *Tape[T]) syncBatchNormBackward(j job[T], c int, m float64) {
	p, batch := j.p, j.n
	run := func(x []T, i, ch int) []T { return x[(i*c+ch)*p : (i*c+ch+1)*p] }
	buf := t.syncBuf(2 * c)
	sum, dot := buf[:c], buf[c:]
	for i := range batch {
		if p == 1 { // runs of one, as in syncBatchNorm
			x, y, mu := j.x[i*c:(i+1)*c], j.y[i*c:(i+1)*c], j.z[c:2*c]
			for ch, v := range y {
				g := float64(v)
				sum[ch] += g
				dot[ch] += float64((float64(x[ch]) - float64(mu[ch])) * g)
			}
			continue
		}
		for ch := range c {
			mu := float64(j.z[c+ch])
			sum[ch] += kernel.Sum(run(j.y, i, ch))
			dot[ch] += kernel.DotDiff(run(j.x, i, ch), run(j.y, i, ch), mu)
		}
	}
	coef := t.arena.Get(3, c).Data()
	a, k, cc := coef[:c], coef[c:2*c], coef[2*c:]
	w := float64(batch*p) / m
	for ch := range c {
		_, _, cch := j.addParamGrads(ch, sum[ch], dot[ch])
		cc[ch] = T(cch)
		sum[ch] *= w
		dot[ch] *= w
	}
	if j.dx == nil {
		return
	}
	if err := t.reducer.AllReduceSum(buf); err != nil {
		t.Fail(fmt.Errorf("autograd: synchronised batch norm, backward: %w", err))
		return
	}
	for ch := range c {
		s := float64(j.z[ch])
		a[ch] = T(sum[ch] / m / w)
		k[ch] = T(dot[ch] * s * s / m / w)
	}
	if p == 1 {
		mu := j.z[c:]
		if !j.add {
			kernel.BatchNormGradRows(batch, c, j.x, c, j.y, c, mu, a, k, cc, j.dx, c)
			return
		}
		for i := range batch {
			kernel.BatchNormGradRows(1, c, j.x[i*c:], c, j.y[i*c:], c, mu, a, k, cc, j.tmp[:c], c)
			kernel.Axpy(1, j.tmp[:c], j.dx[i*c:(i+1)*c])
		}
		return
	}
	for i := range batch {
		for ch := range c {
			dx := run(j.dx, i, ch)
			if j.add {
				dx = j.tmp[:p]
			}
			kernel.BatchNormGrad(run(j.x, i, ch), run(j.y, i, ch), dx, j.z[c+ch], a[ch], k[ch], cc[ch])
			if j.add {
				kernel.Axpy(1, dx, run(j.dx, i, ch))
			}
		}
	}
}
