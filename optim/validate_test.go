package optim_test

import (
	"errors"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/descentml/descent/optim"
	"github.com/descentml/descent/schedule"
)

// namedMethods returns every named method with its defaults.
func namedMethods() []optim.Method {
	return []optim.Method{
		optim.DefaultSGD(), optim.DefaultRMSprop(), optim.DefaultAdam(), optim.DefaultAdamW(),
		optim.DefaultAdagrad(), optim.DefaultAdadelta(), optim.DefaultAdamax(), optim.DefaultNAdam(),
		optim.DefaultRAdam(), optim.DefaultLion(), optim.DefaultADOPT(), optim.DefaultAdEMAMix(),
		optim.DefaultLAMB(), optim.DefaultLARS(), optim.DefaultMuon(), optim.DefaultProdigy(),
		optim.DefaultScheduleFreeAdamW(), optim.DefaultScheduleFreeSGD(), optim.DefaultSOAP(),
	}
}

// TestValidateRefusesNaN sets each float hyperparameter of every named
// method to NaN and to −Inf in turn: Validate must refuse it, naming the
// field, since a comparison such as v < 0 is false for NaN.
func TestValidateRefusesNaN(t *testing.T) {
	for _, m := range namedMethods() {
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
		{optim.Config{Method: optim.DefaultAdam(), ClipNorm: 1, ClipNormType: nan}, "Config.ClipNormType = NaN"},
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

// builtinTransforms returns one of each exported transform, with valid
// hyperparameters, for parameters of shape [4 2] (Orthogonalize's must be
// matrices).
func builtinTransforms() []optim.Transform[float64] {
	return []optim.Transform[float64]{
		&optim.Negate[float64]{},
		&optim.AddDecayedWeights[float64]{WeightDecay: 0.01, DecaySchedule: schedule.Constant(1), From: 2},
		&optim.Momentum[float64]{Momentum: 0.9, Dampening: 0.1},
		&optim.EMA[float64]{Momentum: 0.9},
		&optim.ScaleByAdam[float64]{Beta1: 0.9, Beta2: 0.999, Eps: 1e-8},
		&optim.ScaleByRMS[float64]{Alpha: 0.99, Eps: 1e-8},
		&optim.ScaleByAdagrad[float64]{Eps: 1e-10, InitialAccumulator: 0.1, LRDecay: 0.01},
		&optim.ScaleByAdadelta[float64]{Rho: 0.9, Eps: 1e-6},
		&optim.ScaleByAdamax[float64]{Beta1: 0.9, Beta2: 0.999, Eps: 1e-8},
		&optim.ScaleByNAdam[float64]{Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, MomentumDecay: 4e-3},
		&optim.ScaleByRAdam[float64]{Beta1: 0.9, Beta2: 0.999, Eps: 1e-8},
		&optim.ScaleByLR[float64]{},
		&optim.ClipByGlobalNorm[float64]{ClipNorm: 1, ClipNormType: 2},
		&optim.ClipByValue[float64]{ClipValue: 1},
		&optim.ScaleByLion[float64]{Beta1: 0.9, Beta2: 0.99},
		&optim.ScaleByADOPT[float64]{Beta1: 0.9, Beta2: 0.9999, Eps: 1e-6, ClipExponent: 0.25},
		&optim.ScaleByAdEMAMix[float64]{Beta1: 0.9, Beta2: 0.999, Beta3: 0.9999, Alpha: 5, Eps: 1e-8, AlphaWarmup: 10, Beta3Warmup: 10},
		&optim.Cautious[float64]{Base: &optim.ScaleByAdam[float64]{Beta1: 0.9, Beta2: 0.999, Eps: 1e-8}},
		&optim.ScaleByTrustRatio[float64]{TrustCoefficient: 1, Eps: 1e-8},
		&optim.Orthogonalize[float64]{NSSteps: 5, NSCoefficients: optim.DefaultNSCoefficients, Eps: 1e-7},
		&optim.ScaleByProdigy[float64]{Beta1: 0.9, Beta2: 0.999, Beta3: 0.99, Eps: 1e-8, WeightDecay: 0.01, D0: 1e-6, DCoef: 1, GrowthRate: 2},
		&optim.ScheduleFree[float64]{Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, WeightDecay: 0.01, Adam: true, Warmup: 10, R: 1, WeightLRPower: 2},
		&optim.ScaleBySOAP[float64]{Beta1: 0.95, Beta2: 0.95, ShampooBeta: 0.95, Eps: 1e-8, WeightDecay: 0.01, PreconditionFrequency: 10, MaxPrecondDim: 100},
	}
}

// newWithChain returns New's error for a custom Chain of tr alone.
func newWithChain(tr ...optim.Transform[float64]) error {
	p := newProblem(1, 8)
	_, err := optim.New(p.params, optim.Config{Method: optim.Chain[float64](tr), LR: schedule.Constant(0.1)})
	return err
}

// TestChainRefusesNaN is TestValidateRefusesNaN for a custom Chain: each
// float hyperparameter of every built-in transform, set to NaN and to
// −Inf in turn, is refused by New, naming the transform and the field, as
// the named methods' are.
func TestChainRefusesNaN(t *testing.T) {
	for _, tr := range builtinTransforms() {
		if err := newWithChain(tr); err != nil {
			t.Fatalf("New with a Chain of %T: %v", tr, err)
		}
	}
	for i, tr := range builtinTransforms() {
		typ := reflect.TypeOf(tr).Elem()
		name, _, _ := strings.Cut(typ.Name(), "[")
		for j := range typ.NumField() {
			f := typ.Field(j)
			if !f.IsExported() || f.Type.Kind() != reflect.Float64 {
				continue
			}
			for _, bad := range []float64{math.NaN(), math.Inf(-1)} {
				tr := builtinTransforms()[i]
				reflect.ValueOf(tr).Elem().Field(j).SetFloat(bad)
				err := newWithChain(tr)
				if want := name + "." + f.Name; err == nil || !strings.Contains(err.Error(), want) {
					t.Errorf("New with a Chain of %s = %v: %v; want an error naming %s", want, bad, err, want)
				}
			}
		}
	}
}

// userTransform is a transform of a user's, with a Validate of its own.
type userTransform struct {
	optim.ScaleByLR[float64]
	err error
}

func (u *userTransform) Validate() error { return u.err }

// TestChainRefusesOutOfRange: a custom Chain's transforms are held to the
// ranges the named methods hold their hyperparameters to — out-of-range
// betas, negative decay, bad integer settings, a schedule that is not
// valid — and a user's transform's Validate is called too.
func TestChainRefusesOutOfRange(t *testing.T) {
	adam := func(b1, b2, eps float64) *optim.ScaleByAdam[float64] {
		return &optim.ScaleByAdam[float64]{Beta1: b1, Beta2: b2, Eps: eps}
	}
	for _, tc := range []struct {
		tr   optim.Transform[float64]
		want string
	}{
		{adam(1.5, 0.999, 1e-8), "optim: ScaleByAdam.Beta1 = 1.5: must be in [0, 1)"},
		{adam(0.9, 1, 1e-8), "optim: ScaleByAdam.Beta2 = 1: must be in [0, 1)"},
		{adam(0.9, 0.999, math.NaN()), "optim: ScaleByAdam.Eps = NaN: must be positive and finite"},
		{adam(0.9, 0.999, 0), "optim: ScaleByAdam.Eps = 0: must be positive and finite"},
		{&optim.AddDecayedWeights[float64]{WeightDecay: -0.01}, "optim: AddDecayedWeights.WeightDecay = -0.01: must be finite and ≥ 0"},
		{&optim.AddDecayedWeights[float64]{WeightDecay: 0.01, DecaySchedule: schedule.Cosine{Base: math.NaN(), TMax: 10}},
			"optim: AddDecayedWeights.DecaySchedule: schedule: Cosine.Base = NaN"},
		{&optim.AddDecayedWeights[float64]{WeightDecay: 0.01, From: -1}, "optim: AddDecayedWeights.From = -1: must be ≥ 0"},
		{&optim.Momentum[float64]{Momentum: 1}, "optim: Momentum.Momentum = 1: must be in [0, 1)"},
		{&optim.Momentum[float64]{Momentum: 0.9, Dampening: -1}, "optim: Momentum.Dampening = -1"},
		{&optim.EMA[float64]{Momentum: -0.5}, "optim: EMA.Momentum = -0.5"},
		{&optim.ScaleByAdadelta[float64]{Rho: 1.5, Eps: 1e-6}, "optim: ScaleByAdadelta.Rho = 1.5: must be in [0, 1]"},
		{&optim.ScaleByLion[float64]{Beta1: 1.1, Beta2: 0.99}, "optim: ScaleByLion.Beta1 = 1.1: must be in [0, 1]"},
		{&optim.ClipByValue[float64]{}, "optim: ClipByValue.ClipValue = 0: must be positive and finite"},
		{&optim.ClipByGlobalNorm[float64]{ClipNorm: -1}, "optim: ClipByGlobalNorm.ClipNorm = -1: must be finite and ≥ 0"},
		{&optim.ClipByGlobalNorm[float64]{ClipNorm: 1, ClipNormType: -2}, "optim: ClipByGlobalNorm.ClipNormType = -2: must be positive"},
		{&optim.Cautious[float64]{}, "optim: Cautious.Base is nil"},
		{&optim.Cautious[float64]{Base: adam(0.9, 0.999, 1e-8), CautiousScale: 7}, "optim: Cautious.CautiousScale = 7: unknown mask normalisation"},
		{&optim.Cautious[float64]{Base: adam(2, 0.999, 1e-8)}, "optim: ScaleByAdam.Beta1 = 2"},
		{&optim.ScaleByAdEMAMix[float64]{Beta1: 0.9, Beta2: 0.999, Beta3: 0.9999, Eps: 1e-8, AlphaWarmup: -1}, "optim: ScaleByAdEMAMix.AlphaWarmup = -1: must be ≥ 0"},
		{&optim.ScaleByTrustRatio[float64]{}, "optim: ScaleByTrustRatio.TrustCoefficient = 0: must be positive and finite"},
		{&optim.Orthogonalize[float64]{NSCoefficients: optim.DefaultNSCoefficients, Eps: 1e-7}, "optim: Orthogonalize.NSSteps = 0: must be at least 1"},
		{&optim.Orthogonalize[float64]{NSSteps: 5, NSCoefficients: [3]float64{1, math.Inf(1), 1}, Eps: 1e-7}, "optim: Orthogonalize.NSCoefficients[1] = +Inf: must be finite"},
		{&optim.ScaleByProdigy[float64]{Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, D0: 1e-6, DCoef: 1, GrowthRate: 0.5}, "optim: ScaleByProdigy.GrowthRate = 0.5: must be ≥ 1, or 0 for no limit"},
		{&optim.ScheduleFree[float64]{Beta1: 0, Beta2: 0.999, Eps: 1e-8, Adam: true}, "optim: ScheduleFree.Beta1 = 0: must be in (0, 1)"},
		{&optim.ScheduleFree[float64]{Beta1: 0.9, Warmup: -1}, "optim: ScheduleFree.Warmup = -1: must be ≥ 0"},
		{&optim.ScaleBySOAP[float64]{Beta1: 0.95, Beta2: 0.95, ShampooBeta: 0.95, Eps: 1e-8}, "optim: ScaleBySOAP.PreconditionFrequency = 0: must be at least 1"},
		{&optim.ScaleBySOAP[float64]{Beta1: 0.95, Beta2: 0.95, ShampooBeta: 0.95, Eps: 1e-8, PreconditionFrequency: 1, MaxPrecondDim: -1}, "optim: ScaleBySOAP.MaxPrecondDim = -1: must be ≥ 0"},
		{&userTransform{err: errors.New("mine: Rate = -1: must be ≥ 0")}, "mine: Rate = -1: must be ≥ 0"},
	} {
		err := newWithChain(&optim.ScaleByLR[float64]{}, tc.tr)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("New with a Chain of %T = %v; want an error containing %q", tc.tr, err, tc.want)
		}
		if err := (optim.Chain[float64]{tc.tr}).Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Chain{%T}.Validate() = %v; want an error containing %q", tc.tr, err, tc.want)
		}
	}
	// A Validate that accepts lets the chain through; SGD-mode
	// Schedule-Free has no β₂ or ε to check.
	if err := newWithChain(&userTransform{}, &optim.ScheduleFree[float64]{Beta1: 0.9}); err != nil {
		t.Errorf("New with a user's valid transform and Schedule-Free SGD: %v", err)
	}
}

