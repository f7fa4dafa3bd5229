package train

import (
	"context"
	"fmt"

	"github.com/descentml/descent/data"
	"github.com/descentml/descent/optim"
)

// This file makes several micro-batches one optimizer step
// (Config.Accumulate, optim.Accumulator): the gradients of K consecutive
// batches are averaged and the optimizer steps once, so schedules count
// optimizer steps. An accumulation never spans two epochs, nor a
// checkpoint: the batches of an epoch must be a multiple of K, and an
// interruption waits for the step that completes the accumulation.

// newAccumulator makes the accumulator of Config.Accumulate.
func (tr *Trainer[T]) newAccumulator() error {
	k := tr.cfg.Accumulate
	switch {
	case k < 0:
		return fmt.Errorf("train: Accumulate = %d: must not be negative", k)
	case k <= 1:
		return nil
	}
	nb := data.Batches{Order: tr.order, Size: tr.cfg.BatchSize, DropLast: tr.cfg.DropLast}.Len()
	if nb%k != 0 {
		return fmt.Errorf("train: accumulating %d micro-batches a step needs a number of batches per epoch divisible by %d; this run has %d (change the batch size)", k, k, nb)
	}
	var err error
	if tr.acc, err = optim.NewAccumulator(tr.opt, k); err != nil {
		return fmt.Errorf("train: %w", err)
	}
	return nil
}

// optimizerStep steps the optimizer, or adds the gradient to the
// accumulation, and reports whether the optimizer stepped.
func (tr *Trainer[T]) optimizerStep() (bool, error) {
	if tr.acc != nil {
		return tr.acc.Step()
	}
	return true, tr.opt.Step()
}

// stopNow returns ctx's error if the run must stop before the next batch:
// never in the middle of an accumulation.
func (tr *Trainer[T]) stopNow(ctx context.Context) error {
	if tr.acc != nil && tr.acc.Pending() > 0 {
		return nil
	}
	return tr.interrupted(ctx)
}
