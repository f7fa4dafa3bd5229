package optim

import (
	"fmt"
	"math"

	"github.com/descentml/descent/internal/kernel"
)

var (
	_ Method                 = Prodigy{}
	_ SharedReducer[float32] = (*ScaleByProdigy[float32])(nil)
	_ fuser[float32]         = (*ScaleByProdigy[float32])(nil)
	_ fusedReducer[float32]  = (*prodigyStep[float32])(nil)
)

// Prodigy is Adam whose step size d is estimated from the run itself, so
// that the learning rate can stay at 1 (Mishchenko & Defazio 2023; the
// authors' prodigyopt.Prodigy). At step k = 0, 1, … with the estimate d
// (d = d₀ at first) and the rate multiplier α_k = Config.LR:
//
//	ĉ = √(1 − β₂ᵏ⁺¹)/(1 − β₁ᵏ⁺¹)   with UseBiasCorrection, else 1
//	dα = d·α_k·ĉ
//	g ← g + λ·θ                                   (Decouple false: coupled decay)
//	m ← β₁·m + d(1 − β₁)·g,  v ← β₂·v + d²(1 − β₂)·g²
//	r ← β₃·r + (d/d₀)·dα·⟨g, θ₀ − θ⟩            (the numerator, summed over all parameters)
//	s ← β₃·s + (d/d₀)·w·g,  w = d with SafeguardWarmup, else dα
//	d̂ = d_coef·r / Σ|s|,  d_max ← max(d_max, d̂)
//	d ← max(d, d̂) if d = d₀ (first growth), then d ← min(d_max, d·growth)
//	θ ← θ − dα·λ·θ                                (Decouple true: decoupled decay)
//	θ ← θ − dα·m/(√v + d·ε)                        (β₁ = 0: θ − dα·d·g/(√v + d·ε))
//
// β₁, β₂, β₃ = Beta1, Beta2, Beta3 (√β₂ when zero), ε = Eps, λ =
// WeightDecay, d₀ = D0, d_coef = DCoef, growth = GrowthRate (unbounded when
// zero); θ₀ are the parameters before the first step. Note the order of the
// reference: dα uses the estimate from before the step, while the
// denominator (and the step along g when β₁ = 0) already uses the new d.
// The sums r and Σ|s| are accumulated in float64, as the reference's Python
// floats are. If Σ|s| = 0 (every gradient so far zero) the step changes
// the moments but not the parameters, and is not counted, as in the
// reference.
//
// One estimate d serves every parameter group, as in the reference: the
// sums r and Σ|s| run over the parameters of all the groups whose method
// is Prodigy with the same β₁, β₂, β₃, d₀, d_coef, growth rate and bias
// correction, and each group steps with the shared d and its own rate α,
// ε, λ and safeguard (groups that differ in those hyperparameters keep an
// estimate of their own). Each group's term of r and of s uses its own
// dα, so two groups with the rate α, or one with 0 (which takes no step and
// adds nothing to the sums), are exactly the reference's groups; the
// reference refuses any other mix of rates. The reference's decoupled decay
// of a group with rate 0 (by the others' dα) is not reproduced: a group
// with rate 0 does not move. The shared scalars are saved with every group,
// and the first group's are the ones read back, as the reference reads
// param_groups[0]. [ProdigyD] reads d, for logging once an epoch. Weight
// decay is decoupled by default, as in AdamW but scaled by dα.
//
// Reference: K. Mishchenko, A. Defazio, "Prodigy: An Expeditiously
// Adaptive Parameter-Free Learner", ICML 2024 (arXiv:2306.06101);
// github.com/konstmish/prodigy.
type Prodigy struct {
	Beta1             float64 `key:"beta1" help:"decay β₁ of the first moment"`                             // default 0.9
	Beta2             float64 `key:"beta2" help:"decay β₂ of the second moment"`                            // default 0.999
	Beta3             float64 `key:"beta3" help:"decay β₃ of the d estimate's sums; 0: √β₂"`                // default 0 (√β₂)
	Eps               float64 `key:"eps" help:"ε: the denominator is √v + d·ε"`                             // default 1e-8
	WeightDecay       float64 `key:"wd" help:"weight decay λ"`                                              // default 0
	Decouple          bool    `key:"decouple" help:"decoupled weight decay θ ← θ − dα·λ·θ (else coupled)"`  // default true
	UseBiasCorrection bool    `key:"bias-correction" help:"Adam's bias correction in the step size"`        // default false
	SafeguardWarmup   bool    `key:"safeguard-warmup" help:"leave α out of the sum s (for warm-up)"`        // default false
	D0                float64 `key:"d0" help:"initial estimate d₀ of the step size"`                        // default 1e-6
	DCoef             float64 `key:"d-coef" help:"coefficient of the estimate d"`                           // default 1
	GrowthRate        float64 `key:"growth-rate" help:"largest factor d may grow by per step; 0: no limit"` // default 0 (∞)
}

