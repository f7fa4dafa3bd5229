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

// FuzzParseOptimizer checks that no --opt spec makes ParseOptimizer panic,
// and that a spec it accepts validates, is written by String and by JSON
// (config.json) as text that reads back to the same optimizer, and builds
// an optimizer that takes a step.
func FuzzParseOptimizer(f *testing.F) {
	for _, s := range []string{
		"adamw", "adamw lr=1e-3 wd=0.05", "momentum lr=0.05 beta=0.9", "nesterov lr=0.1 momentum=0.95 wd=5e-4",
		"sgd lr=0.1 momentum=0.9 nesterov=true dampening=0", "adam lr=3e-4 amsgrad=true eps=1e-6", "rmsprop centered=true alpha=0.9",
		"lion lr=1e-4 beta1=0.95", "muon lr=0.02 adamw-lr=3e-4", "prodigy lr=1", "soap", "lamb", "lars", "sf-adamw warmup=10",
		"ADAMW LR=1E-3 Weight_Decay=0.1", "adamw lr=-1", "adamw lr=NaN", "adamw wd=0.1 weight-decay=0.2", "lr=1 adamw", "adamw lr",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		o, err := spec.ParseOptimizer(s)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "spec: ") && !strings.HasPrefix(err.Error(), "optim: ") {
				t.Fatalf("ParseOptimizer(%q): error %q lacks the package prefix", s, err)
			}
			return
		}
		if err := o.Validate(); err != nil {
			t.Fatalf("ParseOptimizer(%q) = %v, which does not validate: %v", s, o, err)
		}
		back, err := spec.ParseOptimizer(o.String())
		if err != nil || !reflect.DeepEqual(back, o) {
			t.Fatalf("ParseOptimizer(%q) = %+v; its String %q reads as %+v, %v", s, o, o.String(), back, err)
		}
		b, err := json.Marshal(o)
		if err != nil {
			t.Fatalf("ParseOptimizer(%q) = %+v, which JSON cannot write: %v", s, o, err)
		}
		var j spec.Optimizer
		if err := json.Unmarshal(b, &j); err != nil || !reflect.DeepEqual(j, o) {
			t.Fatalf("ParseOptimizer(%q) = %+v; its JSON %s reads as %+v, %v", s, o, b, j, err)
		}
		step(t, s, o)
	})
}

