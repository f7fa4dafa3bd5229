package optim_test

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/descentml/descent/internal/kernel"
	"github.com/descentml/descent/optim"
	"github.com/descentml/descent/schedule"
)

// problem is a small least-squares problem whose gradient the tests feed to
// optimizers: parameters of a few shapes, a fixed target, gradient θ − target
// plus deterministic noise per step.
type problem struct {
	params []optim.Param[float64]
	target [][]float64
	rng    *rand.Rand
}

func newProblem(seed uint64, sizes ...int) *problem {
	rng := rand.New(rand.NewPCG(seed, 7))
	p := &problem{rng: rng}
	names := []string{"fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"}
	for i, n := range sizes {
		shape := []int{n}
		if i%2 == 0 && n%4 == 0 {
			shape = []int{4, n / 4}
		}
		v, t := make([]float64, n), make([]float64, n)
		for j := range v {
			v[j], t[j] = rng.NormFloat64(), rng.NormFloat64()
		}
		p.params = append(p.params, optim.Param[float64]{Name: names[i%4] + strings.Repeat("'", i/4), Shape: shape, Value: v, Grad: make([]float64, n)})
		p.target = append(p.target, t)
	}
	return p
}

// grad sets each gradient to θ − target plus noise.
func (p *problem) grad() {
	for i, q := range p.params {
		for j := range q.Grad {
			q.Grad[j] = q.Value[j] - p.target[i][j] + 0.1*p.rng.NormFloat64()
		}
	}
}

func (p *problem) values() [][]float64 {
	var out [][]float64
	for _, q := range p.params {
		out = append(out, slices.Clone(q.Value))
	}
	return out
}

