package optim_test

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/descentml/descent/internal/kernel"
	"github.com/descentml/descent/optim"
	"github.com/descentml/descent/schedule"
)

// fusedMethods are the methods whose chains run as fused kernels since
// issue 14 (Lion, ADOPT, AdEMAMix, Schedule-Free, Prodigy, LARS, LAMB, the
// cautious forms), in the variants that switch parts of their kernels on and off.
func fusedMethods() map[string]optim.Method {
	lion, clion, clionNone := optim.DefaultLion(), optim.DefaultLion(), optim.DefaultLion()
	lion.WeightDecay = 0.1
	clion.Cautious, clion.WeightDecay = true, 0.1
	clionNone.Cautious, clionNone.CautiousScale = true, optim.CautiousNone
	cadamw, camsgrad := optim.DefaultAdamW(), optim.DefaultAdamW()
	cadamw.Cautious = true
	camsgrad.Cautious, camsgrad.AMSGrad, camsgrad.WeightDecay, camsgrad.CautiousScale = true, true, 0, optim.CautiousCountPlusOne
	adopt, adoptw, adoptNoClip := optim.DefaultADOPT(), optim.DefaultADOPT(), optim.DefaultADOPT()
	adopt.WeightDecay = 0.01
	adoptw.WeightDecay, adoptw.Decouple = 0.01, true
	adoptNoClip.NoClip = true
	mix := optim.DefaultAdEMAMix()
	mix.AlphaWarmup, mix.Beta3Warmup, mix.WeightDecay = 3, 3, 0.01
	sfa, sfs := optim.DefaultScheduleFreeAdamW(), optim.DefaultScheduleFreeSGD()
	sfa.WeightDecay, sfa.Warmup, sfa.R = 0.01, 3, 1
	sfs.WeightDecay, sfs.Warmup = 0.01, 2
	prodigy, prodigyCoupled, prodigyB0 := optim.DefaultProdigy(), optim.DefaultProdigy(), optim.DefaultProdigy()
	prodigy.WeightDecay, prodigy.UseBiasCorrection = 0.01, true
	prodigyCoupled.WeightDecay, prodigyCoupled.Decouple, prodigyCoupled.SafeguardWarmup = 0.01, false, true
	prodigyB0.Beta1, prodigyB0.GrowthRate = 0, 1.5
	lars, larsNesterov, larsPlain := optim.DefaultLARS(), optim.DefaultLARS(), optim.DefaultLARS()
	lars.WeightDecay = 0.01
	larsNesterov.Nesterov, larsNesterov.WeightDecay, larsNesterov.TrustMask = true, 0.01, optim.WeightsOnly
	larsPlain.Momentum = 0
	lamb, lambMasked := optim.DefaultLAMB(), optim.DefaultLAMB()
	lamb.WeightDecay = 0.01
	lambMasked.WeightDecay, lambMasked.DecayMask = 0.01, optim.WeightsOnly
	return map[string]optim.Method{
		"Lion": lion, "Lion-cautious": clion, "Lion-cautious-none": clionNone,
		"AdamW-cautious": cadamw, "AMSGrad-cautious": camsgrad,
		"ADOPT": adopt, "ADOPT-decouple": adoptw, "ADOPT-noclip": adoptNoClip,
		"AdEMAMix":          mix,
		"ScheduleFreeAdamW": sfa, "ScheduleFreeSGD": sfs,
		"Prodigy": prodigy, "Prodigy-coupled": prodigyCoupled, "Prodigy-beta1=0": prodigyB0,
		"LARS": lars, "LARS-nesterov": larsNesterov, "LARS-no-momentum": larsPlain,
		"LAMB": lamb, "LAMB-masked": lambMasked, "LAMB-no-decay": optim.DefaultLAMB(),
	}
}

// TestFusedStepsEqualChains checks, for float32 and float64, that every
// newly fused method gives the bits of its chain of transforms run one by
// one: plain, with maximize and clipping by norm, and with a decay mask;
// the fused run is saved after 3 steps and resumed by a new optimizer,
// which must carry on exactly as the uninterrupted chain.
func TestFusedStepsEqualChains(t *testing.T) {
	t.Run("float32", testFusedStepsEqualChains[float32])
	t.Run("float64", testFusedStepsEqualChains[float64])
}

func testFusedStepsEqualChains[T optim.Float](t *testing.T) {
	defer optim.SetFusion(true)
	configs := map[string]optim.Config{
		"plain":         {},
		"maximize+clip": {Maximize: true, ClipNorm: 0.5},
		"mask":          {DecayMask: optim.WeightsOnly, ClipNorm: 0.5, ClipNormType: 1},
	}
	for name, m := range fusedMethods() {
		for cname, c := range configs {
			c.Method = m
			c.LR = schedule.Cosine{Base: 0.01, TMax: 10}
			if _, ok := m.(optim.Prodigy); ok {
				c.LR = schedule.Cosine{Base: 1, TMax: 10}
			}
			what := fmt.Sprintf("%s/%s", name, cname)
			optim.SetFusion(false)
			want := newFusedProblem[T](31)
			chain := want.optimizer(t, c, false)
			want.run(t, chain, 6)
			optim.SetFusion(true)
			got := newFusedProblem[T](31)
			o := got.optimizer(t, c, true)
			got.run(t, o, 3)
			var saved bytes.Buffer
			if err := o.Save(&saved); err != nil {
				t.Fatal(err)
			}
			resumed := got.optimizer(t, c, true)
			if err := resumed.Load(&saved); err != nil {
				t.Fatalf("%s: Load: %v", what, err)
			}
			got.run(t, resumed, 3)
			got.same(t, what+": fused and resumed vs chain", want)
		}
	}
}

