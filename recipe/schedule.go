package recipe

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/descentml/descent/schedule"
)

// Schedule is a learning-rate schedule by name, with its settings. Lengths
// (Size, TMax, T0, Steps, Up, Down, Milestones, Warmup) count Unit: optimizer
// steps ("step", the default) or epochs ("epoch"). A length left at zero, and
// a setting left nil, takes its default when the schedule is resolved for a
// run ([Schedule.Resolve]): lengths from the run's length, the rest from
// PyTorch, except where a field's comment says otherwise. Zero is a value
// like any other for the pointer settings (cyclic base=0, plateau
// patience=0).
type Schedule struct {
	Name   string `json:"name"`
	Unit   string `json:"unit,omitempty"`   // "step" (default) or "epoch"
	Warmup int    `json:"warmup,omitempty"` // linear warmup from lr/Warmup to lr, then the schedule

	Size       int      `json:"size,omitempty"`       // step: units between decays (default: a third of the run)
	Gamma      *float64 `json:"gamma,omitempty"`      // step, multistep: decay factor (0.1); exponential (100× lower at the end of the run); cyclic exp_range (1)
	Milestones []int    `json:"milestones,omitempty"` // multistep (default: half and three quarters of the run)
	TMax       int      `json:"tmax,omitempty"`       // cosine: half period (default: the run)
	Min        float64  `json:"min,omitempty"`        // cosine, restarts, plateau: lowest rate
	T0         int      `json:"t0,omitempty"`         // restarts: first cycle (default: a third of the run)
	Mult       int      `json:"mult,omitempty"`       // restarts: cycle growth (1)
	Start      *float64 `json:"start,omitempty"`      // linear: factor at the start (1)
	End        float64  `json:"end,omitempty"`        // linear: factor at the end (0: a linear decay)
	Steps      int      `json:"steps,omitempty"`      // linear, polynomial, onecycle: length (default: the run)
	Power      *float64 `json:"power,omitempty"`      // polynomial (1)
	Max        *float64 `json:"max,omitempty"`        // onecycle, cyclic: peak rate (lr)
	PctStart   *float64 `json:"pct_start,omitempty"`  // onecycle (0.3)
	Base       *float64 `json:"base,omitempty"`       // cyclic: lowest rate (a tenth of lr or of max, the smaller)
	Up         int      `json:"up,omitempty"`         // cyclic (default: an eighth of the run)
	Down       int      `json:"down,omitempty"`       // cyclic (0: as Up)
	Mode       string   `json:"mode,omitempty"`       // cyclic: triangular (default), triangular2, exp_range
	Factor     *float64 `json:"factor,omitempty"`     // plateau (0.1)
	Patience   *int     `json:"patience,omitempty"`   // plateau, in epochs (10)
	Threshold  *float64 `json:"threshold,omitempty"`  // plateau (1e-4)
	Cooldown   int      `json:"cooldown,omitempty"`   // plateau
}

var scheduleKeys = map[string][]string{
	"constant":    nil,
	"step":        {"size", "gamma"},
	"multistep":   {"milestones", "gamma"},
	"exponential": {"gamma"},
	"cosine":      {"tmax", "min"},
	"restarts":    {"t0", "mult", "min"},
	"linear":      {"start", "end", "steps"},
	"polynomial":  {"steps", "power"},
	"onecycle":    {"max", "pct_start", "steps"},
	"cyclic":      {"base", "max", "up", "down", "mode", "gamma"},
	"plateau":     {"factor", "patience", "threshold", "cooldown", "min"},
}

