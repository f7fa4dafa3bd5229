package optim

import (
	"math"

	"github.com/descentml/descent/internal/kernel"
)

// AdEMAMix is Adam with a second, slow first moment mixed into the
// numerator (Pagliardini, Ablin & Grangier 2024, "The AdEMAMix Optimizer:
// Better, Faster, Older"; apple/ml-ademamix pytorch/ademamix.py): the fast
// moment follows the gradient as Adam's does, the slow one (β₃ ≈ 0.9999)
// remembers gradients from tens of thousands of steps ago. With the
// learning rate α_t, step t = 1, 2, … and g = ∇f(θ):
//
//	m₁ ← β₁·m₁ + (1 − β₁)·g               fast moment, bias-corrected
//	m₂ ← β₃,t·m₂ + (1 − β₃,t)·g           slow moment, not corrected
//	v ← β₂·v + (1 − β₂)·g²
//	m̂₁ = m₁/(1 − β₁ᵗ),  v̂ = v/(1 − β₂ᵗ)
//	θ ← θ − α_t·[(m̂₁ + α_t'·m₂)/(√v̂ + ε) + λ·θ]
//
// β₁, β₂, β₃ = Beta1, Beta2, Beta3, α' = Alpha, ε = Eps (outside the root,
// added to the corrected √v̂ as in [Adam]), λ = WeightDecay: decoupled and
// scaled by the learning rate, as [AdamW]. With β₁ = 0, m₁ = g. All moments
// start at 0.
//
// The slow moment is unstable early, so both its weight and its memory warm
// up (the paper's schedulers; zero warm-ups mean none):
//
//	α_t' = α'·t/AlphaWarmup                         for t < AlphaWarmup, else α'
//	β₃,t = 0.5^(1/(h + 1)),  h = (1 − a)·f(β₁) + a·f(β₃),  a = t/Beta3Warmup
//	                                                for t < Beta3Warmup, else β₃
//
// with f(β) = ln 0.5/ln(β + 10⁻⁸) − 1, the half-life of β in steps: β₃,t
// grows linearly in half-life from β₁'s to β₃'s.
//
// The chain: [ScaleByAdEMAMix] → [AddDecayedWeights] → [ScaleByLR], run
// as one fused kernel.
type AdEMAMix struct {
	Beta1       float64 `key:"beta1" help:"decay β₁ of the fast moment"`                       // default 0.9
	Beta2       float64 `key:"beta2" help:"decay β₂ of the second moment"`                     // default 0.999
	Beta3       float64 `key:"beta3" help:"decay β₃ of the slow moment"`                       // default 0.9999
	Alpha       float64 `key:"alpha" help:"weight α of the slow moment"`                       // default 2
	AlphaWarmup int     `key:"alpha-warmup" help:"steps over which α grows from 0; 0: none"`   // default 0
	Beta3Warmup int     `key:"beta3-warmup" help:"steps over which β₃ grows from β₁; 0: none"` // default 0
	Eps         float64 `key:"eps" help:"ε added to the denominator"`                          // default 1e-8
	WeightDecay float64 `key:"wd" help:"decoupled weight decay λ: θ ← θ − α_t·λ·θ"`            // default 0
}

// DefaultAdEMAMix returns the reference's defaults; its default learning
// rate is 1e-3.
func DefaultAdEMAMix() AdEMAMix {
	return AdEMAMix{Beta1: 0.9, Beta2: 0.999, Beta3: 0.9999, Alpha: 2, Eps: 1e-8}
}

// Validate checks the hyperparameters, naming the first bad one.
func (m AdEMAMix) Validate() error {
	return firstErr(
		ademamixScale[float64](m).check("AdEMAMix"),
		(&AddDecayedWeights[float64]{WeightDecay: m.WeightDecay}).check("AdEMAMix"),
	)
}

func (AdEMAMix) defaultLR() float64 { return 1e-3 }

func (m AdEMAMix) build(dst any) error {
	return fill(dst, m, ademamixChain[float32], ademamixChain[float64])
}

// ademamixScale returns the AdEMAMix transform of m.
func ademamixScale[T Float](m AdEMAMix) *ScaleByAdEMAMix[T] {
	return &ScaleByAdEMAMix[T]{Beta1: m.Beta1, Beta2: m.Beta2, Beta3: m.Beta3, Alpha: m.Alpha, AlphaWarmup: m.AlphaWarmup, Beta3Warmup: m.Beta3Warmup, Eps: m.Eps}
}

func ademamixChain[T Float](m AdEMAMix) Chain[T] {
	c := Chain[T]{ademamixScale[T](m)}
	if m.WeightDecay != 0 {
		c = append(c, &AddDecayedWeights[T]{WeightDecay: m.WeightDecay})
	}
	return append(c, &ScaleByLR[T]{})
}