// fusedProblem is a few parameters of odd sizes (blocks of 4096 cut them
// unevenly; one spans chunks), pulled towards a target with noise.
type fusedProblem[T optim.Float] struct {
	params []optim.Param[T]
	target [][]T
	rng    *rand.Rand
}

func newFusedProblem[T optim.Float](seed uint64) *fusedProblem[T] {
	p := &fusedProblem[T]{rng: rand.New(rand.NewPCG(seed, 3))}
	for i, shape := range [][]int{{8, 1025}, {33}, {300_001}, {5}} {
		n := 1
		for _, d := range shape {
			n *= d
		}
		names := []string{"fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"}
		q := optim.Param[T]{Name: names[i], Shape: shape, Value: make([]T, n), Grad: make([]T, n)}
		target := make([]T, n)
		for j := range q.Value {
			q.Value[j], target[j] = T(p.rng.NormFloat64()), T(p.rng.NormFloat64())
		}
		if i == 1 {
			q.Value[3] = 0 // a gradient of exactly 0, which the cautious mask drops
		}
		p.params, p.target = append(p.params, q), append(p.target, target)
	}
	return p
}

func (p *fusedProblem[T]) optimizer(t *testing.T, c optim.Config, fused bool) *optim.Optimizer[T] {
	t.Helper()
	o, err := optim.New(p.params, c)
	if err != nil {
		t.Fatal(err)
	}
	if o.Fused(0) != fused {
		t.Fatalf("%+v: fused = %v; want %v", c, o.Fused(0), fused)
	}
	return o
}

func (p *fusedProblem[T]) run(t *testing.T, o *optim.Optimizer[T], steps int) {
	t.Helper()
	for range steps {
		for i, q := range p.params {
			for j := range q.Grad {
				q.Grad[j] = q.Value[j] - p.target[i][j] + T(0.1*p.rng.NormFloat64())
			}
			q.Grad[0] = 0
		}
		if err := o.Step(); err != nil {
			t.Fatal(err)
		}
	}
}

func (p *fusedProblem[T]) same(t *testing.T, what string, want *fusedProblem[T]) {
	t.Helper()
	for i, q := range p.params {
		for j, v := range q.Value {
			w := want.params[i].Value[j]
			if math.Float64bits(float64(v)) != math.Float64bits(float64(w)) {
				t.Fatalf("%s: %s[%d] = %v; want %v (bit for bit)", what, q.Name, j, v, w)
			}
		}
	}
}

// TestFusedStepsAllocateNothing checks that after the first step a fused
// step allocates nothing, gather pass included, on the parallel path.
func TestFusedStepsAllocateNothing(t *testing.T) {
	for name, m := range fusedMethods() {
		p := newFusedProblem[float32](5)
		o := p.optimizer(t, optim.Config{Method: m, LR: schedule.Constant(1e-3), ClipNorm: 1}, true)
		p.run(t, o, 1)
		if a := testing.AllocsPerRun(3, func() { o.Step() }); a != 0 {
			t.Errorf("%s: Step allocates %v times; want 0", name, a)
		}
	}
}

// TestFusedStepsIndependentOfThreads checks that the fused methods with a
// gather pass (whose sums are floating-point for Prodigy, LARS and LAMB)
// give the same bits on one thread and on three.
func TestFusedStepsIndependentOfThreads(t *testing.T) {
	defer kernel.SetThreads(0)
	for _, name := range []string{"Prodigy", "Prodigy-coupled", "AdamW-cautious", "Lion-cautious", "LARS", "LAMB", "LAMB-masked"} {
		m := fusedMethods()[name]
		var results []*fusedProblem[float32]
		for _, threads := range []int{1, 3} {
			kernel.SetThreads(threads)
			p := newFusedProblem[float32](8)
			o := p.optimizer(t, optim.Config{Method: m, LR: schedule.Constant(0.5), ClipNorm: 10}, true)
			p.run(t, o, 4)
			results = append(results, p)
		}
		results[1].same(t, name+": 3 threads vs 1", results[0])
	}
}

// TestReplayedPassEqualsStoredUpdate checks that the staged chains whose
// last pass forms the update again from the gradient (LARS and Prodigy
// beside clipping by value, run as chains) step bit for bit as the chain
// that keeps the whole update between its passes, over several threads'
// worth of chunks.
func TestReplayedPassEqualsStoredUpdate(t *testing.T) {
	lars := optim.DefaultLARS()
	lars.WeightDecay, lars.Nesterov, lars.TrustMask = 0.01, true, optim.WeightsOnly
	prodigy := optim.DefaultProdigy()
	prodigy.Beta1 = 0 // steps along the update itself
	for name, c := range map[string]struct {
		m      optim.Method
		config optim.Config
	}{
		"LARS":          {lars, optim.Config{LR: schedule.Constant(0.5), Maximize: true, ClipNorm: 1}},
		"Prodigy-clip":  {prodigy, optim.Config{ClipValue: 0.5}},
		"LARS-momentum": {optim.DefaultLARS(), optim.Config{LR: schedule.Constant(0.5)}},
	} {
		var got [2][][]float64
		for i, replay := range []bool{true, false} {
			p := newProblem(3, 1<<17+5, 300, 1<<18+77, 10)
			optim.SetReplay(replay)
			optim.SetFusion(false) // LARS's chain runs fused otherwise
			cfg := c.config
			cfg.Method = c.m
			o := mustNew(t, p.params, cfg)
			optim.SetReplay(true)
			optim.SetFusion(true)
			if o.Replayed(0) != replay {
				t.Fatalf("%s: Replayed = %v; want %v", name, o.Replayed(0), replay)
			}
			run(t, p, o, 4)
			got[i] = p.values()
		}
		sameBits(t, name+": replayed", got[0], got[1])
	}
}
