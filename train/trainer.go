package train

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"time"
	"unsafe"

	"github.com/descentml/descent/autograd"
	"github.com/descentml/descent/comm"
	"github.com/descentml/descent/data"
	"github.com/descentml/descent/loss"
	"github.com/descentml/descent/nn"
	"github.com/descentml/descent/optim"
	"github.com/descentml/descent/tensor"
)

// Model is a network the loop can train and evaluate: a module whose mode
// can be set. nn.Sequential is one.
type Model[T tensor.Float] interface {
	nn.Module[T]
	nn.ModeSetter
}

// Loss is the loss a trainer minimizes.
type Loss int

const (
	// CrossEntropy is the mean cross-entropy of the logits (one per class)
	// against integer labels; accuracy is that of the largest logit.
	CrossEntropy Loss = iota
	// BinaryCrossEntropy is the mean binary cross-entropy of one logit per
	// example against labels 0 and 1; accuracy is that of the logit's sign.
	BinaryCrossEntropy
)

// Config sets up a training run. Epochs and BatchSize are required.
type Config struct {
	Epochs    int    // epochs in all, counting those of a resumed run
	BatchSize int    // examples per step
	Seed      uint64 // the order of the examples in epoch e is data.Permute(…, Seed, e)
	DropLast  bool   // drop an epoch's last, shorter batch
	Loss      Loss   // default CrossEntropy
	// EarlyStop stops the run when the validation metric has not improved
	// for a number of epochs; the zero value never stops early.
	EarlyStop EarlyStop
	// Checkpoint is the file a checkpoint is written to at the end of each
	// epoch and when the run is interrupted; "" writes none.
	Checkpoint string
	// RNG is the random source the model's dropout layers draw from (the
	// *rand.PCG under the *rand.Rand given to them), saved in checkpoints
	// so that a resumed run draws the same masks; nil if the model has no
	// randomness. Left nil with dropout, a resumed run draws other masks
	// than one that never stopped, and is not its bits.
	RNG *rand.PCG
	// OnBatch, if set, is called after every step (for progress bars). It
	// must not keep the Batch.
	OnBatch func(Batch)
	// OnEpoch, if set, is called after every epoch's evaluation; an error
	// stops the run and is returned.
	OnEpoch func(Epoch) error
	// ValLoss, if set, is shown the validation loss after every epoch that
	// has one: a reduce-on-plateau schedule (*schedule.Plateau).
	ValLoss ValLossObserver
	// Comm, if it has more than one process, makes the run data-parallel:
	// each rank trains on its share of every batch and the ranks average
	// their gradients (see distributed.go). nil trains in one process.
	// In a data-parallel run the hooks run on every rank; rank 0 alone
	// writes the checkpoint.
	Comm *comm.Comm
	// SyncBatchNorm, in a data-parallel run, normalizes each batch-norm
	// layer's input with the statistics of the whole global batch, summed
	// over the ranks (PyTorch's SyncBatchNorm; see distributed.go), instead
	// of each rank's shard's. Every shard then needs at least one example,
	// also in an epoch's last batch. One process ignores it.
	SyncBatchNorm bool
	// Average, if set, keeps an average of the weights (EMA or SWA) that
	// evaluation, the checkpoint's "model" and the saved model use; the
	// run trains the weights themselves (see averaging.go).
	Average *optim.Averaging
	// Accumulate, if above 1, makes that many consecutive batches one
	// optimizer step, their gradients averaged; an epoch's last step
	// averages the batches left (see accumulate.go).
	Accumulate int
}

// A ValLossObserver watches the validation loss, once an epoch.
type ValLossObserver interface {
	Observe(valLoss float64) (changed bool)
}

// EarlyStop stops training when a validation metric stops improving.
type EarlyStop struct {
	// Patience is the number of epochs without improvement tolerated; 0
	// disables early stopping.
	Patience int
	// Accuracy watches validation accuracy (higher is better) instead of
	// validation loss (lower is better).
	Accuracy bool
	// MinDelta is the least change that counts as an improvement.
	MinDelta float64
}

// Batch describes one step, for progress reporting.
type Batch struct {
	Epoch, Index, Batches int     // epoch (from 1), batch index in it (from 1), batches per epoch
	Step                  int     // optimizer steps so far
	Examples              int     // examples in this batch
	Loss                  float64 // the batch's mean loss
	LR                    float64 // the learning rate the step used (group 0)
}

