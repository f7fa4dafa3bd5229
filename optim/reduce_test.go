package optim_test

import (
	"bytes"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/descentml/descent/internal/kernel"
	"github.com/descentml/descent/optim"
	"github.com/descentml/descent/schedule"
)

// shapedProblem is newProblem with the parameters' shapes given.
func shapedProblem(seed uint64, shapes ...[]int) *problem {
	rng := rand.New(rand.NewPCG(seed, 7))
	p := &problem{rng: rng}
	for i, shape := range shapes {
		n := 1
		for _, d := range shape {
			n *= d
		}
		v, t := make([]float64, n), make([]float64, n)
		for j := range v {
			v[j], t[j] = rng.NormFloat64(), rng.NormFloat64()
		}
		name := []string{"fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias", "conv.weight"}[i%5] + strings.Repeat("'", i/5)
		p.params = append(p.params, optim.Param[float64]{Name: name, Shape: shape, Value: v, Grad: make([]float64, n)})
		p.target = append(p.target, t)
	}
	return p
}

// reducerMethods lists the methods whose chains hold a reducer, each with
// the shapes of parameters it can update.
func reducerMethods() map[string]struct {
	m      optim.Method
	shapes [][]int
} {
	mixed := [][]int{{4, 6}, {6}, {3, 5}, {1}, {2, 2, 3}}
	matrices := [][]int{{4, 6}, {7, 3}, {1, 5}}
	nesterov := optim.DefaultLARS()
	nesterov.Nesterov, nesterov.WeightDecay, nesterov.TrustMask = true, 0.01, optim.WeightsOnly
	lamb := optim.DefaultLAMB()
	lamb.WeightDecay, lamb.EpsRoot, lamb.DecayMask = 0.01, 1e-12, optim.WeightsOnly
	prodigy := optim.DefaultProdigy()
	prodigy.WeightDecay, prodigy.UseBiasCorrection, prodigy.D0 = 0.01, true, 1e-3
	coupled := optim.DefaultProdigy()
	coupled.Beta1, coupled.WeightDecay, coupled.Decouple, coupled.SafeguardWarmup, coupled.GrowthRate = 0, 0.01, false, true, 1.5
	soap := optim.DefaultSOAP()
	soap.PreconditionFrequency = 2
	rms := optim.DefaultMuon()
	rms.MatchRMSAdamW, rms.Nesterov = true, false
	return map[string]struct {
		m      optim.Method
		shapes [][]int
	}{
		"Muon":            {optim.DefaultMuon(), matrices},
		"Muon-rms":        {rms, matrices},
		"Prodigy":         {prodigy, mixed},
		"Prodigy-coupled": {coupled, mixed},
		"SOAP":            {soap, [][]int{{4, 4}, {6}, {3, 3}, {1}, {2, 2, 3}}}, // full rank: see TestReducersFloat32
		"LAMB":            {lamb, mixed},
		"LARS":            {optim.DefaultLARS(), mixed},
		"LARS-nesterov":   {nesterov, mixed},
	}
}

func reducerLR(m optim.Method) schedule.Schedule {
	if _, ok := m.(optim.LARS); ok {
		return schedule.Cosine{Base: 1, TMax: 100} // steps of η·α·‖θ‖, η = 0.001
	}
	if lr := optim.DefaultLR(m); lr != 0 {
		return schedule.Cosine{Base: lr * 10, TMax: 100}
	}
	return schedule.Cosine{Base: 0.05, TMax: 100}
}

func TestReducerMethodsDescend(t *testing.T) {
	for name, c := range reducerMethods() {
		p := shapedProblem(1, c.shapes...)
		loss := func() float64 {
			s := 0.0
			for i, q := range p.params {
				for j, v := range q.Value {
					s += (v - p.target[i][j]) * (v - p.target[i][j])
				}
			}
			return s
		}
		o := mustNew(t, p.params, optim.Config{Method: c.m, LR: reducerLR(c.m)})
		before := loss()
		for range 100 {
			for i, q := range p.params {
				for j := range q.Grad {
					q.Grad[j] = q.Value[j] - p.target[i][j]
				}
			}
			if err := o.Step(); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
		}
		if after := loss(); !(after < 0.9*before) {
			t.Errorf("%s: loss %v after 100 steps, %v before", name, after, before)
		}
	}
}

