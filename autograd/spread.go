package autograd

import (
	"github.com/descentml/descent/internal/kernel"
	"github.com/descentml/descent/tensor"
)

// Large elementwise and per-image work is spread over the kernel pool
// (kernel.Parallel). A piece of work is described by a job, a plain struct
// that the Tape's one function value (made once) dispatches by a switch, so
// that spreading work allocates nothing. Each task writes elements of its
// own, computed the same way whichever goroutine runs it: results do not
// depend on the number of threads.

// spreadAt is the least number of elements an elementwise operation spreads
// over the cores: below it (a batch of 128 hidden activations of 256, say)
// a Parallel call costs more than it saves.
const spreadAt = 1 << 16

// chunkLen is the number of elements of one task of an elementwise job.
const chunkLen = 1 << 14

type jobKind uint8

const (
	jobReLU               jobKind = iota + 1 // y = relu(x)
	jobReLUGrad                              // z = y > 0 ? x : 0, y the output of the ReLU
	jobConvFwd                               // images of chunk i of z from x, the filters b and the bias beta (convForward)
	jobConvBwd                               // a convolution's gradients from chunk i of its output gradient x (convBackward)
	jobConvGradSum                           // a convolution's filter and bias gradients summed over its n chunks (convGradSum)
	jobPool2                                 // 2×2 max-pool of plane i of x into y, argmax codes into codes
	jobPool2Grad                             // plane i of z from the pooled gradient x and codes
	jobNorm                                  // batch norm of channel i of x into y (normChannel)
	jobNormGrad                              // batch norm's gradients of channel i (normGradChannel)
	jobAttn                                  // attention of sequence and head i (attnForward)
	jobAttnGrad                              // attention's gradients of sequence and head i (attnBackward)
	jobRecur                                 // the gates of batch row i of a recurrent step (forwardRows)
	jobRecurGrad                             // the gates' gradients of batch row i of a recurrent step (backwardRows)
	jobUnary                                 // y = op(x), and GELUTanh's tanh into z (unaryRange)
	jobUnaryGrad                             // z += b·op′(x), y = op(x), tmp GELUTanh's tanh (unaryGradRange; GELUTanh sets z unless add)
	jobLayerNorm                             // layer norm of rows lnRows·i… of x into y (lnRows)
	jobLayerNormGrad                         // the input gradient of rows lnRows·i… of a layer norm (lnRows)
	jobLayerNormParamGrad                    // part i of a layer norm's parameter gradients, into tmp (lnParamGradPart)
	jobAdd                                   // y = x + b
	jobAccum                                 // z = x, or z += x when add
	jobLinear                                // part of a Linear layer's output (linearPart)
	jobLinearGrad                            // a Linear layer's gradients by rows (linearGradRows)
	jobLinearNorm                            // a Linear layer and the batch norm after it, in phases (linearNormPart)
	jobNormRows                              // a batch norm of an input [N, C] in phases (normRows)
	jobNormRowsGrad                          // a batch norm's gradients of an input [N, C] in phases (normRowsGrad)
	jobCrossEntropy                          // a cross-entropy's probabilities and loss terms by rows (crossEntropyRows)
	jobCrossEntropyGrad                      // a cross-entropy's logits gradient by rows (crossEntropyGradRows)
	jobKinds                                 // the number of kinds, 0 (none) included
)

// jobNames name the jobs on kernel's timing probe (kernel.ProbeLabel).
var jobNames = [jobKinds]string{
	jobReLU: "relu", jobReLUGrad: "relu grad", jobConvFwd: "conv", jobConvBwd: "conv grad",
	jobConvGradSum: "conv grad sum", jobPool2: "pool", jobPool2Grad: "pool grad", jobNorm: "norm",
	jobNormGrad: "norm grad", jobAttn: "attention", jobAttnGrad: "attention grad", jobRecur: "recurrent",
	jobRecurGrad: "recurrent grad", jobUnary: "unary", jobUnaryGrad: "unary grad", jobLayerNorm: "layer norm",
	jobLayerNormGrad: "layer norm grad", jobLayerNormParamGrad: "layer norm param grad", jobAdd: "add",
	jobAccum: "accumulate", jobLinear: "linear", jobLinearGrad: "linear grad", jobLinearNorm: "linear+norm",
	jobNormRows: "norm rows", jobNormRowsGrad: "norm rows grad", jobCrossEntropy: "cross-entropy",
	jobCrossEntropyGrad: "cross-entropy grad",
}

