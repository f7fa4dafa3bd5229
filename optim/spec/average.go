package spec

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strings"

	"github.com/descentml/descent/optim"
	"github.com/descentml/descent/schedule"
)

// Average is an average of the weights by name, with its settings, as
// `descent train --average` and config.json write it:
//
//	ema decay=0.999
//	swa start=30
//	swa start=30 lr=0.05 anneal=10 strategy=cos
//
// "ema" is an exponential moving average of the weights, "swa" their
// equal average from a given step (optim.Averaging). Start and Anneal
// count the unit of the run's schedule ([Schedule].Unit): optimizer steps,
// or epochs. With lr=, SWA also sets the learning rate as PyTorch's
// torch.optim.swa_utils.SWALR does: the schedule until Start units, then
// an anneal from the schedule's rate there to lr over Anneal units, then
// lr ([schedule.SWALR]) — a PyTorch user's
//
//	if epoch > swa_start: swa_scheduler.step() else: scheduler.step()
//
// with swa_start + 1 = Start. Without lr= the schedule goes on.
type Average struct {
	Name     string   // "ema" or "swa"
	Decay    *float64 `key:"decay" help:"d of A ← d·A + (1 − d)·θ, in [0, 1) (0.999)"`
	Start    int      `key:"start" help:"units of the schedule (steps or epochs) before the first update (0)"`
	LR       *float64 `key:"lr" help:"the rate SWALR anneals to once SWA starts (swa_lr); none: the schedule goes on"`
	Anneal   *int     `key:"anneal" help:"units from the schedule's rate to lr (10, SWALR's anneal_epochs; 0: at once)"`
	Strategy string   `key:"strategy" help:"cos (default) or linear, SWALR's anneal_strategy"`
}

// averages is the name → averaging table: a one-line doc and the
// settings each takes.
var averages = names{
	{"ema", "an exponential moving average of the weights (no bias correction)", []string{"decay", "start"}},
	{"swa", "the equal average of the weights after start (SWA), and with lr= SWALR's rate", []string{"start", "lr", "anneal", "strategy"}},
}

// AverageNames returns the names of the averages of the weights.
func AverageNames() []string { return []string{"ema", "swa"} }

// AverageDoc returns the one-line description of average name, or "".
func AverageDoc(name string) string { return averages.doc(name) }

// AverageKeys returns the settings average name takes, with their help,
// or nil for an unknown name.
func AverageKeys(name string) []Key {
	var settings []string
	for _, a := range averages {
		if a.name == name {
			settings = a.keys
		}
	}
	var keys []Key
	for _, n := range settings {
		f, _ := taggedField(reflect.TypeFor[Average](), n)
		keys = append(keys, Key{Name: n, Help: f.Tag.Get("help"), Kind: settingKind(f.Type)})
	}
	return keys
}

// ParseAverage reads an average's spec: "ema", "ema decay=0.99 start=100",
// "swa start=30 lr=0.05 anneal=5 strategy=linear". It checks the
// settings' values (Validate).
func ParseAverage(spec string) (Average, error) {
	name, kv, err := split(spec)
	if err != nil {
		return Average{}, fmt.Errorf(`spec: average %q: %w (want "ema decay=0.999" or "swa start=N lr=0.05")`, spec, err)
	}
	keys := AverageKeys(name)
	if keys == nil {
		return Average{}, fmt.Errorf("spec: unknown average %q (valid: %s)", name, strings.Join(AverageNames(), ", "))
	}
	a := Average{Name: name}
	for _, k := range sortedKeys(kv) {
		if !slices.ContainsFunc(keys, func(key Key) bool { return key.Name == k }) {
			valid := make([]string, len(keys))
			for i, key := range keys {
				valid[i] = key.Name
			}
			return Average{}, fmt.Errorf("spec: average %s has no setting %q (valid: %s)", name, k, strings.Join(valid, ", "))
		}
		if err := setTagged(&a, k, kv[k]); err != nil {
			return Average{}, fmt.Errorf("spec: average %s: %s=%s: %w", name, k, kv[k], err)
		}
	}
	return a, a.Validate()
}

