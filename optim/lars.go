package optim

var _ Method = LARS{}

// LARS is SGD with momentum and a layer-wise trust ratio (You et al. 2017),
// as optax defines it (optax.lars: add_decayed_weights →
// masked(scale_by_trust_ratio) → scale_by_learning_rate → trace). Per
// parameter tensor:
//
//	u = g + λ·θ                                (where DecayMask and Config.DecayMask allow)
//	u ← η·‖θ‖₂/(‖u‖₂ + ε) · u                  (where TrustMask allows; unchanged if a norm is 0)
//	u ← α_t·u
//	b ← u + μ·b,  b₀ = 0
//	θ ← θ − b                                  (Nesterov: θ ← θ − (u + μ·b))
//
// λ = WeightDecay, η = TrustCoefficient, ε = Eps, μ = Momentum (or the
// scheduled momentum). The norms are over the whole tensor.
//
// Unlike PyTorch's SGD, the learning rate enters before the momentum
// buffer, as in optax and the paper: with a schedule, what the buffer holds
// keeps the rate it was taken with. Weight decay is coupled (it joins the
// gradient before the trust ratio). optax's weight_decay_mask is
// DecayMask; its trust_ratio_mask is TrustMask. The usual practice
// excludes biases and normalization parameters from both ([WeightsOnly]).
// There is no default learning rate: Config.LR is required.
//
// Reference: Y. You, I. Gitman, B. Ginsburg, "Large Batch Training of
// Convolutional Networks", 2017 (arXiv:1708.03888).
type LARS struct {
	WeightDecay      float64 `key:"wd" help:"weight decay λ: gradient += λθ, before the trust ratio"`   // default 0
	TrustCoefficient float64 `key:"trust-coefficient" help:"trust coefficient η of the ratio η‖θ‖/‖u‖"` // default 0.001
	Eps              float64 `key:"eps" help:"ε added to ‖u‖ in the trust ratio"`                       // default 0
	Momentum         float64 `key:"momentum" help:"momentum μ of the lr-scaled update"`                 // default 0.9
	Nesterov         bool    `key:"nesterov" help:"Nesterov momentum"`
	// DecayMask says which parameters weight decay applies to (optax's
	// weight_decay_mask), together with Config.DecayMask; nil means all.
	DecayMask func(name string, shape []int) bool
	// TrustMask says which parameters get the trust ratio (optax's
	// trust_ratio_mask); nil means all.
	TrustMask func(name string, shape []int) bool
}

// DefaultLARS returns optax's defaults. LARS has no default learning rate.
func DefaultLARS() LARS { return LARS{TrustCoefficient: 0.001, Momentum: 0.9} }

// Validate checks the hyperparameters, naming the first bad one.
func (m LARS) Validate() error {
	return firstErr(
		(&AddDecayedWeights[float64]{WeightDecay: m.WeightDecay}).check("LARS"),
		(&ScaleByTrustRatio[float64]{TrustCoefficient: m.TrustCoefficient, Eps: m.Eps}).check("LARS"),
		(&Momentum[float64]{Momentum: m.Momentum}).check("LARS"),
	)
}

func (LARS) defaultLR() float64 { return 0 }

func (m LARS) build(dst any) error { return fill(dst, m, larsChain[float32], larsChain[float64]) }

func larsChain[T Float](m LARS) Chain[T] {
	var c Chain[T]
	if m.WeightDecay != 0 {
		c = append(c, maskDecay[T](m.WeightDecay, m.DecayMask))
	}
	c = append(c, &ScaleByTrustRatio[T]{TrustCoefficient: m.TrustCoefficient, Eps: m.Eps, TrustMask: m.TrustMask}, &ScaleByLR[T]{})
	if m.Momentum != 0 || m.Nesterov {
		c = append(c, &Momentum[T]{Momentum: m.Momentum, Nesterov: m.Nesterov})
	}
	return c
}