func mustNew(t *testing.T, params []optim.Param[float64], c optim.Config) *optim.Optimizer[float64] {
	t.Helper()
	o, err := optim.New(params, c)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func run(t *testing.T, p *problem, o *optim.Optimizer[float64], steps int) {
	t.Helper()
	for range steps {
		p.grad()
		if err := o.Step(); err != nil {
			t.Fatal(err)
		}
	}
}

func sameBits(t *testing.T, what string, got, want [][]float64) {
	t.Helper()
	for i := range want {
		for j := range want[i] {
			if math.Float64bits(got[i][j]) != math.Float64bits(want[i][j]) {
				t.Fatalf("%s: params[%d][%d] = %v; want %v (bit for bit)", what, i, j, got[i][j], want[i][j])
			}
		}
	}
}

// allMethods lists every named method with typical hyperparameters.
func allMethods() map[string]optim.Method {
	nadam := optim.DefaultNAdam()
	nadam.WeightDecay = 0.01
	adam := optim.DefaultAdam()
	adam.AMSGrad = true
	rms := optim.DefaultRMSprop()
	rms.Centered, rms.Momentum = true, 0.5
	cadamw, lion, clion := optim.DefaultAdamW(), optim.DefaultLion(), optim.DefaultLion()
	cadamw.Cautious, lion.WeightDecay, clion.Cautious, clion.WeightDecay = true, 0.1, true, 0.1
	adopt, adoptw, mix := optim.DefaultADOPT(), optim.DefaultADOPT(), optim.DefaultAdEMAMix()
	adopt.WeightDecay, adoptw.WeightDecay, adoptw.Decouple = 0.01, 0.01, true
	mix.AlphaWarmup, mix.Beta3Warmup, mix.WeightDecay = 5, 5, 0.01
	sfa, sfs := optim.DefaultScheduleFreeAdamW(), optim.DefaultScheduleFreeSGD()
	sfa.WeightDecay, sfa.Warmup, sfa.R = 0.01, 3, 1
	sfs.WeightDecay, sfs.Warmup = 0.01, 2
	return map[string]optim.Method{
		"ScheduleFreeAdamW": sfa,
		"ScheduleFreeSGD":   sfs,
		"ADOPT":             adopt,
		"ADOPT-decouple":    adoptw,
		"AdEMAMix":          mix,
		"AdamW-cautious":    cadamw,
		"Lion":              lion,
		"Lion-cautious":     clion,
		"SGD":               optim.SGD{},
		"SGD-momentum":      optim.SGD{Momentum: 0.9, WeightDecay: 1e-3},
		"SGD-nesterov":      optim.SGD{Momentum: 0.9, Nesterov: true},
		"SGD-EMA":           optim.SGD{Momentum: 0.9, EMA: true, L2: 1e-3},
		"RMSprop":           rms,
		"Adam":              adam,
		"AdamW":             optim.DefaultAdamW(),
		"Adagrad":           optim.DefaultAdagrad(),
		"Adadelta":          optim.DefaultAdadelta(),
		"Adamax":            optim.DefaultAdamax(),
		"NAdam":             nadam,
		"RAdam":             optim.DefaultRAdam(),
	}
}

// TestEveryMethodDescends checks that every method lowers the loss of a
// noiseless quadratic: a sign error anywhere in a chain shows here.
func TestEveryMethodDescends(t *testing.T) {
	for name, m := range allMethods() {
		p := newProblem(1, 12, 3)
		loss := func() float64 {
			s := 0.0
			for i, q := range p.params {
				for j, v := range q.Value {
					s += (v - p.target[i][j]) * (v - p.target[i][j])
				}
			}
			return s
		}
		o := mustNew(t, p.params, optim.Config{Method: m, LR: schedule.Constant(0.05)})
		before := loss()
		for range 50 {
			for i, q := range p.params {
				for j := range q.Grad {
					q.Grad[j] = q.Value[j] - p.target[i][j]
				}
			}
			if err := o.Step(); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
		}
		if after := loss(); !(after < before) {
			t.Errorf("%s: loss %v after 50 steps, %v before", name, after, before)
		}
	}
}

func TestValidateNamesFieldAndValue(t *testing.T) {
	for _, tc := range []struct {
		m    optim.Method
		want string
	}{
		{optim.Adam{Beta1: 1.2, Beta2: 0.999, Eps: 1e-8}, "Adam.Beta1 = 1.2"},
		{optim.Adam{Beta1: 0.9, Beta2: 1, Eps: 1e-8}, "Adam.Beta2 = 1"},
		{optim.Adam{Beta1: 0.9, Beta2: 0.999, Eps: 0}, "Adam.Eps = 0"},
		{optim.AdamW{Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, WeightDecay: -1}, "AdamW.WeightDecay = -1"},
		{optim.SGD{Momentum: -0.1}, "SGD.Momentum = -0.1"},
		{optim.SGD{Nesterov: true}, "Nesterov needs Momentum > 0"},
		{optim.RMSprop{Alpha: 0.99, Eps: -1}, "RMSprop.Eps = -1"},
		{optim.Adagrad{Eps: math.NaN()}, "Adagrad.Eps = NaN"},
		{optim.Adadelta{Rho: 1.5, Eps: 1e-6}, "Adadelta.Rho = 1.5"},
		{optim.NAdam{Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, MomentumDecay: -1}, "NAdam.MomentumDecay = -1"},
	} {
		err := tc.m.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%T.Validate() = %v; want an error containing %q", tc.m, err, tc.want)
		}
		p := newProblem(1, 4)
		if _, err := optim.New(p.params, optim.Config{Method: tc.m, LR: schedule.Constant(0.1)}); err == nil {
			t.Errorf("New with %+v succeeded; want an error", tc.m)
		}
	}
	p := newProblem(1, 4)
	for _, c := range []optim.Config{
		{Method: optim.SGD{}},                                         // SGD has no default rate
		{Method: optim.SGD{}, LR: schedule.Constant(-0.1)},            // negative rate
		{Method: optim.SGD{}, LR: schedule.Cosine{Base: 1}},           // invalid schedule
		{Method: nil, LR: schedule.Constant(0.1)},                     // no method
		{Method: optim.SGD{}, LR: schedule.Constant(1), ClipNorm: -1}, // negative clip
	} {
		if o, err := optim.New(p.params, c); err == nil {
			if err := o.Step(); err == nil {
				t.Errorf("config %+v: New and Step succeeded; want an error", c)
			}
		}
	}
	bad := []optim.Param[float64]{{Name: "w", Shape: []int{2, 3}, Value: make([]float64, 5), Grad: make([]float64, 6)}}
	if _, err := optim.New(bad, optim.Config{Method: optim.DefaultAdam()}); err == nil || !strings.Contains(err.Error(), `"w"`) {
		t.Errorf("New with a short Value: err = %v; want one naming the parameter", err)
	}
}

