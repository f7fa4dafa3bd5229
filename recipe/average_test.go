package recipe_test

import (
	"bytes"
	"context"
	"errors"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/descentml/descent/nn"
	"github.com/descentml/descent/optim/spec"
	"github.com/descentml/descent/recipe"
	"github.com/descentml/descent/schedule"
	"github.com/descentml/descent/train"
)

// swaRecipe is a short run on the digits, an MLP with batch normalization
// (whose statistics are recomputed for the averaged model), with a cosine
// schedule in unit and the given average of the weights.
func swaRecipe(average, unit string) recipe.Recipe {
	r := recipe.Default()
	r.Model, _ = recipe.ParseModel("mlp:32")
	r.Model.BatchNorm = true
	r.Epochs, r.Batch = 3, 64
	r.Schedule = spec.Schedule{Name: "cosine", Unit: unit}
	r.Average = average
	return r
}

// TestSWALRInARun checks the rate each step of a run uses with --average
// "swa … lr=…": the schedule's until start, then SWALR's from the
// schedule's rate there, counting steps or epochs as the schedule does;
// and that config.json's recipe writes SWALR's defaults out.
func TestSWALRInARun(t *testing.T) {
	splits := digitsSplits(t)
	n := splits.Train.Len()
	for _, tc := range []struct {
		average, unit, resolved string
		start, anneal           int
	}{
		{"swa start=30 lr=0.01 anneal=5 strategy=linear", "step", "swa start=30 lr=0.01 anneal=5 strategy=linear", 30, 5},
		{"swa start=1 lr=0.01", "epoch", "swa start=1 lr=0.01 anneal=10 strategy=cos", 1, 10},
	} {
		r := swaRecipe(tc.average, tc.unit)
		if got := r.Resolve(n).Average; got != tc.resolved {
			t.Errorf("%q: resolved %q; want %q", tc.average, got, tc.resolved)
		}
		spe := r.StepsPerEpoch(n)
		unit, units := 1, 3*spe
		if tc.unit == "epoch" {
			unit, units = spe, 3
		}
		base := schedule.Cosine{Base: r.Optimizer.LR, TMax: units}
		swa := schedule.SWALR{From: base.At(tc.start), To: 0.01, Anneal: tc.anneal, Linear: tc.unit == "step"}
		var got []float64
		run, err := r.Build(splits, train.Config{OnBatch: func(b train.Batch) { got = append(got, b.LR) }})
		if err != nil {
			t.Fatal(err)
		}
		if err := run.Trainer.Run(t.Context()); err != nil {
			t.Fatal(err)
		}
		if len(got) != 3*spe {
			t.Fatalf("%q (%s): %d steps; want %d", tc.average, tc.unit, len(got), 3*spe)
		}
		for step, lr := range got {
			u := step / unit
			want := base.At(u)
			if u >= tc.start {
				want = swa.At(u - tc.start)
			}
			if math.Abs(lr-want) > 1e-15 {
				t.Errorf("%q (%s): step %d used rate %v; want %v", tc.average, tc.unit, step, lr, want)
			}
		}
	}
}

// TestAverageValidated checks that bad --average values are refused
// before any training, by Validate.
func TestAverageValidated(t *testing.T) {
	for _, tc := range []struct{ average, schedule, want string }{
		{"swa lr=-1", "constant", "lr=-1: want a finite rate ≥ 0"},
		{"swa anneal=3", "constant", "give lr too"},
		{"swa lr=0.1 strategy=step", "constant", "want cos or linear"},
		{"ema lr=0.1", "constant", `ema has no setting "lr"`},
		{"swa lr=0.1", "plateau", "plateau schedule's rate"},
	} {
		r := recipe.Default()
		r.Average, r.Schedule = tc.average, spec.Schedule{Name: tc.schedule}
		if err := r.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("--average %q --schedule %s: %v; want an error containing %q", tc.average, tc.schedule, err, tc.want)
		}
	}
}

// TestSWAResumeCrossingStart interrupts a run whose SWA (and SWALR's rate)
// starts at step 30, once before the start and once during the anneal, and
// checks that each resumed run ends bit for bit as the uninterrupted one:
// the trained weights, and every epoch's rate and validation loss (taken
// on the average, its batch-norm statistics recomputed).
func TestSWAResumeCrossingStart(t *testing.T) {
	if testing.Short() {
		t.Skip("trains three runs")
	}
	splits := digitsSplits(t)
	r := swaRecipe("swa start=30 lr=0.01 anneal=5", "step")
	dir := t.TempDir()
	whole, err := r.Build(splits, train.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if err := whole.Trainer.Run(t.Context()); err != nil {
		t.Fatal(err)
	}
	want := modelBytes(t, whole.Model)
	for _, stop := range []int{25, 33} {
		ckpt := filepath.Join(dir, "ckpt")
		ctx, cancel := context.WithCancel(t.Context())
		first, err := r.Build(splits, train.Config{Checkpoint: ckpt, OnBatch: func(b train.Batch) {
			if b.Step == stop {
				cancel()
			}
		}})
		if err != nil {
			t.Fatal(err)
		}
		if err := first.Trainer.Run(ctx); !errors.Is(err, context.Canceled) {
			t.Fatalf("stopped at step %d: %v", stop, err)
		}
		second, err := r.Build(splits, train.Config{Checkpoint: ckpt})
		if err != nil {
			t.Fatal(err)
		}
		if err := second.Trainer.Resume(ckpt); err != nil {
			t.Fatal(err)
		}
		if err := second.Trainer.Run(t.Context()); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(modelBytes(t, second.Model), want) {
			t.Errorf("stopped at step %d: the resumed run's weights differ from the uninterrupted run's", stop)
		}
		for i, e := range second.Trainer.History() {
			w := whole.Trainer.History()[i]
			if e.LR != w.LR || e.ValLoss != w.ValLoss || e.Step != w.Step {
				t.Errorf("stopped at step %d: epoch %d: step %d, rate %v, val loss %v; uninterrupted %d, %v, %v", stop, i+1, e.Step, e.LR, e.ValLoss, w.Step, w.LR, w.ValLoss)
			}
		}
	}
}

func modelBytes(t *testing.T, m *nn.Sequential[float32]) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := nn.Save(&b, nn.Module[float32](m)); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}