// Epoch holds one epoch's metrics, as written to metrics.jsonl. Validation
// fields are NaN when there is no validation set.
type Epoch struct {
	Epoch         int     `json:"epoch"`
	Step          int     `json:"step"` // optimizer steps at the end of the epoch
	LR            float64 `json:"lr"`   // the learning rate of the epoch's last step (group 0)
	TrainLoss     float64 `json:"train_loss"`
	TrainAccuracy float64 `json:"train_accuracy"`
	ValLoss       float64 `json:"val_loss"`
	ValAccuracy   float64 `json:"val_accuracy"`
	Seconds       float64 `json:"seconds"` // wall time of the epoch, evaluation included
	// ProdigyD is Prodigy's step-size estimate d after the epoch (group
	// 0's; optim.ProdigyD), absent for other optimizers.
	ProdigyD float64 `json:"prodigy_d,omitempty"`
	// Diagnostics is what the optimizer did during the epoch.
	Diagnostics
}

// Data holds the sets a trainer uses; Val and Test may be nil.
type Data struct {
	Train, Val, Test data.Dataset
}

// Trainer runs the training loop. It is not safe for concurrent use.
type Trainer[T tensor.Float] struct {
	model  Model[T]
	opt    *optim.Optimizer[T]
	params []nn.Param[T]
	cfg    Config
	sets   Data

	tape     *autograd.Tape[T]
	x, xPart *tensor.Tensor[T] // the batch's features: a full batch, and a view for a shorter one
	labels   []int
	target   *tensor.Tensor[T] // labels as 0/1 for BinaryCrossEntropy
	tPart    *tensor.Tensor[T]
	order    []int

	pos position
	// checkpointed is pos.Epoch in the checkpoint last written or
	// resumed from.
	checkpointed int
	history      []Epoch
	dist         *replicas[T] // nil in a single process
	avg          *optim.Averager[T]
	acc          *optim.Accumulator[T] // nil: every batch is a step
	watch        updateWatch[T]        // the update ratios of an epoch's last step
	// noDiagnostics leaves the diagnostics out, only for the benchmark of
	// their cost (export_test.go).
	noDiagnostics bool
}

// position is where a run is: what a checkpoint must restore besides the
// model and optimizer.
type position struct {
	Epoch int // the epoch under way or next, from 0
	Batch int // batches of it done
	// Running sums of the epoch under way.
	LossSum    float64
	Correct    int
	Seen       int
	ElapsedSec float64 // wall time of the epoch under way before an interruption
	// Early stopping.
	HasBest  bool
	Best     float64
	BadEpoch int
	Stopped  bool
	// The gradients' statistics of the epoch under way (diagnostics.go).
	gradSums
}

// ErrStopped is returned by Run when early stopping ended training before
// Config.Epochs: the run is complete, and Epochs reports how far it got.
var ErrStopped = errors.New("train: stopped early")

// ErrCheckpoint is matched by errors.Is for the error of Run when the
// checkpoint of an epoch that trained well (of an evaluation, for a
// SeqTrainer) could not be written, as on a full disk: the epoch is in the
// history, and the checkpoint written before, if any, is kept.
var ErrCheckpoint = errors.New("train: the checkpoint could not be written")

// Params returns the model's parameters as the optimizer sees them: the same
// value and gradient slices, so the optimizer updates the model in place.
// A nil model has none (which optim.New refuses).
func Params[T tensor.Float](m nn.Module[T]) []optim.Param[T] {
	if isNil(m) {
		return nil
	}
	var ps []optim.Param[T]
	for _, p := range m.Params() {
		ps = append(ps, optim.Param[T]{Name: p.Name, Shape: p.Shape, Value: p.Value, Grad: p.Grad})
	}
	return ps
}

