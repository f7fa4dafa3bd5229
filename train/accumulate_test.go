package train_test

import (
	"bytes"
	"context"
	"errors"
	"maps"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/descentml/descent/nn"
	"github.com/descentml/descent/optim"
	"github.com/descentml/descent/schedule"
	"github.com/descentml/descent/train"
)

// TestAccumulateResumeMidStep accumulates 3 batches a step over epochs
// of 28 batches, not a multiple of 3, so that each epoch's last step is on
// its last batch alone, and checks that a run stopped between the
// micro-batches of a step (1 or 2 pending, or none, also before the last
// batch) resumes bit for bit: the model, and every epoch's step count,
// rate, losses and update ratios.
func TestAccumulateResumeMidStep(t *testing.T) {
	const k, epochs = 3, 3
	splits := digits(t)
	nb := (splits.Train.Len() + 49) / 50
	if nb%k == 0 {
		t.Fatalf("%d batches an epoch: the test wants a number that is not a multiple of %d", nb, k)
	}
	dir := t.TempDir()
	s := setup{method: optim.DefaultAdamW(), dropout: true, splits: splits,
		lr:  func(int) schedule.Schedule { return schedule.Cosine{Base: 3e-3, TMax: epochs * ((nb + k - 1) / k)} },
		cfg: train.Config{Epochs: epochs, BatchSize: 50, Seed: 7, Accumulate: k, Checkpoint: filepath.Join(dir, "whole")}}
	whole, wm := s.build(t)
	if err := whole.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if want := epochs * ((nb + k - 1) / k); whole.Step() != want {
		t.Fatalf("%d epochs of %d batches by %d: %d steps; want %d (⌈%d/%d⌉ an epoch)", epochs, nb, k, whole.Step(), want, nb, k)
	}
	for i, e := range whole.History() {
		if want := (i + 1) * ((nb + k - 1) / k); e.Step != want {
			t.Errorf("epoch %d ends at step %d; want %d", i+1, e.Step, want)
		}
	}
	for _, stop := range []int{4, 5, 6, nb - 1} { // 1, 2, 0 pending; the last batch to go
		s.cfg.Checkpoint = filepath.Join(dir, "ckpt")
		ctx, cancel := context.WithCancel(context.Background())
		s.cfg.OnBatch = func(b train.Batch) {
			if b.Epoch == 2 && b.Index == stop {
				cancel()
			}
		}
		first, _ := s.build(t)
		if err := first.Run(ctx); !errors.Is(err, context.Canceled) {
			t.Fatalf("stopped after batch %d: %v", stop, err)
		}
		s.cfg.OnBatch = nil
		second, sm := s.build(t)
		if err := second.Resume(s.cfg.Checkpoint); err != nil {
			t.Fatalf("stopped after batch %d: %v", stop, err)
		}
		if epoch, batch := second.Position(); epoch != 1 || batch != stop || second.Step() != first.Step() {
			t.Fatalf("stopped after batch %d of epoch 2 (step %d): resumed at epoch %d, batch %d, step %d", stop, first.Step(), epoch+1, batch, second.Step())
		}
		if err := second.Run(context.Background()); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(modelBytes(t, sm), modelBytes(t, wm)) {
			t.Errorf("stopped after batch %d (%d pending): the resumed model differs from the uninterrupted one", stop, stop%k)
		}
		for i, e := range second.History() {
			w := whole.History()[i]
			if e.Step != w.Step || e.LR != w.LR || e.TrainLoss != w.TrainLoss || e.ValLoss != w.ValLoss || !maps.Equal(e.UpdateRatio, w.UpdateRatio) {
				t.Errorf("stopped after batch %d: epoch %d %+v; uninterrupted %+v", stop, i+1, e, w)
			}
		}
	}
}

// TestAccumulateOldCheckpoint resumes a checkpoint written before the
// accumulation's sums were saved (testdata/v2-accumulate-2-epoch2-batch10:
// Flatten and Linear(64, 10) on the digits, AdamW with a cosine over 42
// steps, batches of 50 accumulated by 2, stopped after batch 10 of epoch
// 2 at step 19, by descent at 1f6d915), and checks that it continues to
// the model that run reached uninterrupted (testdata/v2-accumulate-2-end),
// bit for bit.
func TestAccumulateOldCheckpoint(t *testing.T) {
	splits := digits(t)
	init := rand.New(rand.NewPCG(1, 2))
	model := nn.NewSequential[float32](nn.NewFlatten[float32](), nn.NewLinear[float32](64, 10, init))
	opt, err := optim.New(train.Params[float32](model), optim.Config{Method: optim.DefaultAdamW(), LR: schedule.Cosine{Base: 3e-3, TMax: 3 * 14}})
	if err != nil {
		t.Fatal(err)
	}
	tr, err := train.New[float32](model, opt, train.Data{Train: splits.Train, Val: splits.Val}, train.Config{Epochs: 3, BatchSize: 50, Seed: 7, Accumulate: 2})
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.Resume(filepath.Join("testdata", "v2-accumulate-2-epoch2-batch10.safetensors")); err != nil {
		t.Fatal(err)
	}
	if epoch, batch := tr.Position(); epoch != 1 || batch != 10 || tr.Step() != 19 {
		t.Fatalf("resumed at epoch %d, batch %d, step %d; want epoch 2, batch 10, step 19", epoch+1, batch, tr.Step())
	}
	if err := tr.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(filepath.Join("testdata", "v2-accumulate-2-end.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	// The kernels' rounding may change between versions (the old run's
	// end was bit-identical when written), so the model is held to a
	// tolerance far below what a wrongly restored state would give.
	old := nn.NewSequential[float32](nn.NewFlatten[float32](), nn.NewLinear[float32](64, 10, init))
	if err := nn.Load[float32](old, want); err != nil {
		t.Fatal(err)
	}
	var worst float64
	for i, p := range model.Params() {
		q := old.Params()[i]
		for j, v := range p.Value {
			w := q.Value[j]
			worst = max(worst, math.Abs(float64(v-w))/max(math.Abs(float64(w)), 1e-2))
		}
	}
	if tr.Step() != 42 || worst > 1e-4 {
		t.Errorf("resumed run: %d steps, its model %.3g from the old run's (relative); want 42 steps, ≤ 1e-4", tr.Step(), worst)
	}
	t.Logf("the resumed model is %.3g from the old run's (relative)", worst)
}
