package optim

import "github.com/descentml/descent/internal/kernel"

// Lion (EvoLved Sign Momentum; Chen et al. 2023, "Symbolic Discovery of
// Optimization Algorithms"; google/automl lion/lion_pytorch.py) steps by
// the sign of an interpolation of its momentum and the gradient, so every
// coordinate moves by exactly the learning rate. With the learning rate α_t
// and g = ∇f(θ):
//
//	θ ← θ·(1 − α_t·λ)                     decoupled decay
//	c = β₁·m + (1 − β₁)·g
//	θ ← θ − α_t·sign(c)                   (sign(0) = 0)
//	m ← β₂·m + (1 − β₂)·g,  m₀ = 0
//
// β₁ = Beta1, β₂ = Beta2, λ = WeightDecay. There is no ε and no bias
// correction. The interpolation c uses β₁ while the momentum kept uses
// β₂ > β₁: the step reacts faster to a new gradient than the memory does.
// The paper advises a learning rate 3–10× smaller than AdamW's and a
// weight decay 3–10× larger, to keep α·λ the same; the default rate is the
// reference's 1e-4. The decay is decoupled and follows the learning rate,
// as in [AdamW] (the reference and optax's lion).
//
// Cautious (Liang et al. 2024; C-Optim's c_lion.py) masks the coordinates
// where sign(c) disagrees with g and rescales the rest per tensor of n
// elements (see [CautiousScale]; the reference's default is
// CautiousCountPlusOne):
//
//	φ = [sign(c)·g > 0],  θ ← θ·(1 − α_t·λ) − α_t·sign(c)·φ·n/(Σφ + 1)
//
// The chain: [ScaleByLion] (in [Cautious] when cautious) →
// [AddDecayedWeights] → [ScaleByLR], run as one fused kernel; cautious, as
// two: a pass that counts the mask from the gradient, then the step.
type Lion struct {
	Beta1         float64       `key:"beta1" help:"interpolation β₁ of momentum and gradient for the sign"` // default 0.9
	Beta2         float64       `key:"beta2" help:"decay β₂ of the momentum"`                               // default 0.99
	WeightDecay   float64       `key:"wd" help:"decoupled weight decay λ: θ ← θ − α_t·λ·θ"`                 // default 0
	Cautious      bool          `key:"cautious" help:"cautious update: mask where sign(c) and g disagree"`
	CautiousScale CautiousScale // normalisation of the cautious mask; zero: CautiousCountPlusOne
}

// DefaultLion returns the reference's defaults (β₁ = 0.9, β₂ = 0.99, no
// decay); its default learning rate is 1e-4.
func DefaultLion() Lion { return Lion{Beta1: 0.9, Beta2: 0.99} }

// Validate checks the hyperparameters, naming the first bad one.
func (m Lion) Validate() error {
	return firstErr(
		(&ScaleByLion[float64]{Beta1: m.Beta1, Beta2: m.Beta2}).check("Lion"),
		(&AddDecayedWeights[float64]{WeightDecay: m.WeightDecay}).check("Lion"),
		m.CautiousScale.validate("Lion.CautiousScale"),
	)
}

func (Lion) defaultLR() float64 { return 1e-4 }

func (m Lion) build(dst any) error { return fill(dst, m, lionChain[float32], lionChain[float64]) }

func lionChain[T Float](m Lion) Chain[T] {
	lion := &ScaleByLion[T]{Beta1: m.Beta1, Beta2: m.Beta2}
	c := Chain[T]{lion}
	if m.Cautious {
		c[0] = &Cautious[T]{Base: lion, CautiousScale: m.CautiousScale.or(CautiousCountPlusOne)}
	}
	if m.WeightDecay != 0 {
		c = append(c, &AddDecayedWeights[T]{WeightDecay: m.WeightDecay})
	}
	return append(c, &ScaleByLR[T]{})
}

// ScaleByLion replaces the update by Lion's sign step and moves the
// momentum:
//
//	c = β₁·m + (1 − β₁)·u
//	m ← β₂·m + (1 − β₂)·u
//	u ← sign(c)
//
// β₁ is replaced by the scheduled momentum when there is one.
type ScaleByLion[T Float] struct {
	Beta1, Beta2 float64

	m      [][]T
	b1, b2 T
	claim
}

var _ Transform[float32] = (*ScaleByLion[float32])(nil)

func (l *ScaleByLion[T]) Name() string { return "scale_by_lion" }

// Validate checks the hyperparameters, naming the first bad one.
func (l *ScaleByLion[T]) Validate() error { return l.check("ScaleByLion") }

func (l *ScaleByLion[T]) check(owner string) error {
	return firstErr(
		closedUnit(owner+".Beta1", l.Beta1),
		unitInterval(owner+".Beta2", l.Beta2),
	)
}

func (l *ScaleByLion[T]) Init(s *State[T], params []ParamInfo) error {
	l.m = make([][]T, len(params))
	for k := range params {
		s.Vec(&l.m[k], k, "exp_avg", 0)
	}
	return nil
}

func (l *ScaleByLion[T]) Begin(c *StepInfo) {
	l.b1, l.b2 = T(c.MomentumOr(l.Beta1)), T(l.Beta2)
}

func (l *ScaleByLion[T]) Update(k, off int, u, _ []T) {
	kernel.Lion(u, l.m[k][off:off+len(u)], l.b1, l.b2, 1, false)
}

// Agree returns how many elements of the block Lion's cautious mask keeps
// (sign(c) agrees with u), changing nothing.
func (l *ScaleByLion[T]) Agree(k, off int, u []T) float64 {
	return kernel.LionAgree(u, l.m[k][off:off+len(u)], l.b1)
}

// UpdateMasked is Update with the cautious mask applied and the kept
// elements scaled by s.
func (l *ScaleByLion[T]) UpdateMasked(k, off int, u []T, s T) {
	kernel.Lion(u, l.m[k][off:off+len(u)], l.b1, l.b2, s, true)
}

// lionStep is ScaleByLion's fused kernel, with an optional decoupled decay.
type lionStep[T Float] struct {
	l     *ScaleByLion[T]
	decay weightDecayer[T]
}

var _ fuser[float32] = (*ScaleByLion[float32])(nil)

func (l *ScaleByLion[T]) fuse(tail Chain[T]) fusedStep[T] {
	d, ok := decayAfter(tail)
	if !ok {
		return nil
	}
	return &lionStep[T]{l, d}
}

func (s *lionStep[T]) step(k, off int, p, g []T, gs, wc, nlr T) {
	var wd T
	if s.decay != nil {
		wd = s.decay.decayRate(k)
	}
	kernel.LionStep(p, g, s.l.m[k][off:off+len(p)], gs, wc, s.l.b1, s.l.b2, wd, nlr)
}
