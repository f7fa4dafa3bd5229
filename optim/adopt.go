package optim

import (
	"math"

	"github.com/descentml/descent/internal/kernel"
)

// ADOPT is Adam with the gradient normalised by the second moment of the
// steps before it, then clipped, then averaged (Taniguchi et al. 2024,
// "ADOPT: Modified Adam Can Converge with Any β₂ with the Optimal Rate";
// iShohei220/adopt). Normalising by the previous v, which does not contain
// the current gradient, is what makes it converge for any β₂. With the
// learning rate α_t, step t = 1, 2, … and g = ∇f(θ):
//
//	g ← g + λ·θ                               coupled decay (default)
//	t = 1:  v ← g²;  θ unchanged               (no decoupled decay either)
//	t > 1:  θ ← θ·(1 − α_t·λ)                  decoupled decay (Decouple)
//	        n = g / max(√v, ε)
//	        n ← clamp(n, −(t − 1)^p, (t − 1)^p)   (NoClip: none)
//	        m ← β₁·m + (1 − β₁)·n,  m₀ = 0
//	        θ ← θ − α_t·m
//	        v ← β₂·v + (1 − β₂)·g²
//
// β₁ = Beta1, β₂ = Beta2, ε = Eps, p = ClipExponent, λ = WeightDecay.
// There is no bias correction (m starts at 0 and v at g₁²). ε bounds the
// root from below, max(√v, ε), rather than being added to it. The clip
// (t − 1)^p, the reference's clip_lambda = step**0.25 with step the number
// of earlier steps, stops the first normalised gradients from being huge
// where v₁ happened to be tiny; NoClip is the reference's
// clip_lambda = None.
//
// The chain: [AddDecayedWeights] → [ScaleByADOPT] → [ScaleByLR], or
// ScaleByADOPT → AddDecayedWeights (from step 2) → ScaleByLR when
// Decouple, run as one fused kernel.
type ADOPT struct {
	Beta1        float64 `key:"beta1" help:"decay β₁ of the first moment"`                             // default 0.9
	Beta2        float64 `key:"beta2" help:"decay β₂ of the second moment"`                            // default 0.9999
	Eps          float64 `key:"eps" help:"ε: lower bound of √v"`                                       // default 1e-6
	ClipExponent float64 `key:"clip-exponent" help:"p of the clip (t−1)^p of the normalised g"`        // default 0.25
	NoClip       bool    `key:"no-clip" help:"do not clip the normalised gradient"`                    // default false
	WeightDecay  float64 `key:"wd" help:"weight decay λ: gradient += λθ (decoupled: θ ← θ − α_t·λ·θ)"` // default 0
	Decouple     bool    `key:"decouple" help:"decoupled weight decay, as AdamW"`                      // default false
}

// DefaultADOPT returns the reference's defaults; its default learning rate
// is 1e-3.
func DefaultADOPT() ADOPT {
	return ADOPT{Beta1: 0.9, Beta2: 0.9999, Eps: 1e-6, ClipExponent: 0.25}
}

// Validate checks the hyperparameters, naming the first bad one.
func (m ADOPT) Validate() error {
	return firstErr(
		adoptScale[float64](m).check("ADOPT"),
		(&AddDecayedWeights[float64]{WeightDecay: m.WeightDecay}).check("ADOPT"),
	)
}

func (ADOPT) defaultLR() float64 { return 1e-3 }

func (m ADOPT) build(dst any) error { return fill(dst, m, adoptChain[float32], adoptChain[float64]) }

// adoptScale returns the ADOPT transform of m.
func adoptScale[T Float](m ADOPT) *ScaleByADOPT[T] {
	return &ScaleByADOPT[T]{Beta1: m.Beta1, Beta2: m.Beta2, Eps: m.Eps, ClipExponent: m.ClipExponent, NoClip: m.NoClip}
}