// A job is the work of one spread call; which fields a kind reads is said
// where it is made.
type job[T tensor.Float] struct {
	kind       jobKind
	op         opKind     // the operation of an elementwise job
	args       [2]float64 // its scalars: Pow's exponent, Clamp's bounds
	n          int        // elements of an elementwise job; examples of a batch norm
	x, y, z, b []T
	codes      []uint8
	conv       kernel.ConvShape
	pooled     []T  // the output of a convolution fused with ReLU and max-pool
	p, ld      int  // positions per image and row stride
	chunk      int  // images per item
	add        bool // add to z instead of overwriting it
	items, per int  // items, and items per task
	rows       int  // rows of an elementwise job cut by spreadRows
	phase      int  // the phase running of a job in phases (spreadRows)
	phases     int  // the phases of such a job; 0 for one
	relu       bool // the output rectified (BatchNormReLU, LinearReLU)
	mask       []T  // that output, whose zeros mask its gradient
	masked     []T  // the gradient, masked

	rec recur[T] // a recurrent operation (a copy, so that the caller's stays on its stack)

	// batch norm; gamma, beta, dx and tmp also a Linear layer's (linearGradRows)
	gamma, beta, mean, variance []T
	eps                         float64
	train                       bool
	dx, dgamma, dbeta, tmp      []T
	coef                        []T // per channel coefficients, of an input [N, C]
	addGamma, addBeta           bool

	// a cross-entropy of logits x [n, p] (crossEntropyRows,
	// crossEntropyGradRows)
	labels []int
	ignore int       // the label of rows left out, when skip
	skip   bool      // CrossEntropyIgnore
	terms  []float64 // the loss's term of each row
	scale  T         // ∂loss/count, the backward pass's

	// the batch norm whose sums over the batch a Linear layer's backward
	// pass takes from the input gradient it computes (linearGradRows)
	sums *normSums[T]
}

// spreadElems runs the elementwise job j over its n elements, in chunks on
// the pool when there are many.
func (t *Tape[T]) spreadElems(j job[T]) {
	if j.n < spreadAt {
		t.job = j
		t.runChunk(0, j.n)
		t.job = job[T]{}
		return
	}
	t.spreadItems(j, (j.n+chunkLen-1)/chunkLen)
}

// bandAt is the least work (elements, or multiply-adds of a product) that
// spreadRows cuts into bands: below it a Spread call costs more than it
// saves.
const bandAt = 1 << 15

// spreadRows runs the job j, whose work is cut by rows (kernel.Band) into
// one band per worker, over the pool with kernel.Spread when work (its
// size, in elements or multiply-adds) is at least bandAt, else on the
// calling goroutine. Passes over a batch cut by the same rows leave each
// core its rows in its own cache for the next pass. A job in phases
// (j.phases > 0) gets one Spread call for each of its phases from
// j.phase on, so that every worker finishes a phase before any begins the
// next; a job run by one worker (on the caller, or by Spread on a busy
// pool) runs the phases left in one call and leaves j.phase at the last.
func (t *Tape[T]) spreadRows(j job[T], work int) {
	t.job = j
	if bandWorkers(work) == 1 {
		t.runBand(0, 1)
	} else {
		if t.bandFn == nil {
			t.bandFn = t.runBand
		}
		for {
			if kernel.ProbeOn {
				kernel.ProbeLabel(jobNames[t.job.kind], t.job.phase)
			}
			kernel.Spread(t.bandFn)
			if t.job.phase++; t.job.phase >= t.job.phases {
				break
			}
		}
	}
	t.job = job[T]{}
}

// spreadElemRows runs the elementwise job j cut by its rows with
// spreadRows, or by chunks with spreadElems when it has one row.
func (t *Tape[T]) spreadElemRows(j job[T]) {
	if j.rows < 2 {
		t.spreadElems(j)
		return
	}
	t.spreadRows(j, j.n)
}