// Validate checks the settings' values, naming the first bad one.
func (a Average) Validate() error {
	if AverageKeys(a.Name) == nil {
		return fmt.Errorf("spec: unknown average %q (valid: %s)", a.Name, strings.Join(AverageNames(), ", "))
	}
	if err := a.Averaging(1).Validate(); err != nil {
		return fmt.Errorf("spec: average %s: %w", a.Name, err)
	}
	switch {
	case a.Name == "ema" && (a.LR != nil || a.Anneal != nil || a.Strategy != ""):
		return fmt.Errorf("spec: average ema: lr, anneal and strategy are swa's (SWALR's rate)")
	case a.LR != nil && !(*a.LR >= 0 && !math.IsInf(*a.LR, 1)):
		return fmt.Errorf("spec: average %s: lr=%v: want a finite rate ≥ 0", a.Name, *a.LR)
	case a.Anneal != nil && *a.Anneal < 0:
		return fmt.Errorf("spec: average %s: anneal=%d: want a whole number ≥ 0", a.Name, *a.Anneal)
	case a.Strategy != "" && a.Strategy != "cos" && a.Strategy != "linear":
		return fmt.Errorf("spec: average %s: strategy=%s: want cos or linear", a.Name, a.Strategy)
	case a.LR == nil && (a.Anneal != nil || a.Strategy != ""):
		return fmt.Errorf("spec: average %s: anneal and strategy shape SWALR's rate, which lr= sets: give lr too", a.Name)
	}
	return nil
}

// Resolve returns the average with its defaults made explicit, as a run
// saves it: ema's decay, and SWALR's anneal and strategy when lr is set.
func (a Average) Resolve() Average {
	if a.Name == "ema" && a.Decay == nil {
		d := 0.999
		a.Decay = &d
	}
	if a.LR != nil {
		if a.Anneal == nil {
			n := 10 // PyTorch's anneal_epochs
			a.Anneal = &n
		}
		if a.Strategy == "" {
			a.Strategy = "cos"
		}
	}
	return a
}

// String returns the spec ParseAverage reads back: the name and every
// setting that is set, start even at 0.
func (a Average) String() string {
	parts := []string{a.Name}
	if a.Decay != nil {
		parts = append(parts, "decay="+format(*a.Decay))
	}
	if a.Start != 0 || a.Name == "swa" {
		parts = append(parts, fmt.Sprintf("start=%d", a.Start))
	}
	if a.LR != nil {
		parts = append(parts, "lr="+format(*a.LR))
	}
	if a.Anneal != nil {
		parts = append(parts, fmt.Sprintf("anneal=%d", *a.Anneal))
	}
	if a.Strategy != "" {
		parts = append(parts, "strategy="+a.Strategy)
	}
	return strings.Join(parts, " ")
}

// Averaging returns the averaging of the weights for a run whose
// schedule's unit is unitSteps optimizer steps (1 for steps, the steps of
// an epoch for epochs).
func (a Average) Averaging(unitSteps int) optim.Averaging {
	a = a.Resolve()
	c := optim.Averaging{EMA: a.Name == "ema", Start: a.Start * unitSteps}
	if c.EMA {
		c.Decay = *a.Decay
	}
	return c
}

// SetsRate reports whether the average sets the learning rate (swa with
// lr=).
func (a Average) SetsRate() bool { return a.LR != nil }

// Rate returns the run's rate r with SWALR's in force from Start units on
// (see [Average]), for a schedule whose unit is unitSteps optimizer steps.
// Without lr= it returns r. The multiplier η_t is switched alike, to
// lr/r.Base. Reduce-on-plateau, whose rate is not known in advance, is
// refused.
func (a Average) Rate(r Rate, unitSteps int) (Rate, error) {
	if !a.SetsRate() {
		return r, nil
	}
	if _, ok := r.Schedule.(*schedule.Plateau); ok {
		return Rate{}, errors.New("spec: average swa lr= switches the schedule's rate to SWALR's at start, and reduce-on-plateau's rate there depends on the validation loss: use another schedule")
	}
	a = a.Resolve()
	r.Schedule = a.switchRate(r.Schedule, *a.LR, unitSteps)
	if r.Multiplier != nil && r.Base > 0 {
		r.Multiplier = a.switchRate(r.Multiplier, *a.LR/r.Base, unitSteps)
	}
	return r, schedule.Validate(r.Schedule)
}

// switchRate returns base until Start units, then SWALR from base's value
// there to to, each of its values held for a unit.
func (a Average) switchRate(base schedule.Schedule, to float64, unitSteps int) schedule.Schedule {
	start := a.Start * unitSteps
	var swa schedule.Schedule = schedule.SWALR{From: base.At(start), To: to, Anneal: *a.Anneal, Linear: a.Strategy == "linear"}
	if unitSteps > 1 {
		swa = schedule.Every{S: swa, N: unitSteps}
	}
	if start == 0 {
		return swa
	}
	return schedule.Join{Schedules: []schedule.Schedule{base, swa}, Boundaries: []int{start}}
}
