package spec_test

import (
	"encoding/json"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/descentml/descent/optim"
	"github.com/descentml/descent/optim/spec"
	"github.com/descentml/descent/schedule"
)

func TestOptimizerSpecs(t *testing.T) {
	o, err := spec.ParseOptimizer("momentum lr=0.05 beta=0.8")
	if err != nil || o.Method.(optim.SGD).Momentum != 0.8 || o.LR != 0.05 {
		t.Fatalf("momentum beta=0.8: %+v, %v", o, err)
	}
	o, err = o.Set("beta", "0.5")
	if err != nil || o.Method.(optim.SGD).Momentum != 0.5 {
		t.Errorf("Set(beta, 0.5): momentum %v, %v", o.Method.(optim.SGD).Momentum, err)
	}
	back, err := spec.ParseOptimizer(o.String())
	if err != nil || back != o {
		t.Errorf("ParseOptimizer(%q) = %+v, %v; want %+v", o.String(), back, err, o)
	}
	a, _ := spec.ParseOptimizer("adamw")
	if w := a.Method.(spec.AdamW); a.LR != 1e-3 || w.WeightDecay != 0.01 || w.Beta2 != 0.999 {
		t.Errorf("adamw defaults: %+v", a)
	}
	for s, want := range map[string]string{
		"momentum beta=0.9 momentum=0.8": "same hyperparameter",
		"adam momentum=0.9":              `no hyperparameter "momentum"`,
		"adam lr":                        "not key=value",
		"lr=0.1":                         "name comes first",
		"sgdd":                           "unknown optimizer",
		"adam beta1=2":                   "Beta1 = 2",
		"adam amsgrad=maybe":             "true or false",
	} {
		if _, err := spec.ParseOptimizer(s); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseOptimizer(%q) = %v; want an error containing %q", s, err, want)
		}
	}
}

func TestScheduleSpecs(t *testing.T) {
	s, err := spec.ParseSchedule("cosine min=1e-5 warmup=10")
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
	oc, _ := spec.ParseSchedule("onecycle")
	_, mom, err = oc.Build(0.1, 1, 100)
	if err != nil || mom == nil || mom.At(0) != 0.95 {
		t.Errorf("onecycle momentum schedule: %v, %v", mom, err)
	}
	ep, _ := spec.ParseSchedule("step size=2 gamma=0.5 unit=epoch")
	lr, _, _ = ep.Build(1, 10, 7)
	if lr.At(13) != 1 || lr.At(14) != 0.5 {
		t.Errorf("per-epoch step: At(13) = %v, At(14) = %v; want 1 then 0.5 (epoch 2 starts at step 14)", lr.At(13), lr.At(14))
	}
	// Zero is a value, not "unset": a cyclic rate from 0 stays at 0 at
	// the start, and survives a round trip through String.
	cy, err := spec.ParseSchedule("cyclic base=0 up=4")
	if err != nil {
		t.Fatal(err)
	}
	if back, _ := spec.ParseSchedule(cy.String()); back.String() != "cyclic base=0 up=4" {
		t.Errorf("round trip of %q: %q", "cyclic base=0 up=4", back.String())
	}
	if lr, _, _ = cy.Build(0.1, 1, 100); lr.At(0) != 0 || lr.At(4) != 0.1 {
		t.Errorf("cyclic base=0: At(0) = %v, At(4) = %v; want 0 and 0.1", lr.At(0), lr.At(4))
	}
	// Resolve makes every default explicit, and resolving again changes
	// nothing, whatever the run's length then.
	for _, name := range []string{"constant", "step", "multistep", "exponential", "cosine warmup=5", "restarts", "linear", "polynomial", "onecycle", "cyclic mode=exp_range", "plateau patience=0", "cosine unit=epoch"} {
		s, _ := spec.ParseSchedule(name)
		r := s.Resolve(0.1, 3, 40)
		again := r.Resolve(0.1, 30, 7)
		a, _, err1 := r.Build(0.1, 3, 40)
		b, _, err2 := again.Build(0.1, 30, 7)
		if err1 != nil || err2 != nil || r.String() != again.String() {
			t.Errorf("%s: resolved %q, again %q (%v, %v)", name, r, again, err1, err2)
			continue
		}
		for _, step := range []int{0, 1, 39, 60, 119, 200} {
			if !strings.Contains(name, "unit=epoch") && a.At(step) != b.At(step) {
				t.Errorf("%s resolved: At(%d) = %v, then %v after resolving for another length", name, step, a.At(step), b.At(step))
			}
		}
	}
	for s, want := range map[string]string{
		"cosin":                "unknown schedule",
		"cosine size=3":        `no setting "size"`,
		"plateau warmup=5":     "takes no warmup",
		"step size=x":          "whole number",
		"cyclic mode=sawtooth": "triangular",
	} {
		if _, err := spec.ParseSchedule(s); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseSchedule(%q) = %v; want an error containing %q", s, err, want)
		}
	}
}