// TestMethodsPassTheirTransformsChecks: whatever a named method accepts,
// the transforms it is built from accept too, so that the two sets of
// checks, both made of the same range functions, cannot drift apart. Each
// float field is set in turn to values at and beyond the usual bounds, and
// each bool field turned on.
func TestMethodsPassTheirTransformsChecks(t *testing.T) {
	for _, m := range append(namedMethods(), optim.SGD{Momentum: 0.9, Nesterov: true}, optim.SGD{Momentum: 0.9, EMA: true}) {
		typ := reflect.TypeOf(m)
		try := func(what string, m optim.Method) {
			if m.Validate() != nil {
				return
			}
			p := newProblem(1, 8)
			if _, err := optim.New(p.params, optim.Config{Method: m, LR: schedule.Constant(0.1)}); err != nil {
				t.Errorf("%s %s: Validate accepts it, New refuses it: %v", typ.Name(), what, err)
			}
		}
		try("as given", m)
		for i := range typ.NumField() {
			f := typ.Field(i)
			if !f.IsExported() {
				continue
			}
			switch f.Type.Kind() {
			case reflect.Float64:
				for _, x := range []float64{0, 1e-9, 0.5, 1, 2, -1} {
					v := reflect.New(typ).Elem()
					v.Set(reflect.ValueOf(m))
					v.Field(i).SetFloat(x)
					try(f.Name+" = "+strconv.FormatFloat(x, 'g', -1, 64), v.Interface().(optim.Method))
				}
			case reflect.Bool:
				v := reflect.New(typ).Elem()
				v.Set(reflect.ValueOf(m))
				v.Field(i).SetBool(!v.Field(i).Bool())
				try(f.Name+" flipped", v.Interface().(optim.Method))
			}
		}
	}
}

