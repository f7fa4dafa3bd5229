package schedule

import (
	"errors"
	"fmt"
	"math"
	"sort"
)

// Step decays the rate by Gamma every Size steps (PyTorch's StepLR):
//
//	lr(t) = Base · Gamma^⌊t / Size⌋
type Step struct {
	Base  float64 // rate at step 0
	Size  int     // steps between decays; must be positive
	Gamma float64 // factor applied at each decay; PyTorch's default is 0.1
}

// At returns the rate at step t; a Size below 1 counts as 1.
func (s Step) At(t int) float64 { return s.Base * math.Pow(s.Gamma, float64(t/length(s.Size))) }

// Validate reports a non-positive Size, and a Base or Gamma that is
// negative or not finite.
func (s Step) Validate() error {
	if s.Size <= 0 {
		return fmt.Errorf("schedule: Step.Size = %d: must be positive", s.Size)
	}
	return firstErr(checkNonNegative("Step.Base", s.Base), checkNonNegative("Step.Gamma", s.Gamma))
}

// MultiStep decays the rate by Gamma at each milestone (PyTorch's
// MultiStepLR):
//
//	lr(t) = Base · Gamma^(number of milestones ≤ t)
type MultiStep struct {
	Base       float64
	Milestones []int // steps at which the rate drops, increasing
	Gamma      float64
}

// At returns the rate at step t.
func (s MultiStep) At(t int) float64 {
	n := sort.SearchInts(s.Milestones, t+1) // milestones ≤ t
	return s.Base * math.Pow(s.Gamma, float64(n))
}

// Validate reports milestones out of order, and a Base or Gamma that is
// negative or not finite.
func (s MultiStep) Validate() error {
	if !sort.IntsAreSorted(s.Milestones) {
		return fmt.Errorf("schedule: MultiStep.Milestones = %v: must be increasing", s.Milestones)
	}
	return firstErr(checkNonNegative("MultiStep.Base", s.Base), checkNonNegative("MultiStep.Gamma", s.Gamma))
}

// Exponential decays the rate by Gamma every step (PyTorch's ExponentialLR):
//
//	lr(t) = Base · Gammaᵗ
type Exponential struct {
	Base  float64
	Gamma float64
}

// At returns the rate at step t.
func (s Exponential) At(t int) float64 { return s.Base * math.Pow(s.Gamma, float64(t)) }

// Validate reports a Base or Gamma that is negative (a negative Gamma
// would make every other rate negative) or not finite.
func (s Exponential) Validate() error {
	return firstErr(checkNonNegative("Exponential.Base", s.Base), checkNonNegative("Exponential.Gamma", s.Gamma))
}

// Cosine anneals the rate from Base to Min over TMax steps along half a
// cosine (PyTorch's CosineAnnealingLR, Loshchilov & Hutter 2017):
//
//	lr(t) = Min + (Base − Min) · (1 + cos(π·t/TMax)) / 2
//
// Past TMax the cosine goes on, rising back towards Base by step 2·TMax, as
// PyTorch's does; use [Join] with a [Constant] to hold Min instead.
type Cosine struct {
	Base float64
	TMax int // half-period in steps; must be positive
	Min  float64
}

// At returns the rate at step t; a TMax below 1 counts as 1.
func (s Cosine) At(t int) float64 {
	return s.Min + (s.Base-s.Min)*(1+math.Cos(math.Pi*float64(t)/float64(length(s.TMax))))/2
}

// Validate reports a non-positive TMax, or a Base or Min that is negative
// or not finite.
func (s Cosine) Validate() error {
	if s.TMax <= 0 {
		return fmt.Errorf("schedule: Cosine.TMax = %d: must be positive", s.TMax)
	}
	return firstErr(checkNonNegative("Cosine.Base", s.Base), checkNonNegative("Cosine.Min", s.Min))
}

