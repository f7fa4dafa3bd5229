package train_test

import (
	"context"
	"encoding/json"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/descentml/descent/nn"
	"github.com/descentml/descent/optim"
	"github.com/descentml/descent/schedule"
	"github.com/descentml/descent/train"
)

// TestDiagnosticsSGD trains with plain SGD, one step an epoch (the whole
// training set a batch), so that the last step of epoch 2 is θ ← θ − η·g:
// Σ over tensors of (ratio·‖θ‖)² must be η²‖g‖², with ‖g‖ the epoch's
// gradient norm and θ the weights after epoch 1.
func TestDiagnosticsSGD(t *testing.T) {
	const eta = 0.05
	splits := digits(t)
	var m *nn.Sequential[float32] // set by build, before the run
	after1 := map[string][]float32{}
	s := setup{method: optim.SGD{}, lr: func(int) schedule.Schedule { return schedule.Constant(eta) }, splits: splits,
		cfg: train.Config{Epochs: 2, BatchSize: splits.Train.Len(), Seed: 1, OnEpoch: func(e train.Epoch) error {
			for _, p := range m.Params() {
				if e.Epoch == 1 {
					after1[p.Name] = slices.Clone(p.Value)
				}
			}
			return nil
		}}}
	tr, model := s.build(t)
	m = model
	if err := tr.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	d := tr.History()[1].Diagnostics
	if d.GradNormMean != d.GradNormMax || !(d.GradNormMean > 0) || !math.IsNaN(d.ClipFraction) {
		t.Fatalf("epoch 2 of one step: diagnostics %+v; want mean = max > 0 and no clip fraction", d)
	}
	sum := 0.0
	for _, p := range m.Params() {
		r, ok := d.UpdateRatio[p.Name]
		if !ok {
			t.Fatalf("UpdateRatio lacks %s: %v", p.Name, d.UpdateRatio)
		}
		n := 0.0
		for _, v := range after1[p.Name] {
			n += float64(v) * float64(v)
		}
		sum += r * r * n
	}
	if want := eta * eta * d.GradNormMean * d.GradNormMean; math.Abs(sum-want) > 1e-3*want {
		t.Errorf("Σ (ratio·‖θ‖)² = %v; want η²‖g‖² = %v", sum, want)
	}
	if d.Optimizer != nil {
		t.Errorf("SGD's signals: %v; want none", d.Optimizer)
	}
}

// TestDiagnosticsClipping checks the fraction of steps clipped: all of
// them below every gradient's norm, none far above.
func TestDiagnosticsClipping(t *testing.T) {
	splits := digits(t)
	for _, c := range []struct {
		clip float64
		want float64
	}{{1e-6, 1}, {1e6, 0}} {
		s := setup{method: optim.DefaultAdamW(), splits: splits, clipNorm: c.clip, cfg: train.Config{Epochs: 1, BatchSize: 100, Seed: 1}}
		tr, _ := s.build(t)
		if err := tr.Run(context.Background()); err != nil {
			t.Fatal(err)
		}
		d := tr.History()[0].Diagnostics
		if d.ClipFraction != c.want || !(d.GradNormMax >= d.GradNormMean && d.GradNormMean > 0) {
			t.Errorf("clip-norm %g: diagnostics %+v; want clip fraction %v, max ≥ mean > 0", c.clip, d, c.want)
		}
	}
}

// TestDiagnosticsSignals checks that the optimizers' own signals reach the
// epoch: Schedule-Free's c = 1/t after t steps at a constant rate, and
// Prodigy's d in ProdigyD, not twice.
func TestDiagnosticsSignals(t *testing.T) {
	splits := digits(t)
	s := setup{method: optim.DefaultScheduleFreeAdamW(), splits: splits, cfg: train.Config{Epochs: 1, BatchSize: 100, Seed: 1}}
	tr, _ := s.build(t)
	if err := tr.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	e := tr.History()[0]
	if got, want := e.Optimizer["sf_c"], 1/float64(e.Step); math.Abs(got-want) > 1e-6*want { // c is a float32
		t.Errorf("Schedule-Free after %d steps: sf_c = %v; want %v", e.Step, got, want)
	}
	s.method = optim.DefaultProdigy()
	tr, _ = s.build(t)
	if err := tr.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if e := tr.History()[0]; !(e.ProdigyD > 0) || e.Optimizer != nil {
		t.Errorf("Prodigy: ProdigyD %v, signals %v; want d > 0 in ProdigyD alone", e.ProdigyD, e.Optimizer)
	}
}