// TestEveryOptimizer checks each name of the table: its keys have help,
// its defaults survive String and JSON, and a Set of each key to its
// default changes nothing.
func TestEveryOptimizer(t *testing.T) {
	for _, name := range spec.OptimizerNames() {
		o, err := spec.NewOptimizer(name, nil)
		if err != nil {
			t.Fatalf("NewOptimizer(%q, nil) = %v", name, err)
		}
		if spec.OptimizerDoc(name) == "" {
			t.Errorf("%s has no doc", name)
		}
		for _, k := range spec.OptimizerKeys(name) {
			if k.Help == "" || k.Default == "" {
				t.Errorf("%s: key %s has no help or default: %+v", name, k.Name, k)
			}
			if got, err := o.Set(k.Name, k.Default); err != nil || !reflect.DeepEqual(got, o) {
				t.Errorf("%s: Set(%s, %s) = %+v, %v; want %+v", name, k.Name, k.Default, got, err, o)
			}
		}
		back, err := spec.ParseOptimizer(o.String())
		if err != nil || !reflect.DeepEqual(back, o) { // LAMB and LARS hold a func: not comparable
			t.Errorf("ParseOptimizer(%q) = %+v, %v; want %+v", o.String(), back, err, o)
		}
		b, err := json.Marshal(o)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var j spec.Optimizer
		if err := json.Unmarshal(b, &j); err != nil || !reflect.DeepEqual(j, o) {
			t.Errorf("%s: JSON %s reads back as %+v, %v; want %+v", name, b, j, err, o)
		}
	}
	if lr, _ := spec.NewOptimizer("sgd", nil); lr.LR != spec.FallbackLR {
		t.Errorf("sgd's rate %v; want FallbackLR %v", lr.LR, spec.FallbackLR)
	}
}

// TestLegacyJSON reads optimizers as config.json held them before the
// vocabulary moved here: zero values were left out.
func TestLegacyJSON(t *testing.T) {
	for text, want := range map[string]string{
		`{"name":"adamw","lr":0.001,"wd":0.05,"beta1":0.9,"beta2":0.999,"eps":1e-8,"schedule_decay":true}`: "adamw lr=0.001 wd=0.05 schedule-decay=true",
		`{"name":"adamw","lr":0.001,"beta1":0.9,"beta2":0.999,"eps":1e-8}`:                                 "adamw lr=0.001 wd=0",
		`{"name":"sgd","lr":0.01}`:                                             "sgd lr=0.01",
		`{"name":"momentum","lr":0.05,"momentum":0.9}`:                         "momentum lr=0.05",
		`{"name":"nesterov","lr":0.01,"momentum":0.9,"nesterov":true}`:         "nesterov lr=0.01",
		`{"name":"rmsprop","lr":0.01,"alpha":0.99,"eps":1e-8,"centered":true}`: "rmsprop lr=0.01 centered=true",
		`{"name":"adagrad","lr":0.01,"eps":1e-10,"initial_accumulator":0.1}`:   "adagrad lr=0.01 initial-accumulator=0.1",
	} {
		var o spec.Optimizer
		if err := json.Unmarshal([]byte(text), &o); err != nil {
			t.Errorf("%s: %v", text, err)
			continue
		}
		if err := o.Validate(); err != nil || o.String() != want {
			t.Errorf("%s reads as %q (%v); want %q", text, o, err, want)
		}
	}
	for text, want := range map[string]string{
		`{"name":"adam","lr":0.001,"momentum":0.9}`:                     `no hyperparameter "momentum"`,
		`{"name":"nesterov","lr":0.01,"momentum":0.9,"nesterov":false}`: "fixes nesterov",
		`{"name":"lionn","lr":0.001}`:                                   "unknown optimizer",
		`{"lr":0.001}`:                                                  "name",
	} {
		var o spec.Optimizer
		err := json.Unmarshal([]byte(text), &o)
		if err == nil {
			err = o.Validate()
		}
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v; want an error containing %q", text, err, want)
		}
	}
}

// TestFlags checks that every key of every optimizer is a flag once, with
// the optimizers' own help.
func TestFlags(t *testing.T) {
	flags := spec.Flags()
	seen := map[string]bool{}
	for _, f := range flags {
		if seen[f.Name] {
			t.Errorf("flag %s twice", f.Name)
		}
		seen[f.Name] = true
	}
	for _, name := range spec.OptimizerNames() {
		for _, k := range spec.OptimizerKeys(name) {
			if !seen[k.Name] {
				t.Errorf("%s's key %s is no flag", name, k.Name)
			}
		}
	}
	if flags[0].Name != "lr" {
		t.Errorf("first flag %s; want lr", flags[0].Name)
	}
	for _, f := range flags {
		if f.Name == "schedule-decay" && (f.Kind != spec.Bool || !strings.Contains(f.Help, "(adamw)")) {
			t.Errorf("schedule-decay: %+v", f)
		}
	}
}

// TestAdamWScheduleDecayWithoutMultiplier builds AdamW's schedule-decay
// from a rate a caller made without Schedule.BuildRate: its decay schedule
// is the rate over the base, not a panic.
func TestAdamWScheduleDecayWithoutMultiplier(t *testing.T) {
	o, err := spec.ParseOptimizer("adamw lr=0.01 schedule-decay=true")
	if err != nil {
		t.Fatal(err)
	}
	cos := schedule.Cosine{Base: 0.01, TMax: 10}
	m, ok := o.Build(spec.Rate{Schedule: cos, Base: 0.01}).(optim.AdamW)
	if !ok || m.DecaySchedule == nil {
		t.Fatalf("built %#v; want an optim.AdamW with a decay schedule", m)
	}
	if got, want := m.DecaySchedule.At(5), cos.At(5)/0.01; math.Abs(got-want) > 1e-15 {
		t.Errorf("decay multiplier half-way down a cosine: %v; want %v", got, want)
	}
}