func TestReducerResumeIsBitwiseIdentical(t *testing.T) {
	for name, c := range reducerMethods() {
		cfg := optim.Config{Method: c.m, LR: reducerLR(c.m), ClipNorm: 5}
		full := shapedProblem(8, c.shapes...)
		fo := mustNew(t, full.params, cfg)
		half := shapedProblem(8, c.shapes...)
		ho := mustNew(t, half.params, cfg)
		for range 5 {
			run(t, full, fo, 1)
			run(t, half, ho, 1)
		}
		var saved bytes.Buffer
		if err := ho.Save(&saved); err != nil {
			t.Fatal(err)
		}
		resumed := shapedProblem(8, c.shapes...)
		for i := range resumed.params {
			copy(resumed.params[i].Value, half.params[i].Value)
		}
		resumed.rng = half.rng
		ro := mustNew(t, resumed.params, cfg)
		if err := ro.Load(bytes.NewReader(saved.Bytes())); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		run(t, full, fo, 7)
		run(t, resumed, ro, 7)
		sameBits(t, name+": resumed run", resumed.values(), full.values())
		fd, _ := optim.ProdigyD(fo, 0)
		rd, _ := optim.ProdigyD(ro, 0)
		if fd != rd {
			t.Errorf("%s: resumed d = %v; want %v", name, rd, fd)
		}
	}
}

func TestReducerStepAllocatesNothing(t *testing.T) {
	for name, c := range reducerMethods() {
		p := shapedProblem(1, c.shapes...)
		o := mustNew(t, p.params, optim.Config{Method: c.m, LR: reducerLR(c.m), ClipNorm: 1})
		run(t, p, o, 3)
		if a := testing.AllocsPerRun(10, func() { o.Step() }); a != 0 {
			t.Errorf("%s: Step allocates %v times; want 0", name, a)
		}
	}
}

// TestReducerDeterministicAcrossThreads runs reducers over parameters large
// enough to be spread over the cores: the per-chunk sums are added in a
// fixed order, so the result does not depend on the number of threads.
func TestReducerDeterministicAcrossThreads(t *testing.T) {
	if testing.Short() {
		t.Skip("large parameters")
	}
	defer kernel.SetThreads(0)
	for _, tc := range []struct {
		m      optim.Method
		shapes [][]int
	}{
		{optim.DefaultProdigy(), [][]int{{600, 1000}, {400, 150}}}, // 37 chunks and 4
		{optim.DefaultLAMB(), [][]int{{600, 1000}, {400, 150}}},
		{optim.DefaultMuon(), [][]int{{300, 700}, {400, 150}}},
	} {
		m := tc.m
		var results [][][]float64
		for _, threads := range []int{1, 3} {
			kernel.SetThreads(threads)
			p := shapedProblem(11, tc.shapes...)
			o := mustNew(t, p.params, optim.Config{Method: m, LR: schedule.Constant(0.01)})
			run(t, p, o, 3)
			if a := testing.AllocsPerRun(2, func() { o.Step() }); a != 0 {
				t.Errorf("%T, threads=%d: Step allocates %v times; want 0", m, threads, a)
			}
			results = append(results, p.values())
		}
		sameBits(t, "3 threads vs 1", results[1], results[0])
	}
}