// CosineRestarts is cosine annealing with warm restarts (PyTorch's
// CosineAnnealingWarmRestarts, SGDR, Loshchilov & Hutter 2017): the first
// cycle lasts T0 steps, each next one Mult times longer, and each starts
// again from Base:
//
//	lr(t) = Min + (Base − Min) · (1 + cos(π·Tcur/Ti)) / 2
//
// where Ti is the length of the cycle that contains step t and Tcur the
// steps since it began.
type CosineRestarts struct {
	Base float64
	T0   int // length of the first cycle; must be positive
	Mult int // growth of each cycle's length; 0 means 1
	Min  float64
}

// At returns the rate at step t; a T0 below 1 counts as 1.
func (s CosineRestarts) At(t int) float64 {
	ti, tcur := length(s.T0), t
	for tcur >= ti {
		tcur -= ti
		if m := max(s.Mult, 1); ti > math.MaxInt/m {
			ti = math.MaxInt // a cycle longer than any run, not an overflow
		} else {
			ti *= m
		}
	}
	return s.Min + (s.Base-s.Min)*(1+math.Cos(math.Pi*float64(tcur)/float64(ti)))/2
}

// Validate reports a non-positive T0, a negative Mult, or a Base or Min
// that is negative or not finite.
func (s CosineRestarts) Validate() error {
	if s.T0 <= 0 {
		return fmt.Errorf("schedule: CosineRestarts.T0 = %d: must be positive", s.T0)
	}
	if s.Mult < 0 {
		return fmt.Errorf("schedule: CosineRestarts.Mult = %d: must not be negative", s.Mult)
	}
	return firstErr(checkNonNegative("CosineRestarts.Base", s.Base), checkNonNegative("CosineRestarts.Min", s.Min))
}

// Linear moves the rate's factor linearly from Start to End over Steps steps,
// then holds it (PyTorch's LinearLR; with Start < 1 = End, a linear warmup):
//
//	lr(t) = Base · (Start + (End − Start) · min(t, Steps)/Steps)
type Linear struct {
	Base       float64
	Start, End float64 // factors of Base at step 0 and from step Steps on
	Steps      int     // must be positive
}

// At returns the rate at step t; a Steps below 1 counts as 1.
func (s Linear) At(t int) float64 {
	n := length(s.Steps)
	f := float64(min(t, n)) / float64(n)
	return s.Base * (s.Start + (s.End-s.Start)*f)
}

// Validate reports a non-positive Steps, and a Base or factor that is
// negative or not finite.
func (s Linear) Validate() error {
	if s.Steps <= 0 {
		return fmt.Errorf("schedule: Linear.Steps = %d: must be positive", s.Steps)
	}
	return firstErr(checkNonNegative("Linear.Base", s.Base), checkNonNegative("Linear.Start", s.Start), checkNonNegative("Linear.End", s.End))
}

// Polynomial decays the rate to zero over Steps steps (PyTorch's
// PolynomialLR):
//
//	lr(t) = Base · (1 − min(t, Steps)/Steps)^Power
type Polynomial struct {
	Base  float64
	Steps int     // must be positive
	Power float64 // PyTorch's default is 1: linear decay
}

// At returns the rate at step t; a Steps below 1 counts as 1.
func (s Polynomial) At(t int) float64 {
	n := length(s.Steps)
	return s.Base * math.Pow(1-float64(min(t, n))/float64(n), s.Power)
}

// Validate reports a non-positive Steps, and a Base or Power that is
// negative or not finite.
func (s Polynomial) Validate() error {
	if s.Steps <= 0 {
		return fmt.Errorf("schedule: Polynomial.Steps = %d: must be positive", s.Steps)
	}
	return firstErr(checkNonNegative("Polynomial.Base", s.Base), checkNonNegative("Polynomial.Power", s.Power))
}

// Join runs schedules one after another, as PyTorch's SequentialLR and optax's
// join_schedules do: Schedules[0] until step Boundaries[0], then Schedules[1]
// restarted from its own step 0, and so on. len(Boundaries) must be
// len(Schedules) − 1. A warmup then cosine decay is
//
//	Join{Schedules: []Schedule{Linear{Base: lr, Start: 0.1, End: 1, Steps: w}, Cosine{Base: lr, TMax: n - w}}, Boundaries: []int{w}}
type Join struct {
	Schedules  []Schedule
	Boundaries []int // increasing steps at which the next schedule takes over
}

