package optim

// Adagrad scales each parameter's step by the root of the sum of its squared
// gradients (PyTorch's torch.optim.Adagrad; Duchi, Hazan & Singer 2011).
// With the learning rate α_t, step t = 1, 2, … and g = ∇f(θ):
//
//	g ← g + (λ_wd + 2λ_L2)·θ              coupled decay
//	s ← s + g²,  s₀ = InitialAccumulator
//	θ ← θ − α_t/(1 + (t − 1)·LRDecay) · g/(√s + ε)
//
// ε = Eps, outside the square root (PyTorch's placement; optax's adagrad
// puts it inside). LRDecay is PyTorch's lr_decay, a decay of the rate
// by the step count on top of the schedule. Weight decay is coupled L2
// regularization, as for [SGD].
//
// The chain: [AddDecayedWeights] → [ScaleByAdagrad] → [ScaleByLR].
type Adagrad struct {
	LRDecay            float64 `key:"lr-decay" help:"rate decay: α_t/(1 + (t−1)·lr-decay)"`       // default 0
	InitialAccumulator float64 `key:"initial-accumulator" help:"starting value of the sum of g²"` // default 0
	Eps                float64 `key:"eps" help:"ε added to the denominator"`                      // default 1e-10
	WeightDecay        float64 `key:"wd" help:"weight decay λ: gradient += λθ"`
	L2                 float64 `key:"l2" help:"L2 penalty λ‖θ‖² on the loss: gradient += 2λθ"`
}

// DefaultAdagrad returns PyTorch's defaults; its default learning rate is 0.01.
func DefaultAdagrad() Adagrad { return Adagrad{Eps: 1e-10} }

// Validate checks the hyperparameters, naming the first bad one.
func (m Adagrad) Validate() error {
	return firstErr(
		(&ScaleByAdagrad[float64]{LRDecay: m.LRDecay, InitialAccumulator: m.InitialAccumulator, Eps: m.Eps}).check("Adagrad"),
		nonNegative("Adagrad.WeightDecay", m.WeightDecay),
		nonNegative("Adagrad.L2", m.L2),
	)
}

func (Adagrad) defaultLR() float64 { return 0.01 }

func (m Adagrad) build(dst any) error {
	return fill(dst, m, adagradChain[float32], adagradChain[float64])
}

func adagradChain[T Float](m Adagrad) Chain[T] {
	a := &ScaleByAdagrad[T]{LRDecay: m.LRDecay, InitialAccumulator: m.InitialAccumulator, Eps: m.Eps}
	return append(coupled[T](m.WeightDecay, m.L2), a, &ScaleByLR[T]{})
}