// TestReducerGroupBesideFusedGroup checks that a group whose chain holds a
// reducer and a fused group in the same optimizer each step as they would
// alone.
func TestReducerGroupBesideFusedGroup(t *testing.T) {
	shapes := [][]int{{4, 6}, {6}}
	a, b, both := shapedProblem(3, shapes...), shapedProblem(4, shapes...), shapedProblem(3, shapes...)
	other := shapedProblem(4, shapes...)
	both.params = append(both.params[:2:2], renamed(other.params, "b.")...)
	both.target = append(both.target, other.target...)
	oa := mustNew(t, a.params, optim.Config{Method: optim.DefaultLAMB(), LR: schedule.Constant(0.01)})
	ob := mustNew(t, renamed(b.params, "b."), optim.Config{Method: optim.DefaultAdamW()})
	ox, err := optim.NewGroups([]optim.Group[float64]{
		{Params: both.params[:2], Method: optim.DefaultLAMB(), LR: schedule.Constant(0.01)},
		{Params: both.params[2:], Method: optim.DefaultAdamW()},
	}, optim.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if !ox.Fused(1) {
		t.Fatal("AdamW group is not fused beside a LAMB group")
	}
	for range 5 {
		for _, pr := range []*problem{a, b} {
			for i, q := range pr.params {
				for j := range q.Grad {
					q.Grad[j] = q.Value[j] - pr.target[i][j]
				}
			}
		}
		for i, q := range both.params {
			for j := range q.Grad {
				q.Grad[j] = q.Value[j] - both.target[i][j]
			}
		}
		for _, o := range []*optim.Optimizer[float64]{oa, ob, ox} {
			if err := o.Step(); err != nil {
				t.Fatal(err)
			}
		}
	}
	sameBits(t, "both groups", both.values(), append(a.values(), b.values()...))
}

func renamed(ps []optim.Param[float64], prefix string) []optim.Param[float64] {
	out := make([]optim.Param[float64], len(ps))
	for i, p := range ps {
		p.Name = prefix + p.Name
		out[i] = p
	}
	return out
}

// TestLAMBStepIsRelative checks LAMB's invariant: without weight decay,
// every tensor moves by α·‖θ‖, whatever its gradient's scale.
func TestLAMBStepIsRelative(t *testing.T) {
	p := shapedProblem(5, []int{4, 6}, []int{6})
	for j := range p.params[1].Grad {
		p.params[1].Grad[j] = 1e6 * float64(j+1)
	}
	for j := range p.params[0].Grad {
		p.params[0].Grad[j] = 1e-6 * float64(j-10)
	}
	before := p.values()
	o := mustNew(t, p.params, optim.Config{Method: optim.DefaultLAMB(), LR: schedule.Constant(0.01)})
	if err := o.Step(); err != nil {
		t.Fatal(err)
	}
	for i, q := range p.params {
		var d, n float64
		for j, v := range q.Value {
			d += (v - before[i][j]) * (v - before[i][j])
			n += before[i][j] * before[i][j]
		}
		if got, want := math.Sqrt(d), 0.01*math.Sqrt(n); math.Abs(got-want) > 1e-12*want {
			t.Errorf("LAMB: ‖Δθ[%d]‖ = %v; want α‖θ‖ = %v", i, got, want)
		}
	}
}

// TestMuonTallIsWideTransposed checks that a tall matrix, iterated as its
// transpose without being moved, gets the transpose of the wide one's
// update.
func TestMuonTallIsWideTransposed(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	const a, b = 7, 3
	g := make([]float64, a*b)
	for i := range g {
		g[i] = rng.NormFloat64()
	}
	m := optim.DefaultMuon()
	m.MatchRMSAdamW = true // the same scale for both shapes
	tall := optim.Param[float64]{Shape: []int{a, b}, Value: make([]float64, a*b), Grad: g}
	wide := optim.Param[float64]{Shape: []int{b, a}, Value: make([]float64, a*b), Grad: make([]float64, a*b)}
	for i := range a {
		for j := range b {
			wide.Grad[j*a+i] = g[i*b+j]
		}
	}
	for _, p := range []optim.Param[float64]{tall, wide} {
		o := mustNew(t, []optim.Param[float64]{p}, optim.Config{Method: m, LR: schedule.Constant(1)})
		for range 3 {
			if err := o.Step(); err != nil {
				t.Fatal(err)
			}
		}
	}
	for i := range a {
		for j := range b {
			if got, want := tall.Value[i*b+j], wide.Value[j*a+i]; math.Abs(got-want) > 1e-12 {
				t.Fatalf("Muon: tall[%d,%d] = %v; want wide[%d,%d] = %v", i, j, got, j, i, want)
			}
		}
	}
}

func TestMuonRejectsOtherRanks(t *testing.T) {
	for _, shape := range [][]int{{6}, {1, 2, 3}, {}} {
		n := 1
		for _, d := range shape {
			n *= d
		}
		p := []optim.Param[float32]{{Name: "w", Shape: shape, Value: make([]float32, n), Grad: make([]float32, n)}}
		_, err := optim.New(p, optim.Config{Method: optim.DefaultMuon()})
		if err == nil || !strings.Contains(err.Error(), `"w"`) || !strings.Contains(err.Error(), "2-D") {
			t.Errorf("New(Muon, shape %v) = %v; want an error naming w and 2-D", shape, err)
		}
	}
}

func TestReducerValidateNamesFieldAndValue(t *testing.T) {
	muon, soap, prodigy, lars := optim.DefaultMuon(), optim.DefaultSOAP(), optim.DefaultProdigy(), optim.DefaultLARS()
	muon.NSSteps, soap.PreconditionFrequency, prodigy.D0, lars.Momentum = 0, 0, 0, 1
	for _, tc := range []struct {
		m    optim.Method
		want string
	}{
		{muon, "Muon.NSSteps = 0"},
		{soap, "SOAP.PreconditionFrequency = 0"},
		{prodigy, "Prodigy.D0 = 0"},
		{lars, "LARS.Momentum = 1"},
	} {
		if err := tc.m.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%T.Validate() = %v; want an error with %q", tc.m, err, tc.want)
		}
	}
}

