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
// steps ("step", the default) or epochs ("epoch"). Zero lengths take
// defaults from the run's length when the schedule is built.
type Schedule struct {
	Name   string `json:"name"`
	Unit   string `json:"unit,omitempty"`   // "step" (default) or "epoch"
	Warmup int    `json:"warmup,omitempty"` // linear warmup from lr/Warmup to lr, then the schedule

	Size       int     `json:"size,omitempty"`       // step: units between decays
	Gamma      float64 `json:"gamma,omitempty"`      // step, multistep, exponential: decay factor
	Milestones []int   `json:"milestones,omitempty"` // multistep
	TMax       int     `json:"tmax,omitempty"`       // cosine: half period
	Min        float64 `json:"min,omitempty"`        // cosine, restarts, plateau: lowest rate
	T0         int     `json:"t0,omitempty"`         // restarts: first cycle
	Mult       int     `json:"mult,omitempty"`       // restarts: cycle growth
	Start      float64 `json:"start,omitempty"`      // linear: factor at the start
	End        float64 `json:"end,omitempty"`        // linear: factor at the end
	Steps      int     `json:"steps,omitempty"`      // linear, polynomial: length
	Power      float64 `json:"power,omitempty"`      // polynomial
	Max        float64 `json:"max,omitempty"`        // onecycle, cyclic: peak rate (default lr)
	PctStart   float64 `json:"pct_start,omitempty"`  // onecycle
	Base       float64 `json:"base,omitempty"`       // cyclic: lowest rate (default lr/10)
	Up         int     `json:"up,omitempty"`         // cyclic
	Down       int     `json:"down,omitempty"`       // cyclic
	Mode       string  `json:"mode,omitempty"`       // cyclic: triangular, triangular2, exp_range
	Factor     float64 `json:"factor,omitempty"`     // plateau
	Patience   int     `json:"patience,omitempty"`   // plateau, in epochs
	Threshold  float64 `json:"threshold,omitempty"`  // plateau
	Cooldown   int     `json:"cooldown,omitempty"`   // plateau
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
	"onecycle":    {"max", "pct_start"},
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
		return integer(&s.Patience)
	case "cooldown":
		return integer(&s.Cooldown)
	case "gamma":
		return num(&s.Gamma)
	case "min":
		return num(&s.Min)
	case "start":
		return num(&s.Start)
	case "end":
		return num(&s.End)
	case "power":
		return num(&s.Power)
	case "max":
		return num(&s.Max)
	case "pct_start":
		return num(&s.PctStart)
	case "base":
		return num(&s.Base)
	case "factor":
		return num(&s.Factor)
	case "threshold":
		return num(&s.Threshold)
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

// Build returns the learning-rate schedule for a run of epochs epochs of
// stepsPerEpoch steps at base rate lr, and the momentum schedule of the
// cycling schedules (nil for the others). Lengths left at zero default to
// the run's length.
func (s Schedule) Build(lr float64, epochs, stepsPerEpoch int) (lrs, momentum schedule.Schedule, err error) {
	if err := s.check(); err != nil {
		return nil, nil, err
	}
	total := epochs * stepsPerEpoch
	if s.Unit == "epoch" {
		total = epochs
	}
	rest := max(total-s.Warmup, 1) // the schedule's own length, after the warmup
	or := func(v, def int) int {
		if v > 0 {
			return v
		}
		return max(def, 1)
	}
	orf := func(v, def float64) float64 {
		if v != 0 {
			return v
		}
		return def
	}
	var main schedule.Schedule
	switch s.Name {
	case "constant", "":
		main = schedule.Constant(lr)
	case "step":
		main = schedule.Step{Base: lr, Size: or(s.Size, rest/3), Gamma: orf(s.Gamma, 0.1)}
	case "multistep":
		ms := s.Milestones
		if ms == nil {
			ms = []int{max(rest/2, 1), max(rest*3/4, 2)}
		}
		main = schedule.MultiStep{Base: lr, Milestones: ms, Gamma: orf(s.Gamma, 0.1)}
	case "exponential":
		main = schedule.Exponential{Base: lr, Gamma: orf(s.Gamma, math.Pow(0.01, 1/float64(rest)))} // 100× lower at the end
	case "cosine":
		main = schedule.Cosine{Base: lr, TMax: or(s.TMax, rest), Min: s.Min}
	case "restarts":
		main = schedule.CosineRestarts{Base: lr, T0: or(s.T0, rest/3), Mult: max(s.Mult, 1), Min: s.Min}
	case "linear":
		main = schedule.Linear{Base: lr, Start: orf(s.Start, 1), End: s.End, Steps: or(s.Steps, rest)}
	case "polynomial":
		main = schedule.Polynomial{Base: lr, Steps: or(s.Steps, rest), Power: orf(s.Power, 1)}
	case "onecycle":
		o := schedule.DefaultOneCycle(orf(s.Max, lr), total)
		o.PctStart = orf(s.PctStart, o.PctStart)
		main, momentum = o, o.Momentum()
	case "cyclic":
		c := schedule.DefaultCyclic(orf(s.Base, lr/10), orf(s.Max, lr))
		c.Up, c.Down = or(s.Up, rest/8), s.Down
		c.Gamma = orf(s.Gamma, 1)
		switch s.Mode {
		case "triangular2":
			c.Mode = schedule.Triangular2
		case "exp_range":
			c.Mode = schedule.ExpRange
		}
		main, momentum = c, c.Momentum()
	case "plateau":
		c := schedule.DefaultPlateau(lr)
		c.Factor = orf(s.Factor, c.Factor)
		c.Patience = or(s.Patience, c.Patience)
		c.Threshold = orf(s.Threshold, c.Threshold)
		c.Cooldown, c.Min = s.Cooldown, s.Min
		p, err := schedule.NewPlateau(c)
		if err != nil {
			return nil, nil, err
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
	add("unit", s.Unit, s.Unit == "")
	add("warmup", s.Warmup, s.Warmup == 0)
	add("size", s.Size, s.Size == 0)
	add("gamma", s.Gamma, s.Gamma == 0)
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
	add("start", s.Start, s.Start == 0)
	add("end", s.End, s.End == 0)
	add("steps", s.Steps, s.Steps == 0)
	add("power", s.Power, s.Power == 0)
	add("max", s.Max, s.Max == 0)
	add("pct_start", s.PctStart, s.PctStart == 0)
	add("base", s.Base, s.Base == 0)
	add("up", s.Up, s.Up == 0)
	add("down", s.Down, s.Down == 0)
	add("mode", s.Mode, s.Mode == "")
	add("factor", s.Factor, s.Factor == 0)
	add("patience", s.Patience, s.Patience == 0)
	add("threshold", s.Threshold, s.Threshold == 0)
	add("cooldown", s.Cooldown, s.Cooldown == 0)
	return strings.Join(parts, " ")
}
