package optim_test

import (
	"bytes"
	"math"
	"slices"
	"testing"

	"github.com/descentml/descent/optim"
	"github.com/descentml/descent/schedule"
)

// refProdigyGroup is one parameter group of refProdigy.
type refProdigyGroup struct {
	params, target  [][]float64
	lr, wd, eps     float64
	safeguard       bool
	m, v, s, p0     [][]float64
	initialised     bool
	decouple, first bool
}

// refProdigy is the authors' step (prodigyopt.Prodigy.step), written out
// over its groups in float64: one d, one numerator and one Σ|s| over every
// group, the rate the largest of the groups' (each group's is it or 0).
type refProdigy struct {
	b1, b2, b3, d0, dCoef, growth float64
	biasCorrection                bool
	d, dMax, num                  float64
	k                             int
	groups                        []*refProdigyGroup
}

func (r *refProdigy) step() {
	bc := 1.0
	if r.biasCorrection {
		bc = math.Sqrt(1-math.Pow(r.b2, float64(r.k+1))) / (1 - math.Pow(r.b1, float64(r.k+1)))
	}
	lr := 0.0
	for _, g := range r.groups {
		lr = max(lr, g.lr)
	}
	d := r.d
	dlr := d * lr * bc
	num, den := r.num*r.b3, 0.0
	grads := make([][][]float64, len(r.groups))
	for gi, g := range r.groups {
		if !g.initialised {
			for _, p := range g.params {
				n := len(p)
				g.m, g.v, g.s = append(g.m, make([]float64, n)), append(g.v, make([]float64, n)), append(g.s, make([]float64, n))
				g.p0 = append(g.p0, slices.Clone(p))
			}
			g.initialised = true
		}
		for i, p := range g.params {
			grad := make([]float64, len(p))
			for j := range p {
				grad[j] = p[j] - g.target[i][j]
				if g.wd != 0 && !g.decouple {
					grad[j] += g.wd * p[j]
				}
			}
			grads[gi] = append(grads[gi], grad)
			if g.lr == 0 {
				continue
			}
			dot := 0.0
			for j := range p {
				dot += grad[j] * (g.p0[i][j] - p[j])
			}
			num += d / r.d0 * dlr * dot
			w := dlr
			if g.safeguard {
				w = d
			}
			for j := range p {
				g.m[i][j] = r.b1*g.m[i][j] + d*(1-r.b1)*grad[j]
				g.v[i][j] = r.b2*g.v[i][j] + d*d*(1-r.b2)*grad[j]*grad[j]
				g.s[i][j] = r.b3*g.s[i][j] + d/r.d0*w*grad[j]
				den += math.Abs(g.s[i][j])
			}
		}
	}
	if den == 0 {
		return
	}
	if lr > 0 {
		dHat := r.dCoef * num / den
		if d == r.d0 {
			d = max(d, dHat)
		}
		r.dMax = max(r.dMax, dHat)
		growth := r.growth
		if growth == 0 {
			growth = math.Inf(1)
		}
		d = min(r.dMax, d*growth)
	}
	r.d, r.num = d, num
	for _, g := range r.groups {
		for i, p := range g.params {
			for j := range p {
				if g.wd != 0 && g.decouple {
					p[j] -= g.wd * dlr * p[j]
				}
				p[j] -= dlr * g.m[i][j] / (math.Sqrt(g.v[i][j]) + d*g.eps)
			}
		}
	}
	r.k++
}