func TestProdigyD(t *testing.T) {
	p := shapedProblem(2, []int{4, 6}, []int{6})
	o := mustNew(t, p.params, optim.Config{Method: optim.DefaultProdigy()})
	if d, ok := optim.ProdigyD(o, 0); !ok || d != 1e-6 {
		t.Fatalf("ProdigyD before the first step = %v, %v; want 1e-6, true", d, ok)
	}
	run(t, p, o, 20)
	if d, _ := optim.ProdigyD(o, 0); !(d > 1e-6) {
		t.Errorf("ProdigyD after 20 steps = %v; want it grown above d₀ = 1e-6", d)
	}
	a := mustNew(t, shapedProblem(2, []int{3}).params, optim.Config{Method: optim.DefaultAdamW()})
	if _, ok := optim.ProdigyD(a, 0); ok {
		t.Error("ProdigyD(AdamW) reports an estimate")
	}
}

func TestSplit(t *testing.T) {
	p := shapedProblem(1, []int{10, 4}, []int{4, 8}, []int{8}, []int{3, 8}, []int{2, 2, 3})
	for i, name := range []string{"embed.weight", "fc1.weight", "fc1.bias", "head.weight", "conv.weight"} {
		p.params[i].Name = name
	}
	groups, err := optim.Split(p.params,
		optim.Route{Name: "muon", Match: optim.HiddenMatrix, Method: optim.DefaultMuon(), LR: schedule.Constant(0.02)},
		optim.Route{Method: optim.DefaultAdamW()},
	)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, g := range groups {
		var ns []string
		for _, q := range g.Params {
			ns = append(ns, q.Name)
		}
		got = append(got, strings.Join(ns, " "))
	}
	if want := []string{"fc1.weight", "embed.weight fc1.bias head.weight conv.weight"}; !slices.Equal(got, want) {
		t.Fatalf("Split groups = %q; want %q", got, want)
	}
	if _, err := optim.NewGroups(groups, optim.Config{}); err != nil {
		t.Fatal(err)
	}
	_, err = optim.Split(p.params[2:3], optim.Route{Name: "muon", Match: optim.HiddenMatrix, Method: optim.DefaultMuon()}, optim.Route{})
	if err == nil || !strings.Contains(err.Error(), "muon") {
		t.Errorf("Split with no hidden matrix = %v; want an error naming the muon route", err)
	}
	_, err = optim.Split(p.params, optim.Route{Match: optim.WeightsOnly})
	if err == nil || !strings.Contains(err.Error(), "fc1.bias") {
		t.Errorf("Split leaving fc1.bias unrouted = %v; want an error naming it", err)
	}
}