// runBand runs part w of workers of the current job (spreadRows): of its
// phase j.phase, and when it is the one worker (workers 1) of every phase
// left after it, leaving j.phase at the last.
func (t *Tape[T]) runBand(w, workers int) {
	j := &t.job
	for {
		switch j.kind {
		case jobLinear:
			j.linearPart(w, workers)
		case jobLinearGrad:
			j.linearGradRows(w, workers)
		case jobLinearNorm:
			t.linearNormPart(w, workers)
		case jobNormRows:
			j.normRows(w, workers)
		case jobNormRowsGrad:
			j.normRowsGrad(w, workers)
		case jobCrossEntropy:
			j.crossEntropyRows(w, workers)
		case jobCrossEntropyGrad:
			j.crossEntropyGradRows(w, workers)
		case jobReLU, jobReLUGrad:
			per := j.n / max(j.rows, 1)
			lo, hi := kernel.Band(j.rows, w, workers)
			t.runChunk(lo*per, hi*per)
		}
		if workers > 1 || j.phase >= j.phases-1 {
			return
		}
		j.phase++
	}
}

// bandWorkers returns the number of parts into which spreadRows cuts a job
// of that much work: 1 below bandAt, on the calling goroutine.
func bandWorkers(work int) int {
	if work < bandAt {
		return 1
	}
	return kernel.Threads()
}

// spreadItems runs items 0…items−1 of j on the pool, in at most
// tasksPerThread tasks per thread of consecutive items: a task is taken
// from a counter that all threads update, and tasks as small as one pooled
// plane would spend their time passing it around.
func (t *Tape[T]) spreadItems(j job[T], items int) {
	if t.jobFn == nil {
		t.jobFn = t.runTask
	}
	tasks := min(items, tasksPerThread*kernel.Threads())
	j.per = (items + max(tasks, 1) - 1) / max(tasks, 1)
	j.items = items
	t.job = j
	kernel.Parallel((items+j.per-1)/max(j.per, 1), t.jobFn)
	t.job = job[T]{}
}

const tasksPerThread = 8

// spreadImages runs the chunks of j.chunk images of a batch of j.n images
// on the pool's workers (kernel.Spread), each worker the groups of chunks
// (convGroupChunks) that begin in its static share of the images:
// ⌊N·w/W⌋ … ⌊N·(w+1)/W⌋−1 for worker w of W, a group's chunks in order. Every pass over a batch's images (a convolution's forward and
// backward, the next convolution's) cuts it the same way, so that a core
// finds an image's lowered columns, outputs, pooled maps and gradients in
// its own cache, where the other core wrote none of them. The chunks, and
// so the order of any sum over them, do not depend on W.
func (t *Tape[T]) spreadImages(j job[T]) {
	if t.shareFn == nil {
		t.shareFn = t.runShare
	}
	t.job = j
	if kernel.ProbeOn {
		kernel.ProbeLabel(jobNames[j.kind], 0)
	}
	kernel.Spread(t.shareFn)
	t.job = job[T]{}
}

// runShare runs worker w's share of the current job's chunks of images
// (spreadImages).
func (t *Tape[T]) runShare(w, workers int) {
	j := &t.job
	if j.kind == jobConvGradSum {
		j.convGradSum(w, workers)
		return
	}
	per := convGroupChunks(j.n, j.chunk)
	lo, hi := firstGroup(j.n, j.chunk*per, w, workers)*per, firstGroup(j.n, j.chunk*per, w+1, workers)*per
	for c := lo; c < min(hi, (j.n+j.chunk-1)/j.chunk); c++ {
		t.runItem(w, c)
	}
}

// firstGroup returns the first group of size images that begins in or
// after the share of worker w of workers in a batch of n images.
func firstGroup(n, size, w, workers int) int {
	return (n*w/workers + size - 1) / size
}

// runTask runs task k of the current job on worker w: its items per·k …
// per·(k+1)−1.
func (t *Tape[T]) runTask(w, k int) {
	j := &t.job
	for i := k * j.per; i < min(j.items, (k+1)*j.per); i++ {
		t.runItem(w, i)
	}
}

