package optim

// RMSprop divides the gradient by the root of its running mean square
// (PyTorch's torch.optim.RMSprop; Hinton 2012, lecture 6e; Graves 2013 for
// the centred form). With the learning rate α_t and g = ∇f(θ):
//
//	g ← g + (λ_wd + 2λ_L2)·θ              coupled decay
//	v ← a·v + (1 − a)·g²,  v₀ = 0
//	s = v                                 (Centered: ḡ ← a·ḡ + (1 − a)·g, s = v − ḡ²)
//	g ← g / (√s + ε)                      (EpsInSqrt: g / √(s + ε))
//	b ← μ·b + g,  g ← b                   (Momentum μ > 0; b₀ = 0)
//	θ ← θ − α_t·g
//
// a = Alpha, ε = Eps, μ = Momentum, λ_wd = WeightDecay, λ_L2 = L2. There is
// no bias correction of v: the first steps are large (√(1 − a) of the
// gradient's scale ⇒ a first step of 10·α_t with the default a = 0.99).
//
// Where ε goes differs: PyTorch puts it outside the square root, as here;
// the textbook form, TensorFlow 1 and optax (by default) put it inside,
// which EpsInSqrt selects. Weight decay is coupled L2 regularization, as for
// [SGD]: it joins the gradient and is divided by √s with it.
//
// The chain: [AddDecayedWeights] → [ScaleByRMS] → [Momentum] → [ScaleByLR].
type RMSprop struct {
	Alpha       float64 `key:"alpha" help:"decay a of the mean square"` // default 0.99
	Eps         float64 `key:"eps" help:"ε added to the denominator"`   // default 1e-8
	Centered    bool    `key:"centered" help:"divide by the centred variance"`
	EpsInSqrt   bool    `key:"eps-in-sqrt" help:"ε inside the square root (textbook)"`
	Momentum    float64 `key:"momentum" help:"momentum μ"` // default 0
	WeightDecay float64 `key:"wd" help:"weight decay λ: gradient += λθ"`
	L2          float64 `key:"l2" help:"L2 penalty λ‖θ‖² on the loss: gradient += 2λθ"`
}

// DefaultRMSprop returns PyTorch's defaults; its default learning rate is 0.01.
func DefaultRMSprop() RMSprop { return RMSprop{Alpha: 0.99, Eps: 1e-8} }

// Validate checks the hyperparameters, naming the first bad one.
func (m RMSprop) Validate() error {
	return firstErr(
		(&ScaleByRMS[float64]{Alpha: m.Alpha, Eps: m.Eps}).check("RMSprop"),
		(&Momentum[float64]{Momentum: m.Momentum}).check("RMSprop"),
		nonNegative("RMSprop.WeightDecay", m.WeightDecay),
		nonNegative("RMSprop.L2", m.L2),
	)
}

func (RMSprop) defaultLR() float64 { return 0.01 }

func (m RMSprop) build(dst any) error {
	return fill(dst, m, rmspropChain[float32], rmspropChain[float64])
}

func rmspropChain[T Float](m RMSprop) Chain[T] {
	c := append(coupled[T](m.WeightDecay, m.L2), &ScaleByRMS[T]{Alpha: m.Alpha, Eps: m.Eps, Centered: m.Centered, EpsInSqrt: m.EpsInSqrt})
	if m.Momentum > 0 {
		c = append(c, &Momentum[T]{Momentum: m.Momentum})
	}
	return append(c, &ScaleByLR[T]{})
}
