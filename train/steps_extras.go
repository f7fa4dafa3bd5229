package train

import (
	"bytes"
	"fmt"

	"github.com/descentml/descent/optim"
)

// This file gives the steps-based loop of language models what the epoch
// loop has besides its steps: gradient accumulation (SeqConfig.Accumulate:
// K micro-batches of windows make one optimizer step, so Steps and the
// schedules count optimizer steps) and an average of the weights
// (SeqConfig.Average) that is evaluated and saved in place of the trained
// weights. A step, with all its micro-batches, is never split by an
// interruption, so a checkpoint always falls between optimizer steps.

// newSeqExtras makes the accumulator and the averager the configuration
// asks for.
func (tr *SeqTrainer[T]) newSeqExtras() error {
	if k := tr.cfg.Accumulate; k < 0 {
		return fmt.Errorf("train: Accumulate = %d: must not be negative", k)
	} else if k > 1 {
		var err error
		if tr.acc, err = optim.NewAccumulator(tr.opt, k); err != nil {
			return fmt.Errorf("train: %w", err)
		}
	}
	var err error
	tr.avg, err = newAverager(tr.opt, tr.cfg.Average)
	return err
}

// microBatches returns the batches of windows in one optimizer step.
func (tr *SeqTrainer[T]) microBatches() int { return max(tr.cfg.Accumulate, 1) }

// optimizerStep steps the optimizer, or adds the gradient to the
// accumulation, and folds the new weights into the average after a step.
func (tr *SeqTrainer[T]) optimizerStep() error {
	stepped := true
	var err error
	if tr.acc != nil {
		stepped, err = tr.acc.Step()
	} else {
		err = tr.opt.Step()
	}
	if err != nil || !stepped || tr.avg == nil {
		return err
	}
	return tr.avg.Update(tr.opt.Steps())
}

// AtEvalPoint calls fn with the model's parameters at the point to
// evaluate and save: the average of the weights once it has averaged a
// step (SeqConfig.Average), or Schedule-Free's x; it puts the trained
// parameters back afterwards, exactly.
func (tr *SeqTrainer[T]) AtEvalPoint(fn func() error) error {
	if tr.avg != nil && tr.avg.Count() > 0 && !tr.avg.Swapped() {
		tr.avg.Swap()
		defer tr.avg.Swap()
	}
	tr.opt.Eval()
	defer tr.opt.Train()
	return fn()
}

// saveAverage adds the average of the weights, if the run keeps one, to a
// checkpoint's blobs.
func (tr *SeqTrainer[T]) saveAverage(blobs map[string]blob) error {
	if tr.avg == nil {
		return nil
	}
	var b bytes.Buffer
	if err := tr.avg.Save(&b); err != nil {
		return fmt.Errorf("train: checkpoint: %w", err)
	}
	blobs["average"] = b.Bytes()
	return nil
}

// loadAverage restores the average of the weights from a checkpoint's
// "average" blob, which a run that keeps one must have and another must
// not.
func (tr *SeqTrainer[T]) loadAverage(b []byte, ok bool, path string) error {
	switch {
	case ok != (tr.avg != nil):
		return fmt.Errorf("train: %s: the checkpoint %s an average of the weights and the run %s (--average must not change on resume)",
			path, map[bool]string{true: "keeps", false: "keeps no"}[ok], map[bool]string{true: "keeps one", false: "does not"}[tr.avg != nil])
	case !ok:
		return nil
	}
	if err := tr.avg.Load(bytes.NewReader(b)); err != nil {
		return fmt.Errorf("train: %s: %w", path, err)
	}
	return nil
}
