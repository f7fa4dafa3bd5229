package train

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"unsafe"

	"github.com/descentml/descent/data"
	"github.com/descentml/descent/nn"
	"github.com/descentml/descent/optim"
	"github.com/descentml/descent/tensor"
)

// This file switches the model between the point an optimizer trains and
// the point to evaluate and save (optim.Optimizer.Eval and Train):
// Schedule-Free's y and x. The loop trains y; validation, the checkpoint's
// "model" and what run saves as the model use x, and the checkpoint keeps
// y too ("train_model"), so that a resumed run continues bit for bit.

// bnBatches is the most training batches whose statistics become the
// running statistics of batch normalization at the evaluation point.
const bnBatches = 50

// Evaluate returns the mean loss and the accuracy of the model on set, in
// eval mode, without recording gradients, at the optimizer's evaluation
// point (see AtEvalPoint); NaNs for no set (nil, or empty). The model is
// left in eval mode. A set whose examples are not of the training set's
// shape is an error. In a data-parallel run each rank evaluates its share
// of the batches and the ranks add up their sums: every rank must call it.
func (tr *Trainer[T]) Evaluate(set data.Dataset) (meanLoss, accuracy float64, err error) {
	set = orNil(set)
	switch {
	case set == nil || set.Len() == 0: // as evaluate, without the switch to the evaluation point
		tr.model.SetMode(nn.Eval)
		return math.NaN(), math.NaN(), nil
	case !tensor.SameShape(set.Shape(), tr.sets.Train.Shape()):
		return 0, 0, fmt.Errorf("train: evaluating examples of shape %v with a model trained on %v", set.Shape(), tr.sets.Train.Shape())
	}
	err = tr.AtEvalPoint(func() (err error) {
		meanLoss, accuracy, err = tr.evaluate(set)
		return err
	})
	return meanLoss, accuracy, err
}

// AtEvalPoint calls fn with the model's parameters at the optimizer's
// evaluation point (Schedule-Free's x; for other optimizers the
// parameters as they are), or the average of the weights if the run keeps
// one (Config.Average; once it has averaged a step), and puts the training point back afterwards,
// exactly: parameters, buffers and the random source. Batch
// normalization's running statistics are recomputed for x first, as the
// Schedule-Free reference recommends: the mean of the batch statistics
// of up to 50 training batches, in train mode without steps (as
// torch.optim.swa_utils.update_bn, with momentum None), for the batch
// normalization layers the model lists (nn.Container; New refuses a model
// whose buffers hold batch-norm statistics of other layers).
func (tr *Trainer[T]) AtEvalPoint(fn func() error) error {
	swap := tr.avg != nil && tr.avg.Count() > 0 && !tr.avg.Swapped()
	eval := tr.opt.HasEvalPoint() && !tr.opt.Evaluating() && tr.opt.Steps() > 0 // before the first step x = y
	if !swap && !eval {
		return fn()
	}
	restore, err := tr.saveTrainState()
	if err != nil {
		return err
	}
	if eval {
		tr.opt.Eval()
	}
	if swap {
		tr.avg.Swap()
	}
	err = tr.recomputeBN()
	if err == nil {
		err = fn()
	}
	if swap {
		tr.avg.Swap()
	}
	if eval {
		tr.opt.Train()
	}
	if rerr := restore(); err == nil {
		err = rerr
	}
	return err
}

// saveTrainState copies what a forward pass in training mode changes
// besides the parameters, evaluating at x's recomputation of batch norm's
// statistics among them: the model's buffers and the dropout random source
// (Config.RNG). restore puts them back.
func (tr *Trainer[T]) saveTrainState() (restore func() error, err error) {
	bufs := tr.model.Buffers()
	vals := make([][]T, len(bufs))
	ints := make([][]int64, len(bufs))
	for i, b := range bufs {
		vals[i] = append([]T(nil), b.Value...)
		ints[i] = append([]int64(nil), b.Int...)
	}
	var rng []byte
	if tr.cfg.RNG != nil {
		if rng, err = tr.cfg.RNG.MarshalBinary(); err != nil {
			return nil, fmt.Errorf("train: %w", err)
		}
	}
	return func() error {
		for i, b := range bufs {
			copy(b.Value, vals[i])
			copy(b.Int, ints[i])
		}
		if tr.cfg.RNG != nil {
			return tr.cfg.RNG.UnmarshalBinary(rng)
		}
		return nil
	}, nil
}