// DefaultProdigy returns the reference's defaults; its default learning
// rate (a multiplier of d) is 1.
func DefaultProdigy() Prodigy {
	return Prodigy{Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, Decouple: true, D0: 1e-6, DCoef: 1}
}

// Validate checks the hyperparameters, naming the first bad one.
func (m Prodigy) Validate() error {
	p := prodigyScale[float64](m)
	p.WeightDecay = m.WeightDecay // coupled or not, held to one rule
	return p.check("Prodigy")
}

// growthRate checks a bound on the growth of d per step.
func growthRate(field string, v float64) error {
	if v != 0 && !(v >= 1) {
		return fmt.Errorf("optim: %s = %v: must be ≥ 1, or 0 for no limit", field, v)
	}
	return nil
}

func (Prodigy) defaultLR() float64 { return 1 }

func (m Prodigy) build(dst any) error {
	return fill(dst, m, prodigyChain[float32], prodigyChain[float64])
}

// prodigyScale returns the Prodigy transform of m, without weight decay.
func prodigyScale[T Float](m Prodigy) *ScaleByProdigy[T] {
	return &ScaleByProdigy[T]{Beta1: m.Beta1, Beta2: m.Beta2, Beta3: m.Beta3, Eps: m.Eps, D0: m.D0, DCoef: m.DCoef,
		GrowthRate: m.GrowthRate, UseBiasCorrection: m.UseBiasCorrection, SafeguardWarmup: m.SafeguardWarmup}
}

func prodigyChain[T Float](m Prodigy) Chain[T] {
	var c Chain[T]
	p := prodigyScale[T](m)
	if m.WeightDecay != 0 {
		if m.Decouple {
			p.WeightDecay = m.WeightDecay
		} else {
			c = append(c, &AddDecayedWeights[T]{WeightDecay: m.WeightDecay})
		}
	}
	return append(c, p, &ScaleByLR[T]{})
}

// ProdigyD returns the step-size estimate d of the Prodigy transform in
// group's chain — the d the next step will use — and whether there is
// one. Log it once an epoch: it shows what learning rate Prodigy found.
func ProdigyD[T Float](o *Optimizer[T], group int) (float64, bool) {
	for _, tr := range o.Transforms(group) {
		if p, ok := tr.(*ScaleByProdigy[T]); ok {
			return p.D(), true
		}
	}
	return 0, false
}

// ScaleByProdigy replaces the update by Prodigy's step (see [Prodigy]) divided
// by the learning rate, which ScaleByLR then applies: u ← dĉ·m/(√v + d·ε),
// plus dĉ·λ·θ when WeightDecay (decoupled) is set. It is a [SharedReducer]:
// d needs sums over every parameter of every group it shares d with. Its
// chain runs fused, as two passes: one that reads the gradient, moves the
// moments and sums, and one that steps.
type ScaleByProdigy[T Float] struct {
	Beta1, Beta2, Beta3, Eps float64
	WeightDecay              float64 // decoupled; masked by Config.DecayMask
	D0, DCoef                float64
	GrowthRate               float64 // 0: no limit
	UseBiasCorrection        bool
	SafeguardWarmup          bool

	m, v, s, p0 [][]T
	decay       []bool
	// Saved scalars: the estimate, its running maximum, the numerator r,
	// and the count of steps taken (not counting those with Σ|s| = 0).
	d, dMax, num, k float64

	lead *ScaleByProdigy[T] // the first group's, when d is shared with it
	tot  [2]float64         // Reduce's total, when d is not shared

	lr, dbc, r0, fnum float64 // this step's
	first, skip       bool
	b1, c1, b2, c2    T
	b3, w             T
	a, de, aw         T
	claim
}

func (p *ScaleByProdigy[T]) Name() string { return "scale_by_prodigy" }