// TestCoupledDecayEquivalences: PyTorch's weight_decay λ is a penalty λ/2·‖θ‖²,
// and the paper's AdamW with η ≡ 1 is PyTorch's with λ/α.
func TestCoupledDecayEquivalences(t *testing.T) {
	a, b := newProblem(3, 8, 2), newProblem(3, 8, 2)
	run(t, a, mustNew(t, a.params, optim.Config{Method: optim.SGD{Momentum: 0.9, WeightDecay: 0.02}, LR: schedule.Constant(0.1)}), 20)
	run(t, b, mustNew(t, b.params, optim.Config{Method: optim.SGD{Momentum: 0.9, L2: 0.01}, LR: schedule.Constant(0.1)}), 20)
	sameBits(t, "SGD weight_decay 0.02 vs L2 0.01", a.values(), b.values())

	const alpha, lambda = 0.01, 0.1
	torch, paper := optim.DefaultAdamW(), optim.DefaultAdamW()
	torch.WeightDecay = lambda / alpha
	paper.WeightDecay, paper.DecaySchedule = lambda, schedule.Constant(1)
	a, b = newProblem(4, 8, 2), newProblem(4, 8, 2)
	run(t, a, mustNew(t, a.params, optim.Config{Method: torch, LR: schedule.Constant(alpha)}), 20)
	run(t, b, mustNew(t, b.params, optim.Config{Method: paper, LR: schedule.Constant(alpha)}), 20)
	for i, v := range a.values() {
		for j := range v {
			if d := math.Abs(v[j] - b.values()[i][j]); d > 1e-12 {
				t.Fatalf("paper AdamW differs from PyTorch AdamW with λ/α at [%d][%d] by %g", i, j, d)
			}
		}
	}
}

// TestScheduledMomentumReplacesBeta1 checks that a momentum schedule is Adam's
// β₁ (as one-cycle uses it).
func TestScheduledMomentumReplacesBeta1(t *testing.T) {
	a, b := newProblem(5, 6), newProblem(5, 6)
	adam := optim.DefaultAdam()
	run(t, a, mustNew(t, a.params, optim.Config{Method: adam, Momentum: schedule.Constant(0.5)}), 10)
	adam.Beta1 = 0.5
	run(t, b, mustNew(t, b.params, optim.Config{Method: adam}), 10)
	sameBits(t, "Adam with momentum schedule 0.5 vs Beta1 0.5", a.values(), b.values())
}

func TestClipInvariants(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	for _, p := range []float64{1, 2, 3, math.Inf(1)} {
		grads := [][]float64{make([]float64, 50), make([]float64, 7)}
		for _, g := range grads {
			for j := range g {
				g[j] = rng.NormFloat64()
			}
		}
		before, err := optim.ClipGradNorm(grads, 0.5, p)
		if err != nil {
			t.Fatal(err)
		}
		after, _ := optim.ClipGradNorm(grads, math.MaxFloat64, p)
		if want := 0.5 * before / (before + 1e-6); math.Abs(after-want) > 1e-12 {
			t.Errorf("p=%v: norm after clipping = %v; want %v", p, after, want)
		}
		// Clipping again changes the gradients only by PyTorch's 1e-6 guard
		// in the denominator: a relative 2e-6 at most.
		again := [][]float64{slices.Clone(grads[0]), slices.Clone(grads[1])}
		optim.ClipGradNorm(again, 0.5, p)
		for i := range grads {
			for j := range grads[i] {
				if d := math.Abs(again[i][j] - grads[i][j]); d > 2e-6*math.Abs(grads[i][j]) {
					t.Errorf("p=%v: clipping twice changed grads[%d][%d] from %v to %v", p, i, j, grads[i][j], again[i][j])
				}
			}
		}
	}
	g := [][]float64{{-3, 0.2, 5, math.Inf(-1)}}
	if err := optim.ClipGradValue(g, 1); err != nil || !slices.Equal(g[0], []float64{-1, 0.2, 1, -1}) {
		t.Errorf("ClipGradValue = %v, %v; want [-1 0.2 1 -1]", g[0], err)
	}
	if _, err := optim.ClipGradNorm([][]float64{{1, math.NaN()}}, 1, 2); err == nil {
		t.Error("ClipGradNorm of a NaN gradient succeeded; want an error")
	}
}