// ScaleByAdEMAMix replaces the update by AdEMAMix's ratio, with the
// warm-ups of α and β₃ described at [AdEMAMix]:
//
//	m₁ ← β₁·m₁ + (1 − β₁)·u,  m₂ ← β₃,t·m₂ + (1 − β₃,t)·u,  v ← β₂·v + (1 − β₂)·u²
//	u ← (m₁/(1 − β₁ᵗ) + α_t·m₂) / (√v/√(1 − β₂ᵗ) + ε)
//
// β₁ is replaced by the scheduled momentum when there is one.
type ScaleByAdEMAMix[T Float] struct {
	Beta1, Beta2, Beta3, Alpha float64
	AlphaWarmup, Beta3Warmup   int
	Eps                        float64

	m1, m2, v                 [][]T
	b1, b2, b3, c1, c2, alpha T
	claim
}

var _ Transform[float32] = (*ScaleByAdEMAMix[float32])(nil)

func (a *ScaleByAdEMAMix[T]) Name() string { return "scale_by_ademamix" }

// Validate checks the hyperparameters, naming the first bad one.
func (a *ScaleByAdEMAMix[T]) Validate() error { return a.check("ScaleByAdEMAMix") }

func (a *ScaleByAdEMAMix[T]) check(owner string) error {
	return firstErr(
		unitInterval(owner+".Beta1", a.Beta1),
		unitInterval(owner+".Beta2", a.Beta2),
		unitInterval(owner+".Beta3", a.Beta3),
		nonNegative(owner+".Alpha", a.Alpha),
		atLeast(owner+".AlphaWarmup", a.AlphaWarmup, 0),
		atLeast(owner+".Beta3Warmup", a.Beta3Warmup, 0),
		positive(owner+".Eps", a.Eps),
	)
}

func (a *ScaleByAdEMAMix[T]) Init(s *State[T], params []ParamInfo) error {
	a.m1, a.m2, a.v = make([][]T, len(params)), make([][]T, len(params)), make([][]T, len(params))
	for k := range params {
		s.Vec(&a.m1[k], k, "exp_avg_fast", 0)
		s.Vec(&a.m2[k], k, "exp_avg_slow", 0)
		s.Vec(&a.v[k], k, "exp_avg_sq", 0)
	}
	return nil
}

func (a *ScaleByAdEMAMix[T]) Begin(c *StepInfo) {
	t := float64(c.T)
	b1 := c.MomentumOr(a.Beta1)
	alpha, b3 := a.Alpha, a.Beta3
	if c.T < a.AlphaWarmup {
		alpha = t / float64(a.AlphaWarmup) * a.Alpha
	}
	if c.T < a.Beta3Warmup {
		halfLife := func(b float64) float64 { return math.Log(0.5)/math.Log(b+1e-8) - 1 }
		f := t / float64(a.Beta3Warmup)
		b3 = math.Pow(0.5, 1/((1-f)*halfLife(b1)+f*halfLife(a.Beta3)+1))
	}
	a.b1, a.b2, a.b3, a.alpha = T(b1), T(a.Beta2), T(b3), T(alpha)
	a.c1 = T(1 / (1 - math.Pow(b1, t)))
	a.c2 = T(1 / math.Sqrt(1-math.Pow(a.Beta2, t)))
}

func (a *ScaleByAdEMAMix[T]) Update(k, off int, u, _ []T) {
	n := len(u)
	kernel.AdEMAMix(u, a.m1[k][off:off+n], a.m2[k][off:off+n], a.v[k][off:off+n], a.b1, a.b2, a.b3, a.c1, a.c2, a.alpha, T(a.Eps))
}

// ademamixStep is ScaleByAdEMAMix's fused kernel, with an optional
// decoupled decay.
type ademamixStep[T Float] struct {
	a     *ScaleByAdEMAMix[T]
	decay weightDecayer[T]
}

var _ fuser[float32] = (*ScaleByAdEMAMix[float32])(nil)

func (a *ScaleByAdEMAMix[T]) fuse(tail Chain[T]) fusedStep[T] {
	d, ok := decayAfter(tail)
	if !ok {
		return nil
	}
	return &ademamixStep[T]{a, d}
}

func (s *ademamixStep[T]) step(k, off int, p, g []T, gs, wc, nlr T) {
	a, n := s.a, len(p)
	var wd T
	if s.decay != nil {
		wd = s.decay.decayRate(k)
	}
	kernel.AdEMAMixStep(p, g, a.m1[k][off:off+n], a.m2[k][off:off+n], a.v[k][off:off+n], gs, wc, a.b1, a.b2, a.b3, a.c1, a.c2, a.alpha, T(a.Eps), wd, nlr)
}