// recomputeBN sets the running statistics of the model's batch
// normalization layers to the mean of their batch statistics over up to
// bnBatches training batches, in order, run forward in train mode.
func (tr *Trainer[T]) recomputeBN() error {
	bns := batchNorms(tr.model)
	if len(bns) == 0 {
		return nil
	}
	defer tr.model.SetMode(nn.Train)
	type stat struct {
		bn         *nn.BatchNorm[T]
		mom        float64
		mean, vr   []T
		bufM, bufV []T
	}
	stats := make([]stat, len(bns))
	for i, bn := range bns {
		s := stat{bn: bn, mom: bn.Momentum}
		for _, b := range bn.Buffers() {
			switch b.Name {
			case "running_mean":
				s.bufM, s.mean = b.Value, make([]T, len(b.Value))
			case "running_var":
				s.bufV, s.vr = b.Value, make([]T, len(b.Value))
			}
		}
		bn.Momentum = 1 // the running statistics become the batch's
		stats[i] = s
	}
	defer func() {
		for _, s := range stats {
			s.bn.Momentum = s.mom
		}
	}()
	n, bs := tr.sets.Train.Len(), tr.x.Dim(0)
	if tr.cfg.DropLast {
		n -= n % bs
	}
	idx := make([]int, 0, bs)
	for b, lo := 0, 0; b < bnBatches && lo < n; b, lo = b+1, lo+bs {
		idx = idx[:0]
		for i := lo; i < min(lo+bs, n); i++ {
			idx = append(idx, i)
		}
		if len(idx) < 2 {
			break // one example has no variance
		}
		_, _, err := tr.forward(tr.sets.Train, idx, true)
		tr.tape.Reset()
		if err != nil {
			return fmt.Errorf("train: recomputing batch-norm statistics: %w", err)
		}
		k := T(b + 1)
		for _, s := range stats {
			for j := range s.mean {
				s.mean[j] += (s.bufM[j] - s.mean[j]) / k
				s.vr[j] += (s.bufV[j] - s.vr[j]) / k
			}
		}
	}
	for _, s := range stats {
		copy(s.bufM, s.mean)
		copy(s.bufV, s.vr)
	}
	return nil
}

// batchNorms returns the batch normalization layers of m: m itself, or
// those of the layers it holds, found through nn.Container, in order.
func batchNorms[T tensor.Float](m nn.Module[T]) []*nn.BatchNorm[T] {
	switch m := m.(type) {
	case *nn.BatchNorm[T]:
		return []*nn.BatchNorm[T]{m}
	case nn.Container[T]:
		var out []*nn.BatchNorm[T]
		for _, l := range m.Layers() {
			out = append(out, batchNorms(l)...)
		}
		return out
	}
	return nil
}

// unreachedBatchNorm returns the name of a buffer of m that holds batch
// norm's state, by its name's last part (PyTorch's running_mean,
// running_var, num_batches_tracked), but is not the storage of any layer
// of bns, which batchNorms(m) found; "" if there is none.
func unreachedBatchNorm[T tensor.Float](m nn.Module[T], bns []*nn.BatchNorm[T]) string {
	reached := make(map[unsafe.Pointer]bool)
	for _, bn := range bns {
		for _, b := range bn.Buffers() {
			reached[bufferData(b)] = true
		}
	}
	for _, b := range m.Buffers() {
		switch b.Name[strings.LastIndexByte(b.Name, '.')+1:] {
		case "running_mean", "running_var", "num_batches_tracked":
			if !reached[bufferData(b)] {
				return b.Name
			}
		}
	}
	return ""
}

// bufferData returns the address of b's storage, which a buffer listed
// under another name (a container's prefix) shares.
func bufferData[T tensor.Float](b nn.Buffer[T]) unsafe.Pointer {
	if b.Value != nil {
		return unsafe.Pointer(unsafe.SliceData(b.Value))
	}
	return unsafe.Pointer(unsafe.SliceData(b.Int))
}

// checkEvalPointBN returns an error if the run evaluates another point
// than the one it trains (hasEvalPoint), whose batch-norm statistics
// recomputeBN recomputes, and the model's buffers hold batch-norm
// statistics of a layer that batchNorms cannot reach: they would be the
// trained point's, silently.
func (tr *Trainer[T]) checkEvalPointBN() error {
	if !tr.hasEvalPoint() {
		return nil
	}
	name := unreachedBatchNorm(tr.model, batchNorms(tr.model))
	if name == "" {
		return nil
	}
	point := "Schedule-Free's x"
	if tr.avg != nil {
		point = "the average of the weights"
	}
	return fmt.Errorf("train: the model's buffer %q is batch-norm state that train cannot reach to recompute it at %s, the point it evaluates: "+
		"give %T a method Layers() listing its layers (nn.Container), as nn.Sequential has", name, point, tr.model)
}

// hasEvalPoint reports whether the model evaluated and saved may differ
// from the one trained: the checkpoint then keeps both.
func (tr *Trainer[T]) hasEvalPoint() bool { return tr.opt.HasEvalPoint() || tr.avg != nil }

// newAverager makes the averager of Config.Average, over the optimizer's
// parameters.
func (tr *Trainer[T]) newAverager() (err error) {
	tr.avg, err = newAverager(tr.opt, tr.cfg.Average)
	return err
}

// newAverager makes an averager of c over opt's parameters: nil if c is.
// Schedule-Free, which evaluates an average of its own, is refused.
func newAverager[T tensor.Float](opt *optim.Optimizer[T], c *optim.Averaging) (*optim.Averager[T], error) {
	if c == nil {
		return nil, nil
	}
	if opt.HasEvalPoint() {
		return nil, errors.New("train: averaging the weights of a Schedule-Free run: Schedule-Free's x is already an average of its iterates")
	}
	var ps []optim.Param[T]
	for g := range opt.Groups() {
		ps = append(ps, opt.Params(g)...)
	}
	a, err := optim.NewAverager(ps, *c)
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	return a, nil
}
