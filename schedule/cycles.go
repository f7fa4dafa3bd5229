package schedule

import (
	"fmt"
	"math"
)

// OneCycle is the one-cycle policy (Smith & Topin 2018; PyTorch's
// OneCycleLR): the rate warms up from Max/Div to Max over the first
// PctStart of Steps, then anneals to Max/(Div·FinalDiv); the momentum (or
// Adam's β₁) moves the opposite way, from MaxMomentum down to BaseMomentum
// and back. With ThreePhase, the rate comes back down to Max/Div
// symmetrically before the final annealing, as in the fast.ai variant.
//
// Start from [DefaultOneCycle]: zero is a real value for several fields.
type OneCycle struct {
	Max      float64 // peak rate
	Steps    int     // total number of steps in the cycle; must be positive
	PctStart float64 // fraction of Steps spent warming up; default 0.3
	// Linear anneals along straight lines instead of half cosines (PyTorch's
	// anneal_strategy="linear"); default false (cosine).
	Linear     bool
	Div        float64 // initial rate is Max/Div; default 25
	FinalDiv   float64 // final rate is Max/(Div·FinalDiv); default 1e4
	ThreePhase bool
	// BaseMomentum and MaxMomentum bound the momentum cycle; defaults 0.85
	// and 0.95. The momentum schedule is [OneCycle.Momentum].
	BaseMomentum, MaxMomentum float64
}

// DefaultOneCycle returns PyTorch's defaults for a cycle peaking at max over
// steps steps.
func DefaultOneCycle(max float64, steps int) OneCycle {
	return OneCycle{Max: max, Steps: steps, PctStart: 0.3, Div: 25, FinalDiv: 1e4, BaseMomentum: 0.85, MaxMomentum: 0.95}
}

type phase struct {
	end                float64 // last step of the phase
	lr0, lr1, mom0, m1 float64
}

func (s OneCycle) phases() [3]phase {
	initial := s.Max / divisor(s.Div)
	final := initial / divisor(s.FinalDiv)
	up := s.PctStart*float64(s.Steps) - 1
	last := float64(s.Steps - 1)
	if s.ThreePhase {
		return [3]phase{
			{up, initial, s.Max, s.MaxMomentum, s.BaseMomentum},
			{2*s.PctStart*float64(s.Steps) - 2, s.Max, initial, s.BaseMomentum, s.MaxMomentum},
			{last, initial, final, s.MaxMomentum, s.MaxMomentum},
		}
	}
	return [3]phase{
		{up, initial, s.Max, s.MaxMomentum, s.BaseMomentum},
		{last, s.Max, final, s.BaseMomentum, s.MaxMomentum},
	}
}

// divisor returns d, or 1 if d is not positive: the Div and FinalDiv
// that At uses for values Validate refuses.
func divisor(d float64) float64 {
	if !(d > 0) {
		return 1
	}
	return d
}

// at returns the rate and momentum at step t. Past the cycle both hold
// their final values (PyTorch raises an error there; holding lets a finished
// run be continued). A phase of no length, which a warmup of one step
// makes (PctStart·Steps = 1), is at its end value: PyTorch divides zero by
// zero there.
func (s OneCycle) at(t int) (lr, mom float64) {
	t = min(t, length(s.Steps)-1)
	ph := s.phases()
	n := 2
	if s.ThreePhase {
		n = 3
	}
	start := 0.0
	for i := 0; i < n; i++ {
		p := ph[i]
		if float64(t) <= p.end || i == n-1 {
			pct := 1.0
			if p.end != start {
				pct = (float64(t) - start) / (p.end - start)
			}
			return s.anneal(p.lr0, p.lr1, pct), s.anneal(p.mom0, p.m1, pct)
		}
		start = p.end
	}
	panic("unreachable")
}

func (s OneCycle) anneal(from, to, pct float64) float64 {
	if s.Linear {
		return (to-from)*pct + from
	}
	return to + (from-to)/2*(1+math.Cos(math.Pi*pct))
}

// At returns the rate at step t; past Steps, the final rate. A Steps
// below 1 counts as 1, and a Div or FinalDiv that is not positive as 1.
func (s OneCycle) At(t int) float64 { lr, _ := s.at(t); return lr }

// Momentum returns the cycle's momentum schedule: give it to the optimizer
// as its momentum (SGD) or β₁ (Adam family) schedule.
func (s OneCycle) Momentum() Schedule { return oneCycleMomentum{s} }

type oneCycleMomentum struct{ s OneCycle }

func (m oneCycleMomentum) At(t int) float64 { _, mom := m.s.at(t); return mom }

// Validate validates the cycle and reports momentum bounds outside [0, 1).
func (m oneCycleMomentum) Validate() error {
	return firstErr(m.s.Validate(), checkMomentum("OneCycle.BaseMomentum", m.s.BaseMomentum), checkMomentum("OneCycle.MaxMomentum", m.s.MaxMomentum))
}

