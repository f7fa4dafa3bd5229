package recipe_test

import (
	"math"
	"strings"
	"testing"

	"github.com/descentml/descent/data"
	"github.com/descentml/descent/nn"
	"github.com/descentml/descent/recipe"
	"github.com/descentml/descent/train"
)

func TestOptimizerSpecs(t *testing.T) {
	o, err := recipe.ParseOptimizer("momentum lr=0.05 beta=0.8")
	if err != nil || o.Momentum != 0.8 || o.LR != 0.05 {
		t.Fatalf("momentum beta=0.8: %+v, %v", o, err)
	}
	o, err = o.Set("beta", "0.5")
	if err != nil || o.Momentum != 0.5 {
		t.Errorf("Set(beta, 0.5): momentum %v, %v", o.Momentum, err)
	}
	back, err := recipe.ParseOptimizer(o.String())
	if err != nil || back != o {
		t.Errorf("ParseOptimizer(%q) = %+v, %v; want %+v", o.String(), back, err, o)
	}
	a, _ := recipe.ParseOptimizer("adamw")
	if a.LR != 1e-3 || a.WeightDecay != 0.01 || a.Beta2 != 0.999 {
		t.Errorf("adamw defaults: %+v", a)
	}
	for spec, want := range map[string]string{
		"momentum beta=0.9 momentum=0.8": "same hyperparameter",
		"adam momentum=0.9":              `no hyperparameter "momentum"`,
		"adam lr":                        "not key=value",
		"lr=0.1":                         "name comes first",
		"sgdd":                           "unknown optimizer",
		"adam beta1=2":                   "Beta1 = 2",
		"adam amsgrad=maybe":             "true or false",
	} {
		if _, err := recipe.ParseOptimizer(spec); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseOptimizer(%q) = %v; want an error containing %q", spec, err, want)
		}
	}
}

func TestScheduleSpecs(t *testing.T) {
	s, err := recipe.ParseSchedule("cosine min=1e-5 warmup=10")
	if err != nil {
		t.Fatal(err)
	}
	lr, mom, err := s.Build(0.1, 2, 50)
	if err != nil || mom != nil {
		t.Fatal(err)
	}
	if got := lr.At(0); math.Abs(got-0.01) > 1e-15 {
		t.Errorf("warmup start %v; want 0.01", got)
	}
	if got := lr.At(10); math.Abs(got-0.1) > 1e-15 {
		t.Errorf("after warmup %v; want 0.1", got)
	}
	if got := lr.At(100); got > 1.1e-5 || got < 1e-5 {
		t.Errorf("end of cosine %v; want 1e-5", got)
	}
	oc, _ := recipe.ParseSchedule("onecycle")
	_, mom, err = oc.Build(0.1, 1, 100)
	if err != nil || mom == nil || mom.At(0) != 0.95 {
		t.Errorf("onecycle momentum schedule: %v, %v", mom, err)
	}
	ep, _ := recipe.ParseSchedule("step size=2 gamma=0.5 unit=epoch")
	lr, _, _ = ep.Build(1, 10, 7)
	if lr.At(13) != 1 || lr.At(14) != 0.5 {
		t.Errorf("per-epoch step: At(13) = %v, At(14) = %v; want 1 then 0.5 (epoch 2 starts at step 14)", lr.At(13), lr.At(14))
	}
	// Zero is a value, not "unset": a cyclic rate from 0 stays at 0 at
	// the start, and survives a round trip through String.
	cy, err := recipe.ParseSchedule("cyclic base=0 up=4")
	if err != nil {
		t.Fatal(err)
	}
	if back, _ := recipe.ParseSchedule(cy.String()); back.String() != "cyclic base=0 up=4" {
		t.Errorf("round trip of %q: %q", "cyclic base=0 up=4", back.String())
	}
	if lr, _, _ = cy.Build(0.1, 1, 100); lr.At(0) != 0 || lr.At(4) != 0.1 {
		t.Errorf("cyclic base=0: At(0) = %v, At(4) = %v; want 0 and 0.1", lr.At(0), lr.At(4))
	}
	// Resolve makes every default explicit, and resolving again changes
	// nothing, whatever the run's length then.
	for _, spec := range []string{"constant", "step", "multistep", "exponential", "cosine warmup=5", "restarts", "linear", "polynomial", "onecycle", "cyclic mode=exp_range", "plateau patience=0", "cosine unit=epoch"} {
		s, _ := recipe.ParseSchedule(spec)
		r := s.Resolve(0.1, 3, 40)
		again := r.Resolve(0.1, 30, 7)
		a, _, err1 := r.Build(0.1, 3, 40)
		b, _, err2 := again.Build(0.1, 30, 7)
		if err1 != nil || err2 != nil || r.String() != again.String() {
			t.Errorf("%s: resolved %q, again %q (%v, %v)", spec, r, again, err1, err2)
			continue
		}
		for _, step := range []int{0, 1, 39, 60, 119, 200} {
			if !strings.Contains(spec, "unit=epoch") && a.At(step) != b.At(step) {
				t.Errorf("%s resolved: At(%d) = %v, then %v after resolving for another length", spec, step, a.At(step), b.At(step))
			}
		}
	}
	for spec, want := range map[string]string{
		"cosin":                "unknown schedule",
		"cosine size=3":        `no setting "size"`,
		"plateau warmup=5":     "takes no warmup",
		"step size=x":          "whole number",
		"cyclic mode=sawtooth": "triangular",
	} {
		if _, err := recipe.ParseSchedule(spec); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseSchedule(%q) = %v; want an error containing %q", spec, err, want)
		}
	}
}

