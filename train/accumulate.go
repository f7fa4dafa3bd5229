package train

import (
	"bytes"
	"fmt"

	"github.com/nlpodyssey/safetensors"

	"github.com/descentml/descent/data"
	"github.com/descentml/descent/optim"
)

// This file makes several micro-batches one optimizer step
// (Config.Accumulate, optim.Accumulator): the gradients of K consecutive
// batches are averaged and the optimizer steps once, so schedules count
// optimizer steps.
//
// An accumulation never spans two epochs: when an epoch's batches are not
// a multiple of K, its last step is on the m < K batches left
// (optim.Accumulator.Flush), as PyTorch loops that step
// `if (i+1) % K == 0 or i+1 == len(loader)` do (Hugging Face's Trainer and
// Accelerate also step at the end of the data loader). That step's
// gradient is the mean of the m, as one step on their batches together
// would have; a loop that divides every loss by K scales it by m/K
// instead. Carrying them into the next epoch would
// make the steps of an epoch vary, so that a schedule in epochs (which
// holds each value for a fixed number of steps) would drift from the
// epochs, the metrics of an epoch would mix in gradients of the next, and
// the model evaluated at the end of an epoch would not have learnt from
// all of its examples. Every epoch thus has ⌈batches/K⌉ steps.
//
// A checkpoint can be taken between two micro-batches: the sums pending
// are saved with it ("accumulation"), and a resumed run continues bit for
// bit.

// newAccumulator makes the accumulator of Config.Accumulate.
func (tr *Trainer[T]) newAccumulator() error {
	k := tr.cfg.Accumulate
	switch {
	case k < 0:
		return fmt.Errorf("train: Accumulate = %d: must not be negative", k)
	case k <= 1:
		return nil
	}
	var err error
	if tr.acc, err = optim.NewAccumulator(tr.opt, k); err != nil {
		return fmt.Errorf("train: %w", err)
	}
	return nil
}

// optimizerStep steps the optimizer, or adds the gradient to the
// accumulation, and reports whether the optimizer stepped. The epoch's
// last batch completes the accumulation, whatever its count.
func (tr *Trainer[T]) optimizerStep() (bool, error) {
	if tr.acc == nil {
		return true, tr.opt.Step()
	}
	stepped, err := tr.acc.Step()
	if stepped || err != nil {
		return stepped, err
	}
	if tr.pos.Batch == tr.batchesPerEpoch()-1 {
		return tr.acc.Flush()
	}
	return false, nil
}

// batchesPerEpoch returns the batches of an epoch.
func (tr *Trainer[T]) batchesPerEpoch() int {
	return data.Batches{Order: tr.order, Size: tr.cfg.BatchSize, DropLast: tr.cfg.DropLast}.Len()
}

// saveAccumulation adds the accumulation's pending sums to a checkpoint's
// blobs, if any micro-batch is pending.
func (tr *Trainer[T]) saveAccumulation(blobs map[string]blob) error {
	if tr.acc == nil || tr.acc.Pending() == 0 {
		return nil
	}
	var b bytes.Buffer
	if err := tr.acc.Save(&b); err != nil {
		return err
	}
	blobs["accumulation"] = b.Bytes()
	return nil
}

// loadAccumulation restores the accumulation's pending sums from a
// checkpoint, whose position is pos: none pending if it has none (as
// every checkpoint written before they were saved). Since an
// accumulation starts with each epoch, pos.Batch mod K are pending.
func (tr *Trainer[T]) loadAccumulation(st safetensors.SafeTensors, pos position) error {
	b, ok := st.Tensor("accumulation")
	switch {
	case ok && tr.acc == nil:
		return fmt.Errorf("the checkpoint holds an accumulation of gradients, and the run accumulates none")
	case tr.acc == nil:
		return nil
	case !ok:
		tr.acc.Reset()
	default:
		if err := tr.acc.Load(bytes.NewReader(b.Data())); err != nil {
			return err
		}
	}
	want := pos.Batch % tr.cfg.Accumulate
	if pos.Batch >= tr.batchesPerEpoch() {
		want = 0 // the last batch flushed the accumulation
	}
	if tr.acc.Pending() != want {
		return fmt.Errorf("corrupt checkpoint: %d micro-batches pending at batch %d, accumulating %d a step; want %d", tr.acc.Pending(), pos.Batch, tr.cfg.Accumulate, want)
	}
	return nil
}
