package autograd

import (
	"fmt"
	"math"

	"github.com/descentml/descent/internal/kernel"
	"github.com/descentml/descent/tensor"
)

// Softmax returns e^xᵢ / Σⱼ e^xⱼ along the last dimension of x (each row of
// a batch of logits becomes a probability distribution), computed stably by
// subtracting each row's maximum first (kernel.SoftmaxRows).
func (t *Tape[T]) Softmax(x *Var[T]) *Var[T] { return t.softmax(opSoftmax, x) }

// LogSoftmax returns xᵢ − log Σⱼ e^xⱼ along the last dimension of x, computed
// stably by log-sum-exp (kernel.LogSoftmaxRows).
func (t *Tape[T]) LogSoftmax(x *Var[T]) *Var[T] { return t.softmax(opLogSoftmax, x) }

func (t *Tape[T]) softmax(op opKind, x *Var[T]) *Var[T] {
	if t.skip(opNames[op], x) {
		return t.dead
	}
	s := x.Shape()
	if len(s) == 0 {
		return t.Fail(fmt.Errorf("autograd: softmax of a scalar: want at least one dimension"))
	}
	out := t.result(s, x)
	c := s[len(s)-1]
	xs, y := x.value.Data(), out.value.Data()
	if rows := len(xs) / max(c, 1); op == opSoftmax {
		kernel.SoftmaxRows(rows, c, xs, max(c, 1), y, max(c, 1))
	} else {
		kernel.LogSoftmaxRows(rows, c, xs, max(c, 1), y, max(c, 1))
	}
	t.push(op, out, x, nil, nil)
	return out
}

// softmaxBackward: for y = softmax(x), ∂x = y ⊙ (∂y − Σ ∂y⊙y) by row; for
// y = log-softmax(x), ∂x = ∂y − e^y · Σ ∂y.
func (t *Tape[T]) softmaxBackward(n *node[T]) {
	gx := t.grad(n.a)
	if gx == nil {
		return
	}
	s := n.a.Shape()
	c := s[len(s)-1]
	g, y := n.out.grad.Data(), n.out.value.Data()
	for o := 0; o+c <= len(g) && c > 0; o += c {
		gr, yr, gxr := g[o:o+c], y[o:o+c], gx[o:o+c]
		var dot float64
		if n.op == opSoftmax {
			for j := range gr {
				dot += float64(gr[j]) * float64(yr[j])
			}
			for j := range gr {
				gxr[j] += yr[j] * (gr[j] - T(dot))
			}
		} else {
			for _, v := range gr {
				dot += float64(v)
			}
			for j := range gr {
				gxr[j] += gr[j] - T(math.Exp(float64(yr[j]))*dot)
			}
		}
	}
}

// CrossEntropy returns the mean over the batch of −log softmax(logits)[label],
// the loss of PyTorch's F.cross_entropy with integer class targets and mean
// reduction: logits is [N, C], labels holds N class indices in [0, C). It is
// computed by log-sum-exp, so logits of ±1000 give finite losses and
// gradients. A label out of range, or a count of labels that is not N, is
// an error on the tape naming it. labels is copied.
func (t *Tape[T]) CrossEntropy(logits *Var[T], labels []int) *Var[T] {
	return t.crossEntropy(logits, labels, false, 0)
}

// CrossEntropyIgnore is CrossEntropy with PyTorch's ignore_index: rows whose
// label equals ignore contribute nothing, and the mean divides by the
// number of the other rows (NaN if there are none, as PyTorch's). The
// gradient rows of ignored labels are zero. Next-token losses over padded
// sequences use it, with logits [B·T, V].
func (t *Tape[T]) CrossEntropyIgnore(logits *Var[T], labels []int, ignore int) *Var[T] {
	return t.crossEntropy(logits, labels, true, ignore)
}