// New returns a trainer for model, whose parameters opt updates (made over
// Params(model)). It checks the configuration and, with one example on a
// tape that records nothing, in eval mode, that the model accepts the
// data's examples and gives an output for every class of every set (one
// logit for BinaryCrossEntropy; more outputs than classes are taken, as
// PyTorch takes them). If a batch of the run, or a rank's share of one,
// holds a single example, as an epoch's last batch does when
// Config.BatchSize leaves one example over, that example is also run
// forward in training mode, and the model is refused if it cannot train
// on it: 1-d batch norm over [N, C] cannot, with one value per channel
// (batch norm over images, or over [N, C, L], has more and is taken).
// Nothing the run depends on changes: not the parameters, the buffers
// (batch norm's running statistics), nor Config.RNG, which are put back
// exactly (a random source of the model's that is not Config.RNG would
// advance in that pass). New leaves the model in training mode, as a new
// module is.
//
// A run that evaluates another point than the one it trains
// (Schedule-Free, Config.Average) recomputes batch normalization's running
// statistics for it, and is refused for a model whose buffers hold
// batch-norm statistics of a layer it does not list (nn.Container).
func New[T tensor.Float](model Model[T], opt *optim.Optimizer[T], sets Data, cfg Config) (*Trainer[T], error) {
	sets = Data{Train: orNil(sets.Train), Val: orNil(sets.Val), Test: orNil(sets.Test)}
	if isNil(model) {
		return nil, errors.New("train: no model (nil)")
	}
	if err := checkOptimizer(model.Params(), opt); err != nil {
		return nil, err
	}
	if cfg.Comm.Distributed() {
		return newDistributed(model, opt, sets, cfg)
	}
	tr, err := newLocal(model, opt, sets, cfg)
	if err != nil {
		return nil, err
	}
	if err := tr.checkOneExample(1, false); err != nil {
		return nil, err
	}
	return tr, nil
}

// newLocal is New for one process, or for one rank before the ranks meet
// (newDistributed), but for the check of batch norm's batches
// (checkOneExample), which depends on the ranks.
func newLocal[T tensor.Float](model Model[T], opt *optim.Optimizer[T], sets Data, cfg Config) (*Trainer[T], error) {
	switch {
	case cfg.Epochs <= 0:
		return nil, fmt.Errorf("train: Epochs = %d: must be positive", cfg.Epochs)
	case cfg.BatchSize <= 0:
		return nil, fmt.Errorf("train: BatchSize = %d: must be positive", cfg.BatchSize)
	case cfg.Loss != CrossEntropy && cfg.Loss != BinaryCrossEntropy:
		return nil, fmt.Errorf("train: unknown loss %d", cfg.Loss)
	case cfg.EarlyStop.Patience < 0:
		return nil, fmt.Errorf("train: EarlyStop.Patience = %d: must not be negative", cfg.EarlyStop.Patience)
	case math.IsNaN(cfg.EarlyStop.MinDelta) || math.IsInf(cfg.EarlyStop.MinDelta, 0):
		// No epoch would count as an improvement: the run would stop
		// after Patience epochs whatever it learnt.
		return nil, fmt.Errorf("train: EarlyStop.MinDelta = %v: must be finite", cfg.EarlyStop.MinDelta)
	case sets.Train == nil || sets.Train.Len() == 0:
		return nil, errors.New("train: no training examples")
	case cfg.Loss == BinaryCrossEntropy && sets.Train.Classes() != 2:
		return nil, fmt.Errorf("train: binary cross-entropy needs 2 classes; the data has %d", sets.Train.Classes())
	}
	if cfg.DropLast && sets.Train.Len() < cfg.BatchSize {
		return nil, fmt.Errorf("train: %d training examples make no full batch of %d (DropLast)", sets.Train.Len(), cfg.BatchSize)
	}
	for _, s := range []struct {
		name string
		set  data.Dataset
	}{{"validation", sets.Val}, {"test", sets.Test}} {
		switch {
		case s.set == nil:
		case !tensor.SameShape(s.set.Shape(), sets.Train.Shape()):
			return nil, fmt.Errorf("train: examples of shape %v and %v in one run", sets.Train.Shape(), s.set.Shape())
		}
	}
	tr := &Trainer[T]{model: model, opt: opt, params: model.Params(), cfg: cfg, sets: sets, tape: autograd.NewTape[T]()}
	b := min(cfg.BatchSize, sets.Train.Len()) // no batch is larger than the data
	tr.x = tensor.New[T](append([]int{b}, sets.Train.Shape()...)...)
	tr.labels = make([]int, b)
	tr.target = tensor.New[T](b, 1)
	tr.order = make([]int, sets.Train.Len())
	// One forward pass on a single example checks that the model accepts
	// the data, before any time is spent.
	logits, labels, err := tr.logits(sets.Train, []int{0}, false)
	if err == nil {
		if err = checkWidth(logits.Shape(), sets, cfg.Loss); err != nil {
			return nil, err
		}
		_, err = tr.loss(logits, labels)
	}
	tr.tape.Reset()
	tr.tape.SetNoGrad(false)
	model.SetMode(nn.Train) // as it came, new
	if err != nil {
		return nil, fmt.Errorf("train: the model does not accept the data's examples of shape %v: %w", sets.Train.Shape(), err)
	}
	tr.watch.init(tr.params)
	// Every step starts from discarded gradients, the first too, so that
	// every backward pass writes them the same way (a resumed run's first
	// step as the step it resumes at).
	nn.DiscardGrads(tr.params)
	opt.MeasureGradNorm(true)
	if err := tr.newAverager(); err != nil {
		return nil, err
	}
	if err := tr.checkEvalPointBN(); err != nil {
		return nil, err
	}
	if err := tr.newAccumulator(); err != nil {
		return nil, err
	}
	return tr, nil
}

