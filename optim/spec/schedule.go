package spec

import (
	"fmt"
	"math"
	"reflect"
	"slices"
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
	Unit   string `json:"unit,omitempty" key:"unit" help:"what lengths count: step (default) or epoch"`
	Warmup int    `json:"warmup,omitempty" key:"warmup" help:"linear warmup from lr/warmup to lr over this many units, then the schedule"`

	Size       int      `json:"size,omitempty" key:"size" help:"units between decays (default: a third of the run)"`
	Gamma      *float64 `json:"gamma,omitempty" key:"gamma" help:"decay factor (step, multistep: 0.1; exponential: 100× lower at the end of the run; cyclic exp_range: 1)"`
	Milestones []int    `json:"milestones,omitempty" key:"milestones" help:"units at which to decay, comma-separated (default: half and three quarters of the run)"`
	TMax       int      `json:"tmax,omitempty" key:"tmax" help:"half period (default: the run)"`
	Min        float64  `json:"min,omitempty" key:"min" help:"lowest rate"`
	T0         int      `json:"t0,omitempty" key:"t0" help:"first cycle (default: a third of the run)"`
	Mult       int      `json:"mult,omitempty" key:"mult" help:"cycle growth (1)"`
	Start      *float64 `json:"start,omitempty" key:"start" help:"factor at the start (1)"`
	End        float64  `json:"end,omitempty" key:"end" help:"factor at the end (0: a linear decay)"`
	Steps      int      `json:"steps,omitempty" key:"steps" help:"length (default: the run)"`
	Power      *float64 `json:"power,omitempty" key:"power" help:"power of the decay (1)"`
	Max        *float64 `json:"max,omitempty" key:"max" help:"peak rate (lr)"`
	PctStart   *float64 `json:"pct_start,omitempty" key:"pct_start" help:"fraction of the steps spent rising (0.3)"`
	Base       *float64 `json:"base,omitempty" key:"base" help:"lowest rate (a tenth of lr or of max, the smaller)"`
	Up         int      `json:"up,omitempty" key:"up" help:"units rising (default: an eighth of the run)"`
	Down       int      `json:"down,omitempty" key:"down" help:"units falling (0: as up)"`
	Mode       string   `json:"mode,omitempty" key:"mode" help:"triangular (default), triangular2 or exp_range"`
	Factor     *float64 `json:"factor,omitempty" key:"factor" help:"factor of each reduction (0.1)"`
	Patience   *int     `json:"patience,omitempty" key:"patience" help:"epochs without improvement before a reduction (10)"`
	Threshold  *float64 `json:"threshold,omitempty" key:"threshold" help:"relative improvement that counts (1e-4)"`
	Cooldown   int      `json:"cooldown,omitempty" key:"cooldown" help:"epochs to wait after a reduction"`
}

// schedules is the name → schedule table: a one-line doc and the settings
// each takes besides unit and warmup (which every one takes but plateau
// and onecycle refuse a warmup).
var schedules = names{
	{"constant", "the rate lr throughout", nil},
	{"step", "lr·gammaᵏ after k·size units (StepLR)", []string{"size", "gamma"}},
	{"multistep", "lr·gammaᵏ after k milestones (MultiStepLR)", []string{"milestones", "gamma"}},
	{"exponential", "lr·gammaᵗ (ExponentialLR)", []string{"gamma"}},
	{"cosine", "a half cosine from lr to min over tmax (CosineAnnealingLR)", []string{"tmax", "min"}},
	{"restarts", "cosines from lr to min, restarting after t0, t0·mult, … (SGDR)", []string{"t0", "mult", "min"}},
	{"linear", "lr·start to lr·end over steps (LinearLR)", []string{"start", "end", "steps"}},
	{"polynomial", "lr·(1 − t/steps)^power (PolynomialLR)", []string{"steps", "power"}},
	{"onecycle", "up to max and down again, momentum against it (OneCycleLR)", []string{"max", "pct_start", "steps"}},
	{"cyclic", "triangles between base and max (CyclicLR)", []string{"base", "max", "up", "down", "mode", "gamma"}},
	{"plateau", "lr·factor when the validation loss stops improving (ReduceLROnPlateau)", []string{"factor", "patience", "threshold", "cooldown", "min"}},
}

// scheduleKeys returns the settings schedule name takes, unit and warmup
// first, and whether the name is known.
func scheduleKeys(name string) ([]string, bool) {
	for _, s := range schedules {
		if s.name == name {
			return append([]string{"unit", "warmup"}, s.keys...), true
		}
	}
	return nil, false
}

// ScheduleNames returns the schedule names, sorted.
func ScheduleNames() []string {
	names := make([]string, len(schedules))
	for i, s := range schedules {
		names[i] = s.name
	}
	slices.Sort(names)
	return names
}

// ScheduleDoc returns the one-line description of schedule name, or "".
func ScheduleDoc(name string) string { return schedules.doc(name) }

// names is a table of names: a one-line doc and the settings each takes.
type names []struct {
	name, doc string
	keys      []string
}

// doc returns the one-line description of name, or "".
func (t names) doc(name string) string {
	for _, e := range t {
		if e.name == name {
			return e.doc
		}
	}
	return ""
}

// ScheduleKeys returns the settings schedule name takes (unit and warmup
// first), with their help, or nil for an unknown name.
func ScheduleKeys(name string) []Key {
	names, ok := scheduleKeys(name)
	if !ok {
		return nil
	}
	var keys []Key
	for _, n := range names {
		f, _ := scheduleField(n)
		keys = append(keys, Key{Name: n, Help: f.Tag.Get("help"), Kind: settingKind(f.Type)})
	}
	return keys
}