func (t *Tape[T]) crossEntropy(logits *Var[T], labels []int, skip bool, ignore int) *Var[T] {
	if t.skip("cross-entropy", logits) {
		return t.dead
	}
	s := logits.Shape()
	if len(s) != 2 {
		return t.Fail(fmt.Errorf("autograd: cross-entropy: logits of shape %v: want [N, C]", s))
	}
	rows, c := s[0], s[1]
	if len(labels) != rows {
		return t.Fail(fmt.Errorf("autograd: cross-entropy: logits %v with %d labels: want one label per row", s, len(labels)))
	}
	if rows == 0 {
		return t.Fail(fmt.Errorf("autograd: cross-entropy: empty batch (logits %v)", s))
	}
	for i, l := range labels {
		if (l < 0 || l >= c) && !(skip && l == ignore) {
			return t.Fail(fmt.Errorf("autograd: cross-entropy: label %d at index %d is out of range [0, %d) for logits %v", l, i, c, s))
		}
	}
	out := t.result(nil, logits)
	j := job[T]{kind: jobCrossEntropy, n: rows, p: c, x: logits.value.Data(), labels: labels, skip: skip, ignore: ignore}
	n := t.push(opCrossEntropy, out, logits, nil, nil)
	if n != nil {
		n.saved = t.arena.Get(s...)
		j.y = n.saved.Data()
		n.ints = append(n.ints, labels...)
		n.ints = append(n.ints, ignore, boolInt(skip))
	}
	work := rows * c
	if j.y == nil { // the probabilities of a block of rows for each worker
		j.tmp = t.arena.Get(ceWorkers(work) * ceScratchRows(rows, c) * c).Data()
	}
	if cap(t.ceTerms) < rows {
		t.ceTerms = make([]float64, rows)
	}
	j.terms = t.ceTerms[:rows]
	if ceWorkers(work) == 1 { // on the caller, without spreadRows's copies of the job
		j.crossEntropyRows(0, 1)
	} else {
		t.spreadRows(j, ceWork(work))
	}
	var sum float64
	count := 0
	for i, term := range j.terms {
		if !(skip && labels[i] == ignore) {
			count++
			sum += term
		}
	}
	out.value.Data()[0] = T(sum / float64(count))
	if n != nil {
		n.scalar = float64(count)
	}
	return out
}

// ceBlock is the most rows of a cross-entropy that one call of
// kernel.SoftmaxRowsStats takes: its results live on the stack.
const ceBlock = 64

// ceScratch is the most elements of the probabilities of a block of rows
// that a worker of a cross-entropy keeps when they are not saved (one row
// if longer).
const ceScratch = 1 << 14

// ceScratchRows returns the rows of a worker's block of probabilities not
// saved, for logits [rows, c].
func ceScratchRows(rows, c int) int {
	return min(rows, ceBlock, max(1, ceScratch/max(c, 1)))
}

// ceWork returns the work, for spreadRows, of a cross-entropy's pass over
// logits of that many elements, so that it is spread from bandAt/ceWeight
// (1024) logits on: a row's max, exps, sum, scale and log weigh more than
// an elementwise operation's element, and logits that large come from an
// output layer cut by rows, each core's rows in its own cache. In the step
// of BenchmarkTrainFraction/mlp-784-256-256-10 (logits 128×10, 2 cores),
// the cross-entropy's forward and backward took 10.7–11.1 µs on the
// caller and 6.7–7.6 µs by bands (medians over 2000 steps, timed inside
// the step); in BenchmarkLMTrainStep's (4096×63), 0.87–0.91 and
// 0.46–0.48 ms. BenchmarkCrossEntropy, whose logits stay in cache from one
// step to the next, says otherwise at 128×10: 128x10 loses by bands
// (6.7 → 9.9 µs, and 8.8 → 11.8 µs in the "bands" case), 256x10 breaks
// even and 1024x10 gains (53 → 35 µs).
func ceWork(elems int) int { return elems * ceWeight }

// ceWeight is the weight of an element of a cross-entropy's pass against
// bandAt.
const ceWeight = 32

// ceWorkers returns the number of workers among which spreadRows cuts a
// cross-entropy's pass over logits of that many elements.
func ceWorkers(elems int) int { return bandWorkers(ceWork(elems)) }