// Validate reports settings PyTorch rejects.
func (s OneCycle) Validate() error {
	switch {
	case s.Steps <= 0:
		return fmt.Errorf("schedule: OneCycle.Steps = %d: must be positive", s.Steps)
	case !(s.PctStart >= 0 && s.PctStart <= 1):
		return fmt.Errorf("schedule: OneCycle.PctStart = %v: must be in [0, 1]", s.PctStart)
	case !(s.Div > 0):
		return fmt.Errorf("schedule: OneCycle.Div = %v: must be positive", s.Div)
	case !(s.FinalDiv > 0):
		return fmt.Errorf("schedule: OneCycle.FinalDiv = %v: must be positive", s.FinalDiv)
	}
	return checkNonNegative("OneCycle.Max", s.Max)
}

// CyclicMode is how a [Cyclic] schedule's amplitude changes from cycle to
// cycle.
type CyclicMode int

const (
	Triangular  CyclicMode = iota // constant amplitude
	Triangular2                   // amplitude halves every cycle
	ExpRange                      // amplitude scales by Gammaᵗ
)

// Cyclic is the cyclical learning rate (Smith 2017; PyTorch's CyclicLR): the
// rate climbs from Base to Max over Up steps and falls back over Down steps,
// again and again, while the momentum moves the opposite way between
// MaxMomentum and BaseMomentum.
//
// Start from [DefaultCyclic]: zero is a real value for several fields.
type Cyclic struct {
	Base, Max float64
	Up        int // steps from Base to Max; must be positive
	Down      int // steps from Max back to Base; 0 means Up
	Mode      CyclicMode
	Gamma     float64 // ExpRange's decay per step
	// BaseMomentum and MaxMomentum bound the momentum cycle; PyTorch's
	// defaults are 0.8 and 0.9. The momentum schedule is [Cyclic.Momentum].
	BaseMomentum, MaxMomentum float64
}

// DefaultCyclic returns PyTorch's defaults for a triangular cycle between
// base and max, 2000 steps up and 2000 down.
func DefaultCyclic(base, max float64) Cyclic {
	return Cyclic{Base: base, Max: max, Up: 2000, Mode: Triangular, Gamma: 1, BaseMomentum: 0.8, MaxMomentum: 0.9}
}

// at returns the height factor in [0, 1] and the amplitude scale at step t.
func (s Cyclic) at(t int) (height, scale float64) {
	up, down := length(s.Up), s.Down
	if down <= 0 {
		down = up
	}
	total := float64(up + down)
	ratio := float64(up) / total
	cycle := math.Floor(1 + float64(t)/total)
	x := 1 + float64(t)/total - cycle
	if x <= ratio {
		height = x / ratio
	} else {
		height = (x - 1) / (ratio - 1)
	}
	switch s.Mode {
	case Triangular2:
		scale = 1 / math.Pow(2, cycle-1)
	case ExpRange:
		scale = math.Pow(s.Gamma, float64(t))
	default:
		scale = 1
	}
	return height, scale
}

// At returns the rate at step t. An Up below 1 counts as 1, and a Down
// below 0 as Up, as 0 does.
func (s Cyclic) At(t int) float64 {
	h, sc := s.at(t)
	return s.Base + (s.Max-s.Base)*h*sc
}

// Momentum returns the cycle's momentum schedule.
func (s Cyclic) Momentum() Schedule { return cyclicMomentum{s} }

type cyclicMomentum struct{ s Cyclic }

func (m cyclicMomentum) At(t int) float64 {
	h, sc := m.s.at(t)
	return m.s.MaxMomentum - (m.s.MaxMomentum-m.s.BaseMomentum)*h*sc
}

// Validate validates the cycle and reports momentum bounds outside [0, 1).
func (m cyclicMomentum) Validate() error {
	return firstErr(m.s.Validate(), checkMomentum("Cyclic.BaseMomentum", m.s.BaseMomentum), checkMomentum("Cyclic.MaxMomentum", m.s.MaxMomentum))
}

// checkMomentum reports a momentum (or β₁) outside [0, 1).
func checkMomentum(field string, v float64) error {
	if !(v >= 0 && v < 1) {
		return fmt.Errorf("schedule: %s = %v: must be in [0, 1)", field, v)
	}
	return nil
}

// Validate reports non-positive cycle lengths, an unknown mode, a negative
// rate bound and, for exp_range, a non-positive Gamma. Max below Base is
// allowed, as PyTorch allows it: the cycle then dips instead of peaking.
func (s Cyclic) Validate() error {
	switch {
	case s.Up <= 0:
		return fmt.Errorf("schedule: Cyclic.Up = %d: must be positive", s.Up)
	case s.Down < 0:
		return fmt.Errorf("schedule: Cyclic.Down = %d: must not be negative", s.Down)
	case s.Mode < Triangular || s.Mode > ExpRange:
		return fmt.Errorf("schedule: Cyclic.Mode = %d: unknown mode", s.Mode)
	case s.Mode == ExpRange && !(s.Gamma > 0 && s.Gamma <= 1):
		// Above 1 the cycle's amplitude grows without bound, and the
		// momentum, cycled against it, goes below zero.
		return fmt.Errorf("schedule: Cyclic.Gamma = %v: must be in (0, 1] for exp_range", s.Gamma)
	}
	if err := checkNonNegative("Cyclic.Base", s.Base); err != nil {
		return err
	}
	return checkNonNegative("Cyclic.Max", s.Max)
}