// TestValidateNamesFirstBadField: with the numeric hyperparameters that
// Validate refuses on their own (NaN for a float, −1 for a count) made bad
// together, from any one of them to the last, Validate names the first in
// the order the fields are declared, for every named method and every
// built-in transform.
func TestValidateNamesFirstBadField(t *testing.T) {
	type validator interface{ Validate() error }
	bad := func(f reflect.Value) bool {
		switch f.Kind() {
		case reflect.Float64:
			f.SetFloat(math.NaN())
		case reflect.Int:
			f.SetInt(-1)
		default:
			return false
		}
		return true
	}
	// try validates a copy of orig (a struct) with the fields in set made
	// bad; ptr says whether Validate has a pointer receiver.
	try := func(orig reflect.Value, ptr bool, set ...int) error {
		v := reflect.New(orig.Type()).Elem()
		v.Set(orig)
		for _, i := range set {
			bad(v.Field(i))
		}
		if ptr {
			return v.Addr().Interface().(validator).Validate()
		}
		return v.Interface().(validator).Validate()
	}
	check := func(orig reflect.Value, ptr bool) {
		typ := orig.Type()
		owner, _, _ := strings.Cut(typ.Name(), "[")
		var checked []int
		for i := range typ.NumField() {
			if typ.Field(i).IsExported() && bad(reflect.New(typ.Field(i).Type).Elem()) && try(orig, ptr, i) != nil {
				checked = append(checked, i)
			}
		}
		for j := range checked {
			err := try(orig, ptr, checked[j:]...)
			first := typ.Field(checked[j]).Name
			if want := "optim: " + owner + "." + first + " = "; err == nil || !strings.HasPrefix(err.Error(), want) {
				t.Errorf("%s with %s and every checked field after it bad: Validate() = %v; want an error naming %s", owner, first, err, first)
			}
		}
	}
	for _, m := range namedMethods() {
		check(reflect.ValueOf(m), false)
	}
	for _, tr := range builtinTransforms() {
		check(reflect.ValueOf(tr).Elem(), true)
	}
}