// orNil returns d, or nil if d holds a nil pointer: a *data.Set that
// data.Split leaves nil for a fraction of 0, which in an interface is not
// nil.
func orNil(d data.Dataset) data.Dataset {
	if isNil(d) {
		return nil
	}
	return d
}

// isNil reports whether v is nil or holds a nil pointer.
func isNil(v any) bool {
	r := reflect.ValueOf(v)
	return v == nil || r.Kind() == reflect.Pointer && r.IsNil()
}

// checkWidth returns an error unless logits, the model's output for one
// example, has an entry for every class of every set in its last dimension
// (one logit for binary cross-entropy). More outputs than classes are
// taken, as PyTorch's cross-entropy takes them: a model made for ten
// classes may train on data that holds nine.
func checkWidth(logits []int, sets Data, kind Loss) error {
	if len(logits) == 0 {
		return nil // a scalar: the loss says what is wrong
	}
	w := logits[len(logits)-1]
	if kind == BinaryCrossEntropy {
		if w != 1 {
			return fmt.Errorf("train: the model gives %d outputs per example (shape %v); binary cross-entropy takes one logit", w, logits)
		}
		return nil
	}
	for _, s := range []struct {
		name string
		set  data.Dataset
	}{{"training", sets.Train}, {"validation", sets.Val}, {"test", sets.Test}} {
		if s.set != nil && w < s.set.Classes() {
			return fmt.Errorf("train: the model gives %d outputs per example (shape %v) and the %s set has %d classes: its last layer must have at least %d outputs", w, logits, s.name, s.set.Classes(), s.set.Classes())
		}
	}
	return nil
}

// checkOptimizer returns an error unless every parameter opt updates is
// one of the model's, ps (Params(model), or some of them, the others
// frozen): an optimizer made over another model's would train nothing,
// silently.
func checkOptimizer[T tensor.Float](ps []nn.Param[T], opt *optim.Optimizer[T]) error {
	if opt == nil {
		return errors.New("train: no optimizer (nil)")
	}
	type key struct {
		p *T
		n int
	}
	model := make(map[key]string, len(ps))
	for _, p := range ps {
		model[key{unsafe.SliceData(p.Value), len(p.Value)}] = p.Name
	}
	for g := range opt.Groups() {
		for _, p := range opt.Params(g) {
			if _, ok := model[key{unsafe.SliceData(p.Value), len(p.Value)}]; !ok {
				return fmt.Errorf("train: the optimizer's parameter %q is not one of the model's: make the optimizer over train.Params(model)", p.Name)
			}
		}
	}
	return nil
}

// History returns the metrics of the epochs done so far.
func (tr *Trainer[T]) History() []Epoch { return tr.history }

// Epochs returns the number of epochs done.
func (tr *Trainer[T]) Epochs() int { return len(tr.history) }

// CheckpointEpochs returns the number of epochs done in the checkpoint
// last written (or resumed from), which is behind Epochs when writing the
// latest failed.
func (tr *Trainer[T]) CheckpointEpochs() int { return tr.checkpointed }