// TestSOAPAxesCommute checks SOAP's tensors of three dimensions, each
// rotated along every dimension: swapping the first two axes of the
// gradients swaps those of the updates.
func TestSOAPAxesCommute(t *testing.T) {
	const a, b, c = 3, 4, 5
	m := optim.DefaultSOAP()
	m.PreconditionFrequency = 2
	rng := rand.New(rand.NewPCG(5, 5))
	x := optim.Param[float64]{Name: "x", Shape: []int{a, b, c}, Value: make([]float64, a*b*c), Grad: make([]float64, a*b*c)}
	y := optim.Param[float64]{Name: "y", Shape: []int{b, a, c}, Value: make([]float64, a*b*c), Grad: make([]float64, a*b*c)}
	swap := func(i, j, k int) (int, int) { return (i*b+j)*c + k, (j*a+i)*c + k }
	for i := range a {
		for j := range b {
			for k := range c {
				p, q := swap(i, j, k)
				x.Value[p] = rng.NormFloat64()
				y.Value[q] = x.Value[p]
			}
		}
	}
	ox := mustNew(t, []optim.Param[float64]{x}, optim.Config{Method: m})
	oy := mustNew(t, []optim.Param[float64]{y}, optim.Config{Method: m})
	for range 7 {
		for i := range a {
			for j := range b {
				for k := range c {
					p, q := swap(i, j, k)
					x.Grad[p] = rng.NormFloat64()
					y.Grad[q] = x.Grad[p]
				}
			}
		}
		if err := ox.Step(); err != nil {
			t.Fatal(err)
		}
		if err := oy.Step(); err != nil {
			t.Fatal(err)
		}
	}
	for i := range a {
		for j := range b {
			for k := range c {
				p, q := swap(i, j, k)
				if math.Abs(x.Value[p]-y.Value[q]) > 1e-12 {
					t.Fatalf("SOAP: x[%d,%d,%d] = %v; want y[%d,%d,%d] = %v", i, j, k, x.Value[p], j, i, k, y.Value[q])
				}
			}
		}
	}
}

// TestReducersFloat32 checks that the float32 instantiation of each reducer
// method follows the float64 one. SOAP's matrices are square here: the
// gradient of a wide matrix has a null space, where the rotated gradient is
// rounding noise that Adam's normalization turns into steps of full size,
// different in each precision (in the reference too).
func TestReducersFloat32(t *testing.T) {
	for name, c := range reducerMethods() {
		p64 := shapedProblem(9, c.shapes...)
		var p32 []optim.Param[float32]
		for _, q := range p64.params {
			v := make([]float32, len(q.Value))
			for i, x := range q.Value {
				v[i] = float32(x)
				q.Value[i] = float64(v[i])
			}
			p32 = append(p32, optim.Param[float32]{Name: q.Name, Shape: q.Shape, Value: v, Grad: make([]float32, len(v))})
		}
		cfg := optim.Config{Method: c.m, LR: reducerLR(c.m)}
		o64 := mustNew(t, p64.params, cfg)
		o32, err := optim.New(p32, cfg)
		if err != nil {
			t.Fatal(err)
		}
		for range 10 {
			for i, q := range p64.params {
				for j := range q.Grad {
					// Noise keeps SOAP's second gradient from being its
					// first: else its rotated form is diagonal, and Adam
					// turns the rounding off the diagonal into full steps.
					g := float32(q.Value[j] - p64.target[i][j] + 0.1*p64.rng.NormFloat64())
					q.Grad[j], p32[i].Grad[j] = float64(g), g
				}
			}
			if err := o64.Step(); err != nil {
				t.Fatal(err)
			}
			if err := o32.Step(); err != nil {
				t.Fatal(err)
			}
		}
		for i, q := range p64.params {
			for j, want := range q.Value {
				if got := float64(p32[i].Value[j]); math.Abs(got-want) > 1e-3*(1+math.Abs(want)) {
					t.Fatalf("%s: float32 params[%d][%d] = %v; float64 %v", name, i, j, got, want)
				}
			}
		}
	}
}
