package optim

// NAdam is Adam with Nesterov momentum (PyTorch's torch.optim.NAdam; Dozat
// 2016), with PyTorch's momentum warm-up μ_t = β₁·(1 − ½·0.96^(t·ψ)). With
// the learning rate α_t, step t = 1, 2, … and g = ∇f(θ):
//
//	g ← g + (λ_wd + 2λ_L2)·θ              coupled decay
//	m ← β₁·m + (1 − β₁)·g,  v ← β₂·v + (1 − β₂)·g²,  m₀ = v₀ = 0
//	v̂ = v/(1 − β₂ᵗ)
//	θ ← θ − α_t·[(1 − μ_t)/(1 − Π_{i≤t} μ_i)·g + μ_{t+1}/(1 − Π_{i≤t+1} μ_i)·m] / (√v̂ + ε)
//
// β₁ = Beta1, β₂ = Beta2, ψ = MomentumDecay, ε = Eps outside the square
// root, added to the bias-corrected √v̂. The bracket is the Nesterov
// look-ahead: the current gradient and the momentum, each bias-corrected by
// the product of the momenta so far. Weight decay is coupled L2
// regularization, as for [SGD]. The running product Π μ_i is saved state.
//
// PyTorch 1.13 computes the momentum term's weight as
// μ_{t+1}/(1 − Π_{i≤t} μ_i · μ_t·μ_{t+1}), counting μ_t twice; later releases
// use the product above, as the paper does. Torch113 reproduces 1.13.
// optax's nadam uses a constant μ = β₁ (no warm-up).
//
// The chain: [AddDecayedWeights] → [ScaleByNAdam] → [ScaleByLR].
type NAdam struct {
	Beta1         float64 `key:"beta1" help:"decay β₁ of the first moment"`       // default 0.9
	Beta2         float64 `key:"beta2" help:"decay β₂ of the second moment"`      // default 0.999
	Eps           float64 `key:"eps" help:"ε added to the denominator"`           // default 1e-8
	MomentumDecay float64 `key:"momentum-decay" help:"ψ of the momentum warm-up"` // default 4e-3
	WeightDecay   float64 `key:"wd" help:"weight decay λ: gradient += λθ"`
	L2            float64 `key:"l2" help:"L2 penalty λ‖θ‖² on the loss: gradient += 2λθ"`
	Torch113      bool    // PyTorch 1.13's momentum weight
}

// DefaultNAdam returns PyTorch's defaults; its default learning rate is 2e-3.
func DefaultNAdam() NAdam { return NAdam{Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, MomentumDecay: 4e-3} }

// Validate checks the hyperparameters, naming the first bad one.
func (m NAdam) Validate() error {
	return firstErr(
		(&ScaleByNAdam[float64]{Beta1: m.Beta1, Beta2: m.Beta2, Eps: m.Eps, MomentumDecay: m.MomentumDecay}).check("NAdam"),
		nonNegative("NAdam.WeightDecay", m.WeightDecay),
		nonNegative("NAdam.L2", m.L2),
	)
}

func (NAdam) defaultLR() float64 { return 2e-3 }

func (m NAdam) build(dst any) error { return fill(dst, m, nadamChain[float32], nadamChain[float64]) }

func nadamChain[T Float](m NAdam) Chain[T] {
	a := &ScaleByNAdam[T]{Beta1: m.Beta1, Beta2: m.Beta2, Eps: m.Eps, MomentumDecay: m.MomentumDecay, Torch113: m.Torch113}
	return append(coupled[T](m.WeightDecay, m.L2), a, &ScaleByLR[T]{})
}