// An epoch's diagnostics go through metrics.jsonl and back; a line from
// before they were recorded reads as NaN and nil.
func TestDiagnosticsJSON(t *testing.T) {
	e := train.Epoch{Epoch: 1, Step: 10, LR: 1e-3, TrainLoss: 1, TrainAccuracy: 0.5, ValLoss: math.NaN(), ValAccuracy: math.NaN(), Seconds: 1,
		Diagnostics: train.Diagnostics{GradNormMean: 2, GradNormMax: 3, ClipFraction: 0.25,
			UpdateRatio: map[string]float64{"1.weight": 1e-3}, Optimizer: map[string]float64{"sf_c": 0.1}}}
	b, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{`"grad_norm_mean":2`, `"grad_norm_max":3`, `"clip_fraction":0.25`, `"update_ratio":{"1.weight":0.001}`, `"optimizer":{"sf_c":0.1}`} {
		if !strings.Contains(string(b), k) {
			t.Errorf("json.Marshal(epoch) = %s; want %s in it", b, k)
		}
	}
	var back train.Epoch
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back.GradNormMean != 2 || back.GradNormMax != 3 || back.ClipFraction != 0.25 || back.UpdateRatio["1.weight"] != 1e-3 || back.Optimizer["sf_c"] != 0.1 {
		t.Errorf("read back: %+v; want %+v", back.Diagnostics, e.Diagnostics)
	}
	var old train.Epoch
	if err := json.Unmarshal([]byte(`{"epoch":1,"step":10,"lr":0.001,"train_loss":1,"train_accuracy":0.5,"val_loss":null,"val_accuracy":null,"seconds":1}`), &old); err != nil {
		t.Fatal(err)
	}
	if !math.IsNaN(old.GradNormMean) || !math.IsNaN(old.GradNormMax) || !math.IsNaN(old.ClipFraction) || old.UpdateRatio != nil {
		t.Errorf("an old line reads as %+v; want NaNs and nil", old.Diagnostics)
	}
}

// A ratio, an optimizer's signal or Prodigy's d beyond float64's range
// goes into metrics.jsonl as null (left out, for d), not as an error that
// would stop the run, and reads back as NaN (0 for d); as SeqMetrics.
func TestDiagnosticsJSONNotFinite(t *testing.T) {
	inf := math.Inf(1)
	d := train.Diagnostics{GradNormMean: inf, GradNormMax: inf, ClipFraction: math.NaN(),
		UpdateRatio: map[string]float64{"1.weight": inf, "1.bias": 0.5}, Optimizer: map[string]float64{"prodigy_d": math.NaN()}}
	for _, v := range []any{
		train.Epoch{Epoch: 1, Step: 10, LR: 1e-3, TrainLoss: 1, ValLoss: math.NaN(), ProdigyD: inf, Diagnostics: d},
		train.SeqMetrics{Step: 10, Diagnostics: d},
	} {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatalf("json.Marshal(%T with infinite diagnostics): %v", v, err)
		}
		for _, k := range []string{`"update_ratio":{"1.bias":0.5,"1.weight":null}`, `"optimizer":{"prodigy_d":null}`} {
			if !strings.Contains(string(b), k) {
				t.Errorf("json.Marshal(%T) = %s; want %s in it", v, b, k)
			}
		}
		if strings.Contains(string(b), `"prodigy_d":+`) || strings.Contains(string(b), `"grad_norm_mean"`) {
			t.Errorf("json.Marshal(%T) = %s; want no infinite d and no norm", v, b)
		}
		var back train.Diagnostics
		switch v.(type) {
		case train.Epoch:
			var e train.Epoch
			err = json.Unmarshal(b, &e)
			back = e.Diagnostics
			if e.ProdigyD != 0 {
				t.Errorf("ProdigyD read back as %v; want 0 (left out)", e.ProdigyD)
			}
		case train.SeqMetrics:
			var m train.SeqMetrics
			err = json.Unmarshal(b, &m)
			back = m.Diagnostics
		}
		if err != nil {
			t.Fatal(err)
		}
		if !math.IsNaN(back.UpdateRatio["1.weight"]) || back.UpdateRatio["1.bias"] != 0.5 || !math.IsNaN(back.Optimizer["prodigy_d"]) {
			t.Errorf("%T read back: %+v; want NaN for null", v, back)
		}
	}
}
