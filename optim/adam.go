package optim

// Adam adapts the step of each parameter to its gradient's first and second
// moments (PyTorch's torch.optim.Adam; Kingma & Ba 2015). With the learning
// rate α_t, step t = 1, 2, … and g = ∇f(θ):
//
//	g ← g + (λ_wd + 2λ_L2)·θ              coupled decay
//	m ← β₁·m + (1 − β₁)·g,  m₀ = 0        first moment
//	v ← β₂·v + (1 − β₂)·g²,  v₀ = 0       second moment
//	v̄ ← max(v̄, v)                         AMSGrad only; v̄ replaces v below
//	m̂ = m/(1 − β₁ᵗ),  v̂ = v/(1 − β₂ᵗ)      bias corrections
//	θ ← θ − α_t·m̂/(√v̂ + ε)
//
// β₁ = Beta1, β₂ = Beta2, ε = Eps, λ_wd = WeightDecay, λ_L2 = L2. ε sits
// outside the square root and is added to the bias-corrected √v̂, as in
// PyTorch, optax and the paper (Keras and TensorFlow add it to √v before
// the correction, which in terms of v̂ is √v̂ + ε/√(1 − β₂ᵗ): a difference
// only in the first steps). AMSGrad (Reddi et al. 2018) keeps the running
// maximum v̄ of v, as PyTorch does: the maximum of the uncorrected v, then
// corrected like it.
//
// Weight decay is coupled L2 regularization: the decay term joins the
// gradient before the moments, so Adam divides it by √v̂ and weights with
// large gradients are barely decayed. That is why [AdamW] regularizes, and
// usually generalizes, better (Loshchilov & Hutter 2019). A momentum
// schedule (Config.Momentum) replaces β₁.
//
// The chain: [AddDecayedWeights] → [ScaleByAdam] → [ScaleByLR], run as one
// fused kernel.
type Adam struct {
	Beta1       float64 `key:"beta1" help:"decay β₁ of the first moment"`          // default 0.9
	Beta2       float64 `key:"beta2" help:"decay β₂ of the second moment"`         // default 0.999
	Eps         float64 `key:"eps" help:"ε added to the denominator"`              // default 1e-8
	AMSGrad     bool    `key:"amsgrad" help:"AMSGrad: the running maximum of v"`   // Reddi et al. 2018
	WeightDecay float64 `key:"wd" help:"weight decay λ: gradient += λθ (coupled)"` // PyTorch's weight_decay
	L2          float64 `key:"l2" help:"L2 penalty λ‖θ‖² on the loss: gradient += 2λθ"`
}

// DefaultAdam returns PyTorch's defaults; its default learning rate is 1e-3.
func DefaultAdam() Adam { return Adam{Beta1: 0.9, Beta2: 0.999, Eps: 1e-8} }

// Validate checks the hyperparameters, naming the first bad one.
func (m Adam) Validate() error {
	return firstErr(
		(&ScaleByAdam[float64]{Beta1: m.Beta1, Beta2: m.Beta2, Eps: m.Eps}).check("Adam"),
		nonNegative("Adam.WeightDecay", m.WeightDecay),
		nonNegative("Adam.L2", m.L2),
	)
}

func (Adam) defaultLR() float64 { return 1e-3 }

func (m Adam) build(dst any) error { return fill(dst, m, adamChain[float32], adamChain[float64]) }

func adamChain[T Float](m Adam) Chain[T] {
	adam := &ScaleByAdam[T]{Beta1: m.Beta1, Beta2: m.Beta2, Eps: m.Eps, AMSGrad: m.AMSGrad}
	return append(coupled[T](m.WeightDecay, m.L2), adam, &ScaleByLR[T]{})
}