// TestProdigySharesDAcrossGroups checks Prodigy over two groups (split as
// --no-decay splits a model, with an AdamW group between them) against the
// reference's loop over groups, in which one d serves both: fused, as a
// chain, staged, and with one group that cannot run fused.
func TestProdigySharesDAcrossGroups(t *testing.T) {
	shapes := [][]int{{4, 6}, {6}, {3, 5}, {5}, {2, 3}}
	type variant struct {
		name      string
		decouple  bool
		safeguard bool
	}
	for _, v := range []variant{{"decoupled", true, false}, {"coupled-safeguard", false, true}} {
		for _, mode := range []string{"fused", "chain", "staged", "mixed"} {
			pr := shapedProblem(11, shapes...)
			ref := &refProdigy{b1: 0.9, b2: 0.999, d0: 1e-4, dCoef: 1, growth: 2, biasCorrection: true}
			ref.b3 = math.Sqrt(ref.b2)
			ref.d, ref.dMax = ref.d0, ref.d0
			split := func(lo, hi int) (ps, ts [][]float64) {
				for i := lo; i < hi; i++ {
					ps = append(ps, slices.Clone(pr.params[i].Value))
					ts = append(ts, pr.target[i])
				}
				return ps, ts
			}
			g0, g2 := &refProdigyGroup{lr: 1, wd: 0.1, eps: 1e-8, decouple: v.decouple, safeguard: v.safeguard},
				&refProdigyGroup{lr: 1, wd: 0, eps: 1e-6, decouple: v.decouple, safeguard: v.safeguard}
			g0.params, g0.target = split(0, 2)
			g2.params, g2.target = split(3, 5)
			ref.groups = []*refProdigyGroup{g0, g2}

			method := func(wd, eps float64) optim.Method {
				m := optim.DefaultProdigy()
				m.D0, m.GrowthRate, m.UseBiasCorrection = 1e-4, 2, true
				m.WeightDecay, m.Eps, m.Decouple, m.SafeguardWarmup = wd, eps, v.decouple, v.safeguard
				return m
			}
			var last optim.Method = method(0, 1e-6)
			if mode == "mixed" {
				// The same Prodigy, then two sign flips that cancel: a tail
				// that no fused kernel takes.
				last = optim.Chain[float64]{
					&optim.ScaleByProdigy[float64]{Beta1: 0.9, Beta2: 0.999, Eps: 1e-6, D0: 1e-4, DCoef: 1, GrowthRate: 2,
						UseBiasCorrection: true, SafeguardWarmup: v.safeguard},
					&optim.Negate[float64]{}, &optim.Negate[float64]{}, &optim.ScaleByLR[float64]{},
				}
			}
			cfg := optim.Config{LR: schedule.Constant(1)}
			if mode == "staged" {
				cfg.ClipValue = 1e9 // clipping by value has no fused form
			}
			optim.SetFusion(mode != "chain")
			o, err := optim.NewGroups([]optim.Group[float64]{
				{Params: pr.params[:2], Method: method(0.1, 1e-8)},
				{Params: pr.params[2:3], Method: optim.DefaultAdamW(), LR: schedule.Constant(1e-3)},
				{Params: pr.params[3:], Method: last},
			}, cfg)
			optim.SetFusion(true)
			if err != nil {
				t.Fatal(err)
			}
			if want := mode == "fused"; o.Fused(0) != want || o.Fused(2) != want {
				t.Fatalf("%s/%s: groups fused: %v, %v; want %v", v.name, mode, o.Fused(0), o.Fused(2), want)
			}
			for step := 1; step <= 30; step++ {
				for i, q := range pr.params {
					for j := range q.Grad {
						q.Grad[j] = q.Value[j] - pr.target[i][j]
					}
				}
				if err := o.Step(); err != nil {
					t.Fatal(err)
				}
				ref.step()
				d0, _ := optim.ProdigyD(o, 0)
				d2, _ := optim.ProdigyD(o, 2)
				if d0 != d2 {
					t.Fatalf("%s/%s: step %d: ProdigyD = %v in group 0, %v in group 2; want one d", v.name, mode, step, d0, d2)
				}
				if !near(d0, ref.d, 1e-9) {
					t.Fatalf("%s/%s: step %d: ProdigyD = %v; want %v", v.name, mode, step, d0, ref.d)
				}
				got := pr.values()
				want := append(slices.Clone(g0.params), g2.params...)
				got = append(got[:2:2], got[3:]...)
				for i := range want {
					for j := range want[i] {
						if !near(got[i][j], want[i][j], 1e-9) {
							t.Fatalf("%s/%s: step %d: params[%d][%d] = %v; want %v", v.name, mode, step, i, j, got[i][j], want[i][j])
						}
					}
				}
			}
			if ref.d <= 2*ref.d0 {
				t.Fatalf("%s/%s: d = %v: the test should see d grow", v.name, mode, ref.d)
			}
		}
	}
}

func near(got, want, tol float64) bool {
	return math.Abs(got-want) <= tol*math.Max(1, math.Abs(want))
}