// TestClipGradArguments: ClipGradNorm and ClipGradValue refuse a bad
// bound or order, each naming its own argument (before, ClipGradValue
// named the field of the transform it is made of, ClipByValue.ClipValue).
func TestClipGradArguments(t *testing.T) {
	g := [][]float64{{1, 2}}
	for _, tc := range []struct {
		what string
		err  error
		want string
	}{
		{"ClipGradValue(g, 0)", optim.ClipGradValue(g, 0), "optim: ClipGradValue max = 0: must be positive and finite"},
		{"ClipGradValue(g, NaN)", optim.ClipGradValue(g, math.NaN()), "optim: ClipGradValue max = NaN: must be positive and finite"},
		{"ClipGradNorm(g, -1, 2)", second(optim.ClipGradNorm(g, -1, 2)), "optim: ClipGradNorm maxNorm = -1: must be finite and ≥ 0"},
		{"ClipGradNorm(g, 1, 0)", second(optim.ClipGradNorm(g, 1, 0)), "optim: ClipGradNorm p = 0: must be positive"},
	} {
		if tc.err == nil || !strings.HasPrefix(tc.err.Error(), tc.want) {
			t.Errorf("%s = %v; want %q", tc.what, tc.err, tc.want)
		}
	}
	if !slices.Equal(g[0], []float64{1, 2}) {
		t.Errorf("refused clipping changed g to %v", g[0])
	}
}

func second[A, B any](_ A, b B) B { return b }

// TestClipValueThenNorm checks Config.ClipValue with Config.ClipNorm
// against PyTorch users' order, clip_grad_value_ then clip_grad_norm_: the
// norm is that of the clamped gradients. An infinite gradient, which
// clamping would hide, is still refused.
func TestClipValueThenNorm(t *testing.T) {
	for _, p := range []float64{1, 2, 3, math.Inf(1)} {
		prob := newProblem(4, 40, 6)
		o := mustNew(t, prob.params, optim.Config{Method: optim.SGD{}, LR: schedule.Constant(1), ClipValue: 0.5, ClipNorm: 0.8, ClipNormType: p})
		prob.grad()
		var grads [][]float64
		want := prob.values()
		for _, q := range prob.params {
			grads = append(grads, slices.Clone(q.Grad))
		}
		optim.ClipGradValue(grads, 0.5)
		optim.ClipGradNorm(grads, 0.8, p)
		for i := range want {
			for j := range want[i] {
				want[i][j] -= grads[i][j]
			}
		}
		if err := o.Step(); err != nil {
			t.Fatal(err)
		}
		got := prob.values()
		for i := range want {
			for j := range want[i] {
				if d := math.Abs(got[i][j] - want[i][j]); d > 1e-12 {
					t.Fatalf("p=%v: params[%d][%d] = %v; want %v (clip by value, then by the clamped gradients' norm)", p, i, j, got[i][j], want[i][j])
				}
			}
		}
		prob.grad()
		prob.params[1].Grad[3] = math.Inf(-1)
		if err := o.Step(); !errors.Is(err, optim.ErrNonFinite) {
			t.Errorf("p=%v: an infinite gradient under clipping by value: Step = %v; want ErrNonFinite", p, err)
		}
	}
}

