package run

import (
	"os"
	"time"

	"github.com/descentml/descent/tensorboard"
	"github.com/descentml/descent/train"
)

// events is a run's TensorBoard event file (Options.TensorBoard), created
// at the first metrics it writes; a resumed run starts a new file.
type events struct {
	dir string
	on  bool
	w   *tensorboard.Writer
}

// write writes scalars at an optimizer step, if the run writes events.
func (ev *events) write(step int, scalars ...tensorboard.Scalar) error {
	if !ev.on {
		return nil
	}
	now := time.Now()
	if ev.w == nil {
		w, err := tensorboard.Create(ev.dir, now)
		if err != nil {
			return err
		}
		ev.w = w
	}
	return ev.w.Scalars(int64(step), now, scalars...)
}

// epoch writes an epoch's metrics.
func (ev *events) epoch(e train.Epoch) error {
	return ev.write(e.Step,
		tensorboard.Scalar{Tag: "train/loss", Value: float32(e.TrainLoss)},
		tensorboard.Scalar{Tag: "train/accuracy", Value: float32(e.TrainAccuracy)},
		tensorboard.Scalar{Tag: "val/loss", Value: float32(e.ValLoss)},
		tensorboard.Scalar{Tag: "val/accuracy", Value: float32(e.ValAccuracy)},
		tensorboard.Scalar{Tag: "lr", Value: float32(e.LR)},
		tensorboard.Scalar{Tag: "epoch", Value: float32(e.Epoch)},
	)
}

// eval writes the metrics of an evaluation of a language model's run.
func (ev *events) eval(m train.SeqMetrics) error {
	return ev.write(m.Step,
		tensorboard.Scalar{Tag: "train/loss", Value: float32(m.TrainLoss)},
		tensorboard.Scalar{Tag: "train/bits_per_char", Value: float32(m.TrainBPC)},
		tensorboard.Scalar{Tag: "val/loss", Value: float32(m.ValLoss)},
		tensorboard.Scalar{Tag: "val/bits_per_char", Value: float32(m.ValBPC)},
		tensorboard.Scalar{Tag: "val/perplexity", Value: float32(m.ValPerplexity)},
		tensorboard.Scalar{Tag: "lr", Value: float32(m.LR)},
	)
}

// close closes the event file, if one was created.
func (ev *events) close() error {
	if ev.w == nil {
		return nil
	}
	err := ev.w.Close()
	ev.w = nil
	return err
}

// remove closes and removes the event file of a run that is abandoned.
func (ev *events) remove() {
	if ev.w != nil {
		name := ev.w.Name()
		ev.close()
		os.Remove(name)
	}
}
