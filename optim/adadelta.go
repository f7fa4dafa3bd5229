package optim

// Adadelta takes steps in the units of the parameters, from running means
// of squared gradients and squared steps (PyTorch's torch.optim.Adadelta;
// Zeiler 2012). With the learning rate α_t and g = ∇f(θ):
//
//	g ← g + (λ_wd + 2λ_L2)·θ              coupled decay
//	v ← ρ·v + (1 − ρ)·g²,  v₀ = 0
//	Δ = √(d + ε)/√(v + ε) · g
//	d ← ρ·d + (1 − ρ)·Δ²,  d₀ = 0
//	θ ← θ − α_t·Δ
//
// ρ = Rho, ε = Eps, inside both square roots (as in the paper, PyTorch and
// optax). The paper has no learning rate; PyTorch keeps one, default 1.0,
// which is the paper's form. Weight decay is coupled L2 regularization, as
// for [SGD].
//
// The chain: [AddDecayedWeights] → [ScaleByAdadelta] → [ScaleByLR].
type Adadelta struct {
	Rho         float64 `key:"rho" help:"decay ρ of the running means"` // default 0.9
	Eps         float64 `key:"eps" help:"ε inside both square roots"`   // default 1e-6
	WeightDecay float64 `key:"wd" help:"weight decay λ: gradient += λθ"`
	L2          float64 `key:"l2" help:"L2 penalty λ‖θ‖² on the loss: gradient += 2λθ"`
}

// DefaultAdadelta returns PyTorch's defaults; its default learning rate is 1.
func DefaultAdadelta() Adadelta { return Adadelta{Rho: 0.9, Eps: 1e-6} }

// Validate checks the hyperparameters, naming the first bad one.
func (m Adadelta) Validate() error {
	return firstErr(
		(&ScaleByAdadelta[float64]{Rho: m.Rho, Eps: m.Eps}).check("Adadelta"),
		nonNegative("Adadelta.WeightDecay", m.WeightDecay),
		nonNegative("Adadelta.L2", m.L2),
	)
}

func (Adadelta) defaultLR() float64 { return 1 }

func (m Adadelta) build(dst any) error {
	return fill(dst, m, adadeltaChain[float32], adadeltaChain[float64])
}

func adadeltaChain[T Float](m Adadelta) Chain[T] {
	return append(coupled[T](m.WeightDecay, m.L2), &ScaleByAdadelta[T]{Rho: m.Rho, Eps: m.Eps}, &ScaleByLR[T]{})
}