// Position returns where the run is: the epoch under way or next (from 0)
// and the batches of it done. A run between epochs has batch 0.
func (tr *Trainer[T]) Position() (epoch, batch int) { return tr.pos.Epoch, tr.pos.Batch }

// StoppedEarly reports whether early stopping ended the run.
func (tr *Trainer[T]) StoppedEarly() bool { return tr.pos.Stopped }

// Step returns the number of optimizer steps taken.
func (tr *Trainer[T]) Step() int { return tr.opt.Steps() }

// Run trains until Config.Epochs epochs are done, early stopping ends the
// run (ErrStopped), or ctx is cancelled: then a checkpoint of the exact
// position is written (if Config.Checkpoint is set) and ctx.Err() is
// returned. A NaN or infinite loss or gradient returns an error and writes
// no checkpoint, so the last good one is kept; a checkpoint that cannot be
// written returns an error matching ErrCheckpoint.
//
// Run leaves the model in eval mode, however it returns, ready to predict
// (as Evaluate leaves it), with the parameters it trains: AtEvalPoint
// gives the ones it evaluates. A later Run, Evaluate or checkpoint sets
// the modes it needs itself.
func (tr *Trainer[T]) Run(ctx context.Context) error {
	defer tr.model.SetMode(nn.Eval)
	if tr.pos.Stopped {
		return ErrStopped
	}
	batches := data.Batches{Order: tr.order, Size: tr.cfg.BatchSize, DropLast: tr.cfg.DropLast}
	nb := batches.Len()
	for tr.pos.Epoch < tr.cfg.Epochs {
		start := time.Now()
		data.Permute(tr.order, tr.cfg.Seed, tr.pos.Epoch)
		for tr.pos.Batch < nb {
			if err := tr.interrupted(ctx); err != nil {
				tr.pos.ElapsedSec += time.Since(start).Seconds()
				if cerr := errors.Join(tr.syncBuffers(), tr.checkpoint()); cerr != nil {
					return errors.Join(err, cerr)
				}
				return err
			}
			idx := batches.Batch(tr.pos.Batch)
			lr := tr.opt.LR(0)
			last := tr.pos.Batch == nb-1 && !tr.noDiagnostics // with accumulation, a step's last batch too
			if last {
				tr.watch.arm(tr.params)
			}
			l, correct, err := tr.step(ctx, idx)
			if err != nil {
				return fmt.Errorf("train: epoch %d, batch %d of %d (step %d, learning rate %g): %w",
					tr.pos.Epoch+1, tr.pos.Batch+1, nb, tr.opt.Steps()+1, lr, err)
			}
			if last {
				tr.watch.measure(tr.params)
			}
			tr.pos.Batch++
			tr.pos.LossSum += l * float64(len(idx))
			tr.pos.Correct += correct
			tr.pos.Seen += len(idx)
			if tr.cfg.OnBatch != nil {
				tr.cfg.OnBatch(Batch{Epoch: tr.pos.Epoch + 1, Index: tr.pos.Batch, Batches: nb, Step: tr.opt.Steps(), Examples: len(idx), Loss: l, LR: lr})
			}
		}
		ep, err := tr.endEpoch(tr.pos.ElapsedSec + time.Since(start).Seconds())
		if err != nil {
			return err
		}
		if err := tr.checkpoint(); err != nil {
			return fmt.Errorf("%w after epoch %d: %w", ErrCheckpoint, ep.Epoch, err)
		}
		if tr.cfg.OnEpoch != nil {
			if err := tr.together(tr.cfg.OnEpoch(ep), "OnEpoch failed on another rank"); err != nil {
				return err
			}
		}
		if tr.pos.Stopped {
			return ErrStopped
		}
	}
	return nil
}

// interrupted returns ctx's error if the run must stop before the next
// step; in a data-parallel run, the ranks decide together.
func (tr *Trainer[T]) interrupted(ctx context.Context) error {
	if tr.dist != nil {
		return tr.dist.interrupted(ctx)
	}
	return ctx.Err()
}