// scheduleField returns the field of Schedule that setting k sets.
func scheduleField(k string) (reflect.StructField, bool) {
	return taggedField(reflect.TypeFor[Schedule](), k)
}

// taggedField returns the field of struct type t tagged key:"k".
func taggedField(t reflect.Type, k string) (reflect.StructField, bool) {
	for i := range t.NumField() {
		if f := t.Field(i); f.Tag.Get("key") == k {
			return f, true
		}
	}
	return reflect.StructField{}, false
}

func settingKind(t reflect.Type) Kind {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() == reflect.Int {
		return Int
	}
	return Float
}

// ParseSchedule reads a schedule spec: a name and key=value settings, as
// "cosine min=1e-5" or "step size=10 gamma=0.5". The keys "unit" and
// "warmup" apply to every schedule.
func ParseSchedule(spec string) (Schedule, error) {
	name, kv, err := split(spec)
	if err != nil {
		return Schedule{}, fmt.Errorf("spec: schedule %q: %w (want a name and key=value pairs, as \"cosine min=1e-5\")", spec, err)
	}
	valid, ok := scheduleKeys(name)
	if !ok {
		return Schedule{}, fmt.Errorf("spec: unknown schedule %q (valid: %s)", name, strings.Join(ScheduleNames(), ", "))
	}
	s := Schedule{Name: name}
	for _, k := range sortedKeys(kv) {
		if !slices.Contains(valid, k) {
			return Schedule{}, fmt.Errorf("spec: schedule %s has no setting %q (valid: %s)", name, k, strings.Join(valid, ", "))
		}
		if err := setTagged(&s, k, kv[k]); err != nil {
			return Schedule{}, fmt.Errorf("spec: schedule %s: %s=%s: %w", name, k, kv[k], err)
		}
	}
	return s, s.check()
}

// setTagged sets the field of the struct *p tagged key:"k" (a Schedule's
// or an Average's setting) from v: a whole number ≥ 0, a number (nil
// pointers are "unset"), a word, or comma-separated whole numbers.
func setTagged(p any, k, v string) error {
	s := reflect.ValueOf(p).Elem()
	sf, ok := taggedField(s.Type(), k)
	if !ok {
		return fmt.Errorf("no such setting")
	}
	f := s.FieldByIndex(sf.Index)
	if f.Kind() == reflect.Pointer {
		p := reflect.New(f.Type().Elem())
		if err := setValue(p.Elem(), v); err != nil {
			return err
		}
		f.Set(p)
		return nil
	}
	return setValue(f, v)
}

func setValue(f reflect.Value, v string) error {
	switch f.Kind() {
	case reflect.String:
		f.SetString(v)
	case reflect.Int:
		x, err := strconv.Atoi(v)
		if err != nil || x < 0 {
			return fmt.Errorf("want a whole number ≥ 0")
		}
		f.SetInt(int64(x))
	case reflect.Float64:
		x, err := strconv.ParseFloat(v, 64)
		if err != nil || math.IsNaN(x) || math.IsInf(x, 0) {
			return fmt.Errorf("want a finite number")
		}
		f.SetFloat(x)
	case reflect.Slice:
		var xs []int
		for _, p := range strings.Split(v, ",") {
			x, err := strconv.Atoi(p)
			if err != nil {
				return fmt.Errorf("want whole numbers separated by commas")
			}
			xs = append(xs, x)
		}
		f.Set(reflect.ValueOf(xs))
	default:
		panic("spec: setting of unexpected type " + f.Type().String())
	}
	return nil
}

func (s Schedule) check() error {
	if _, ok := scheduleKeys(s.Name); !ok {
		return fmt.Errorf("spec: unknown schedule %q (valid: %s)", s.Name, strings.Join(ScheduleNames(), ", "))
	}
	if s.Unit != "" && s.Unit != "step" && s.Unit != "epoch" {
		return fmt.Errorf("spec: schedule unit %q: want step or epoch", s.Unit)
	}
	if s.Warmup > 0 && (s.Name == "plateau" || s.Name == "onecycle") {
		return fmt.Errorf("spec: schedule %s takes no warmup (one-cycle warms up itself; reduce-on-plateau keeps state that a warmup would hide)", s.Name)
	}
	if s.Mode != "" && s.Mode != "triangular" && s.Mode != "triangular2" && s.Mode != "exp_range" {
		return fmt.Errorf("spec: cyclic mode %q: want triangular, triangular2 or exp_range", s.Mode)
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
			return nil, nil, fmt.Errorf("spec: schedule plateau: %w", err)
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
		return nil, nil, fmt.Errorf("spec: schedule %s: %w", s.Name, err)
	}
	if momentum != nil {
		if err := schedule.Validate(momentum); err != nil {
			return nil, nil, fmt.Errorf("spec: schedule %s: %w", s.Name, err)
		}
	}
	return main, momentum, nil
}

// String returns the spec ParseSchedule reads back: the name and every
// setting that is set (not zero, not nil), in the order of Schedule's
// fields.
func (s Schedule) String() string {
	parts := []string{s.Name}
	v := reflect.ValueOf(s)
	t := v.Type()
	for i := range t.NumField() {
		k := t.Field(i).Tag.Get("key")
		f := v.Field(i)
		if k == "" || f.IsZero() {
			continue
		}
		if f.Kind() == reflect.Pointer {
			f = f.Elem()
		}
		var val string
		switch f.Kind() {
		case reflect.Slice:
			ms := make([]string, f.Len())
			for j := range ms {
				ms[j] = strconv.Itoa(int(f.Index(j).Int()))
			}
			val = strings.Join(ms, ",")
		default:
			val = fmt.Sprint(f.Interface())
		}
		parts = append(parts, k+"="+val)
	}
	return strings.Join(parts, " ")
}
