package schedule_test

import (
	"math"
	"strings"
	"testing"

	"github.com/descentml/descent/schedule"
)

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-12*(1+math.Abs(b)) }

func TestValues(t *testing.T) {
	three := schedule.DefaultOneCycle(1, 100)
	three.ThreePhase = true
	tri2 := schedule.DefaultCyclic(0, 1)
	tri2.Up, tri2.Mode = 2, schedule.Triangular2
	exp := schedule.DefaultCyclic(0, 1)
	exp.Up, exp.Mode, exp.Gamma = 2, schedule.ExpRange, 0.5
	for _, tc := range []struct {
		name string
		s    schedule.Schedule
		t    int
		want float64
	}{
		{"step before decay", schedule.Step{Base: 1, Size: 3, Gamma: 0.5}, 2, 1},
		{"step at decay", schedule.Step{Base: 1, Size: 3, Gamma: 0.5}, 3, 0.5},
		{"multistep at milestone", schedule.MultiStep{Base: 1, Milestones: []int{2, 4}, Gamma: 0.1}, 4, 0.01},
		{"cosine at TMax", schedule.Cosine{Base: 1, TMax: 10, Min: 0.1}, 10, 0.1},
		{"cosine past TMax", schedule.Cosine{Base: 1, TMax: 10}, 20, 1},
		{"restarts, Mult 1", schedule.CosineRestarts{Base: 1, T0: 4}, 8, 1},
		{"restarts, Mult 0 means 1", schedule.CosineRestarts{Base: 1, T0: 4, Mult: 0}, 6, 0.5},
		{"restarts, Mult 2, second cycle", schedule.CosineRestarts{Base: 1, T0: 4, Mult: 2}, 8, 0.5},
		{"linear holds End", schedule.Linear{Base: 2, Start: 0.5, End: 1, Steps: 4}, 9, 2},
		{"polynomial reaches 0", schedule.Polynomial{Base: 1, Steps: 4, Power: 1}, 4, 0},
		{"one-cycle start", three, 0, 1.0 / 25},
		{"three-phase back at start rate", three, 58, 1.0 / 25},
		{"three-phase end", three, 99, 1.0 / 25 / 1e4},
		{"one-cycle holds its end past Steps", schedule.DefaultOneCycle(1, 100), 250, 1.0 / 25 / 1e4},
		{"triangular2 second peak halves", tri2, 6, 0.5},
		{"exp_range peak", exp, 2, 0.25},
		{"join second schedule from its own 0", schedule.Join{Schedules: []schedule.Schedule{schedule.Constant(1), schedule.Exponential{Base: 2, Gamma: 0.5}}, Boundaries: []int{3}}, 4, 1},
	} {
		if got := tc.s.At(tc.t); !near(got, tc.want) {
			t.Errorf("%s: At(%d) = %v; want %v", tc.name, tc.t, got, tc.want)
		}
	}
}

func TestValidateNamesFieldAndValue(t *testing.T) {
	for _, tc := range []struct {
		s    schedule.Schedule
		want string
	}{
		{schedule.Step{Base: 1, Gamma: 0.5}, "Step.Size = 0"},
		{schedule.Cosine{Base: 1}, "Cosine.TMax = 0"},
		{schedule.MultiStep{Base: 1, Milestones: []int{5, 2}, Gamma: 0.1}, "Milestones = [5 2]"},
		{schedule.Linear{Base: 1, Start: -1, End: 1, Steps: 3}, "Linear.Start = -1"},
		{schedule.OneCycle{Max: 1, Steps: 10, PctStart: 2, Div: 25, FinalDiv: 1e4}, "PctStart = 2"},
		{schedule.Exponential{Base: 1, Gamma: -1}, "Exponential.Gamma = -1"},
		{schedule.Polynomial{Base: 1, Steps: 3, Power: -1}, "Polynomial.Power = -1"},
		{schedule.Cyclic{Base: -1, Max: 1, Up: 2, Gamma: 1}, "Cyclic.Base = -1"},
		{schedule.Cyclic{Base: 0.1, Max: 1, Up: 2, Mode: schedule.ExpRange}, "Cyclic.Gamma = 0: must be in (0, 1] for exp_range"},
		{schedule.Cyclic{Base: 0.1, Max: 1, Up: 2, Mode: schedule.ExpRange, Gamma: 9}, "Cyclic.Gamma = 9: must be in (0, 1] for exp_range"},
		{schedule.Join{Schedules: []schedule.Schedule{schedule.Constant(1)}, Boundaries: []int{3}}, "1 schedules and 1 boundaries"},
		{schedule.Join{Schedules: []schedule.Schedule{schedule.Constant(1), schedule.Cosine{Base: 1}}, Boundaries: []int{3}}, "Cosine.TMax = 0"},
		{schedule.Cyclic{Base: 0, Max: 1}, "Cyclic.Up = 0"},
		{nil, "nil schedule"},
	} {
		if err := schedule.Validate(tc.s); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Validate(%#v) = %v; want an error containing %q", tc.s, err, tc.want)
		}
	}
	if _, err := schedule.NewPlateau(schedule.PlateauConfig{Base: 1, Factor: 1}); err == nil || !strings.Contains(err.Error(), "Factor = 1") {
		t.Errorf("NewPlateau with Factor 1: %v", err)
	}
}