func TestNonFiniteGradientChangesNothing(t *testing.T) {
	for _, clip := range []float64{0, 1} {
		p := newProblem(6, 8, 3)
		o := mustNew(t, p.params, optim.Config{Method: optim.DefaultAdamW(), ClipNorm: clip})
		run(t, p, o, 3)
		var state bytes.Buffer
		if err := o.Save(&state); err != nil {
			t.Fatal(err)
		}
		before := p.values()
		p.grad()
		p.params[1].Grad[2] = math.NaN()
		err := o.Step()
		var nf *optim.NonFiniteError
		if !errors.As(err, &nf) || !errors.Is(err, optim.ErrNonFinite) || nf.Param != "fc1.bias" || nf.Index != 2 || nf.Step != 4 {
			t.Fatalf("clip %v: Step with NaN = %v; want a NonFiniteError for fc1.bias[2] at step 4", clip, err)
		}
		sameBits(t, "params after refused step", p.values(), before)
		var after bytes.Buffer
		o.Save(&after)
		if o.Steps() != 3 || !bytes.Equal(state.Bytes(), after.Bytes()) {
			t.Fatalf("clip %v: a refused step changed the state (steps %d)", clip, o.Steps())
		}
	}

	p := newProblem(6, 8)
	o := mustNew(t, p.params, optim.Config{Method: optim.DefaultAdam(), NonFinite: optim.SkipNonFinite})
	p.grad()
	p.params[0].Grad[0] = math.Inf(1)
	before := p.values()
	if err := o.Step(); err != nil || o.Skipped() != 1 || o.Steps() != 0 {
		t.Fatalf("skip policy: Step = %v, Skipped %d, Steps %d; want nil, 1, 0", err, o.Skipped(), o.Steps())
	}
	sameBits(t, "params after skipped step", p.values(), before)

	// A finite gradient whose norm overflows is refused too.
	big := []optim.Param[float32]{{Name: "w", Shape: []int{2}, Value: []float32{0, 0}, Grad: []float32{3e38, 3e38}}}
	o32, _ := optim.New(big, optim.Config{Method: optim.SGD{}, LR: schedule.Constant(1), ClipNorm: 1})
	if err := o32.Step(); err != nil {
		t.Errorf("float32 gradient with a norm beyond float32 range: %v; want the norm in float64 to be fine", err)
	}
}

// TestResumeIsBitwiseIdentical saves the state midway, loads it into a fresh
// optimizer and checks that the rest of the run is identical bit for bit.
func TestResumeIsBitwiseIdentical(t *testing.T) {
	plateau := func() schedule.Schedule {
		s, _ := schedule.NewPlateau(schedule.PlateauConfig{Base: 0.01, Factor: 0.5, Patience: 1, Threshold: 1e-4, Eps: 1e-8})
		return s
	}
	for name, m := range allMethods() {
		full := newProblem(8, 12, 4)
		fo := mustNew(t, full.params, optim.Config{Method: m, LR: plateau(), ClipNorm: 5})
		half := newProblem(8, 12, 4)
		ho := mustNew(t, half.params, optim.Config{Method: m, LR: plateau(), ClipNorm: 5})
		step := func(p *problem, o *optim.Optimizer[float64], k int) {
			p.grad()
			if err := o.Step(); err != nil {
				t.Fatal(err)
			}
			if k%3 == 2 {
				o.Schedule(0).(*schedule.Plateau).Observe(1) // plateau: the rate drops
			}
		}
		for k := range 6 {
			step(full, fo, k)
			step(half, ho, k)
		}
		var saved bytes.Buffer
		if err := ho.Save(&saved); err != nil {
			t.Fatal(err)
		}
		// A new process: new optimizer over the same parameter values.
		resumed := newProblem(8, 12, 4)
		for i := range resumed.params {
			copy(resumed.params[i].Value, half.params[i].Value)
		}
		resumed.rng = half.rng
		ro := mustNew(t, resumed.params, optim.Config{Method: m, LR: plateau(), ClipNorm: 5})
		if err := ro.Load(bytes.NewReader(saved.Bytes())); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for k := 6; k < 12; k++ {
			step(full, fo, k)
			step(resumed, ro, k)
		}
		sameBits(t, name+": resumed run", resumed.values(), full.values())
		if ro.Steps() != 12 || ro.LR(0) != fo.LR(0) {
			t.Errorf("%s: resumed optimizer at step %d with rate %v; want 12 and %v", name, ro.Steps(), ro.LR(0), fo.LR(0))
		}
	}
}

