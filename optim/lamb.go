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
// A step makes two passes over memory: one moves the moments, forms u and
// sums both norms, the other moves θ. The sums are in float64, added in an
// order that does not depend on the number of threads, and the result is
// bit for bit that of the chain of transforms named above. With ε_root ≠ 0
// the step runs as that chain, in more passes.
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
	c := Chain[T]{&scaleByAdamRoot[T]{Beta1: m.Beta1, Beta2: m.Beta2, Eps: m.Eps, EpsRoot: m.EpsRoot}}
	if m.WeightDecay != 0 {
		c = append(c, maskDecay[T](m.WeightDecay, m.DecayMask))
	}
	return append(c, &ScaleByTrustRatio[T]{TrustCoefficient: 1}, &ScaleByLR[T]{})
}

// scaleByAdamRoot is optax's scale_by_adam: ScaleByAdam with ε_root inside
// the square root; with ε_root = 0 it is ScaleByAdam (the same state and
// kernel).
type scaleByAdamRoot[T Float] struct {
	Beta1, Beta2, Eps, EpsRoot float64

	adam ScaleByAdam[T]
	c2   T
	claim
}

func (a *scaleByAdamRoot[T]) Name() string { return "scale_by_adam" }

func (a *scaleByAdamRoot[T]) Init(s *State[T], params []ParamInfo) error {
	a.adam = ScaleByAdam[T]{Beta1: a.Beta1, Beta2: a.Beta2, Eps: a.Eps}
	return a.adam.Init(s, params)
}

func (a *scaleByAdamRoot[T]) Begin(c *StepInfo) {
	a.adam.Begin(c)
	a.c2 = T(1 / (1 - math.Pow(a.Beta2, float64(c.T))))
}

func (a *scaleByAdamRoot[T]) Update(k, off int, u, p []T) {
	if a.EpsRoot == 0 {
		a.adam.Update(k, off, u, p)
		return
	}
	n := len(u)
	kernel.AdamEpsRoot(u, a.adam.m[k][off:off+n], a.adam.v[k][off:off+n], a.adam.b1, a.adam.b2, a.adam.c1, a.c2, T(a.EpsRoot), T(a.Eps))
}

var (
	_ fuser[float32]        = (*scaleByAdamRoot[float32])(nil)
	_ fusedReducer[float32] = (*lambStep[float32])(nil)
	_ bufferedStep[float32] = (*lambStep[float32])(nil)
)

// lambStep is LAMB's fused form: Adam, an optional decoupled decay and
// the trust ratio with what may follow it in LARS's fused form (the rate,
// when it is not folded into the subtraction), in two passes. The gather
// moves the moments and writes the update with its decay to u, a buffer
// outside the saved state, while it sums ‖u‖² and ‖θ‖²; the step is the
// trust ratio's (TrustStep), on u. Per parameter the passes move 10 words:
// g, θ, m, v read and m, v, u written, then θ, u read and θ written.
type lambStep[T Float] struct {
	*trustStep[T] // reduces, and steps along u
	a             *ScaleByAdam[T]
	decay         weightDecayer[T] // nil: no decay
	u             [][]T            // per parameter: the update between the passes
}

// fuse returns LAMB's fused step for a tail of an optional decay and the
// trust ratio with a tail of its fused form; nil for any other tail, or
// with ε_root ≠ 0 (which then runs staged).
func (a *scaleByAdamRoot[T]) fuse(tail Chain[T]) fusedStep[T] {
	if a.EpsRoot != 0 {
		return nil
	}
	f := &lambStep[T]{a: &a.adam} // Init fills a.adam in place
	if len(tail) > 0 {
		if d, ok := tail[0].(weightDecayer[T]); ok {
			f.decay, tail = d, tail[1:]
		}
	}
	if len(tail) == 0 {
		return nil
	}
	s, ok := tail[0].(*ScaleByTrustRatio[T])
	if !ok {
		return nil
	}
	if f.trustStep, ok = s.fuse(tail[1:]).(*trustStep[T]); !ok {
		return nil
	}
	return f
}

// allocate lays u out as the state is (State.allocate): each parameter's
// away, within a page, from its values, gradient and moments, which the
// gather walks in lockstep with it.
func (f *lambStep[T]) allocate(params []Param[T]) {
	pl := newPlacer[T]()
	offsets := make([]int, len(params))
	for k, p := range params {
		pl.avoid(addr(p.Value), addr(p.Grad), addr(f.a.m[k]), addr(f.a.v[k]))
		offsets[k] = pl.place(len(p.Value))
	}
	slab := pl.slab()
	f.u = make([][]T, len(params))
	for k, p := range params {
		n := len(p.Value)
		f.u[k] = slab[offsets[k] : offsets[k]+n : offsets[k]+n]
	}
}

func (f *lambStep[T]) gather(k, off int, p, g []T, gs, wc T, acc []float64) {
	a, n := f.a, len(p)
	var wd T
	if f.decay != nil {
		wd = f.decay.decayRate(k)
	}
	uu, pp := kernel.LAMBGather(p, g, a.m[k][off:off+n], a.v[k][off:off+n], f.u[k][off:off+n], gs, wc, a.b1, a.b2, a.c1, a.c2, T(a.Eps), wd)
	if f.s.on[k] { // as the chain's Gather adds them
		acc[0] += uu
		acc[1] += pp
	}
}

// step steps along u, which holds the update the gather formed, scaled
// and coupled already: gs = 1, wc = 0.
func (f *lambStep[T]) step(k, off int, p, _ []T, _, _, nlr T) {
	f.trustStep.step(k, off, p, f.u[k][off:off+len(p)], 1, 0, nlr)
}