func TestPlateauModes(t *testing.T) {
	observe := func(c schedule.PlateauConfig, metrics ...float64) []float64 {
		p, err := schedule.NewPlateau(c)
		if err != nil {
			t.Fatal(err)
		}
		var lrs []float64
		for _, m := range metrics {
			p.Observe(m)
			lrs = append(lrs, p.At(0))
		}
		return lrs
	}
	c := schedule.DefaultPlateau(1)
	c.Patience, c.Factor = 0, 0.5
	c.Maximize = true
	if got := observe(c, 0.5, 0.6, 0.6, 0.7); !near(got[2], 0.5) || !near(got[3], 0.5) {
		t.Errorf("max mode: rates %v; want a drop at the repeated 0.6 only", got)
	}
	c = schedule.DefaultPlateau(1)
	c.Patience, c.Factor, c.AbsThreshold, c.Threshold = 0, 0.5, true, 0.1
	if got := observe(c, 1, 0.95, 0.8); !near(got[1], 0.5) || !near(got[2], 0.5) {
		t.Errorf("abs threshold: rates %v; want 0.95 not to count as better than 1", got)
	}
	c = schedule.DefaultPlateau(1)
	c.Patience, c.Factor, c.Cooldown, c.Min = 0, 0.5, 2, 0.2
	if got := observe(c, 1, 1, 1, 1, 1, 1, 1, 1); !near(got[1], 0.5) || !near(got[3], 0.5) || !near(got[4], 0.25) || !near(got[7], 0.2) {
		t.Errorf("cooldown 2, min 0.2: rates %v", got)
	}
	c = schedule.DefaultPlateau(1)
	c.Patience = 0
	if got := observe(c, math.NaN(), math.NaN()); !near(got[0], 0.1) {
		t.Errorf("NaN metric: rates %v; want NaN never to count as an improvement", got)
	}
}

func TestPlateauStateRoundTrips(t *testing.T) {
	p, _ := schedule.NewPlateau(schedule.DefaultPlateau(0.1))
	b, err := p.MarshalBinary() // best is +Inf before any observation
	if err != nil {
		t.Fatal(err)
	}
	q, _ := schedule.NewPlateau(schedule.DefaultPlateau(0.1))
	q.Observe(3)
	if err := q.UnmarshalBinary(b); err != nil {
		t.Fatal(err)
	}
	for _, m := range []float64{1, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2} {
		p.Observe(m)
		q.Observe(m)
		if p.At(0) != q.At(0) {
			t.Fatalf("restored plateau diverged: %v vs %v", q.At(0), p.At(0))
		}
	}
	if p.At(0) == 0.1 {
		t.Error("test never reduced the rate")
	}
	if err := q.UnmarshalBinary([]byte(`{"lr":"x"}`)); err == nil {
		t.Error("corrupt state accepted")
	}
}

// TestZeroValuesAreDefined evaluates the zero value of every schedule, and
// each with a length of zero or less (a period, a warmup, a total), which
// Validate refuses: At must return a finite number, never divide by zero
// or loop, so that a schedule used without Validate gives no NaN rate.
func TestZeroValuesAreDefined(t *testing.T) {
	one := schedule.DefaultOneCycle(1, 10)
	for _, s := range []schedule.Schedule{
		schedule.Constant(0), schedule.Step{}, schedule.MultiStep{}, schedule.Exponential{},
		schedule.Cosine{}, schedule.CosineRestarts{}, schedule.Linear{}, schedule.Polynomial{},
		schedule.OneCycle{}, schedule.OneCycle{}.Momentum(), schedule.Cyclic{}, schedule.Cyclic{}.Momentum(),
		schedule.Join{}, schedule.Every{}, schedule.Scale{}, schedule.SWALR{}, &schedule.Plateau{},
		schedule.Step{Base: 1, Size: -1, Gamma: 0.5}, schedule.Cosine{Base: 1, TMax: -2},
		schedule.CosineRestarts{Base: 1, T0: -1, Mult: -1}, schedule.Linear{Base: 1, Start: 0.1, End: 1, Steps: -1},
		schedule.Polynomial{Base: 1, Steps: -3, Power: 1}, schedule.OneCycle{Max: 1, Steps: -1, PctStart: 0.3},
		schedule.Cyclic{Base: 0.1, Max: 1, Up: -1, Down: -5}, schedule.Every{S: schedule.Constant(1), N: -1},
		schedule.Join{Schedules: []schedule.Schedule{schedule.Constant(1)}, Boundaries: []int{2, 4}},
		schedule.Join{Schedules: []schedule.Schedule{nil}}, schedule.SWALR{From: 1, To: 0.1, Anneal: -1},
		one.Momentum(),
	} {
		for _, step := range []int{0, 1, 2, 3, 10, 1000} {
			if v := s.At(step); math.IsNaN(v) || math.IsInf(v, 0) {
				t.Errorf("%#v.At(%d) = %v; want a finite number", s, step, v)
			}
		}
	}
}

