package train

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"

	"github.com/descentml/descent/comm"
	"github.com/descentml/descent/data"
	"github.com/descentml/descent/loss"
	"github.com/descentml/descent/nn"
	"github.com/descentml/descent/optim"
	"github.com/descentml/descent/tensor"
)

// Data-parallel training of a language model. With SeqConfig.Comm of N > 1
// ranks, every rank holds a replica of the model and the optimizer, and
// each batch of windows (each micro-batch, with Accumulate) is
//
//	B windows drawn by data.Windows from the seed (the same on every rank,
//	as one process draws them, so a resumed run draws them again)
//	→ rank r's shard, windows ⌊B·r/N⌋ … ⌊B·(r+1)/N⌋ − 1, n_r of them
//	→ forward, mean next-token loss over the shard's n_r·Ctx tokens,
//	  backward: g_r
//	→ all-reduce of Σ_r (n_r/B)·g_r, added in rank order (package comm)
//	→ the optimizer's step (or the accumulation's) on the same global
//	  gradient on every rank
//
// Every token of a window counts, so the weight n_r/B is the shard's share
// of the batch's tokens and the sum is the gradient of the batch's mean
// loss, as in one process, up to the order of the additions, whatever N
// divides. Clipping, the non-finite guard, the schedules, the average of
// the weights, the accumulation and the diagnostics therefore see the
// global gradient, and the replicas stay identical. The loss and two flags
// travel with the gradient (the machinery of the classifiers' replicas,
// distributed.go): a rank that failed, and one whose context was
// cancelled, so that every rank stops after the same step and rank 0
// writes the checkpoint. A non-finite loss on one shard makes the global
// loss non-finite, and every rank returns the same error.
//
// At the start, rank 0's model, optimizer state and random source are
// copied to every rank, after checking that every rank built the same run.
// An evaluation is sharded too: rank r evaluates the batches r, r + N, …
// of the consecutive windows, and the sums of their losses and correct
// tokens are all-reduced, so every rank gets the same numbers (one
// process's, up to the order of the additions).

// seqReplicas is the data-parallel state of a SeqTrainer: the classifiers'
// replicas (the flat gradient, the random states of the ranks) and this
// rank's shard of every batch of windows.
type seqReplicas[T tensor.Float] struct {
	*replicas[T]
	lo, hi int               // the rank's windows of a batch
	x      *tensor.Tensor[T] // [hi−lo, Ctx]: the shard's ids as values
}

// base returns the classifiers' replicas of d: nil in a single process.
func (d *seqReplicas[T]) base() *replicas[T] {
	if d == nil {
		return nil
	}
	return d.replicas
}

// newSeqDistributed is NewSeq for a Comm of several ranks: the checks of a
// single process on every rank, with their errors shared, then the checks
// that every rank built the same run and rank 0's state copied to all.
func newSeqDistributed[T tensor.Float](model nn.Module[T], opt *optim.Optimizer[T], train, val []int, cfg SeqConfig) (*SeqTrainer[T], error) {
	c := cfg.Comm
	cfg.Comm = nil
	tr, err := NewSeq(model, opt, train, val, cfg)
	if err := comm.Together(c, err, ""); err != nil {
		if errors.Is(err, comm.ErrOtherRank) {
			return nil, fmt.Errorf("%w: another rank could not build the run", ErrOtherRank)
		}
		return nil, err
	}
	tr.cfg.Comm = c
	d := &replicas[T]{c: c}
	n := tailLen
	type shape struct {
		Name  string
		Shape []int
	}
	var params []shape
	for _, p := range tr.params {
		n += len(p.Grad)
		params = append(params, shape{p.Name, p.Shape})
	}
	d.flat = make([]T, n)
	run, err := json.Marshal(struct {
		Run                      seqFingerprint
		Seed                     uint64
		Steps, EvalEvery, ValLen int
		Params                   []shape
		RNG, Average             bool
	}{tr.fingerprint(), cfg.Seed, cfg.Steps, tr.cfg.EvalEvery, len(tr.val), params, cfg.RNG != nil, cfg.Average != nil})
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	if err := comm.Agree(c, run, "the run (batch size, context, seed, steps, text, model)"); err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	if cfg.BatchSize < c.Size() {
		return nil, fmt.Errorf("train: BatchSize = %d: a global batch must hold at least one window for each of the %d ranks", cfg.BatchSize, c.Size())
	}
	lo, hi := shard(cfg.BatchSize, c.Rank(), c.Size())
	tr.dist = &seqReplicas[T]{replicas: d, lo: lo, hi: hi, x: tr.x.Slice(0, hi-lo)}
	if err := d.copyState(tr.writeCheckpoint, func(state []byte) error { return tr.loadState(state, "rank 0's state") }); err != nil {
		return nil, err
	}
	return tr, nil
}