// Validate checks the hyperparameters, naming the first bad one.
func (p *ScaleByProdigy[T]) Validate() error { return p.check("ScaleByProdigy") }

func (p *ScaleByProdigy[T]) check(owner string) error {
	return firstErr(
		unitInterval(owner+".Beta1", p.Beta1),
		unitInterval(owner+".Beta2", p.Beta2),
		unitInterval(owner+".Beta3", p.Beta3),
		positive(owner+".Eps", p.Eps),
		nonNegative(owner+".WeightDecay", p.WeightDecay),
		positive(owner+".D0", p.D0),
		positive(owner+".DCoef", p.DCoef),
		growthRate(owner+".GrowthRate", p.GrowthRate),
	)
}

func (p *ScaleByProdigy[T]) Init(s *State[T], params []ParamInfo) error {
	n := len(params)
	p.v, p.s, p.p0, p.decay = make([][]T, n), make([][]T, n), make([][]T, n), make([]bool, n)
	if p.Beta1 > 0 {
		p.m = make([][]T, n)
	}
	for k, q := range params {
		s.Vec(&p.s[k], k, "s", 0)
		s.Vec(&p.p0[k], k, "p0", 0)
		if p.m != nil {
			s.Vec(&p.m[k], k, "exp_avg", 0)
		}
		s.Vec(&p.v[k], k, "exp_avg_sq", 0)
		p.decay[k] = q.Decay
	}
	p.d, p.dMax = p.D0, p.D0
	s.Scalar(&p.d, "d")
	s.Scalar(&p.dMax, "d_max")
	s.Scalar(&p.num, "d_numerator")
	s.Scalar(&p.k, "k")
	return nil
}

// D returns the current estimate d.
func (p *ScaleByProdigy[T]) D() float64 { return p.d }

func (p *ScaleByProdigy[T]) beta3() float64 {
	if p.Beta3 == 0 {
		return math.Sqrt(p.Beta2)
	}
	return p.Beta3
}

// Share joins lead's estimate when lead is Prodigy with the same
// hyperparameters for d (see [Prodigy]); otherwise, and for nil, p keeps
// an estimate of its own.
func (p *ScaleByProdigy[T]) Share(lead SharedReducer[T]) bool {
	p.lead = nil
	l, ok := lead.(*ScaleByProdigy[T])
	if !ok || l.Beta1 != p.Beta1 || l.Beta2 != p.Beta2 || l.beta3() != p.beta3() || l.D0 != p.D0 || l.DCoef != p.DCoef ||
		l.GrowthRate != p.GrowthRate || l.UseBiasCorrection != p.UseBiasCorrection {
		return false
	}
	p.lead = l
	return true
}

func (p *ScaleByProdigy[T]) Begin(c *StepInfo) {
	if l := p.lead; l != nil {
		// The lead's group comes first, and its Begin leaves these be.
		p.d, p.dMax, p.num, p.k = l.d, l.dMax, l.num, l.k
	}
	p.first = c.T == 1
	p.lr = c.LR
	bc := 1.0
	if p.UseBiasCorrection {
		bc = math.Sqrt(1-math.Pow(p.Beta2, p.k+1)) / (1 - math.Pow(p.Beta1, p.k+1))
	}
	d := p.d
	dlr := d * p.lr * bc
	p.dbc = d * bc
	b3 := p.beta3()
	p.r0 = p.num * b3
	p.fnum = d / p.D0 * dlr
	p.b1, p.c1 = T(p.Beta1), T(d*(1-p.Beta1))
	p.b2, p.c2 = T(p.Beta2), T(d*d*(1-p.Beta2))
	w := dlr
	if p.SafeguardWarmup {
		w = d
	}
	p.b3, p.w = T(b3), T(d/p.D0*w)
}

func (p *ScaleByProdigy[T]) Sums() int { return 2 }

func (p *ScaleByProdigy[T]) sumsOnly() {}

func (p *ScaleByProdigy[T]) Gather(k, off int, u, val []T, acc []float64) {
	p.gather(k, off, val, u, 1, 0, acc)
}

