package optim

// RAdam is Adam with the variance of the adaptive rate rectified (PyTorch's
// torch.optim.RAdam; Liu et al. 2020): while too few steps have been seen to
// trust v, it takes plain momentum steps. With the learning rate α_t, step
// t = 1, 2, … and g = ∇f(θ):
//
//	g ← g + (λ_wd + 2λ_L2)·θ              coupled decay
//	m ← β₁·m + (1 − β₁)·g,  v ← β₂·v + (1 − β₂)·g²,  m₀ = v₀ = 0
//	m̂ = m/(1 − β₁ᵗ)
//	ρ∞ = 2/(1 − β₂) − 1,  ρ_t = ρ∞ − 2t·β₂ᵗ/(1 − β₂ᵗ)
//	θ ← θ − α_t·m̂·r_t·√(1 − β₂ᵗ)/(√v + ε)    if ρ_t > 5
//	θ ← θ − α_t·m̂                            otherwise
//
// with r_t = √((ρ_t − 4)(ρ_t − 2)ρ∞ / ((ρ∞ − 4)(ρ∞ − 2)ρ_t)), β₁ = Beta1,
// β₂ = Beta2, ε = Eps. ε is added to √v before the bias correction
// (PyTorch's placement: in terms of v̂ the denominator is
// √v̂ + ε/√(1 − β₂ᵗ)); the paper's √v̂ has no ε, and optax adds it after
// the correction. The threshold 5 is PyTorch's and optax's (the paper's is
// 4). Weight decay is coupled L2 regularization, as for [SGD].
//
// The chain: [AddDecayedWeights] → [ScaleByRAdam] → [ScaleByLR].
type RAdam struct {
	Beta1       float64 `key:"beta1" help:"decay β₁ of the first moment"`  // default 0.9
	Beta2       float64 `key:"beta2" help:"decay β₂ of the second moment"` // default 0.999
	Eps         float64 `key:"eps" help:"ε added to the denominator"`      // default 1e-8
	WeightDecay float64 `key:"wd" help:"weight decay λ: gradient += λθ"`
	L2          float64 `key:"l2" help:"L2 penalty λ‖θ‖² on the loss: gradient += 2λθ"`
}

// DefaultRAdam returns PyTorch's defaults; its default learning rate is 1e-3.
func DefaultRAdam() RAdam { return RAdam{Beta1: 0.9, Beta2: 0.999, Eps: 1e-8} }

// Validate checks the hyperparameters, naming the first bad one.
func (m RAdam) Validate() error {
	return firstErr(
		(&ScaleByRAdam[float64]{Beta1: m.Beta1, Beta2: m.Beta2, Eps: m.Eps}).check("RAdam"),
		nonNegative("RAdam.WeightDecay", m.WeightDecay),
		nonNegative("RAdam.L2", m.L2),
	)
}

func (RAdam) defaultLR() float64 { return 1e-3 }

func (m RAdam) build(dst any) error { return fill(dst, m, radamChain[float32], radamChain[float64]) }

func radamChain[T Float](m RAdam) Chain[T] {
	a := &ScaleByRAdam[T]{Beta1: m.Beta1, Beta2: m.Beta2, Eps: m.Eps}
	return append(coupled[T](m.WeightDecay, m.L2), a, &ScaleByLR[T]{})
}
