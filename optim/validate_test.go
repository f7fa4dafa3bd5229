package optim_test

import (
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/descentml/descent/optim"
	"github.com/descentml/descent/schedule"
)

// TestValidateRefusesNaN sets each float hyperparameter of every named
// method to NaN and to −Inf in turn: Validate must refuse it, naming the
// field, since a comparison such as v < 0 is false for NaN.
func TestValidateRefusesNaN(t *testing.T) {
	for _, m := range []optim.Method{
		optim.DefaultSGD(), optim.DefaultRMSprop(), optim.DefaultAdam(), optim.DefaultAdamW(),
		optim.DefaultAdagrad(), optim.DefaultAdadelta(), optim.DefaultAdamax(), optim.DefaultNAdam(),
		optim.DefaultRAdam(), optim.DefaultLion(), optim.DefaultADOPT(), optim.DefaultAdEMAMix(),
		optim.DefaultLAMB(), optim.DefaultLARS(), optim.DefaultMuon(), optim.DefaultProdigy(),
		optim.DefaultScheduleFreeAdamW(), optim.DefaultScheduleFreeSGD(), optim.DefaultSOAP(),
	} {
		if err := m.Validate(); err != nil {
			t.Fatalf("%T default: %v", m, err)
		}
		typ := reflect.TypeOf(m)
		for i := range typ.NumField() {
			f := typ.Field(i)
			if !f.IsExported() || f.Type.Kind() != reflect.Float64 {
				continue
			}
			for _, bad := range []float64{math.NaN(), math.Inf(-1)} {
				v := reflect.New(typ).Elem()
				v.Set(reflect.ValueOf(m))
				v.Field(i).SetFloat(bad)
				err := v.Interface().(optim.Method).Validate()
				if want := typ.Name() + "." + f.Name; err == nil || !strings.Contains(err.Error(), want) {
					t.Errorf("%s = %v: Validate() = %v; want an error naming %s", want, bad, err, want)
				}
			}
		}
	}
}

// TestNewRefusesNonFinite: a learning rate, momentum schedule or clipping
// bound that is NaN or infinite is refused by New, naming what is wrong,
// not at the first step.
func TestNewRefusesNonFinite(t *testing.T) {
	nan, inf := math.NaN(), math.Inf(1)
	adamw := optim.DefaultAdamW()
	adamw.DecaySchedule = schedule.Cosine{Base: nan, TMax: 10}
	for _, tc := range []struct {
		c    optim.Config
		want string
	}{
		{optim.Config{Method: optim.DefaultAdam(), LR: schedule.Constant(nan)}, "Constant = NaN"},
		{optim.Config{Method: optim.DefaultAdam(), LR: schedule.Constant(inf)}, "Constant = +Inf"},
		{optim.Config{Method: optim.DefaultAdam(), LR: schedule.Cosine{Base: nan, TMax: 10}}, "Cosine.Base = NaN"},
		{optim.Config{Method: optim.DefaultAdam(), LR: nanSchedule{}}, "learning rate of group 0 is NaN"},
		{optim.Config{Method: optim.DefaultSGD(), LR: schedule.Constant(0.1), Momentum: nanSchedule{}}, "momentum of group 0 is NaN"},
		{optim.Config{Method: optim.DefaultSGD(), LR: schedule.Constant(0.1), Momentum: schedule.Constant(nan)}, "Constant = NaN"},
		{optim.Config{Method: optim.DefaultAdam(), ClipNorm: nan}, "Config.ClipNorm = NaN"},
		{optim.Config{Method: optim.DefaultAdam(), ClipValue: nan}, "Config.ClipValue = NaN"},
		{optim.Config{Method: optim.DefaultAdam(), ClipValue: -inf}, "Config.ClipValue = -Inf"},
		{optim.Config{Method: optim.DefaultAdam(), ClipNorm: 1, ClipNormType: nan}, "norm order NaN"},
		{optim.Config{Method: adamw}, "AdamW.DecaySchedule: schedule: Cosine.Base = NaN"},
	} {
		p := newProblem(1, 4)
		_, err := optim.New(p.params, tc.c)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("New(%+v) = %v; want an error containing %q", tc.c, err, tc.want)
		}
	}
}