func TestLoadRejectsMismatches(t *testing.T) {
	p := newProblem(2, 8, 3)
	o := mustNew(t, p.params, optim.Config{Method: optim.DefaultAdam()})
	run(t, p, o, 2)
	var saved bytes.Buffer
	o.Save(&saved)
	state := saved.Bytes()

	load := func(params []optim.Param[float64], m optim.Method, b []byte) error {
		o := mustNew(t, params, optim.Config{Method: m})
		return o.Load(bytes.NewReader(b))
	}
	q := newProblem(2, 8, 3)
	q.params[1].Name = "fc9.bias"
	if err := load(q.params, optim.DefaultAdam(), state); err == nil || !strings.Contains(err.Error(), `"fc9.bias" is in the optimizer but not in the state`) || !strings.Contains(err.Error(), `"fc1.bias" is in the state but not in the optimizer`) {
		t.Errorf("renamed parameter: %v", err)
	}
	q = newProblem(2, 8, 4)
	if err := load(q.params, optim.DefaultAdam(), state); err == nil || !strings.Contains(err.Error(), `"fc1.bias" has shape [3] in the state and [4]`) {
		t.Errorf("reshaped parameter: %v", err)
	}
	q = newProblem(2, 8, 3)
	if err := load(q.params, optim.DefaultAdamW(), state); err == nil || !strings.Contains(err.Error(), "chain") {
		t.Errorf("different method: %v", err)
	}
	if err := load(q.params, optim.DefaultAdam(), state[:len(state)/2]); err == nil {
		t.Error("truncated state loaded without error")
	}
	if err := load(q.params, optim.DefaultAdam(), []byte("not a state")); err == nil {
		t.Error("garbage loaded without error")
	}
	// A failed load leaves the optimizer as it was.
	fresh := mustNew(t, q.params, optim.Config{Method: optim.DefaultAdam()})
	if err := fresh.Load(bytes.NewReader(state[:len(state)-8])); err == nil || fresh.Steps() != 0 {
		t.Errorf("truncated load: err %v, steps %d", err, fresh.Steps())
	}
	p32 := []optim.Param[float32]{{Name: "fc1.weight", Shape: []int{2, 4}, Value: make([]float32, 8), Grad: make([]float32, 8)}}
	o32, _ := optim.New(p32, optim.Config{Method: optim.DefaultAdam()})
	if err := o32.Load(bytes.NewReader(state)); err == nil || !strings.Contains(err.Error(), "F64") {
		t.Errorf("float64 state into float32 optimizer: %v", err)
	}
}

func TestDecayMaskAndGroups(t *testing.T) {
	p := newProblem(1, 8, 3)
	for _, q := range p.params {
		clear(q.Grad)
	}
	bias := slices.Clone(p.params[1].Value)
	weight := slices.Clone(p.params[0].Value)
	o := mustNew(t, p.params, optim.Config{Method: optim.DefaultAdamW(), LR: schedule.Constant(0.1), DecayMask: optim.WeightsOnly})
	for range 3 {
		if err := o.Step(); err != nil {
			t.Fatal(err)
		}
	}
	if !slices.Equal(p.params[1].Value, bias) {
		t.Errorf("masked bias changed: %v; was %v", p.params[1].Value, bias)
	}
	want := weight[0] * math.Pow(1-0.1*0.01, 3)
	if got := p.params[0].Value[0]; math.Abs(got-want) > 1e-15 {
		t.Errorf("decayed weight = %v; want %v", got, want)
	}

	g := newProblem(2, 4, 4)
	w0, b0 := slices.Clone(g.params[0].Value), slices.Clone(g.params[1].Value)
	for _, q := range g.params {
		for j := range q.Grad {
			q.Grad[j] = 1
		}
	}
	og, err := optim.NewGroups([]optim.Group[float64]{
		{Params: g.params[:1]},
		{Params: g.params[1:], LR: schedule.Constant(0.5)},
	}, optim.Config{Method: optim.SGD{}, LR: schedule.Constant(0.1)})
	if err != nil {
		t.Fatal(err)
	}
	if err := og.Step(); err != nil {
		t.Fatal(err)
	}
	if d0, d1 := w0[0]-g.params[0].Value[0], b0[0]-g.params[1].Value[0]; math.Abs(d0-0.1) > 1e-15 || math.Abs(d1-0.5) > 1e-15 {
		t.Errorf("group steps = %v, %v; want 0.1 and 0.5", d0, d1)
	}
	dup := newProblem(2, 4, 4)
	dup.params[1].Name = dup.params[0].Name
	if _, err := optim.New(dup.params, optim.Config{Method: optim.DefaultAdam()}); err == nil || !strings.Contains(err.Error(), "named") {
		t.Errorf("duplicate names: %v", err)
	}
}

