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
	"runtime"
	"strings"
	"testing"

	"github.com/descentml/descent/bench/benchmodels"
	"github.com/descentml/descent/data"
	"github.com/descentml/descent/nn"
	"github.com/descentml/descent/optim"
	"github.com/descentml/descent/schedule"
	"github.com/descentml/descent/tensor"
	"github.com/descentml/descent/train"
)

// setup is one way of building a run; building it twice gives two runs that
// must behave identically.
type setup struct {
	method   optim.Method
	lr       func(stepsPerEpoch int) schedule.Schedule
	dropout  bool
	cfg      train.Config
	splits   *data.Splits
	modelOut func(*nn.Sequential[float32])
	clipNorm float64
}

func digits(t testing.TB) *data.Splits {
	t.Helper()
	s, err := data.Load("digits", data.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func (s setup) build(t testing.TB) (*train.Trainer[float32], *nn.Sequential[float32]) {
	t.Helper()
	init := rand.New(rand.NewPCG(1, 2))
	src := rand.NewPCG(3, 4)
	layers := []nn.Module[float32]{nn.NewFlatten[float32](), nn.NewLinear[float32](64, 64, init), nn.NewBatchNorm1d[float32](64), nn.NewReLU[float32]()}
	if s.dropout {
		layers = append(layers, nn.NewDropout[float32](0.2, rand.New(src)))
	}
	layers = append(layers, nn.NewLinear[float32](64, 10, init))
	model := nn.NewSequential(layers...)
	cfg := s.cfg
	if s.dropout {
		cfg.RNG = src
	}
	steps := (s.splits.Train.Len() + cfg.BatchSize - 1) / cfg.BatchSize
	oc := optim.Config{Method: s.method, ClipNorm: s.clipNorm}
	if s.lr != nil {
		oc.LR = s.lr(steps)
		if o, ok := oc.LR.(train.ValLossObserver); ok {
			cfg.ValLoss = o // reduce-on-plateau
		}
	}
	opt, err := optim.New(train.Params[float32](model), oc)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := train.New[float32](model, opt, train.Data{Train: s.splits.Train, Val: s.splits.Val, Test: s.splits.Test}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return tr, model
}

func modelBytes[T float32 | float64](t testing.TB, m *nn.Sequential[T]) []byte {
	var b bytes.Buffer
	if err := nn.Save[T](&b, m); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestLearnsDigits(t *testing.T) {
	s := setup{method: optim.DefaultAdamW(), splits: digits(t), cfg: train.Config{Epochs: 8, BatchSize: 32, Seed: 1}}
	tr, _ := s.build(t)
	if err := tr.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	h := tr.History()
	if len(h) != 8 || h[7].Step != 8*tr.Step()/8 {
		t.Fatalf("history %+v", h)
	}
	if last := h[7]; last.ValAccuracy < 0.93 || last.TrainLoss >= h[0].TrainLoss {
		t.Errorf("after 8 epochs: val accuracy %.3f, train loss %.3f (first epoch %.3f)", last.ValAccuracy, last.TrainLoss, h[0].TrainLoss)
	}
	_, acc, err := tr.Evaluate(s.splits.Test)
	if err != nil || acc < 0.9 {
		t.Errorf("test accuracy %.3f, %v", acc, err)
	}
}

// TestResumeIsExact interrupts a run in the middle of an epoch, resumes it in
// a new trainer from its checkpoint and checks that the final model is
// byte-identical to an uninterrupted run's, with dropout, batch norm, a
// per-batch cosine schedule and a reduce-on-plateau schedule.
func TestResumeIsExact(t *testing.T) {
	splits := digits(t)
	for name, lr := range map[string]func(int) schedule.Schedule{
		"cosine": func(n int) schedule.Schedule { return schedule.Cosine{Base: 3e-3, TMax: 3 * n} },
		"plateau": func(int) schedule.Schedule {
			p, _ := schedule.NewPlateau(schedule.PlateauConfig{Base: 3e-3, Factor: 0.5, Patience: 0, Threshold: 0.5, Eps: 1e-8})
			return p
		},
	} {
		dir := t.TempDir()
		s := setup{method: optim.DefaultAdamW(), lr: lr, dropout: true, splits: splits,
			cfg: train.Config{Epochs: 3, BatchSize: 50, Seed: 7, Checkpoint: filepath.Join(dir, "ckpt")}}
		whole, wm := s.build(t)
		if err := whole.Run(context.Background()); err != nil {
			t.Fatal(err)
		}

		s.cfg.Checkpoint = filepath.Join(dir, "ckpt2")
		ctx, cancel := context.WithCancel(context.Background())
		s.cfg.OnBatch = func(b train.Batch) {
			if b.Epoch == 2 && b.Index == 11 {
				cancel()
			}
		}
		first, _ := s.build(t)
		if err := first.Run(ctx); !errors.Is(err, context.Canceled) {
			t.Fatalf("%s: interrupted run: %v", name, err)
		}
		s.cfg.OnBatch = nil
		second, sm := s.build(t)
		if err := second.Resume(s.cfg.Checkpoint); err != nil {
			t.Fatal(err)
		}
		if second.Step() != first.Step() || second.Epochs() != 1 {
			t.Fatalf("%s: resumed at step %d, epoch %d; interrupted at step %d after 1 epoch", name, second.Step(), second.Epochs(), first.Step())
		}
		if err := second.Run(context.Background()); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(modelBytes(t, sm), modelBytes(t, wm)) {
			t.Errorf("%s: resumed model differs from the uninterrupted one", name)
		}
		for i, e := range second.History() {
			w := whole.History()[i]
			if e.TrainLoss != w.TrainLoss || e.ValLoss != w.ValLoss || e.LR != w.LR || e.Step != w.Step {
				t.Errorf("%s: epoch %d metrics %+v; uninterrupted %+v", name, i+1, e, w)
			}
			// The gradients' sums of the interrupted epoch are in the
			// checkpoint: its diagnostics are those of all its steps.
			if e.GradNormMean != w.GradNormMean || e.GradNormMax != w.GradNormMax || !maps.Equal(e.UpdateRatio, w.UpdateRatio) {
				t.Errorf("%s: epoch %d diagnostics %+v; uninterrupted %+v", name, i+1, e.Diagnostics, w.Diagnostics)
			}
		}
	}
}

func TestNonFiniteLossKeepsLastCheckpoint(t *testing.T) {
	dir := t.TempDir()
	ckpt := filepath.Join(dir, "ckpt")
	blowUp := 0
	s := setup{method: optim.SGD{}, splits: digits(t),
		lr: func(n int) schedule.Schedule {
			blowUp = n + 5 // in the second epoch
			return schedule.Join{Schedules: []schedule.Schedule{schedule.Constant(0.01), schedule.Constant(1e30)}, Boundaries: []int{blowUp}}
		},
		cfg: train.Config{Epochs: 3, BatchSize: 64, Checkpoint: ckpt}}
	tr, _ := s.build(t)
	err := tr.Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), "epoch 2") {
		t.Fatalf("Run = %v; want an error in epoch 2", err)
	}
	if !strings.Contains(err.Error(), "not finite") && !strings.Contains(err.Error(), "loss is") && !strings.Contains(err.Error(), "NaN") && !strings.Contains(err.Error(), "Inf") {
		t.Errorf("error %q does not say what went wrong", err)
	}
	again, _ := s.build(t)
	if err := again.Resume(ckpt); err != nil {
		t.Fatal(err)
	}
	if again.Epochs() != 1 || again.Step() >= blowUp {
		t.Errorf("checkpoint at epoch %d, step %d; want the end of epoch 1, before the blow-up at step %d", again.Epochs(), again.Step(), blowUp)
	}
}

func TestEarlyStop(t *testing.T) {
	s := setup{method: optim.SGD{}, lr: func(int) schedule.Schedule { return schedule.Constant(0) }, splits: digits(t),
		cfg: train.Config{Epochs: 10, BatchSize: 128, EarlyStop: train.EarlyStop{Patience: 2}}}
	tr, _ := s.build(t)
	if err := tr.Run(context.Background()); !errors.Is(err, train.ErrStopped) || tr.Epochs() != 3 {
		t.Errorf("with a zero learning rate: Run = %v after %d epochs; want ErrStopped after 3", err, tr.Epochs())
	}
}

// oneEpochCheckpoint trains a small run for one epoch and returns its
// directory, checkpoint and setup.
func oneEpochCheckpoint(t *testing.T) (dir, ckpt string, s setup) {
	dir = t.TempDir()
	ckpt = filepath.Join(dir, "ckpt")
	s = setup{method: optim.DefaultAdam(), splits: digits(t), cfg: train.Config{Epochs: 1, BatchSize: 64, Checkpoint: ckpt}}
	tr, _ := s.build(t)
	if err := tr.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	return dir, ckpt, s
}

func TestResumeRejectsAnotherRun(t *testing.T) {
	dir, ckpt, s := oneEpochCheckpoint(t)
	other := s
	other.cfg.BatchSize = 32
	o, _ := other.build(t)
	if err := o.Resume(ckpt); err == nil || !strings.Contains(err.Error(), "batch size 64, now 32") {
		t.Errorf("resume with another batch size: %v", err)
	}
	other = s
	other.method = optim.DefaultAdamW()
	o, _ = other.build(t)
	if err := o.Resume(ckpt); err == nil || !strings.Contains(err.Error(), "chain") {
		t.Errorf("resume with another optimizer: %v", err)
	}
	b, _ := os.ReadFile(ckpt)
	os.WriteFile(ckpt, b[:len(b)/3], 0o644)
	o, _ = s.build(t)
	if err := o.Resume(ckpt); err == nil || !strings.Contains(err.Error(), "corrupt or truncated") {
		t.Errorf("resume from a truncated checkpoint: %v", err)
	}
	if err := o.Resume(filepath.Join(dir, "missing")); err == nil {
		t.Error("resume from a missing file succeeded")
	}
}

// TestResumeRejectsForgedPosition edits a checkpoint's position to one no
// run reaches: Resume must refuse it, not panic.
func TestResumeRejectsForgedPosition(t *testing.T) {
	dir, ckpt, s := oneEpochCheckpoint(t)
	b, err := os.ReadFile(ckpt)
	if err != nil {
		t.Fatal(err)
	}
	for _, forged := range []string{
		`{"Epoch":1,"Batch":-3}`,
		`{"Epoch":1,"Batch":1000000}`,
		`{"Epoch":7,"Batch":0}`,
		`{"Epoch":1,"Batch":2,"Seen":10,"Correct":11}`,
	} {
		// Forged with a checksum to match, as a checksum guards against
		// accidents only.
		out := rewriteCheckpoint(t, b, true, func(m map[string]string) { m["position"] = forged })
		bad := filepath.Join(dir, "forged")
		if err := os.WriteFile(bad, out, 0o644); err != nil {
			t.Fatal(err)
		}
		o, _ := s.build(t)
		if err := o.Resume(bad); err == nil || !strings.Contains(err.Error(), "corrupt checkpoint position") {
			t.Errorf("position %s: Resume = %v; want a corrupt-position error", forged, err)
		}
	}
}

// TestBatchLargerThanData trains with a batch larger than the training set:
// one batch an epoch, and evaluation of a larger validation set still works.
func TestBatchLargerThanData(t *testing.T) {
	all := digits(t)
	small := all.Train.Subset([]int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11})
	s := setup{method: optim.DefaultAdam(), splits: &data.Splits{Train: small, Val: all.Val, Test: all.Test}, cfg: train.Config{Epochs: 2, BatchSize: 1 << 20}}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	tr, _ := s.build(t)
	runtime.ReadMemStats(&after)
	// A buffer for the batch size would be 2²⁰ × 64 float32s, 256 MiB.
	if mb := float64(after.TotalAlloc-before.TotalAlloc) / (1 << 20); mb > 16 {
		t.Errorf("building a trainer for 12 examples with batch size 2²⁰ allocated %.0f MiB", mb)
	}
	if err := tr.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if h := tr.History(); len(h) != 2 || h[1].Step != 2 || math.IsNaN(h[1].ValLoss) {
		t.Errorf("history %+v; want 2 epochs of one step each, with a validation loss", h)
	}
}

func TestBinaryCrossEntropy(t *testing.T) {
	all := digits(t)
	pick := func(s *data.Set) *data.Set {
		var idx []int
		for i, y := range s.Y {
			if y < 2 {
				idx = append(idx, i)
			}
		}
		sub := s.Subset(idx)
		x, _ := data.NewSet(sub.X, sub.Y, sub.Shape(), 2)
		return x
	}
	tr0, va0 := pick(all.Train), pick(all.Val)
	init := rand.New(rand.NewPCG(1, 1))
	model := nn.NewSequential[float32](nn.NewFlatten[float32](), nn.NewLinear[float32](64, 1, init))
	opt, _ := optim.New(train.Params[float32](model), optim.Config{Method: optim.DefaultAdam(), LR: schedule.Constant(0.01)})
	tr, err := train.New[float32](model, opt, train.Data{Train: tr0, Val: va0}, train.Config{Epochs: 5, BatchSize: 16, Loss: train.BinaryCrossEntropy})
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if acc := tr.History()[4].ValAccuracy; acc < 0.95 {
		t.Errorf("0 vs 1 logistic regression: val accuracy %.3f", acc)
	}
	if _, err := train.New[float32](model, opt, train.Data{Train: all.Train}, train.Config{Epochs: 1, BatchSize: 16, Loss: train.BinaryCrossEntropy}); err == nil {
		t.Error("binary cross-entropy on 10 classes accepted")
	}
}

func TestModelMustFitData(t *testing.T) {
	init := rand.New(rand.NewPCG(1, 1))
	model := nn.NewSequential[float32](nn.NewLinear[float32](100, 10, init))
	opt, _ := optim.New(train.Params[float32](model), optim.Config{Method: optim.DefaultAdam()})
	_, err := train.New[float32](model, opt, train.Data{Train: digits(t).Train}, train.Config{Epochs: 1, BatchSize: 8})
	if err == nil || !strings.Contains(err.Error(), "[1 8 8]") && !strings.Contains(err.Error(), "64") {
		t.Errorf("a model for 100 features on 64-feature data: %v", err)
	}
}

// TestStepsIndependentOfThreads trains BenchmarkTrainStep's MLPs, with
// and without batch norm, for an epoch of 128-example batches with 1, 2
// and 3 threads — the batch, the layers, the optimizer and the zeroing of
// the gradients each cut into bands of rows per worker — and checks that
// the weights end the same bit for bit.
func TestStepsIndependentOfThreads(t *testing.T) {
	defer tensor.SetThreads(0)
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(max(3, runtime.GOMAXPROCS(0))))
	set := randomSet(t, rand.New(rand.NewPCG(5, 6)), 4*128, []int{784})
	for _, bn := range []bool{false, true} {
		var want []byte
		for _, threads := range []int{1, 2, 3} {
			tensor.SetThreads(threads)
			m := benchmodels.MLP(bn, rand.New(rand.NewPCG(1, 2)))
			opt, err := optim.New(train.Params[float32](m), optim.Config{Method: optim.DefaultAdamW()})
			if err != nil {
				t.Fatal(err)
			}
			tr, err := train.New[float32](m, opt, train.Data{Train: set}, train.Config{Epochs: 1, BatchSize: 128})
			if err != nil {
				t.Fatal(err)
			}
			if err := tr.Run(context.Background()); err != nil {
				t.Fatal(err)
			}
			got := modelBytes(t, m)
			if threads == 1 {
				want = got
			} else if !bytes.Equal(got, want) {
				t.Errorf("batch norm %v: the weights after an epoch with %d threads differ from those with 1", bn, threads)
			}
		}
	}
}