// TestOneCycleOneStepPhases: a warmup of one step (PctStart·Steps = 1)
// is a phase of no length, where PyTorch divides zero by zero; its step
// is at the phase's end, the peak.
func TestOneCycleOneStepPhases(t *testing.T) {
	two := schedule.DefaultOneCycle(1, 10)
	two.PctStart = 0.1
	three := schedule.DefaultOneCycle(1, 2)
	three.PctStart, three.ThreePhase = 0.5, true
	for _, s := range []schedule.OneCycle{two, three} {
		if got := s.At(0); got != 1 {
			t.Errorf("%+v.At(0) = %v; want 1 (the peak)", s, got)
		}
		for step := range 12 {
			if v, m := s.At(step), s.Momentum().At(step); math.IsNaN(v) || math.IsNaN(m) {
				t.Errorf("%+v at %d: rate %v, momentum %v; want numbers", s, step, v, m)
			}
		}
	}
}

// TestValidateRefusesNonFinite: every rate a schedule starts from or
// scales by is refused when NaN, infinite or negative, naming the field.
func TestValidateRefusesNonFinite(t *testing.T) {
	nan, inf := math.NaN(), math.Inf(1)
	cyc := schedule.DefaultCyclic(0.1, 1)
	cyc.MaxMomentum = nan
	one := schedule.DefaultOneCycle(1, 10)
	one.BaseMomentum = 1
	for _, tc := range []struct {
		s    schedule.Schedule
		want string
	}{
		{schedule.Constant(nan), "Constant = NaN"},
		{schedule.Constant(inf), "Constant = +Inf"},
		{schedule.Constant(-1), "Constant = -1"},
		{schedule.Step{Base: nan, Size: 1, Gamma: 0.1}, "Step.Base = NaN"},
		{schedule.MultiStep{Base: inf, Gamma: 0.1}, "MultiStep.Base = +Inf"},
		{schedule.Exponential{Base: -1, Gamma: 0.1}, "Exponential.Base = -1"},
		{schedule.Cosine{Base: nan, TMax: 1}, "Cosine.Base = NaN"},
		{schedule.CosineRestarts{Base: nan, T0: 1}, "CosineRestarts.Base = NaN"},
		{schedule.Linear{Base: nan, Start: 0.1, End: 1, Steps: 1}, "Linear.Base = NaN"},
		{schedule.Linear{Base: 1, Start: nan, End: 1, Steps: 1}, "Linear.Start = NaN"},
		{schedule.Polynomial{Base: inf, Steps: 1, Power: 1}, "Polynomial.Base = +Inf"},
		{schedule.Polynomial{Base: 1, Steps: 1, Power: nan}, "Polynomial.Power = NaN"},
		{schedule.OneCycle{Max: nan, Steps: 1, Div: 1, FinalDiv: 1}, "OneCycle.Max = NaN"},
		{schedule.OneCycle{Max: 1, Steps: 1, PctStart: nan, Div: 1, FinalDiv: 1}, "OneCycle.PctStart = NaN"},
		{schedule.OneCycle{Max: 1, Steps: 1, Div: nan, FinalDiv: 1}, "OneCycle.Div = NaN"},
		{one.Momentum(), "OneCycle.BaseMomentum = 1"},
		{cyc.Momentum(), "Cyclic.MaxMomentum = NaN"},
		{schedule.Cyclic{Base: nan, Max: 1, Up: 1}, "Cyclic.Base = NaN"},
		{schedule.Scale{S: schedule.Constant(1), Factor: nan}, "Scale.Factor = NaN"},
		{schedule.Scale{S: schedule.Constant(nan), Factor: 1}, "Constant = NaN"},
		{schedule.Every{S: schedule.Constant(inf), N: 1}, "Constant = +Inf"},
		{schedule.Join{Schedules: []schedule.Schedule{schedule.Constant(1), schedule.Constant(nan)}, Boundaries: []int{2}}, "Constant = NaN"},
		{schedule.SWALR{From: nan, To: 0.1}, "SWALR.From = NaN"},
	} {
		if err := schedule.Validate(tc.s); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Validate(%#v) = %v; want an error containing %q", tc.s, err, tc.want)
		}
	}
	for _, c := range []struct {
		field string
		c     schedule.PlateauConfig
	}{
		{"Base", schedule.PlateauConfig{Base: nan, Factor: 0.1}},
		{"Eps", schedule.PlateauConfig{Base: 1, Factor: 0.1, Eps: nan}},
		{"Threshold", schedule.PlateauConfig{Base: 1, Factor: 0.1, Threshold: nan}},
		{"Min", schedule.PlateauConfig{Base: 1, Factor: 0.1, Min: inf}},
	} {
		if _, err := schedule.NewPlateau(c.c); err == nil || !strings.Contains(err.Error(), "Plateau."+c.field+" = ") {
			t.Errorf("NewPlateau with a bad %s: %v; want an error naming it", c.field, err)
		}
	}
}