// TestDeterministicAcrossThreads checks that the parallel step (large
// parameters) gives the same bits on one thread and on several, and that it
// allocates nothing.
func TestDeterministicAcrossThreads(t *testing.T) {
	if testing.Short() {
		t.Skip("large parameters")
	}
	defer kernel.SetThreads(0)
	// Step's passes are spread over at most GOMAXPROCS workers: allow 3.
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(max(3, runtime.GOMAXPROCS(0))))
	var results [][][]float64
	for _, threads := range []int{1, 2, 3} {
		kernel.SetThreads(threads)
		p := newProblem(11, 150_000, 70_001)
		o := mustNew(t, p.params, optim.Config{Method: optim.DefaultAdamW(), ClipNorm: 10})
		run(t, p, o, 3)
		allocs := testing.AllocsPerRun(3, func() {
			if err := o.Step(); err != nil {
				t.Fatal(err)
			}
		})
		if allocs != 0 {
			t.Errorf("threads=%d: Step allocates %v times; want 0", threads, allocs)
		}
		results = append(results, p.values())
	}
	sameBits(t, "2 threads vs 1", results[1], results[0])
	sameBits(t, "3 threads vs 1", results[2], results[0])
}

// TestZeroGrad checks that ZeroGrad clears every gradient, small and
// large, with 1 to 3 threads, and allocates nothing.
func TestZeroGrad(t *testing.T) {
	defer kernel.SetThreads(0)
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(max(3, runtime.GOMAXPROCS(0))))
	for _, threads := range []int{1, 2, 3} {
		kernel.SetThreads(threads)
		p := newProblem(3, 100_003, 7, 40_000, 1)
		o := mustNew(t, p.params, optim.Config{Method: optim.DefaultAdamW()})
		p.grad()
		o.ZeroGrad()
		for _, q := range p.params {
			for j, g := range q.Grad {
				if g != 0 {
					t.Fatalf("threads=%d: after ZeroGrad, %s.Grad[%d] = %v; want 0", threads, q.Name, j, g)
				}
			}
		}
		if a := testing.AllocsPerRun(3, o.ZeroGrad); a != 0 {
			t.Errorf("threads=%d: ZeroGrad allocates %v times; want 0", threads, a)
		}
	}
}

func TestStepAllocatesNothing(t *testing.T) {
	for name, m := range allMethods() {
		p := newProblem(1, 40, 5)
		o := mustNew(t, p.params, optim.Config{Method: m, LR: schedule.Cosine{Base: 0.1, TMax: 100}, ClipNorm: 1})
		p.grad()
		if a := testing.AllocsPerRun(10, func() { o.Step() }); a != 0 {
			t.Errorf("%s: Step allocates %v times; want 0", name, a)
		}
	}
}