// step trains on one batch and returns its mean loss and correct count.
func (tr *Trainer[T]) step(ctx context.Context, idx []int) (float64, int, error) {
	if tr.dist != nil {
		return tr.dist.step(ctx, tr, idx)
	}
	defer tr.tape.Reset()
	v, correct, err := tr.gradient(idx)
	nn.ZeroDiscardedGrads(tr.params) // what the backward pass did not reach
	if err != nil {
		return 0, 0, err
	}
	if err := tr.update(); err != nil {
		return 0, 0, err
	}
	return v, correct, nil
}

// update steps the optimizer on the parameters' gradients (or adds them
// to the accumulation), notes the step in the diagnostics, folds the new
// weights into the average after an optimizer step and discards the
// gradients (nn.DiscardGrads): the next backward pass overwrites them, so
// that no pass writes zeros for it to read back, and the caller clears
// (nn.ZeroDiscardedGrads) those it did not reach before anything reads
// them. In a data-parallel run the gradients are the global ones, so every
// rank updates the same way.
func (tr *Trainer[T]) update() error {
	steps := tr.opt.Steps()
	stepped, err := tr.optimizerStep()
	if err != nil {
		return err
	}
	if !tr.noDiagnostics {
		noteStep(&tr.pos.gradSums, tr.opt, steps)
	}
	if stepped && tr.avg != nil {
		if err := tr.avg.Update(tr.opt.Steps()); err != nil {
			return err
		}
	}
	nn.DiscardGrads(tr.params)
	return nil
}

// gradient adds the gradient of the mean loss over the training examples
// idx to the parameters' gradients and returns the loss and correct count.
// The caller resets the tape.
func (tr *Trainer[T]) gradient(idx []int) (float64, int, error) {
	l, correct, err := tr.forward(tr.sets.Train, idx, true)
	if err != nil {
		return 0, 0, err
	}
	v := float64(l.Value().Item())
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, 0, fmt.Errorf("loss is %v", v)
	}
	if err := tr.tape.Backward(l); err != nil {
		return 0, 0, err
	}
	return v, correct, nil
}

// forward runs the model on the examples idx of set, in train or eval mode,
// and returns the mean loss (on the tape) and the number of correct
// predictions. The caller resets the tape.
func (tr *Trainer[T]) forward(set data.Dataset, idx []int, training bool) (*autograd.Var[T], int, error) {
	logits, labels, err := tr.logits(set, idx, training)
	if err != nil {
		return nil, 0, err
	}
	l, err := tr.loss(logits, labels)
	if err != nil {
		return nil, 0, err
	}
	return l, countCorrect(logits.Value(), labels, tr.cfg.Loss), nil
}

// logits runs the model on the examples idx of set, in train or eval mode
// (on a tape that records nothing), and returns its output and the
// examples' labels.
func (tr *Trainer[T]) logits(set data.Dataset, idx []int, training bool) (*autograd.Var[T], []int, error) {
	n := len(idx)
	x := view(tr.x, &tr.xPart, n)
	data.Gather(set, idx, x.Data(), tr.labels[:n])
	mode := nn.Eval
	if training {
		mode = nn.Train
	}
	tr.model.SetMode(mode)
	tr.tape.SetNoGrad(!training)
	logits, err := tr.model.Forward(tr.tape, tr.tape.Const(x))
	return logits, tr.labels[:n], err
}

// loss returns the mean loss of logits against labels, on the tape.
func (tr *Trainer[T]) loss(logits *autograd.Var[T], labels []int) (*autograd.Var[T], error) {
	if tr.cfg.Loss == BinaryCrossEntropy {
		tgt := view(tr.target, &tr.tPart, len(labels))
		for i, y := range labels {
			tgt.Data()[i] = T(y)
		}
		return loss.BCEWithLogits(tr.tape, logits, tr.tape.Const(tgt))
	}
	return loss.CrossEntropy(tr.tape, logits, labels)
}

// view returns the first n rows of full: full itself, or *part, made once
// for each length a run uses (its last, shorter batch).
func view[T tensor.Float](full *tensor.Tensor[T], part **tensor.Tensor[T], n int) *tensor.Tensor[T] {
	if n == full.Dim(0) {
		return full
	}
	if *part == nil || (*part).Dim(0) != n {
		*part = full.Slice(0, n)
	}
	return *part
}

