package optim

import (
	"math"

	"github.com/descentml/descent/internal/kernel"
)

var _ Method = LAMB{}

// LAMB is Adam with a layer-wise trust ratio (You et al. 2020), as optax
// defines it (optax.lamb: scale_by_adam → add_decayed_weights →
// scale_by_trust_ratio → scale_by_learning_rate). Per parameter tensor, at
// step t = 1, 2, …:
//
//	m ← β₁·m + (1 − β₁)·g
//	v ← β₂·v + (1 − β₂)·g²
//	u = (m/(1 − β₁ᵗ)) / (√(v/(1 − β₂ᵗ) + ε_root) + ε)
//	u ← u + λ·θ                              (where DecayMask and Config.DecayMask allow)
//	r = ‖θ‖₂ / ‖u‖₂                          (1 if either norm is 0)
//	θ ← θ − α_t·r·u
//
// β₁ = Beta1, β₂ = Beta2, ε = Eps outside the square root and ε_root =
// EpsRoot inside it (optax's eps_root), λ = WeightDecay. The norms are over
// the whole tensor, so every tensor's step has length α_t·‖θ‖ (a relative
// step), which is what lets LAMB train with very large batches.
//
// Weight decay is decoupled and enters before the trust ratio, so the ratio
// sees it: optax's order, and the paper's. optax's weight_decay_mask is
// DecayMask (for example [WeightsOnly]). The decay is left out
// entirely when λ = 0. PyTorch has no LAMB; implementations elsewhere
// differ in where they clip the ratio (NVIDIA's Apex bounds ‖θ‖ to [0, 10]);
// this is optax's, with no clipping. There is no default learning rate:
// Config.LR is required.
//
// Reference: Y. You et al., "Large Batch Optimization for Deep Learning:
// Training BERT in 76 minutes", ICLR 2020.
type LAMB struct {
	Beta1       float64 `key:"beta1" help:"decay β₁ of the first moment"`                  // default 0.9
	Beta2       float64 `key:"beta2" help:"decay β₂ of the second moment"`                 // default 0.999
	Eps         float64 `key:"eps" help:"ε added to the denominator"`                      // default 1e-6
	EpsRoot     float64 `key:"eps-root" help:"ε_root added inside the square root"`        // default 0
	WeightDecay float64 `key:"wd" help:"decoupled weight decay λ, before the trust ratio"` // default 0
	// DecayMask says which parameters weight decay applies to (optax's
	// mask), together with Config.DecayMask; nil means all.
	DecayMask func(name string, shape []int) bool
}

// DefaultLAMB returns optax's defaults. LAMB has no default learning rate.
func DefaultLAMB() LAMB { return LAMB{Beta1: 0.9, Beta2: 0.999, Eps: 1e-6} }

// Validate checks the hyperparameters, naming the first bad one.
func (m LAMB) Validate() error {
	return firstErr(
		unitInterval("LAMB.Beta1", m.Beta1),
		unitInterval("LAMB.Beta2", m.Beta2),
		nonNegative("LAMB.Eps", m.Eps),
		nonNegative("LAMB.EpsRoot", m.EpsRoot),
		nonNegative("LAMB.WeightDecay", m.WeightDecay),
	)
}

func (LAMB) defaultLR() float64 { return 0 }

func (m LAMB) build(dst any) error { return fill(dst, m, lambChain[float32], lambChain[float64]) }

func lambChain[T Float](m LAMB) Chain[T] {
	c := Chain[T]{&scaleByAdamRoot[T]{B1: m.Beta1, B2: m.Beta2, Eps: m.Eps, EpsRoot: m.EpsRoot}}
	if m.WeightDecay != 0 {
		c = append(c, maskDecay[T](m.WeightDecay, m.DecayMask))
	}
	return append(c, &ScaleByTrustRatio[T]{Coefficient: 1}, &ScaleByLR[T]{})
}

// scaleByAdamRoot is optax's scale_by_adam: ScaleByAdam with ε_root inside
// the square root; with ε_root = 0 it is ScaleByAdam (the same state and
// kernel).
type scaleByAdamRoot[T Float] struct {
	B1, B2, Eps, EpsRoot float64

	adam ScaleByAdam[T]
	c2   T
}

func (a *scaleByAdamRoot[T]) Name() string { return "scale_by_adam" }

func (a *scaleByAdamRoot[T]) Init(s *State[T], params []ParamInfo) error {
	a.adam = ScaleByAdam[T]{B1: a.B1, B2: a.B2, Eps: a.Eps}
	return a.adam.Init(s, params)
}

func (a *scaleByAdamRoot[T]) Begin(c *StepInfo) {
	a.adam.Begin(c)
	a.c2 = T(1 / (1 - math.Pow(a.B2, float64(c.T))))
}

func (a *scaleByAdamRoot[T]) Update(k, off int, u, p []T) {
	if a.EpsRoot == 0 {
		a.adam.Update(k, off, u, p)
		return
	}
	n := len(u)
	kernel.AdamEpsRoot(u, a.adam.m[k][off:off+n], a.adam.v[k][off:off+n], a.adam.b1, a.adam.b2, a.adam.c1, a.c2, T(a.EpsRoot), T(a.Eps))
}