// TestFusedEqualsChain checks that the fused kernels of the common chains
// give the same bits as running the chain's transforms one by one, with and
// without clipping, coupled and decoupled decay, a decay mask, AMSGrad,
// centered RMSprop with momentum, and Nesterov.
func TestFusedEqualsChain(t *testing.T) {
	adam, amsgrad := optim.DefaultAdam(), optim.DefaultAdam()
	adam.WeightDecay, amsgrad.AMSGrad, amsgrad.L2 = 0.01, true, 0.01
	rms, rmsc := optim.DefaultRMSprop(), optim.DefaultRMSprop()
	rmsc.Centered, rmsc.Momentum, rmsc.WeightDecay, rmsc.EpsInSqrt = true, 0.9, 0.01, true
	methods := map[string]optim.Method{
		"Adam+L2": adam, "AMSGrad": amsgrad, "AdamW": optim.DefaultAdamW(),
		"SGD-momentum": optim.SGD{Momentum: 0.9, Dampening: 0.1, WeightDecay: 0.01}, "Nesterov": optim.SGD{Momentum: 0.9, Nesterov: true},
		"RMSprop": rms, "RMSprop-centered-momentum": rmsc,
		"Lion":           optim.Lion{Beta1: 0.9, Beta2: 0.99, WeightDecay: 0.1},
		"ADOPT-coupled":  optim.ADOPT{Beta1: 0.9, Beta2: 0.999, Eps: 1e-6, ClipExponent: 0.25, WeightDecay: 0.01},
		"ADOPT-decouple": optim.ADOPT{Beta1: 0.9, Beta2: 0.999, Eps: 1e-6, ClipExponent: 0.25, WeightDecay: 0.01, Decouple: true},
		"ADOPT-noclip":   optim.ADOPT{Beta1: 0.9, Beta2: 0.999, Eps: 1e-6, NoClip: true},
		"AdEMAMix":       optim.AdEMAMix{Beta1: 0.9, Beta2: 0.999, Beta3: 0.9999, Alpha: 5, AlphaWarmup: 3, Beta3Warmup: 3, Eps: 1e-8, WeightDecay: 0.01},
	}
	for name, m := range methods {
		for _, clip := range []float64{0, 0.5} {
			var got [2][][]float64
			for i, fuse := range []bool{false, true} {
				optim.SetFusion(fuse)
				p := newProblem(21, 4100, 33, 70_000)
				o := mustNew(t, p.params, optim.Config{Method: m, LR: schedule.Cosine{Base: 0.01, TMax: 10}, ClipNorm: clip, DecayMask: optim.WeightsOnly})
				if o.Fused(0) != fuse {
					t.Fatalf("%s: fused = %v; want %v", name, o.Fused(0), fuse)
				}
				run(t, p, o, 5)
				got[i] = p.values()
			}
			optim.SetFusion(true)
			sameBits(t, fmt.Sprintf("%s, clip %v: fused vs chain", name, clip), got[1], got[0])
		}
	}
}

// TestMaximizeIsDescentOnMinusG checks Config.Maximize against running the
// same method on −g, bit for bit, for every method, with clipping and
// coupled decay (which must see −g), on the fused path and the chain.
func TestMaximizeIsDescentOnMinusG(t *testing.T) {
	for name, m := range allMethods() {
		for _, fuse := range []bool{true, false} {
			optim.SetFusion(fuse)
			a, b := newProblem(12, 12, 4), newProblem(12, 12, 4)
			oa := mustNew(t, a.params, optim.Config{Method: m, LR: schedule.Constant(0.01), ClipNorm: 2, Maximize: true})
			ob := mustNew(t, b.params, optim.Config{Method: m, LR: schedule.Constant(0.01), ClipNorm: 2})
			for range 5 {
				a.grad()
				b.grad()
				for _, q := range b.params {
					for j := range q.Grad {
						q.Grad[j] = -q.Grad[j]
					}
				}
				if err := oa.Step(); err != nil {
					t.Fatal(err)
				}
				if err := ob.Step(); err != nil {
					t.Fatal(err)
				}
				if oa.ClipNorm() != ob.ClipNorm() || math.IsNaN(oa.ClipNorm()) {
					t.Fatalf("%s: ClipNorm() = %v; want %v", name, oa.ClipNorm(), ob.ClipNorm())
				}
			}
			sameBits(t, fmt.Sprintf("%s (fused %v): maximize vs −g", name, fuse), a.values(), b.values())
		}
	}
	optim.SetFusion(true)
}