// ScheduleNames returns the schedule names, sorted.
func ScheduleNames() []string {
	names := make([]string, 0, len(scheduleKeys))
	for n := range scheduleKeys {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// ParseSchedule reads a schedule spec: a name and key=value settings, as
// "cosine min=1e-5" or "step size=10 gamma=0.5". The keys "unit" and
// "warmup" apply to every schedule.
func ParseSchedule(spec string) (Schedule, error) {
	name, kv, err := splitSpec(spec)
	if err != nil {
		return Schedule{}, fmt.Errorf("recipe: schedule %q: %w (want a name and key=value pairs, as \"cosine min=1e-5\")", spec, err)
	}
	keys, ok := scheduleKeys[name]
	if !ok {
		return Schedule{}, fmt.Errorf("recipe: unknown schedule %q (valid: %s)", name, strings.Join(ScheduleNames(), ", "))
	}
	s := Schedule{Name: name}
	valid := append([]string{"unit", "warmup"}, keys...)
	for _, k := range sortedKeys(kv) {
		if !slices.Contains(valid, k) {
			return Schedule{}, fmt.Errorf("recipe: schedule %s has no setting %q (valid: %s)", name, k, strings.Join(valid, ", "))
		}
		if err := s.set(k, kv[k]); err != nil {
			return Schedule{}, fmt.Errorf("recipe: schedule %s: %s=%s: %w", name, k, kv[k], err)
		}
	}
	return s, s.check()
}

func (s *Schedule) set(k, v string) error {
	num := func(p *float64) error {
		x, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return fmt.Errorf("want a number")
		}
		*p = x
		return nil
	}
	opt := func(p **float64) error {
		var x float64
		if err := num(&x); err != nil {
			return err
		}
		*p = &x
		return nil
	}
	integer := func(p *int) error {
		x, err := strconv.Atoi(v)
		if err != nil || x < 0 {
			return fmt.Errorf("want a whole number ≥ 0")
		}
		*p = x
		return nil
	}
	switch k {
	case "unit":
		s.Unit = v
	case "mode":
		s.Mode = v
	case "milestones":
		s.Milestones = nil
		for _, f := range strings.Split(v, ",") {
			x, err := strconv.Atoi(f)
			if err != nil {
				return fmt.Errorf("want whole numbers separated by commas")
			}
			s.Milestones = append(s.Milestones, x)
		}
	case "warmup":
		return integer(&s.Warmup)
	case "size":
		return integer(&s.Size)
	case "tmax":
		return integer(&s.TMax)
	case "t0":
		return integer(&s.T0)
	case "mult":
		return integer(&s.Mult)
	case "steps":
		return integer(&s.Steps)
	case "up":
		return integer(&s.Up)
	case "down":
		return integer(&s.Down)
	case "patience":
		var x int
		if err := integer(&x); err != nil {
			return err
		}
		s.Patience = &x
	case "cooldown":
		return integer(&s.Cooldown)
	case "gamma":
		return opt(&s.Gamma)
	case "min":
		return num(&s.Min)
	case "start":
		return opt(&s.Start)
	case "end":
		return num(&s.End)
	case "power":
		return opt(&s.Power)
	case "max":
		return opt(&s.Max)
	case "pct_start":
		return opt(&s.PctStart)
	case "base":
		return opt(&s.Base)
	case "factor":
		return opt(&s.Factor)
	case "threshold":
		return opt(&s.Threshold)
	}
	return nil
}

func (s Schedule) check() error {
	if _, ok := scheduleKeys[s.Name]; !ok {
		return fmt.Errorf("recipe: unknown schedule %q (valid: %s)", s.Name, strings.Join(ScheduleNames(), ", "))
	}
	if s.Unit != "" && s.Unit != "step" && s.Unit != "epoch" {
		return fmt.Errorf("recipe: schedule unit %q: want step or epoch", s.Unit)
	}
	if s.Warmup > 0 && (s.Name == "plateau" || s.Name == "onecycle") {
		return fmt.Errorf("recipe: schedule %s takes no warmup (one-cycle warms up itself; reduce-on-plateau keeps state that a warmup would hide)", s.Name)
	}
	if s.Mode != "" && s.Mode != "triangular" && s.Mode != "triangular2" && s.Mode != "exp_range" {
		return fmt.Errorf("recipe: cyclic mode %q: want triangular, triangular2 or exp_range", s.Mode)
	}
	return nil
}

// Resolve returns the schedule with every default made explicit for a run
// of epochs epochs of stepsPerEpoch steps at base rate lr: the lengths left
// at zero from the run's length, the settings left nil from their defaults.
// A recipe saved resolved keeps its schedule when the run is continued for
// more epochs: the schedule goes on as it was defined (a cosine past TMax
// rises again, as PyTorch's does; a one-cycle holds its final rate).
// Resolving a resolved schedule changes nothing.
func (s Schedule) Resolve(lr float64, epochs, stepsPerEpoch int) Schedule {
	total := epochs * stepsPerEpoch
	if s.Unit == "epoch" {
		total = epochs
	}
	rest := max(total-s.Warmup, 1) // the schedule's own length, after the warmup
	length := func(p *int, def int) {
		if *p <= 0 {
			*p = max(def, 1)
		}
	}
	value := func(p **float64, def float64) {
		if *p == nil {
			*p = &def
		}
	}
	if s.Name == "" {
		s.Name = "constant"
	}
	switch s.Name {
	case "step":
		length(&s.Size, rest/3)
		value(&s.Gamma, 0.1)
	case "multistep":
		if s.Milestones == nil {
			s.Milestones = []int{max(rest/2, 1), max(rest*3/4, 2)}
		}
		value(&s.Gamma, 0.1)
	case "exponential":
		value(&s.Gamma, math.Pow(0.01, 1/float64(rest))) // 100× lower at the end
	case "cosine":
		length(&s.TMax, rest)
	case "restarts":
		length(&s.T0, rest/3)
		s.Mult = max(s.Mult, 1)
	case "linear":
		value(&s.Start, 1)
		length(&s.Steps, rest)
	case "polynomial":
		length(&s.Steps, rest)
		value(&s.Power, 1)
	case "onecycle":
		length(&s.Steps, total)
		value(&s.Max, lr)
		value(&s.PctStart, 0.3)
	case "cyclic":
		value(&s.Max, lr)
		value(&s.Base, min(lr, *s.Max)/10)
		length(&s.Up, rest/8)
		value(&s.Gamma, 1)
		if s.Mode == "" {
			s.Mode = "triangular"
		}
	case "plateau":
		d := schedule.DefaultPlateau(lr)
		value(&s.Factor, d.Factor)
		value(&s.Threshold, d.Threshold)
		if s.Patience == nil {
			s.Patience = &d.Patience
		}
	}
	return s
}

// Build returns the learning-rate schedule for a run of epochs epochs of
// stepsPerEpoch steps at base rate lr, and the momentum schedule of the
// cycling schedules (nil for the others). What is left unset takes the
// defaults of [Schedule.Resolve].
func (s Schedule) Build(lr float64, epochs, stepsPerEpoch int) (lrs, momentum schedule.Schedule, err error) {
	if err := s.check(); err != nil {
		return nil, nil, err
	}
	s = s.Resolve(lr, epochs, stepsPerEpoch)
	var main schedule.Schedule
	switch s.Name {
	case "constant":
		main = schedule.Constant(lr)
	case "step":
		main = schedule.Step{Base: lr, Size: s.Size, Gamma: *s.Gamma}
	case "multistep":
		main = schedule.MultiStep{Base: lr, Milestones: s.Milestones, Gamma: *s.Gamma}
	case "exponential":
		main = schedule.Exponential{Base: lr, Gamma: *s.Gamma}
	case "cosine":
		main = schedule.Cosine{Base: lr, TMax: s.TMax, Min: s.Min}
	case "restarts":
		main = schedule.CosineRestarts{Base: lr, T0: s.T0, Mult: s.Mult, Min: s.Min}
	case "linear":
		main = schedule.Linear{Base: lr, Start: *s.Start, End: s.End, Steps: s.Steps}
	case "polynomial":
		main = schedule.Polynomial{Base: lr, Steps: s.Steps, Power: *s.Power}
	case "onecycle":
		o := schedule.DefaultOneCycle(*s.Max, s.Steps)
		o.PctStart = *s.PctStart
		main, momentum = o, o.Momentum()
	case "cyclic":
		c := schedule.DefaultCyclic(*s.Base, *s.Max)
		c.Up, c.Down, c.Gamma = s.Up, s.Down, *s.Gamma
		switch s.Mode {
		case "triangular2":
			c.Mode = schedule.Triangular2
		case "exp_range":
			c.Mode = schedule.ExpRange
		}
		main, momentum = c, c.Momentum()
	case "plateau":
		c := schedule.DefaultPlateau(lr)
		c.Factor, c.Patience, c.Threshold = *s.Factor, *s.Patience, *s.Threshold
		c.Cooldown, c.Min = s.Cooldown, s.Min
		p, err := schedule.NewPlateau(c)
		if err != nil {
			return nil, nil, fmt.Errorf("recipe: schedule plateau: %w", err)
		}
		return p, nil, nil // observed once per epoch, whatever the unit
	}
	if s.Warmup > 0 {
		main = schedule.Join{
			Schedules:  []schedule.Schedule{schedule.Linear{Base: lr, Start: 1 / float64(s.Warmup), End: 1, Steps: s.Warmup}, main},
			Boundaries: []int{s.Warmup},
		}
	}
	if s.Unit == "epoch" {
		main = schedule.Every{S: main, N: stepsPerEpoch}
		if momentum != nil {
			momentum = schedule.Every{S: momentum, N: stepsPerEpoch}
		}
	}
	if err := schedule.Validate(main); err != nil {
		return nil, nil, fmt.Errorf("recipe: schedule %s: %w", s.Name, err)
	}
	if momentum != nil {
		if err := schedule.Validate(momentum); err != nil {
			return nil, nil, fmt.Errorf("recipe: schedule %s: %w", s.Name, err)
		}
	}
	return main, momentum, nil
}

// String returns the spec ParseSchedule reads back.
func (s Schedule) String() string {
	parts := []string{s.Name}
	add := func(k string, v any, zero bool) {
		if !zero {
			parts = append(parts, fmt.Sprintf("%s=%v", k, v))
		}
	}
	opt := func(k string, v *float64) {
		if v != nil {
			add(k, *v, false)
		}
	}
	add("unit", s.Unit, s.Unit == "")
	add("warmup", s.Warmup, s.Warmup == 0)
	add("size", s.Size, s.Size == 0)
	opt("gamma", s.Gamma)
	if s.Milestones != nil {
		ms := make([]string, len(s.Milestones))
		for i, m := range s.Milestones {
			ms[i] = strconv.Itoa(m)
		}
		add("milestones", strings.Join(ms, ","), false)
	}
	add("tmax", s.TMax, s.TMax == 0)
	add("min", s.Min, s.Min == 0)
	add("t0", s.T0, s.T0 == 0)
	add("mult", s.Mult, s.Mult == 0)
	opt("start", s.Start)
	add("end", s.End, s.End == 0)
	add("steps", s.Steps, s.Steps == 0)
	opt("power", s.Power)
	opt("max", s.Max)
	opt("pct_start", s.PctStart)
	opt("base", s.Base)
	add("up", s.Up, s.Up == 0)
	add("down", s.Down, s.Down == 0)
	add("mode", s.Mode, s.Mode == "")
	opt("factor", s.Factor)
	if s.Patience != nil {
		add("patience", *s.Patience, false)
	}
	opt("threshold", s.Threshold)
	add("cooldown", s.Cooldown, s.Cooldown == 0)
	return strings.Join(parts, " ")
}