// At returns the value of the schedule in force at step t, at its own step
// t − (the boundary where it took over). Past the last schedule (more
// boundaries than Validate accepts) the last one holds on; a Join of no
// schedules, or whose schedule in force is nil, is 0.
func (j Join) At(t int) float64 {
	i := sort.SearchInts(j.Boundaries, t+1) // boundaries ≤ t
	i = min(i, len(j.Schedules)-1)
	if i < 0 || j.Schedules[i] == nil {
		return 0
	}
	start := 0
	if i > 0 {
		start = j.Boundaries[i-1]
	}
	return j.Schedules[i].At(t - start)
}

// Validate checks the boundaries against the schedules and validates each
// schedule that can be.
func (j Join) Validate() error {
	if len(j.Schedules) == 0 {
		return errors.New("schedule: Join needs at least one schedule")
	}
	if len(j.Boundaries) != len(j.Schedules)-1 {
		return fmt.Errorf("schedule: Join has %d schedules and %d boundaries: want one boundary fewer than schedules", len(j.Schedules), len(j.Boundaries))
	}
	for i, b := range j.Boundaries {
		if b <= 0 || (i > 0 && b <= j.Boundaries[i-1]) {
			return fmt.Errorf("schedule: Join.Boundaries = %v: must be positive and increasing", j.Boundaries)
		}
	}
	for _, s := range j.Schedules {
		if err := Validate(s); err != nil {
			return err
		}
	}
	return nil
}

// Validate validates s if it has a Validate method; a nil schedule is an
// error. A schedule without one (a user's own) is taken as it is.
func Validate(s Schedule) error {
	if s == nil {
		return errors.New("schedule: nil schedule")
	}
	if v, ok := s.(interface{ Validate() error }); ok {
		return v.Validate()
	}
	return nil
}

// length returns n, or 1 if n is below 1: the length in steps that At
// uses for a period, a warmup or a total that Validate refuses, so that
// At never divides by zero or loops for ever.
func length(n int) int { return max(n, 1) }

func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

func checkNonNegative(field string, v float64) error {
	if !(v >= 0) || math.IsInf(v, 1) {
		return fmt.Errorf("schedule: %s = %v: must be a finite number ≥ 0", field, v)
	}
	return nil
}

// Every holds each value of S for N steps: At(t) = S.At(⌊t/N⌋). With N the
// number of batches in an epoch, a schedule written in epochs (PyTorch's
// scheduler.step() once per epoch) drives an optimizer that counts batches.
type Every struct {
	S Schedule
	N int // steps per unit of S; must be positive
}

// At returns S's value at unit ⌊t/N⌋; an N below 1 counts as 1, and a
// nil S is 0.
func (e Every) At(t int) float64 {
	if e.S == nil {
		return 0
	}
	return e.S.At(t / length(e.N))
}

// Validate reports a non-positive N and validates S.
func (e Every) Validate() error {
	if e.N <= 0 {
		return fmt.Errorf("schedule: Every.N = %d: must be positive", e.N)
	}
	return Validate(e.S)
}

// Scale multiplies a schedule by a constant: At(t) = Factor·S.At(t). With
// Factor = 1/base it turns a learning-rate schedule into its multiplier η_t,
// as AdamW's decay in the paper's form wants.
type Scale struct {
	S      Schedule
	Factor float64
}

// At returns Factor·S.At(t); a nil S is 0.
func (s Scale) At(t int) float64 {
	if s.S == nil {
		return 0
	}
	return s.Factor * s.S.At(t)
}

// Validate reports a Factor that is negative or not finite and validates S.
func (s Scale) Validate() error {
	return firstErr(checkNonNegative("Scale.Factor", s.Factor), Validate(s.S))
}