// runItem runs item i of the current job on worker w.
func (t *Tape[T]) runItem(w, i int) {
	j := &t.job
	switch j.kind {
	case jobReLU, jobReLUGrad, jobUnary, jobUnaryGrad, jobAdd, jobAccum:
		t.runChunk(i*chunkLen, min(j.n, (i+1)*chunkLen))
	case jobConvFwd:
		j.convForward(w, i)
	case jobConvBwd:
		j.convBackward(w, i)
	case jobPool2:
		s, hw, ohw := j.conv, j.conv.H*j.conv.W, j.p
		kernel.MaxPool2(s.H, s.W, j.x[i*hw:(i+1)*hw], j.y[i*ohw:(i+1)*ohw], j.codes[i*ohw:(i+1)*ohw])
	case jobPool2Grad:
		s, hw, ohw := j.conv, j.conv.H*j.conv.W, j.p
		g, codes, gx := j.x[i*ohw:(i+1)*ohw], j.codes[i*ohw:(i+1)*ohw], j.z[i*hw:(i+1)*hw]
		if j.add {
			addPool2Grad(s, g, codes, gx)
		} else {
			kernel.MaxPool2Grad(s.H, s.W, g, codes, gx)
		}
	case jobNorm:
		j.normChannel(i)
	case jobNormGrad:
		j.normGradChannel(i)
	case jobAttn:
		j.attnForward(i)
	case jobAttnGrad:
		j.attnBackward(w, i)
	case jobRecur:
		j.rec.forwardRows(i, i+1)
	case jobRecurGrad:
		j.rec.backwardRows(i, i+1)
	case jobLayerNorm, jobLayerNormGrad:
		rows := len(j.x) / j.p
		j.lnRows(w, i*lnRows, min(rows, (i+1)*lnRows))
	case jobLayerNormParamGrad:
		j.lnParamGradPart(i)
	}
}

// convForward convolves the images of chunk i of a batch: it lowers them
// into worker w's columns (y), multiplies those by the filters b into worker
// w's scratch (tmp), or convolves them there directly (kernel.Conv3x3,
// where kernel.Direct3x3), and reshapes the product, O rows of the chunk's
// positions, into the images' outputs in z, adding the bias beta.
func (j *job[T]) convForward(w, i int) {
	s := j.conv
	k, chw := s.C*s.KH*s.KW, s.C*s.H*s.W
	outC := len(j.b) / k
	i0, i1 := i*j.chunk, min(j.n, (i+1)*j.chunk)
	cols := (i1 - i0) * j.p
	prod := j.tmp[w*outC*j.chunk*j.p:][:outC*cols]
	if kernel.Direct3x3[T](s) {
		for img := i0; img < i1; img++ {
			kernel.Conv3x3(s.H, s.W, j.x[img*chw:], j.b, outC, prod[(img-i0)*j.p:], cols)
		}
	} else {
		lowered := j.y[w*k*j.chunk*j.p:][:k*cols]
		for img := i0; img < i1; img++ {
			kernel.Im2colAt(s, j.x[img*chw:], lowered[(img-i0)*j.p:], cols)
		}
		kernel.GemmSerial(false, false, outC, cols, k, 1, j.b, k, lowered, cols, 0, prod, cols)
	}
	if j.codes != nil {
		j.reluPoolOut(prod, i0, i1)
		return
	}
	for img := i0; img < i1; img++ {
		for o := 0; o < outC; o++ {
			src, dst := prod[o*cols+(img-i0)*j.p:][:j.p], j.z[(img*outC+o)*j.p:][:j.p]
			if j.beta != nil {
				kernel.AddConst(j.beta[o], src, dst)
			} else {
				copy(dst, src)
			}
		}
	}
}

