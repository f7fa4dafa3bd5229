package spec_test

import (
	"math"
	"strings"
	"testing"

	"github.com/descentml/descent/optim"
	"github.com/descentml/descent/optim/spec"
	"github.com/descentml/descent/schedule"
)

func TestAverageSpecs(t *testing.T) {
	for s, want := range map[string]string{
		"ema":                     "ema decay=0.999",
		"ema decay=0.99 start=10": "ema decay=0.99 start=10",
		"swa":                     "swa start=0",
		"swa start=30 lr=0.05":    "swa start=30 lr=0.05 anneal=10 strategy=cos",
		"SWA lr=0 anneal=0":       "swa start=0 lr=0 anneal=0 strategy=cos",
		"swa anneal=3 strategy=linear lr=1e-3 start=2": "swa start=2 lr=0.001 anneal=3 strategy=linear",
	} {
		a, err := spec.ParseAverage(s)
		if err != nil {
			t.Errorf("ParseAverage(%q): %v", s, err)
			continue
		}
		if got := a.Resolve().String(); got != want {
			t.Errorf("ParseAverage(%q).Resolve().String() = %q; want %q", s, got, want)
		}
		back, err := spec.ParseAverage(a.Resolve().String())
		if err != nil || back.Resolve().String() != want {
			t.Errorf("ParseAverage(%q) = %v, %v; want it back", want, back, err)
		}
	}
	for s, want := range map[string]string{
		"":                           "empty",
		"sma":                        `unknown average "sma"`,
		"ema lr=0.1":                 `ema has no setting "lr"`,
		"swa decay=0.9":              `swa has no setting "decay"`,
		"ema decay=1":                "Averaging.Decay = 1",
		"swa start=-1":               "start=-1: want a whole number ≥ 0",
		"swa lr=-0.1":                "lr=-0.1: want a finite rate ≥ 0",
		"swa lr=inf":                 "want a finite number",
		"swa lr=0.1 anneal=-2":       "anneal=-2",
		"swa lr=0.1 strategy=cosine": "strategy=cosine: want cos or linear",
		"swa anneal=5":               "give lr too",
		"swa start":                  "not key=value",
	} {
		if _, err := spec.ParseAverage(s); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseAverage(%q) = %v; want an error containing %q", s, err, want)
		}
	}
}

// TestAverageRate checks SWA's rate as PyTorch's loop makes it: the
// schedule's rate until start units, then SWALR's from the schedule's rate
// there, in steps and in epochs (each value held for an epoch), its
// multiplier switched alike, and the averaging's start in steps.
func TestAverageRate(t *testing.T) {
	a, err := spec.ParseAverage("swa start=4 lr=0.01 anneal=2 strategy=linear")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		unit      string
		unitSteps int
	}{{"step", 1}, {"epoch", 3}} {
		s := spec.Schedule{Name: "cosine", TMax: 10, Unit: tc.unit}
		r, _, err := s.BuildRate(0.1, 10, 3)
		if err != nil {
			t.Fatal(err)
		}
		sw, err := a.Rate(r, tc.unitSteps)
		if err != nil {
			t.Fatal(err)
		}
		from := schedule.Cosine{Base: 0.1, TMax: 10}.At(4)
		// unit u: cosine before 4, then From, the middle, To, To.
		want := []float64{0.1, 0, 0, 0, from, (from + 0.01) / 2, 0.01, 0.01}
		for u := range want {
			if u < 4 {
				want[u] = schedule.Cosine{Base: 0.1, TMax: 10}.At(u)
			}
			for i := range tc.unitSteps {
				step := u*tc.unitSteps + i
				if got := sw.Schedule.At(step); math.Abs(got-want[u]) > 1e-15 {
					t.Errorf("%s: rate At(%d) = %v; want %v", tc.unit, step, got, want[u])
				}
				if got := sw.Multiplier.At(step); math.Abs(got-want[u]/0.1) > 1e-14 {
					t.Errorf("%s: multiplier At(%d) = %v; want %v", tc.unit, step, got, want[u]/0.1)
				}
			}
		}
		if got := a.Averaging(tc.unitSteps); got != (optim.Averaging{Start: 4 * tc.unitSteps}) {
			t.Errorf("%s: Averaging = %+v; want SWA from step %d", tc.unit, got, 4*tc.unitSteps)
		}
	}
	none, _ := spec.ParseAverage("swa start=4")
	r := spec.ConstantRate(0.1)
	if got, err := none.Rate(r, 1); err != nil || got.Schedule != r.Schedule {
		t.Errorf("swa without lr: Rate = %+v, %v; want the schedule unchanged", got, err)
	}
	p, _, _ := spec.Schedule{Name: "plateau"}.BuildRate(0.1, 10, 3)
	if _, err := a.Rate(p, 1); err == nil || !strings.Contains(err.Error(), "reduce-on-plateau") {
		t.Errorf("swa lr= on a plateau schedule: %v; want an error", err)
	}
}