// crossEntropyRows computes, for its band of rows (part w of workers), the
// softmax of the rows of logits x [n, p] not ignored into y (the saved
// probabilities, whose ignored rows it clears) or into worker w's block of
// tmp, and each such row's loss term, log-sum-exp − the label's logit,
// into terms.
func (j *job[T]) crossEntropyRows(w, workers int) {
	c := j.p
	lo, hi := kernel.Band(j.n, w, workers)
	x, labels, terms := j.x, j.labels, j.terms
	block := ceBlock
	var scratch []T
	if j.y == nil {
		block = ceScratchRows(j.n, c)
		scratch = j.tmp[w*block*c:][:block*c]
	}
	var top, sums [ceBlock]float64 // SoftmaxRowsStats's, for a run of rows
	for i := lo; i < hi; {
		if j.skip && labels[i] == j.ignore {
			if j.y != nil {
				clear(j.y[i*c : (i+1)*c])
			}
			i++
			continue
		}
		r := i + 1 // the run of rows i…r−1 not ignored, at most block long
		for r < hi && r-i < block && !(j.skip && labels[r] == j.ignore) {
			r++
		}
		p := scratch
		if j.y != nil {
			p = j.y[i*c : r*c]
		}
		kernel.SoftmaxRowsStats(r-i, c, x[i*c:r*c], c, p[:(r-i)*c], c, top[:r-i], sums[:r-i])
		for k := i; k < r; k++ {
			terms[k] = top[k-i] + math.Log(sums[k-i]) - float64(x[k*c+labels[k]])
		}
		i = r
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// crossEntropyBackward: ∂logits = (softmax(logits) − onehot(label))·∂loss/N,
// by bands of rows.
func (t *Tape[T]) crossEntropyBackward(n *node[T]) {
	j := job[T]{kind: jobCrossEntropyGrad, p: n.a.Shape()[1], y: n.saved.Data()}
	j.z, j.add = t.gradOut(n.a)
	if j.z == nil {
		return
	}
	j.labels = n.ints[:len(n.ints)-2]
	j.ignore, j.skip = n.ints[len(n.ints)-2], n.ints[len(n.ints)-1] == 1
	j.n = len(j.labels)
	j.scale = n.out.grad.Data()[0] / T(n.scalar)
	if ceWorkers(len(j.y)) == 1 {
		j.crossEntropyGradRows(0, 1)
	} else {
		t.spreadRows(j, ceWork(len(j.y)))
	}
}

// crossEntropyGradRows sets (or adds to, when add) the logits' gradient z
// of its band of rows (part w of workers) from the probabilities y.
func (j *job[T]) crossEntropyGradRows(w, workers int) {
	c, g, gx, p, labels := j.p, j.scale, j.z, j.y, j.labels
	lo, hi := kernel.Band(j.n, w, workers)
	for i := lo; i < hi; {
		if j.skip && labels[i] == j.ignore {
			if !j.add {
				clear(gx[i*c : (i+1)*c])
			}
			i++
			continue
		}
		r := i + 1 // the run of rows i…r−1 not ignored: one kernel call
		for r < hi && !(j.skip && labels[r] == j.ignore) {
			r++
		}
		if j.add {
			kernel.Axpy(g, p[i*c:r*c], gx[i*c:r*c])
		} else {
			kernel.Affine(g, 0, p[i*c:r*c], gx[i*c:r*c])
		}
		for k := i; k < r; k++ {
			gx[k*c+labels[k]] -= g
		}
		i = r
	}
}

// BCEWithLogits returns the mean of the binary cross-entropy between
// σ(logits) and targets in [0, 1], PyTorch's
// F.binary_cross_entropy_with_logits with mean reduction, computed in the
// stable form max(x, 0) − x·z + log(1 + e^(−|x|)). logits and targets must
// have the same shape.
func (t *Tape[T]) BCEWithLogits(logits, targets *Var[T]) *Var[T] {
	if t.skip2("binary cross-entropy", logits, targets) {
		return t.dead
	}
	if !tensor.SameShape(logits.Shape(), targets.Shape()) {
		return t.Fail(fmt.Errorf("autograd: binary cross-entropy: logits %v and targets %v: want the same shape", logits.Shape(), targets.Shape()))
	}
	out := t.result(nil, logits, targets)
	x, z := logits.value.Data(), targets.value.Data()
	var sum float64
	for i, v := range x {
		u, w := float64(v), float64(z[i])
		sum += max(u, 0) - u*w + math.Log1p(math.Exp(-math.Abs(u)))
	}
	out.value.Data()[0] = T(sum / float64(len(x)))
	t.push(opBCEWithLogits, out, logits, targets, nil)
	return out
}

// bceBackward: ∂x = (σ(x) − z)·∂loss/n and ∂z = −x·∂loss/n.
func (t *Tape[T]) bceBackward(n *node[T]) {
	x, z := n.a.value.Data(), n.b.value.Data()
	g := float64(n.out.grad.Data()[0]) / float64(len(x))
	if gx := t.grad(n.a); gx != nil {
		for i, v := range x {
			gx[i] += T((sigmoid(float64(v)) - float64(z[i])) * g)
		}
	}
	if gz := t.grad(n.b); gz != nil {
		for i, v := range x {
			gz[i] -= T(float64(v) * g)
		}
	}
}
