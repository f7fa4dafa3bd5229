package optim

import "fmt"

// SGD is stochastic gradient descent, with optional momentum (PyTorch's
// torch.optim.SGD; Robbins & Monro 1951, Polyak 1964, Sutskever et al.
// 2013). With the learning rate α_t and g = ∇f(θ):
//
//	g ← g + (λ_wd + 2λ_L2)·θ              coupled decay
//	b ← g  on the first step,
//	b ← μ·b + (1 − d)·g  after            momentum, when μ > 0
//	g ← b                                 (Nesterov: g ← g + μ·b)
//	θ ← θ − α_t·g
//
// μ = Momentum, d = Dampening, λ_wd = WeightDecay, λ_L2 = L2.
//
// PyTorch's buffer starts as a copy of the first gradient, so even with
// d = μ its first step is a full one. The textbook's momentum is an
// exponential moving average instead, EMA:
//
//	v ← β·v + (1 − β)·g,  v₀ = 0
//	θ ← θ − α_t·v
//
// with β = Momentum; its first step is (1 − β) times PyTorch's. (optax's
// trace is PyTorch's form with d = 0; Keras folds the learning rate into
// the buffer, v ← μ·v − α·g, which differs once the rate changes.)
//
// Weight decay here is coupled L2 regularization: WeightDecay is PyTorch's
// weight_decay (the gradient gains λ·θ); L2 is a penalty λ‖θ‖² on the loss
// (the gradient gains 2λ·θ). For plain SGD the two are the same thing at
// different scales. SGD has no default learning rate.
//
// The chain: [AddDecayedWeights] → [Momentum] or [EMA] → [ScaleByLR].
type SGD struct {
	Momentum    float64 `key:"momentum" help:"momentum μ (β with ema); 0: none"`
	Dampening   float64 `key:"dampening" help:"dampening d of the momentum"`
	Nesterov    bool    `key:"nesterov" help:"Nesterov momentum (needs momentum > 0, dampening 0)"`
	EMA         bool    `key:"ema" help:"textbook moving-average momentum v ← βv + (1−β)g"`
	WeightDecay float64 `key:"wd" help:"weight decay λ: gradient += λθ"`
	L2          float64 `key:"l2" help:"L2 penalty λ‖θ‖² on the loss: gradient += 2λθ"`
}

// DefaultSGD returns plain SGD (no momentum, no decay). SGD has no default
// learning rate: Config.LR is required.
func DefaultSGD() SGD { return SGD{} }

// Validate checks the hyperparameters, naming the first bad one.
func (m SGD) Validate() error {
	if err := firstErr(
		(&Momentum[float64]{Momentum: m.Momentum, Dampening: m.Dampening}).check("SGD"),
		nonNegative("SGD.WeightDecay", m.WeightDecay),
		nonNegative("SGD.L2", m.L2),
	); err != nil {
		return err
	}
	if m.Nesterov && (m.Momentum <= 0 || m.Dampening != 0) {
		return fmt.Errorf("optim: SGD.Nesterov needs Momentum > 0 and Dampening = 0 (have %v and %v)", m.Momentum, m.Dampening)
	}
	if m.Nesterov && m.EMA {
		return fmt.Errorf("optim: SGD.Nesterov and SGD.EMA cannot be combined")
	}
	return nil
}

func (SGD) defaultLR() float64 { return 0 }

func (m SGD) build(dst any) error { return fill(dst, m, sgdChain[float32], sgdChain[float64]) }

func sgdChain[T Float](m SGD) Chain[T] {
	c := coupled[T](m.WeightDecay, m.L2)
	switch {
	case m.Momentum > 0 && m.EMA:
		c = append(c, &EMA[T]{Momentum: m.Momentum})
	case m.Momentum > 0:
		c = append(c, &Momentum[T]{Momentum: m.Momentum, Dampening: m.Dampening, Nesterov: m.Nesterov})
	}
	return append(c, &ScaleByLR[T]{})
}