type nanSchedule struct{}

func (nanSchedule) At(int) float64 { return math.NaN() }

// TestNilArguments: no parameters, parameters without values or
// gradients and a nil optimizer are errors, not nil dereferences.
func TestNilArguments(t *testing.T) {
	cfg := optim.Config{Method: optim.DefaultAdam()}
	for _, tc := range []struct {
		name string
		ps   []optim.Param[float32]
		want string
	}{
		{"nil params", nil, "no parameters"},
		{"empty params", []optim.Param[float32]{}, "no parameters"},
		{"nil Value", []optim.Param[float32]{{Name: "w", Shape: []int{2}, Grad: make([]float32, 2)}}, `"w": shape [2] has 2 elements, Value has 0`},
		{"nil Grad", []optim.Param[float32]{{Name: "w", Shape: []int{2}, Value: make([]float32, 2)}}, `"w": shape [2] has 2 elements, Grad has 0`},
	} {
		if _, err := optim.New(tc.ps, cfg); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("New with %s: %v; want an error containing %q", tc.name, err, tc.want)
		}
	}
	if _, err := optim.NewGroups[float32](nil, cfg); err == nil || !strings.Contains(err.Error(), "no parameters") {
		t.Errorf("NewGroups(nil): %v; want an error containing %q", err, "no parameters")
	}
	if _, err := optim.NewAccumulator[float32](nil, 2); err == nil || !strings.Contains(err.Error(), "nil") {
		t.Errorf("NewAccumulator(nil, 2): %v; want an error", err)
	}
	if _, err := optim.NewAverager[float32](nil, optim.Averaging{}); err == nil || !strings.Contains(err.Error(), "no parameters") {
		t.Errorf("NewAverager(nil): %v; want an error", err)
	}
	noValue := []optim.Param[float32]{{Name: "w", Shape: []int{2}}}
	if _, err := optim.NewAverager(noValue, optim.Averaging{}); err == nil || !strings.Contains(err.Error(), "Value has 0") {
		t.Errorf("NewAverager of a parameter without Value: %v; want an error", err)
	}
	// An average of parameters without gradients is fine: it reads values only.
	if _, err := optim.NewAverager([]optim.Param[float32]{{Name: "w", Shape: []int{2}, Value: make([]float32, 2)}}, optim.Averaging{}); err != nil {
		t.Errorf("NewAverager of a parameter without Grad: %v", err)
	}
}

// TestInfiniteClipClipsNothing: ClipNorm or ClipValue of +Inf takes the
// same steps as no clipping, as PyTorch's clip_grad_norm_ and
// clip_grad_value_ with inf do, and is not counted as clipping.
func TestInfiniteClipClipsNothing(t *testing.T) {
	run := func(c optim.Config) []float64 {
		p := newProblem(3, 8, 3)
		o, err := optim.New(p.params, c)
		if err != nil {
			t.Fatal(err)
		}
		for range 5 {
			p.grad()
			for i := range p.params[0].Grad {
				p.params[0].Grad[i] *= 1e3 // large enough that any finite bound here would clip
			}
			if err := o.Step(); err != nil {
				t.Fatal(err)
			}
		}
		return append(append([]float64(nil), p.params[0].Value...), p.params[1].Value...)
	}
	inf := math.Inf(1)
	want := run(optim.Config{Method: optim.DefaultAdam()})
	for _, c := range []optim.Config{
		{Method: optim.DefaultAdam(), ClipNorm: inf},
		{Method: optim.DefaultAdam(), ClipValue: inf},
		{Method: optim.DefaultAdam(), ClipNorm: inf, ClipValue: inf},
	} {
		got := run(c)
		for i := range want {
			if got[i] != want[i] {
				t.Errorf("ClipNorm %v, ClipValue %v: parameter %d = %v; want %v, as without clipping", c.ClipNorm, c.ClipValue, i, got[i], want[i])
				break
			}
		}
	}
	if slices.Equal(run(optim.Config{Method: optim.DefaultAdam(), ClipValue: 1}), want) {
		t.Error("ClipValue 1 changes nothing: the test cannot tell clipping from none")
	}
}
