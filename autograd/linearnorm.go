package autograd

import "github.com/descentml/descent/internal/kernel"

// LinearBatchNormReLU returns BatchNormReLU(Linear(x, w, b), gamma, beta,
// eps, mean, variance), a Linear layer followed by batch norm in training
// mode and ReLU, with the results of the three bit for bit, forward and
// backward: it records the same two operations (a Linear layer and a
// BatchNormReLU), so that the backward pass is theirs. For an input [N, in]
// whose layer is cut by output units on the pool (linearPart), each part
// computes the batch norm's statistics and coefficients of its units
// right after their product, from the columns it just wrote and still has
// in its cache: the statistics need no Spread call (and no wait for the
// other cores) of their own. Other inputs (more dimensions, a layer cut by
// rows, a batch norm synchronised across processes, an operand of the
// wrong shape) run as the two operations.
func (t *Tape[T]) LinearBatchNormReLU(x, w, b, gamma, beta *Var[T], eps float64, mean, variance []T) *Var[T] {
	if t.skip2("linear", x, w) {
		return t.dead
	}
	if !t.fusesLinearNorm(x, w, b, gamma, beta, mean, variance) {
		return t.BatchNormReLU(t.Linear(x, w, b), gamma, beta, eps, mean, variance)
	}
	rows, in, c := x.Shape()[0], w.Shape()[1], w.Shape()[0]
	t.shape = append(t.shape[:0], rows, c)
	// The buffers in the order the two operations take them.
	z := t.result(t.shape, x, w, b)
	out := t.result(t.shape, z, gamma, beta)
	stats := t.arena.Get(2, c)
	lin := job[T]{kind: jobLinearNorm, n: rows, p: in, ld: c, x: x.value.Data(), b: w.value.Data(), y: z.value.Data()}
	if b != nil {
		lin.beta = b.value.Data()
	}
	norm := normJob(z.value.Data(), out.value.Data(), stats.Data(), gamma, beta, rows, 1, mean, variance, eps, true, true)
	norm.kind, norm.coef = jobNormRows, t.arena.Get(2, c).Data()
	t.syncedCount = 0
	t.norm = norm
	// The output by rows, a second phase, on the pool where the batch norm
	// alone would spread it (spreadRows), else on the caller after the
	// product.
	spreadOut := bandWorkers(rows*c) > 1
	if spreadOut {
		lin.phases = 2
	}
	t.spreadRows(lin, rows*c*in)
	if !spreadOut {
		t.norm.normOut(0, rows)
	}
	t.norm = job[T]{}
	t.push(opLinear, z, x, w, b)
	if n := t.push(opBatchNormReLU, out, z, gamma, beta); n != nil {
		n.saved = stats
	}
	return out
}

// fusesLinearNorm reports whether LinearBatchNormReLU runs as one
// operation: no error yet, a batch norm on this process of an input
// [N, in] into at least one channel, with operands of the shapes Linear
// and BatchNormReLU accept, and a product that linearPart cuts by units
// on as many workers as kernel.Spread gives it (or runs on one), so that
// part w's statistics are of the channels it computed.
func (t *Tape[T]) fusesLinearNorm(x, w, b, gamma, beta *Var[T], mean, variance []T) bool {
	xs, ws := x.Shape(), w.Shape()
	if t.err != nil || t.reducer != nil || len(xs) != 2 || len(ws) != 2 || xs[1] != ws[1] || ws[0] == 0 {
		return false
	}
	c := ws[0]
	for _, p := range []*Var[T]{b, gamma, beta} {
		if p != nil && (len(p.Shape()) != 1 || p.Shape()[0] != c) {
			return false
		}
	}
	if (mean != nil || variance != nil) && (len(mean) != c || len(variance) != c) {
		return false
	}
	workers := bandWorkers(xs[0] * c * xs[1])
	if workers > 1 {
		workers = min(workers, kernel.SpreadWorkers())
	}
	return workers == 1 || byUnits(c, workers)
}

// linearNormPart runs part w of workers of phase j.phase of
// LinearBatchNormReLU, its Linear layer the current job and its batch
// norm t.norm: in phase 0 the product and bias of a band of units
// (linearUnits) and then the batch norm's statistics and coefficients of
// the same band of channels (normCoef); in phase 1 the output of a band of
// rows (normOut). A part does its whole band wherever it runs (kernel.Spread
// may hand it to another participant). On one worker, linearUnits of all
// the units is the same product as linearPart's by rows.
func (t *Tape[T]) linearNormPart(w, workers int) {
	j := &t.job
	if j.phase == 0 {
		lo, hi := kernel.Band(j.ld, w, workers)
		j.linearUnits(lo, hi)
		t.norm.normCoef(lo, hi)
		return
	}
	t.norm.normOut(kernel.Band(j.n, w, workers))
}