// countCorrect counts the rows of logits whose prediction is the label:
// for cross-entropy, the first index of the row's largest logit (by >, so
// that a NaN is never the prediction unless it is the first entry, which
// then stays it), for binary cross-entropy, the logit's sign.
//
// A row's prediction is its label y exactly when no entry before y is at
// least the label's logit and none after it is larger, the NaN cases
// apart: a row is then counted by comparisons that do not branch on the
// data, where a loop keeping the largest entry so far mispredicts at each
// new one. It runs on the caller alone, between the loss's passes on all
// cores: in the MLP step (128×10 logits, 2 cores) it took 4.5 µs that way
// and takes 2.2 (medians over 3,000 steps, timed inside the step);
// BenchmarkCountCorrect, 4096×63: 355 → 180 µs.
func countCorrect[T tensor.Float](logits *tensor.Tensor[T], labels []int, kind Loss) int {
	out := logits.Data()
	classes := len(out) / len(labels)
	correct := 0
	for i, y := range labels {
		row := out[i*classes : (i+1)*classes]
		if kind == BinaryCrossEntropy {
			pred := 0
			if row[0] > 0 {
				pred = 1
			}
			if pred == y {
				correct++
			}
			continue
		}
		if y < 0 || y >= len(row) {
			continue
		}
		x := row[y]
		if x != x || row[0] != row[0] { // the prediction is 0
			if y == 0 {
				correct++
			}
			continue
		}
		beaten := 0
		for _, v := range row[:y] {
			if v >= x {
				beaten++
			}
		}
		for _, v := range row[y+1:] {
			if v > x {
				beaten++
			}
		}
		if beaten == 0 {
			correct++
		}
	}
	return correct
}

// evaluate is Evaluate at the parameters as they are. In a data-parallel
// run it is sharded: rank r evaluates the batches r, r + N, … and the sums
// of the losses and correct counts are all-reduced, so every rank gets the
// same numbers (one process's, up to the order of the additions), and
// every rank must call it.
func (tr *Trainer[T]) evaluate(set data.Dataset) (meanLoss, accuracy float64, err error) {
	if set == nil || set.Len() == 0 {
		return math.NaN(), math.NaN(), nil
	}
	sum, correct, err := evalShare(tr.dist, func(first, stride int) (float64, int, error) {
		return tr.evaluateBatches(set, first, stride)
	})
	if err != nil {
		return 0, 0, err
	}
	n := float64(set.Len())
	return sum / n, float64(correct) / n, nil
}

// evaluateBatches evaluates the batches first, first+stride, … of set, cut
// into batches of the batch buffer's rows, and returns the sum of the
// examples' losses and the number of correct predictions.
func (tr *Trainer[T]) evaluateBatches(set data.Dataset, first, stride int) (sum float64, correct int, err error) {
	defer tr.tape.SetNoGrad(false)
	defer tr.tape.Reset()
	bs := tr.x.Dim(0) // the batch buffer's rows
	idx := make([]int, 0, bs)
	for lo := first * bs; lo < set.Len(); lo += stride * bs {
		idx = idx[:0]
		for i := lo; i < min(lo+bs, set.Len()); i++ {
			idx = append(idx, i)
		}
		l, c, err := tr.forward(set, idx, false)
		if err != nil {
			return 0, 0, err
		}
		sum += float64(l.Value().Item()) * float64(len(idx))
		correct += c
		tr.tape.Reset()
	}
	return sum, correct, nil
}