// convBackward computes a convolution's gradients from chunk i of its
// output gradient x ([N, O, P]): it gathers the chunk into worker w's
// scratch (tmp) as an O×(chunk·P) matrix G; adds its row sums, the bias's
// gradient, and X·Gᵀ, X the chunk's images (dx) lowered again, the
// filters' gradient transposed, to its group's part of y (the group's first
// chunk sets it), for convGradSum to add;
// and raises Wᵀ·G (W the filters b) into the images' gradient z by col2im.
// Where kernel.Direct3x3, the filters' gradient comes from the images and G
// directly (kernel.Conv3x3Grad), without lowering.
// X·Gᵀ (k×O) rather than G·Xᵀ (O×k): the product's tiles fit it better,
// nearly twice for the one-channel first layer (9×16), a fifth for the
// second (144×32).
func (j *job[T]) convBackward(w, i int) {
	s := j.conv
	k, chw := s.C*s.KH*s.KW, s.C*s.H*s.W
	outC := len(j.b) / k
	i0, i1 := i*j.chunk, min(j.n, (i+1)*j.chunk)
	cols := (i1 - i0) * j.p
	scratch := j.tmp[w*convBwdScratch(k, outC, j.chunk*j.p):]
	g, lowered, dcols := scratch[:outC*cols], scratch[outC*cols:][:k*cols], scratch[(outC+k)*cols:][:k*cols]
	if j.codes != nil {
		j.reluPoolGrad(g, i0, i1)
	}
	for img := i0; img < i1 && j.codes == nil; img++ {
		kernel.CopyRows(outC, j.p, j.x[img*outC*j.p:], j.p, g[(img-i0)*j.p:], cols)
	}
	if j.y != nil { // the filter gradient, transposed, and bias gradient of chunk i's group, summed later (convGradSum)
		per := convGroupChunks(j.n, j.chunk)
		part, first := j.y[i/per*(k+1)*outC:][:(k+1)*outC], i%per == 0
		if j.beta != nil {
			for o := range outC {
				sum := T(kernel.Sum(g[o*cols : (o+1)*cols]))
				if !first {
					sum += part[k*outC+o]
				}
				part[k*outC+o] = sum
			}
		}
		if j.gamma != nil && kernel.Direct3x3[T](s) {
			if first {
				clear(part[:k*outC])
			}
			kernel.Conv3x3Grad(s.H, s.W, j.dx[i0*chw:], chw, i1-i0, g, cols, j.p, outC, part[:k*outC], outC)
		} else if j.gamma != nil {
			for img := i0; img < i1; img++ {
				kernel.Im2colAt(s, j.dx[img*chw:], lowered[(img-i0)*j.p:], cols)
			}
			kernel.GemmSerial(false, true, k, outC, cols, 1, lowered, cols, g, cols, beta[T](!first), part[:k*outC], outC)
		}
	}
	if j.z == nil {
		return
	}
	kernel.GemmSerial(true, false, k, cols, outC, 1, j.b, k, g, cols, 0, dcols, cols)
	for img := i0; img < i1; img++ {
		x := j.z[img*chw : (img+1)*chw]
		if !j.add {
			clear(x)
		}
		kernel.Col2imAt(s, dcols[(img-i0)*j.p:], cols, x)
	}
}

// runChunk runs elements lo…hi−1 of the current elementwise job.
func (t *Tape[T]) runChunk(lo, hi int) {
	j := &t.job
	switch j.kind {
	case jobReLU:
		kernel.ReLU(j.x[lo:hi], j.y[lo:hi])
	case jobAdd:
		kernel.Add(j.x[lo:hi], j.b[lo:hi], j.y[lo:hi])
	case jobAccum:
		if j.add {
			kernel.Axpy(1, j.x[lo:hi], j.z[lo:hi])
		} else {
			copy(j.z[lo:hi], j.x[lo:hi])
		}
	case jobUnary:
		var s []T
		if j.z != nil {
			s = j.z[lo:hi]
		}
		unaryRange(j.op, j.x[lo:hi], j.y[lo:hi], s, j.args)
	case jobUnaryGrad:
		var s []T
		if j.tmp != nil {
			s = j.tmp[lo:hi]
		}
		unaryGradRange(j.op, j.b[lo:hi], j.x[lo:hi], j.y[lo:hi], s, j.z[lo:hi], j.add, j.args)
	case jobReLUGrad:
		if j.add {
			var tmp [256]T
			for a := lo; a < hi; a += len(tmp) {
				b := min(hi, a+len(tmp))
				kernel.ReLUGrad(j.y[a:b], j.x[a:b], tmp[:b-a])
				kernel.Axpy(1, tmp[:b-a], j.z[a:b])
			}
			return
		}
		kernel.ReLUGrad(j.y[lo:hi], j.x[lo:hi], j.z[lo:hi])
	}
}