// FuzzOptimizerJSON checks that no config.json "optimizer" object makes
// UnmarshalJSON panic, and that one it reads that validates is written
// again as JSON that reads back the same.
func FuzzOptimizerJSON(f *testing.F) {
	for _, s := range []string{"adamw", "sgd lr=0.1 momentum=0.9", "muon", "momentum", "sf-sgd"} {
		o, err := spec.ParseOptimizer(s)
		if err != nil {
			f.Fatal(err)
		}
		b, _ := json.Marshal(o)
		f.Add(b)
	}
	f.Add([]byte(`{"name":"adam","lr":0.001,"beta1":0.9}`))        // a legacy file: the others are zero
	f.Add([]byte(`{"name":"momentum","lr":0.05,"nesterov":true}`)) // a fixed field at another value
	f.Add([]byte(`{"name":"adamw","lr":1e999}`))
	f.Add([]byte(`{"name":"sgd","momentum":"0.9"}`))
	f.Add([]byte(`{"name":"nope"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var o spec.Optimizer
		if err := json.Unmarshal(b, &o); err != nil || o.Validate() != nil {
			return
		}
		again, err := json.Marshal(o)
		if err != nil {
			t.Fatalf("%s reads as %+v, which JSON cannot write: %v", b, o, err)
		}
		var o2 spec.Optimizer
		if err := json.Unmarshal(again, &o2); err != nil || !reflect.DeepEqual(o2, o) {
			t.Fatalf("%s reads as %+v; written as %s it reads as %+v, %v", b, o, again, o2, err)
		}
		if back, err := spec.ParseOptimizer(o.String()); err != nil || !reflect.DeepEqual(back, o) {
			t.Fatalf("%s reads as %+v; its spec %q reads as %+v, %v", b, o, o.String(), back, err)
		}
	})
}

// step builds o for a parameter of 6 values and takes one step with a
// finite gradient: a validated optimizer must not fail or panic there, and
// must leave the parameter finite. Muon, which needs its routing, only
// builds.
func step(t *testing.T, s string, o spec.Optimizer) {
	t.Helper()
	if o.Name == "muon" {
		return
	}
	p := optim.Param[float64]{Name: "w", Shape: []int{2, 3}, Value: []float64{1, -2, 0.5, 0, 3, -1}, Grad: []float64{0.1, 0.2, -0.3, 0, 1, -1}}
	opt, err := optim.New([]optim.Param[float64]{p}, optim.Config{Method: o.Build(spec.Rate{Schedule: schedule.Constant(o.LR), Base: o.LR}), LR: schedule.Constant(o.LR)})
	if err != nil {
		t.Fatalf("ParseOptimizer(%q) = %v, which optim.New refuses: %v", s, o, err)
	}
	if err := opt.Step(); err != nil {
		t.Fatalf("ParseOptimizer(%q) = %v, whose first step fails: %v", s, o, err)
	}
	for i, v := range p.Value {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			t.Fatalf("ParseOptimizer(%q) = %v: value %d is %v after a step", s, o, i, v)
		}
	}
}

// FuzzParseSchedule checks that no --schedule spec makes ParseSchedule
// panic, and that a spec it accepts is written by String and by JSON as
// text that reads back the same, and either builds for a run, giving
// rates ≥ 0 (+Inf allowed: a growing exponential overflows, as its math
// says), or is refused with an error.
func FuzzParseSchedule(f *testing.F) {
	for _, s := range []string{
		"constant", "cosine min=1e-5", "step size=10 gamma=0.5", "multistep milestones=2,5 gamma=0.1", "exponential gamma=0.9",
		"restarts t0=3 mult=2", "linear start=0.1 end=1 steps=4", "polynomial power=2", "onecycle max=0.1 pct_start=0.25",
		"cyclic base=0.001 max=0.1 up=2 mode=exp_range gamma=0.99", "plateau factor=0.5 patience=0", "cosine unit=epoch warmup=2",
		"onecycle warmup=1", "cyclic mode=sawtooth", "step size=-1", "multistep milestones=5,2", "cosine min=NaN", "exponential gamma=1e300",
		"cosine min=-1", "restarts t0=3 mult=4611686018427387904", // found by fuzzing: a NaN or negative rate; a hang
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sc, err := spec.ParseSchedule(s)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "spec: ") {
				t.Fatalf("ParseSchedule(%q): error %q lacks the spec: prefix", s, err)
			}
			return
		}
		if back, err := spec.ParseSchedule(sc.String()); err != nil || back.String() != sc.String() {
			t.Fatalf("ParseSchedule(%q) = %q, which reads back as %q, %v", s, sc, back, err)
		}
		b, err := json.Marshal(sc)
		if err != nil {
			t.Fatalf("ParseSchedule(%q) = %q, which JSON cannot write: %v", s, sc, err)
		}
		var j spec.Schedule
		if err := json.Unmarshal(b, &j); err != nil || j.String() != sc.String() {
			t.Fatalf("ParseSchedule(%q) = %q; its JSON %s reads as %q, %v", s, sc, b, j, err)
		}
		const lr, epochs, steps = 0.1, 3, 4
		lrs, mom, err := sc.Build(lr, epochs, steps)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "spec: ") {
				t.Fatalf("%q.Build: error %q lacks the spec: prefix", s, err)
			}
			return
		}
		for step := range epochs*steps + 1 {
			if v := lrs.At(step); !(v >= 0) {
				t.Fatalf("ParseSchedule(%q) builds a schedule whose rate at step %d is %v", s, step, v)
			}
			if mom != nil {
				if v := mom.At(step); !(v >= 0 && v <= 1) {
					t.Fatalf("ParseSchedule(%q) builds a momentum schedule whose value at step %d is %v", s, step, v)
				}
			}
		}
	})
}