// microStep is SeqTrainer.microStep for one replica: the gradient of the
// rank's shard of the next batch of windows, the all-reduce, then the
// optimizer's step (or the accumulation's) on the global gradient. It
// returns the batch's mean loss.
func (d *seqReplicas[T]) microStep(ctx context.Context, tr *SeqTrainer[T]) (float64, error) {
	defer tr.tape.Reset()
	tr.windows.Next(tr.xs, tr.ys)
	w := tr.windows.Ctx()
	b := tr.cfg.BatchSize
	var local error
	v := 0.0
	if d.hi > d.lo {
		v, local = d.gradient(tr, tr.xs[d.lo*w:d.hi*w], tr.ys[d.lo*w:d.hi*w])
	}
	nn.ZeroDiscardedGrads(tr.params) // what the backward pass did not reach, or all of them without one
	red, err := d.allReduce(ctx, tr.params, float64(d.hi-d.lo)/float64(b), v*float64(d.hi-d.lo), 0, local)
	if err != nil {
		return 0, err
	}
	d.stop = d.stop || red.stop
	l := red.loss / float64(b)
	if math.IsNaN(l) || math.IsInf(l, 0) {
		return 0, fmt.Errorf("loss is %v", l)
	}
	steps := tr.opt.Steps()
	if err := tr.optimizerStep(); err != nil {
		return 0, err
	}
	noteStep(&tr.pos.gradSums, tr.opt, steps) // the global gradient: rank-equal
	nn.DiscardGrads(tr.params)
	return l, nil
}

// gradient computes the gradient of the mean loss of the windows xs (ids)
// with next tokens ys into the parameters' gradients and returns the loss;
// a non-finite loss is returned without a gradient (the gradients stay
// zero, and the global loss, non-finite too, stops every rank).
func (d *seqReplicas[T]) gradient(tr *SeqTrainer[T], xs, ys []int) (float64, error) {
	data.Tokens(d.x.Data(), xs)
	setMode(tr.model, nn.Train)
	logits, err := tr.model.Forward(tr.tape, tr.tape.Const(d.x))
	if err != nil {
		return 0, err
	}
	l, err := loss.CrossEntropy(tr.tape, logits, ys)
	if err != nil {
		return 0, err
	}
	v := float64(l.Value().Item())
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return v, nil
	}
	return v, tr.tape.Backward(l)
}

// stopNow returns ctx's error if the run must stop before the next step;
// in a data-parallel run, the ranks decide together, after the step in
// which one of them was interrupted.
func (tr *SeqTrainer[T]) stopNow(ctx context.Context) error {
	if tr.dist != nil {
		return tr.dist.interrupted(ctx)
	}
	return ctx.Err()
}

// together returns err on the ranks that have one and, in a data-parallel
// run, an error on the others too.
func (tr *SeqTrainer[T]) together(err error, what string) error {
	if tr.dist == nil {
		return err
	}
	return tr.dist.agreeOn(err, what)
}