// TestProdigySharedResume checks that two groups sharing d resume bit for
// bit from a checkpoint.
func TestProdigySharedResume(t *testing.T) {
	shapes := [][]int{{4, 6}, {6}, {3, 5}}
	newOpt := func(p *problem) *optim.Optimizer[float64] {
		decay := optim.DefaultProdigy()
		decay.WeightDecay = 0.1
		o, err := optim.NewGroups([]optim.Group[float64]{
			{Params: p.params[:1], Method: decay},
			{Params: p.params[1:], Method: optim.DefaultProdigy()},
		}, optim.Config{})
		if err != nil {
			t.Fatal(err)
		}
		return o
	}
	full, half := shapedProblem(5, shapes...), shapedProblem(5, shapes...)
	fo, ho := newOpt(full), newOpt(half)
	run(t, full, fo, 6)
	run(t, half, ho, 6)
	var buf bytes.Buffer
	if err := ho.Save(&buf); err != nil {
		t.Fatal(err)
	}
	ro := newOpt(half)
	if err := ro.Load(&buf); err != nil {
		t.Fatal(err)
	}
	run(t, full, fo, 6)
	run(t, half, ro, 6)
	sameBits(t, "resumed", half.values(), full.values())
}

// TestProdigySharedStepAllocatesNothing checks a step of groups that share
// d, fused and staged, after warm-up.
func TestProdigySharedStepAllocatesNothing(t *testing.T) {
	for _, clip := range []float64{0, 1e9} {
		p := shapedProblem(6, []int{4, 6}, []int{6}, []int{3, 5})
		decay := optim.DefaultProdigy()
		decay.WeightDecay = 0.1
		o, err := optim.NewGroups([]optim.Group[float64]{
			{Params: p.params[:1], Method: decay},
			{Params: p.params[1:], Method: optim.DefaultProdigy()},
		}, optim.Config{ClipValue: clip})
		if err != nil {
			t.Fatal(err)
		}
		run(t, p, o, 2)
		if n := testing.AllocsPerRun(10, func() { o.Step() }); n != 0 {
			t.Errorf("ClipValue %v: Step allocates %v times; want 0", clip, n)
		}
	}
}

// TestProdigyRetryUnlinks: a Prodigy transform that a failed NewGroups
// linked to another group's (the second group's Init failed after the
// links were made) steps, in the next New, on its own estimate d, bit for
// bit as a fresh transform does (before, it went on copying d from the
// first group's transform, which no optimizer steps).
func TestProdigyRetryUnlinks(t *testing.T) {
	prodigy := func() *optim.ScaleByProdigy[float64] {
		m := optim.DefaultProdigy()
		return &optim.ScaleByProdigy[float64]{Beta1: m.Beta1, Beta2: m.Beta2, Beta3: m.Beta3, Eps: m.Eps,
			D0: m.D0, DCoef: m.DCoef, GrowthRate: m.GrowthRate}
	}
	lead, linked := prodigy(), prodigy()
	orth := &optim.Orthogonalize[float64]{NSSteps: 5, NSCoefficients: optim.DefaultNSCoefficients, Eps: 1e-7}
	_, err := optim.NewGroups([]optim.Group[float64]{
		{Params: newProblem(1, 8).params, Method: optim.Chain[float64]{lead, &optim.ScaleByLR[float64]{}}},
		// Orthogonalize refuses a vector, in its Init.
		{Params: newProblem(2, 8, 3).params[1:], Method: optim.Chain[float64]{linked, orth, &optim.ScaleByLR[float64]{}}},
	}, optim.Config{LR: schedule.Constant(1)})
	if err == nil {
		t.Fatal("NewGroups with Orthogonalize of a vector succeeded")
	}
	cfg := func(tr optim.Transform[float64]) optim.Config {
		return optim.Config{Method: optim.Chain[float64]{tr, &optim.ScaleByLR[float64]{}}, LR: schedule.Constant(1)}
	}
	retried, fresh := newProblem(3, 8), newProblem(3, 8)
	run(t, retried, mustNew(t, retried.params, cfg(linked)), 5)
	run(t, fresh, mustNew(t, fresh.params, cfg(prodigy())), 5)
	sameBits(t, "a Prodigy retried after a failed NewGroups", retried.values(), fresh.values())
}
