package autograd

import (
	"fmt"

	"github.com/descentml/descent/internal/kernel"
	"github.com/descentml/descent/tensor"
)

// MatMul returns the matrix product a·b of an m×k and a k×n matrix.
func (t *Tape[T]) MatMul(a, b *Var[T]) *Var[T] {
	if t.skip2("matmul", a, b) {
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
func (t *Tape[T]) Linear(x, w, b *Var[T]) *Var[T] { return t.linear(x, w, b, false) }

// linear is Linear, followed by ReLU in the same pass when relu is set
// (LinearReLU).
func (t *Tape[T]) linear(x, w, b *Var[T], relu bool) *Var[T] {
	if t.skip2("linear", x, w) {
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
	rows := tensor.Size(xs[:len(xs)-1]) // not Len()/in: a layer of no inputs still has its rows (the bias)
	t.shape = append(append(t.shape[:0], xs[:len(xs)-1]...), outF)
	out := t.result(t.shape, x, w, b)
	j := job[T]{kind: jobLinear, n: rows, p: in, ld: outF, x: x.value.Data(), b: w.value.Data(), y: out.value.Data(), relu: relu}
	if b != nil {
		j.beta = b.value.Data()
	}
	// A narrow layer is spread from bandAt too, although the per-call probe
	// shows the MLP's 256→10 layer at batch 128 taking longer on each of
	// two cores than on one alone: run on the caller alone, the layer made
	// steps 0.4–2.6% slower (issue 18: training steps alternating between
	// the two placements, 2 cores, a quiet machine; MLP batches 64–512,
	// CNN 128 and 256, and either pass alone), the cost moving to the
	// passes around it.
	t.spreadRows(j, rows*outF*in)
	op := opLinear
	if relu {
		op = opLinearReLU
	}
	t.push(op, out, x, w, b)
	return out
}

// linearPart computes part w of workers of a Linear layer's output
// y = x·bᵀ + beta (beta nil for no bias), rectified when relu is set, x
// having rows of p elements and y of ld. A wide layer is cut by output
// units (columns of y), the bands of its weight's rows that the optimizer
// updates and the backward pass writes the gradient of on the same core: a
// weight is larger than a batch's activations, so it is the activations
// that cross between the cores. A narrow one (a classifier's output) is cut by rows.
func (j *job[T]) linearPart(w, workers int) {
	in, outF := j.p, j.ld
	if !byUnits(outF, workers) {
		lo, hi := kernel.Band(j.n, w, workers)
		y := j.y[lo*outF : hi*outF]
		kernel.GemmSerial(false, true, hi-lo, outF, in, 1, j.x[lo*in:], max(in, 1), j.b, max(in, 1), 0, y, max(outF, 1))
		j.linearEpilogue(hi-lo, 0, outF, y, max(outF, 1))
		return
	}
	j.linearUnits(kernel.Band(outF, w, workers))
}

// byUnits reports whether linearPart cuts a layer of outF units into
// bands of units, not of rows, on that many workers.
func byUnits(outF, workers int) bool { return outF >= unitsAt*workers }

// linearUnits computes units lo…hi−1 of a Linear layer's output (columns
// of y), all rows, as linearPart.
func (j *job[T]) linearUnits(lo, hi int) {
	in, outF := j.p, j.ld
	y := j.y[lo:]
	kernel.GemmSerial(false, true, j.n, hi-lo, in, 1, j.x, max(in, 1), j.b[lo*in:], max(in, 1), 0, y, outF)
	j.linearEpilogue(j.n, lo, hi, y, outF)
}

// linearEpilogue adds the bias's units lo…hi to the m×(hi−lo) band y of a
// Linear layer's output (row stride ld) and rectifies it when relu is set,
// in one kernel call while the band the product just wrote is in cache.
func (j *job[T]) linearEpilogue(m, lo, hi int, y []T, ld int) {
	switch {
	case j.relu && j.beta != nil:
		kernel.BiasReLU(m, hi-lo, j.beta[lo:hi], y, ld)
	case j.relu: // y where !(y <= 0), else 0: ReLU in place
		kernel.ReLUGradRows(m, hi-lo, y, ld, y, ld, y, ld)
	case j.beta != nil:
		kernel.AddRowVector(m, hi-lo, j.beta[lo:hi], y, ld)
	}
}

// unitsAt is the least number of output units per worker for which a
// Linear layer's forward pass is cut by units: two panels of the matrix
// multiply's columns.
const unitsAt = 64

// linearBackward: for Y = X·Wᵀ + b, ∂X += ∂Y·W, ∂W += ∂Yᵀ·X and ∂b += the
// column sums of ∂Y. The weight and bias gradients go into the
// parameters' buffers directly: added (β = 1), or written (β = 0) when
// gradOut says the buffer is new or discarded. For LinearReLU, ∂Y is the output's
// gradient where the output is positive (or NaN), else 0: each band masks
// the part it reads into scratch of its own (tmp for its rows, dx for its
// units), so that the mask needs no pass (and no wait for the other cores)
// of its own.
func (t *Tape[T]) linearBackward(n *node[T]) {
	ws := n.b.Shape()
	in, outF := ws[1], ws[0]
	rows := tensor.Size(n.a.Shape()[:len(n.a.Shape())-1])
	j := job[T]{kind: jobLinearGrad, n: rows, p: in, ld: outF, x: n.out.grad.Data(), b: n.b.value.Data(), y: n.a.value.Data()}
	j.z, j.add = t.gradOut(n.a)
	j.gamma, j.addGamma = t.gradOut(n.b)
	j.beta, j.addBeta = t.gradOut(n.c)
	if n.op == opLinearReLU {
		j.mask = n.out.value.Data()
		if j.z != nil {
			j.tmp = t.arena.Get(n.out.value.Shape()...).Data()
		}
		if j.gamma != nil || j.beta != nil {
			j.dx = t.arena.Get(n.out.value.Shape()...).Data()
		}
	}
	t.takeNormSums(&j, n, t.normBefore(n))
	t.spreadRows(j, rows*outF*in)
}

// linearGradRows computes part w of workers of a Linear layer's gradients
// from its output gradient x (rows of ld), its weight b and its input y
// (rows of p): the input gradient z = x·b of its band of the batch's rows,
// and the weight's gradient gamma = xᵀ·y and the bias's beta (the column
// sums of x) of its band of output units; each is added to when its add
// flag is set, and skipped when nil. With a mask (the output of
// LinearReLU), x is first masked by it: its band of rows into tmp, its
// band of units into dx (or, on one worker with the input's gradient
// wanted, all of it into tmp, read by every product), one kernel call
// each. When the input is a batch norm's output (j.sums), each part also
// adds its rows of the input gradient to the batch norm's sums
// (normSums), and every part but the first computes its weight gradient
// first.
func (j *job[T]) linearGradRows(w, workers int) {
	if j.sums == nil {
		j.linearInputGrad(w, workers)
		j.linearWeightGrad(w, workers)
		return
	}
	done := false
	defer j.sums.abandon(&done)
	if w > 0 {
		j.linearWeightGrad(w, workers)
		j.linearInputGrad(w, workers)
		j.sums.add(w, workers)
	} else {
		j.linearInputGrad(w, workers)
		j.sums.add(w, workers)
		j.linearWeightGrad(w, workers)
	}
	done = true
}

// linearInputGrad computes part w of workers of a Linear layer's input
// gradient, as linearGradRows.
func (j *job[T]) linearInputGrad(w, workers int) {
	if j.z == nil {
		return
	}
	in, outF := j.p, j.ld
	lo, hi := kernel.Band(j.n, w, workers)
	g := j.x
	if j.mask != nil {
		g = j.tmp
		kernel.ReLUGrad(j.mask[lo*outF:hi*outF], j.x[lo*outF:hi*outF], g[lo*outF:hi*outF])
	}
	kernel.GemmSerial(false, false, hi-lo, in, outF, 1, g[lo*outF:], max(outF, 1), j.b, max(in, 1), beta[T](j.add), j.z[lo*in:hi*in], max(in, 1))
}

// linearWeightGrad computes part w of workers of a Linear layer's weight
// and bias gradients, as linearGradRows; on one worker after
// linearInputGrad, whose masked gradient it then reads.
func (j *job[T]) linearWeightGrad(w, workers int) {
	in, outF := j.p, j.ld
	lo, hi := kernel.Band(outF, w, workers)
	g, ldg := j.x[lo:], max(outF, 1)
	if j.mask != nil && hi > lo && (j.gamma != nil || j.beta != nil) {
		if j.z != nil && workers == 1 {
			g = j.tmp
		} else {
			// The band of units masked into a block of its own, n×(hi−lo)
			// with rows of hi−lo, not into its columns of an n×outF
			// matrix: two cores writing column bands of the same rows
			// pull each other's lines (kernel.Spread).
			g, ldg = j.dx[lo*j.n:hi*j.n], hi-lo
			kernel.ReLUGradRows(j.n, hi-lo, j.mask[lo:], outF, j.x[lo:], outF, g, ldg)
		}
	}
	if j.gamma != nil && hi > lo {
		kernel.GemmSerial(true, false, hi-lo, in, j.n, 1, g, ldg, j.y, max(in, 1), beta[T](j.addGamma), j.gamma[lo*in:hi*in], max(in, 1))
	}
	if j.beta != nil {
		gb := j.beta[lo:hi]
		if !j.addBeta {
			clear(gb)
		}
		kernel.AddColumnSums(j.n, hi-lo, g, ldg, gb)
	}
}

func dimOr(s []int, i int) int {
	if i < len(s) {
		return s[i]
	}
	return 0
}
