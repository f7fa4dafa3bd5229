package optim

// Adamax is Adam with the infinity norm in place of the second moment
// (PyTorch's torch.optim.Adamax; Kingma & Ba 2015, §7.1). With the learning
// rate α_t, step t = 1, 2, … and g = ∇f(θ):
//
//	g ← g + (λ_wd + 2λ_L2)·θ              coupled decay
//	m ← β₁·m + (1 − β₁)·g,  m₀ = 0
//	n ← max(β₂·n, |g| + ε),  n₀ = 0
//	θ ← θ − α_t/(1 − β₁ᵗ) · m/n
//
// β₁ = Beta1, β₂ = Beta2, ε = Eps. Only m is bias-corrected (m̂ =
// m/(1 − β₁ᵗ)); n needs none. ε is added to |g| inside the maximum
// (PyTorch's and optax's placement), which keeps n positive; the paper
// has no ε. Weight decay is coupled
// L2 regularization, as for [SGD]. A momentum schedule replaces β₁.
//
// The chain: [AddDecayedWeights] → [ScaleByAdamax] → [ScaleByLR].
type Adamax struct {
	Beta1       float64 `key:"beta1" help:"decay β₁ of the first moment"`  // default 0.9
	Beta2       float64 `key:"beta2" help:"decay β₂ of the infinity norm"` // default 0.999
	Eps         float64 `key:"eps" help:"ε added to |g|"`                  // default 1e-8
	WeightDecay float64 `key:"wd" help:"weight decay λ: gradient += λθ"`
	L2          float64 `key:"l2" help:"L2 penalty λ‖θ‖² on the loss: gradient += 2λθ"`
}

// DefaultAdamax returns PyTorch's defaults; its default learning rate is 2e-3.
func DefaultAdamax() Adamax { return Adamax{Beta1: 0.9, Beta2: 0.999, Eps: 1e-8} }

// Validate checks the hyperparameters, naming the first bad one.
func (m Adamax) Validate() error {
	return firstErr(
		(&ScaleByAdamax[float64]{Beta1: m.Beta1, Beta2: m.Beta2, Eps: m.Eps}).check("Adamax"),
		nonNegative("Adamax.WeightDecay", m.WeightDecay),
		nonNegative("Adamax.L2", m.L2),
	)
}

func (Adamax) defaultLR() float64 { return 2e-3 }

func (m Adamax) build(dst any) error { return fill(dst, m, adamaxChain[float32], adamaxChain[float64]) }

func adamaxChain[T Float](m Adamax) Chain[T] {
	a := &ScaleByAdamax[T]{Beta1: m.Beta1, Beta2: m.Beta2, Eps: m.Eps}
	return append(coupled[T](m.WeightDecay, m.L2), a, &ScaleByLR[T]{})
}