// gather is Gather on the update gs·g (+ wc·θ) (see fusedReducer); the
// chain's Gather is it with gs = 1 and wc = 0.
func (p *ScaleByProdigy[T]) gather(k, off int, val, g []T, gs, wc T, acc []float64) {
	n := len(val)
	p0 := p.p0[k][off : off+n]
	if p.first {
		copy(p0, val)
	}
	if p.lr == 0 {
		return // the reference skips a group with rate 0
	}
	dot, abs := kernel.ProdigyGatherStep(val, g, p0, p.mBlock(k, off, n), p.v[k][off:off+n], p.s[k][off:off+n], gs, wc, p.b1, p.c1, p.b2, p.c2, p.b3, p.w)
	acc[0] += dot
	acc[1] += abs
}

// mBlock returns block [off, off+n) of parameter k's first moment, or nil
// when β₁ = 0.
func (p *ScaleByProdigy[T]) mBlock(k, off, n int) []T {
	if p.m == nil {
		return nil
	}
	return p.m[k][off : off+n]
}

// decoupledRate returns aw for parameter k: dĉ·λ, or 0 where decay is masked.
func (p *ScaleByProdigy[T]) decoupledRate(k int) T {
	if !p.decay[k] {
		return 0
	}
	return p.aw
}

// Reduce is ReduceShared on its own group's contribution.
func (p *ScaleByProdigy[T]) Reduce(sums [][]float64, u, val [][]T) {
	p.tot = [2]float64{}
	p.Contribute(sums, p.tot[:])
	p.ReduceShared(p.tot[:], u, val)
}

// Contribute adds the group's terms of r (each times this group's (d/d₀)·dα)
// and of Σ|s| to tot.
func (p *ScaleByProdigy[T]) Contribute(sums [][]float64, tot []float64) {
	for _, s := range sums {
		tot[0] += p.fnum * s[0]
		tot[1] += s[1]
	}
}

// ReduceShared moves d from the sums over every sharing group; each such
// group computes the same d from the same total.
func (p *ScaleByProdigy[T]) ReduceShared(tot []float64, _, _ [][]T) {
	num, den := p.r0+tot[0], tot[1]
	p.skip = den == 0
	if p.skip {
		return
	}
	// Σ|s| > 0: some sharing group has a rate > 0 (one with rate 0 adds
	// nothing), which is the reference's condition for moving d.
	dHat := p.DCoef * num / den
	if p.d == p.D0 {
		p.d = math.Max(p.d, dHat)
	}
	p.dMax = math.Max(p.dMax, dHat)
	g := p.GrowthRate
	if g == 0 {
		g = math.Inf(1)
	}
	p.d = math.Min(p.dMax, p.d*g)
	p.num = num
	p.k++
	// θ ← θ − α·u with u = dĉ·(m/(√v + dε) + λθ): dα = dOld·α·ĉ.
	dc := p.dbc
	a := dc
	if p.m == nil {
		a *= p.d
	}
	p.a, p.de, p.aw = T(a), T(p.d*p.Eps), T(dc*p.WeightDecay)
}

func (p *ScaleByProdigy[T]) Update(k, off int, u, val []T) {
	if p.skip {
		clear(u)
		return
	}
	n := len(u)
	kernel.ProdigyUpdate(u, p.mBlock(k, off, n), p.v[k][off:off+n], val, p.a, p.de, p.decoupledRate(k))
}

// prodigyStep is ScaleByProdigy's fused form: the gather pass reads the
// gradient itself, and the update pass is one kernel. A skipped step (Σ|s|
// = 0) leaves the parameters as they are, as the chain's θ − α·0 does.
type prodigyStep[T Float] struct{ p *ScaleByProdigy[T] }

func (p *ScaleByProdigy[T]) fuse(tail Chain[T]) fusedStep[T] {
	if len(tail) != 0 {
		return nil
	}
	return prodigyStep[T]{p}
}

func (s prodigyStep[T]) sums() int { return s.p.Sums() }

func (s prodigyStep[T]) gather(k, off int, val, g []T, gs, wc T, acc []float64) {
	s.p.gather(k, off, val, g, gs, wc, acc)
}

func (s prodigyStep[T]) reduce(sums [][]float64) { s.p.Reduce(sums, nil, nil) }

func (s prodigyStep[T]) step(k, off int, val, g []T, gs, wc, nlr T) {
	p, n := s.p, len(val)
	if p.skip {
		return
	}
	kernel.ProdigyStep(val, g, p.mBlock(k, off, n), p.v[k][off:off+n], gs, wc, p.a, p.de, p.decoupledRate(k), nlr)
}