func TestModelSpecs(t *testing.T) {
	m, err := recipe.ParseModel("mlp:32,16")
	if err != nil || m.String() != "mlp:32,16" {
		t.Fatalf("%+v %v", m, err)
	}
	net, _, _, err := m.Build([]int{1, 8, 8}, 10, 1)
	if err != nil || len(net.Params()) != 6 {
		t.Errorf("mlp:32,16 on 8×8 images: %v params, %v", len(net.Params()), err)
	}
	cnn, _ := recipe.ParseModel("cnn")
	if _, _, _, err := cnn.Build([]int{64}, 10, 1); err == nil || !strings.Contains(err.Error(), "needs images") {
		t.Errorf("cnn on table rows: %v", err)
	}
	if _, _, _, err := cnn.Build([]int{1, 8, 8}, 10, 1); err != nil {
		t.Errorf("cnn on 8×8 digits: %v", err)
	}
	lg, _ := recipe.ParseModel("logistic")
	if _, _, _, err := lg.Build([]int{4}, 3, 1); err == nil || !strings.Contains(err.Error(), "2 classes") {
		t.Errorf("logistic on 3 classes: %v", err)
	}
	for _, spec := range []string{"mlp:0", "mlp:a", "cnn:3", "resnet"} {
		if _, err := recipe.ParseModel(spec); err == nil {
			t.Errorf("ParseModel(%q) succeeded", spec)
		}
	}
}

// TestScheduleDecay checks the paper's AdamW: with a constant schedule the
// decay is λ per step, not lr·λ.
func TestScheduleDecay(t *testing.T) {
	splits := digitsSplits(t)
	final := func(spec string) float32 {
		r := recipe.Default()
		r.Optimizer, _ = recipe.ParseOptimizer(spec)
		r.Epochs = 1
		run, err := r.Build(splits, train.Config{})
		if err != nil {
			t.Fatal(err)
		}
		nn.ZeroGrad(run.Model.Params())
		if err := run.Optimizer.Step(); err != nil { // zero gradient: only the decay moves the weights
			t.Fatal(err)
		}
		return run.Model.Params()[0].Value[0]
	}
	w0 := final("adamw lr=0.01 wd=0")
	paper := final("adamw lr=0.01 wd=0.1 schedule-decay=true")
	torch := final("adamw lr=0.01 wd=0.1")
	if want := w0 * (1 - 0.1); math.Abs(float64(paper-want)) > 1e-7 {
		t.Errorf("paper AdamW after one step: %v; want %v (decay λ = 0.1)", paper, want)
	}
	if want := w0 * (1 - 0.01*0.1); math.Abs(float64(torch-want)) > 1e-7 {
		t.Errorf("PyTorch AdamW after one step: %v; want %v (decay lr·λ = 0.001)", torch, want)
	}
}

func digitsSplits(t *testing.T) *data.Splits {
	s, err := recipe.Default().LoadData(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestBatchNormDropsABatchOfOne trains one epoch whose last batch would hold
// a single example: an MLP with batch normalization leaves it out (one step
// fewer) and trains; a model without 1-d batch normalization keeps it.
func TestBatchNormDropsABatchOfOne(t *testing.T) {
	splits := digitsSplits(t)
	n := splits.Train.Len()
	for _, tc := range []struct {
		model string
		bn    bool
		steps int
	}{
		{"mlp:32", true, 1},
		{"mlp:32", false, 2},
		{"linear", true, 2},
	} {
		r := recipe.Default()
		r.Model, _ = recipe.ParseModel(tc.model)
		r.Model.BatchNorm = tc.bn
		r.Epochs, r.Batch = 1, n-1 // n = (n−1) + 1
		if got := r.StepsPerEpoch(n); got != tc.steps {
			t.Errorf("%s batchnorm=%v: StepsPerEpoch = %d; want %d", tc.model, tc.bn, got, tc.steps)
		}
		run, err := r.Build(splits, train.Config{})
		if err != nil {
			t.Fatal(err)
		}
		if err := run.Trainer.Run(t.Context()); err != nil {
			t.Errorf("%s batchnorm=%v: %v", tc.model, tc.bn, err)
		} else if run.Trainer.Step() != tc.steps {
			t.Errorf("%s batchnorm=%v: %d steps in the epoch; want %d", tc.model, tc.bn, run.Trainer.Step(), tc.steps)
		}
	}
}