func adoptChain[T Float](m ADOPT) Chain[T] {
	a := adoptScale[T](m)
	lr := &ScaleByLR[T]{}
	switch {
	case m.WeightDecay == 0:
		return Chain[T]{a, lr}
	case m.Decouple:
		return Chain[T]{a, &AddDecayedWeights[T]{WeightDecay: m.WeightDecay, From: 2}, lr}
	}
	return Chain[T]{&AddDecayedWeights[T]{WeightDecay: m.WeightDecay}, a, lr}
}

// ScaleByADOPT replaces the update by ADOPT's momentum of the clipped,
// normalised update. At step 1 it only sets v ← u² and makes u zero; after:
//
//	n = clamp(u / max(√v, ε), ±(t − 1)^p)     (NoClip: no clamp)
//	m ← β₁·m + (1 − β₁)·n
//	v ← β₂·v + (1 − β₂)·u²
//	u ← m
//
// β₁ is replaced by the scheduled momentum when there is one.
type ScaleByADOPT[T Float] struct {
	Beta1, Beta2, Eps, ClipExponent float64
	NoClip                          bool

	m, v         [][]T
	b1, b2, clip T
	first        bool
	claim
}

var _ Transform[float32] = (*ScaleByADOPT[float32])(nil)

func (a *ScaleByADOPT[T]) Name() string { return "scale_by_adopt" }

// Validate checks the hyperparameters, naming the first bad one.
func (a *ScaleByADOPT[T]) Validate() error { return a.check("ScaleByADOPT") }

func (a *ScaleByADOPT[T]) check(owner string) error {
	return firstErr(
		unitInterval(owner+".Beta1", a.Beta1),
		unitInterval(owner+".Beta2", a.Beta2),
		positive(owner+".Eps", a.Eps),
		nonNegative(owner+".ClipExponent", a.ClipExponent),
	)
}

func (a *ScaleByADOPT[T]) Init(s *State[T], params []ParamInfo) error {
	a.m, a.v = make([][]T, len(params)), make([][]T, len(params))
	for k := range params {
		s.Vec(&a.m[k], k, "exp_avg", 0)
		s.Vec(&a.v[k], k, "exp_avg_sq", 0)
	}
	return nil
}

func (a *ScaleByADOPT[T]) Begin(c *StepInfo) {
	a.first = c.T == 1
	a.b1, a.b2 = T(c.MomentumOr(a.Beta1)), T(a.Beta2)
	a.clip = T(math.Inf(1))
	if !a.NoClip {
		a.clip = T(math.Pow(float64(c.T-1), a.ClipExponent))
	}
}

func (a *ScaleByADOPT[T]) Update(k, off int, u, _ []T) {
	n := len(u)
	if a.first {
		kernel.ADOPTFirst(u, a.v[k][off:off+n])
		return
	}
	kernel.ADOPT(u, a.m[k][off:off+n], a.v[k][off:off+n], a.b1, a.b2, T(a.Eps), a.clip)
}

// adoptStep is ScaleByADOPT's fused kernel, with an optional decoupled
// decay.
type adoptStep[T Float] struct {
	a     *ScaleByADOPT[T]
	decay weightDecayer[T]
}

var _ fuser[float32] = (*ScaleByADOPT[float32])(nil)

func (a *ScaleByADOPT[T]) fuse(tail Chain[T]) fusedStep[T] {
	d, ok := decayAfter(tail)
	if !ok {
		return nil
	}
	return &adoptStep[T]{a, d}
}

func (s *adoptStep[T]) step(k, off int, p, g []T, gs, wc, nlr T) {
	a, n := s.a, len(p)
	var wd T
	if s.decay != nil {
		wd = s.decay.decayRate(k)
	}
	kernel.ADOPTStep(p, g, a.m[k][off:off+n], a.v[k][off:off+n], gs, wc, a.b1, a.b2, T(a.Eps), a.clip, wd, nlr, a.first)
}