// endEpoch evaluates on the validation set, records the epoch's metrics,
// steps a reduce-on-plateau schedule and decides on early stopping.
func (tr *Trainer[T]) endEpoch(seconds float64) (Epoch, error) {
	if err := tr.syncBuffers(); err != nil {
		return Epoch{}, err
	}
	vl, va, err := tr.Evaluate(tr.sets.Val)
	if err != nil {
		return Epoch{}, fmt.Errorf("train: validation after epoch %d: %w", tr.pos.Epoch+1, err)
	}
	p := &tr.pos
	ep := Epoch{
		Epoch: p.Epoch + 1, Step: tr.opt.Steps(), LR: lastLR(tr.opt),
		TrainLoss: p.LossSum / float64(p.Seen), TrainAccuracy: float64(p.Correct) / float64(p.Seen),
		ValLoss: vl, ValAccuracy: va, Seconds: seconds,
	}
	ep.ProdigyD, _ = optim.ProdigyD(tr.opt, 0)
	ep.Diagnostics = diagnostics(&p.gradSums, &tr.watch, tr.opt)
	ep.Optimizer = withoutProdigyD(ep.Optimizer)
	tr.history = append(tr.history, ep)
	if tr.cfg.ValLoss != nil && !math.IsNaN(vl) {
		tr.cfg.ValLoss.Observe(vl)
	}
	if es := tr.cfg.EarlyStop; es.Patience > 0 && tr.sets.Val != nil {
		m := vl
		if es.Accuracy {
			m = -va
		}
		if !p.HasBest || m < p.Best-es.MinDelta {
			p.HasBest, p.Best, p.BadEpoch = true, m, 0
		} else if p.BadEpoch++; p.BadEpoch >= es.Patience {
			p.Stopped = true
		}
	}
	p.Epoch++
	p.Batch, p.LossSum, p.Correct, p.Seen, p.ElapsedSec = 0, 0, 0, 0, 0
	return ep, nil
}

// syncBuffers copies rank 0's buffers to every rank of a data-parallel run.
func (tr *Trainer[T]) syncBuffers() error {
	if tr.dist == nil {
		return nil
	}
	return tr.dist.syncBuffers(tr)
}

// lastLR is the learning rate group 0's last step used.
func lastLR[T tensor.Float](o *optim.Optimizer[T]) float64 {
	if o.Steps() == 0 {
		return o.LR(0)
	}
	return o.Schedule(0).At(o.Steps() - 1)
}

// checkOneExample returns an error if the model cannot train on a single
// example, as batch norm over [N, C] cannot (one value per channel), and
// the run has batches of one: a batch of one, as an epoch's last batch is
// when the batch size leaves one example over, or, in a data-parallel run
// of ranks processes without synchronised batch norm, a rank's share of
// one example. That error would come at the first such step, in the first
// epoch's last batch at worst; here it comes before the run starts, from
// one example run forward in training mode (trainOn1), which changes
// nothing.
func (tr *Trainer[T]) checkOneExample(ranks int, syncBN bool) error {
	if ranks > 1 && syncBN { // synchronised: a rank's statistics are the global batch's
		return nil
	}
	n, b := tr.sets.Train.Len(), tr.cfg.BatchSize
	sizes := []int{min(b, n)}
	if last := n % b; n > b && last != 0 && !tr.cfg.DropLast {
		sizes = append(sizes, last)
	}
	one, rank := 0, 0 // a batch of one that leaves rank one example
	for _, s := range sizes {
		for r := range ranks {
			if lo, hi := shard(s, r, ranks); hi-lo == 1 {
				one, rank = s, r
			}
		}
	}
	if one == 0 {
		return nil
	}
	err := tr.trainOn1()
	switch {
	case err == nil:
		return nil
	case ranks > 1:
		return fmt.Errorf("train: a batch of %d examples leaves rank %d of %d one example, and the model cannot train on one: %w; set SyncBatchNorm, or choose another batch size (or DropLast, for an epoch's last batch)", one, rank, ranks, err)
	case one == n%b && n > b:
		return fmt.Errorf("train: the training set's %d examples leave a last batch of one example in each epoch (batch size %d), and the model cannot train on one: %w; set DropLast, or choose another batch size", n, b, err)
	}
	return fmt.Errorf("train: batches of one example (batch size %d, %d training examples), and the model cannot train on one: %w", b, n, err)
}

// trainOn1 runs the first training example forward in training mode, on a
// tape that records nothing, and returns the error. It puts back every
// buffer of the model (batch norm's running statistics) and Config.RNG
// exactly (saveTrainState), and leaves the model in training mode.
func (tr *Trainer[T]) trainOn1() error {
	restore, err := tr.saveTrainState()
	if err != nil {
		return err
	}
	x := view(tr.x, &tr.xPart, 1)
	data.Gather(tr.sets.Train, []int{0}, x.Data(), tr.labels[:1])
	tr.model.SetMode(nn.Train)
	tr.tape.SetNoGrad(true)
	_, err = tr.model.Forward(tr.tape, tr.tape.Const(x))
	tr.tape.Reset()
	tr.tape.SetNoGrad(false)
	if rerr := restore(); rerr != nil {
		return rerr
	}
	return err
}
