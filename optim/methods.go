package optim

import (
	"fmt"
	"math"

	"github.com/descentml/descent/schedule"
)

// A Method is an update rule: one of the named optimizers below, with its
// hyperparameters, or a custom [Chain]. The optimizer turns it into a chain
// of transforms for each parameter group. The learning rate is not part of a
// method: it is Config.LR, a schedule.
//
// Each named method's doc comment gives its update rule in full with the
// learning rate α_t = Config.LR.At(t−1), states where ε goes and how weight
// decay enters, and names where PyTorch, optax and the textbook differ.
// Start from the DefaultX constructors: zero is a real value for momentum,
// β₁ and weight decay, so a zero field is taken as given, not as "default".
//
// A method's hyperparameters are its exported fields tagged `key:"name"`,
// with a one-line `help:"…"`: the vocabulary (package optim/spec) reads
// them from there, so a new hyperparameter is a tagged field and nothing
// else. Fields without a key (NAdam.Torch113, AdamW.DecaySchedule) are for
// Go programs only.
type Method interface {
	Validate() error
	defaultLR() float64 // 0: none; Config.LR is then required
}

// DefaultLR returns the learning rate m takes when Config.LR is nil
// (PyTorch's default for the method), or 0 if it has none.
func DefaultLR(m Method) float64 { return m.defaultLR() }

var (
	_ Method = SGD{}
	_ Method = RMSprop{}
	_ Method = Adam{}
	_ Method = AdamW{}
	_ Method = Adagrad{}
	_ Method = Adadelta{}
	_ Method = Adamax{}
	_ Method = NAdam{}
	_ Method = RAdam{}
	_ Method = Chain[float32]{}
)

// SGD is stochastic gradient descent, with optional momentum (PyTorch's
// torch.optim.SGD; Polyak 1964, Sutskever et al. 2013):
//
//	g ← ∇f(θ) + (λ_wd + 2λ_L2)·θ
//	b₁ = g,  b ← μ·b + (1 − d)·g          (momentum, μ > 0)
//	g ← b                                 (Nesterov: g ← g + μ·b)
//	θ ← θ − α_t·g
//
// μ = Momentum, d = Dampening, λ_wd = WeightDecay, λ_L2 = L2. With EMA, the
// momentum is the textbook exponential moving average instead:
// v ← β·v + (1 − β)·g, v₀ = 0, θ ← θ − α_t·v with β = Momentum; its first
// step is (1 − β) times PyTorch's.
//
// Weight decay here is coupled L2 regularization: WeightDecay is PyTorch's
// weight_decay (the gradient gains λ·θ); L2 is a penalty λ‖θ‖² on the loss
// (the gradient gains 2λ·θ). For plain SGD the two are the same thing at
// different scales.
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
		unitInterval("SGD.Momentum", m.Momentum),
		nonNegative("SGD.Dampening", m.Dampening),
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

// RMSprop divides the gradient by the root of its running mean square
// (PyTorch's torch.optim.RMSprop; Hinton 2012, Graves 2013):
//
//	g ← ∇f(θ) + (λ_wd + 2λ_L2)·θ
//	v ← a·v + (1 − a)·g²
//	s = v − ḡ², ḡ ← a·ḡ + (1 − a)·g       (Centered; else s = v)
//	g ← g / (√s + ε)                      (EpsInSqrt: g / √(s + ε))
//	b ← μ·b + g,  g ← b                   (Momentum μ > 0)
//	θ ← θ − α_t·g
//
// a = Alpha, ε = Eps, μ = Momentum. PyTorch and Keras put ε outside the
// square root; the textbook form (and TensorFlow 1) put it inside:
// EpsInSqrt. Weight decay is coupled, as for [SGD].
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
		unitInterval("RMSprop.Alpha", m.Alpha),
		positive("RMSprop.Eps", m.Eps),
		unitInterval("RMSprop.Momentum", m.Momentum),
		nonNegative("RMSprop.WeightDecay", m.WeightDecay),
		nonNegative("RMSprop.L2", m.L2),
	)
}

func (RMSprop) defaultLR() float64 { return 0.01 }

// Adam adapts the step of each parameter to its gradient's first and second
// moments (PyTorch's torch.optim.Adam; Kingma & Ba 2015):
//
//	g ← ∇f(θ) + (λ_wd + 2λ_L2)·θ
//	m ← β₁·m + (1 − β₁)·g
//	v ← β₂·v + (1 − β₂)·g²              (AMSGrad: v̄ ← max(v̄, v), used for v)
//	m̂ = m/(1 − β₁ᵗ),  v̂ = v/(1 − β₂ᵗ)
//	θ ← θ − α_t·m̂/(√v̂ + ε)
//
// β₁ = Beta1, β₂ = Beta2, ε = Eps, outside the square root as in PyTorch,
// optax and the paper. Weight decay is coupled L2 regularization: the decay
// term joins the gradient before the moments, so Adam divides it by √v̂ and
// weights with large gradients are barely decayed. That is why [AdamW]
// regularizes, and usually generalizes, better (Loshchilov & Hutter 2019).
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
		unitInterval("Adam.Beta1", m.Beta1),
		unitInterval("Adam.Beta2", m.Beta2),
		positive("Adam.Eps", m.Eps),
		nonNegative("Adam.WeightDecay", m.WeightDecay),
		nonNegative("Adam.L2", m.L2),
	)
}

func (Adam) defaultLR() float64 { return 1e-3 }

// AdamW is Adam with decoupled weight decay (PyTorch's torch.optim.AdamW;
// Loshchilov & Hutter 2019):
//
//	m ← β₁·m + (1 − β₁)·g,  v ← β₂·v + (1 − β₂)·g²
//	θ ← θ − α_t·m̂/(√v̂ + ε) − α_t·λ·θ
//
// which is PyTorch's θ ← θ·(1 − α_t·λ) followed by the Adam step, and the
// textbook's θ ← θ − α·m̂/(√v̂ + ε) − α·λ·θ. λ = WeightDecay, ε as in [Adam].
// The decay never passes through the moments, so every weight shrinks at the
// same relative rate whatever its gradient history.
//
// The paper itself decouples the decay from the learning rate too: with a
// schedule multiplier η_t (the learning rate being α·η_t),
// θ ← θ − η_t·(α·m̂/(√v̂ + ε) + λ·θ). Set DecaySchedule to η_t for that
// form: the decay term becomes η_t·λ·θ, independent of α. For example, with
// LR = schedule.Cosine{Base: α, …}, DecaySchedule = schedule.Cosine{Base: 1, …}.
type AdamW struct {
	Beta1         float64           `key:"beta1" help:"decay β₁ of the first moment"`  // default 0.9
	Beta2         float64           `key:"beta2" help:"decay β₂ of the second moment"` // default 0.999
	Eps           float64           `key:"eps" help:"ε added to the denominator"`      // default 1e-8
	AMSGrad       bool              `key:"amsgrad" help:"AMSGrad: the running maximum of v"`
	WeightDecay   float64           `key:"wd" help:"decoupled weight decay λ: θ ← θ − α_t·λ·θ"` // default 0.01
	DecaySchedule schedule.Schedule // η_t of the paper's form; nil: PyTorch's form
}

// DefaultAdamW returns PyTorch's defaults; its default learning rate is 1e-3.
func DefaultAdamW() AdamW { return AdamW{Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, WeightDecay: 0.01} }

// Validate checks the hyperparameters, naming the first bad one.
func (m AdamW) Validate() error {
	return firstErr(
		unitInterval("AdamW.Beta1", m.Beta1),
		unitInterval("AdamW.Beta2", m.Beta2),
		positive("AdamW.Eps", m.Eps),
		nonNegative("AdamW.WeightDecay", m.WeightDecay),
	)
}

func (AdamW) defaultLR() float64 { return 1e-3 }

// Adagrad scales each parameter's step by the root of the sum of its squared
// gradients (PyTorch's torch.optim.Adagrad; Duchi et al. 2011):
//
//	g ← ∇f(θ) + (λ_wd + 2λ_L2)·θ
//	s ← s + g²,  s₀ = InitialAccumulator
//	θ ← θ − α_t/(1 + (t − 1)·LRDecay) · g/(√s + ε)
//
// ε = Eps, outside the square root. Weight decay is coupled.
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
		nonNegative("Adagrad.LRDecay", m.LRDecay),
		nonNegative("Adagrad.InitialAccumulator", m.InitialAccumulator),
		positive("Adagrad.Eps", m.Eps),
		nonNegative("Adagrad.WeightDecay", m.WeightDecay),
		nonNegative("Adagrad.L2", m.L2),
	)
}

func (Adagrad) defaultLR() float64 { return 0.01 }

// Adadelta takes steps in the units of the parameters, from running means
// of squared gradients and squared steps (PyTorch's torch.optim.Adadelta;
// Zeiler 2012):
//
//	g ← ∇f(θ) + (λ_wd + 2λ_L2)·θ
//	v ← ρ·v + (1 − ρ)·g²
//	Δ = √(d + ε)/√(v + ε) · g
//	d ← ρ·d + (1 − ρ)·Δ²
//	θ ← θ − α_t·Δ
//
// ρ = Rho, ε = Eps, inside both square roots. PyTorch keeps a learning rate
// (default 1.0, the paper's form). Weight decay is coupled.
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
		closedUnit("Adadelta.Rho", m.Rho),
		positive("Adadelta.Eps", m.Eps),
		nonNegative("Adadelta.WeightDecay", m.WeightDecay),
		nonNegative("Adadelta.L2", m.L2),
	)
}

func (Adadelta) defaultLR() float64 { return 1 }

// Adamax is Adam with the infinity norm in place of the second moment
// (PyTorch's torch.optim.Adamax; Kingma & Ba 2015, §7.1):
//
//	g ← ∇f(θ) + (λ_wd + 2λ_L2)·θ
//	m ← β₁·m + (1 − β₁)·g
//	n ← max(β₂·n, |g| + ε)
//	θ ← θ − α_t/(1 − β₁ᵗ) · m/n
//
// ε = Eps is added to |g| (PyTorch's placement), which keeps n positive.
// Weight decay is coupled.
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
		unitInterval("Adamax.Beta1", m.Beta1),
		unitInterval("Adamax.Beta2", m.Beta2),
		positive("Adamax.Eps", m.Eps),
		nonNegative("Adamax.WeightDecay", m.WeightDecay),
		nonNegative("Adamax.L2", m.L2),
	)
}

func (Adamax) defaultLR() float64 { return 2e-3 }

// NAdam is Adam with Nesterov momentum (PyTorch's torch.optim.NAdam; Dozat
// 2016), with PyTorch's momentum warm-up μ_t = β₁·(1 − ½·0.96^(t·ψ)):
//
//	g ← ∇f(θ) + (λ_wd + 2λ_L2)·θ
//	m ← β₁·m + (1 − β₁)·g,  v ← β₂·v + (1 − β₂)·g²
//	θ ← θ − α_t·[(1 − μ_t)/(1 − Π_{i≤t} μ_i)·g + μ_{t+1}/(1 − Π_{i≤t+1} μ_i)·m] / (√(v/(1 − β₂ᵗ)) + ε)
//
// ψ = MomentumDecay, ε = Eps outside the square root. Weight decay is
// coupled.
//
// PyTorch 1.13 computes the momentum term's weight as
// μ_{t+1}/(1 − Π_{i≤t} μ_i · μ_t·μ_{t+1}), counting μ_t twice; later releases
// use the product above, as the paper does. Torch113 reproduces 1.13.
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
		unitInterval("NAdam.Beta1", m.Beta1),
		unitInterval("NAdam.Beta2", m.Beta2),
		positive("NAdam.Eps", m.Eps),
		nonNegative("NAdam.MomentumDecay", m.MomentumDecay),
		nonNegative("NAdam.WeightDecay", m.WeightDecay),
		nonNegative("NAdam.L2", m.L2),
	)
}

func (NAdam) defaultLR() float64 { return 2e-3 }

// RAdam is Adam with the variance of the adaptive rate rectified (PyTorch's
// torch.optim.RAdam; Liu et al. 2020): while too few steps have been seen to
// trust v, it takes plain momentum steps.
//
//	g ← ∇f(θ) + (λ_wd + 2λ_L2)·θ
//	m ← β₁·m + (1 − β₁)·g,  v ← β₂·v + (1 − β₂)·g²,  m̂ = m/(1 − β₁ᵗ)
//	ρ∞ = 2/(1 − β₂) − 1,  ρ_t = ρ∞ − 2t·β₂ᵗ/(1 − β₂ᵗ)
//	θ ← θ − α_t·m̂·r_t·√(1 − β₂ᵗ)/(√v + ε)    if ρ_t > 5
//	θ ← θ − α_t·m̂                            otherwise
//
// with r_t = √((ρ_t − 4)(ρ_t − 2)ρ∞ / ((ρ∞ − 4)(ρ∞ − 2)ρ_t)). ε = Eps is
// added to √v before the bias correction (PyTorch's placement; the paper's
// √v̂ has no ε). Weight decay is coupled.
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
		unitInterval("RAdam.Beta1", m.Beta1),
		unitInterval("RAdam.Beta2", m.Beta2),
		positive("RAdam.Eps", m.Eps),
		nonNegative("RAdam.WeightDecay", m.WeightDecay),
		nonNegative("RAdam.L2", m.L2),
	)
}

func (RAdam) defaultLR() float64 { return 1e-3 }

// chainOf builds the transforms of method m for parameters of type T.
func chainOf[T Float](m Method) (Chain[T], error) {
	if err := m.Validate(); err != nil {
		return nil, err
	}
	if b, ok := m.(builder); ok {
		return buildChain[T](b)
	}
	lr := &ScaleByLR[T]{}
	switch m := m.(type) {
	case Chain[T]:
		return m, nil
	case SGD:
		c := coupled[T](m.WeightDecay, m.L2)
		switch {
		case m.Momentum > 0 && m.EMA:
			c = append(c, &EMA[T]{Decay: m.Momentum})
		case m.Momentum > 0:
			c = append(c, &Momentum[T]{Decay: m.Momentum, Dampening: m.Dampening, Nesterov: m.Nesterov})
		}
		return append(c, lr), nil
	case RMSprop:
		c := append(coupled[T](m.WeightDecay, m.L2), &ScaleByRMS[T]{Alpha: m.Alpha, Eps: m.Eps, Centered: m.Centered, EpsInSqrt: m.EpsInSqrt})
		if m.Momentum > 0 {
			c = append(c, &Momentum[T]{Decay: m.Momentum})
		}
		return append(c, lr), nil
	case Adam:
		return append(coupled[T](m.WeightDecay, m.L2), &ScaleByAdam[T]{B1: m.Beta1, B2: m.Beta2, Eps: m.Eps, AMSGrad: m.AMSGrad}, lr), nil
	case AdamW:
		adam := &ScaleByAdam[T]{B1: m.Beta1, B2: m.Beta2, Eps: m.Eps, AMSGrad: m.AMSGrad}
		if m.WeightDecay == 0 {
			return Chain[T]{adam, lr}, nil
		}
		decay := &AddDecayedWeights[T]{Rate: m.WeightDecay, Schedule: m.DecaySchedule}
		if m.DecaySchedule != nil {
			return Chain[T]{adam, lr, decay}, nil // η_t·λ·θ, independent of α
		}
		return Chain[T]{adam, decay, lr}, nil // α_t·λ·θ
	case Adagrad:
		return append(coupled[T](m.WeightDecay, m.L2), &ScaleByAdagrad[T]{Eps: m.Eps, InitialAccumulator: m.InitialAccumulator, LRDecay: m.LRDecay}, lr), nil
	case Adadelta:
		return append(coupled[T](m.WeightDecay, m.L2), &ScaleByAdadelta[T]{Rho: m.Rho, Eps: m.Eps}, lr), nil
	case Adamax:
		return append(coupled[T](m.WeightDecay, m.L2), &ScaleByAdamax[T]{B1: m.Beta1, B2: m.Beta2, Eps: m.Eps}, lr), nil
	case NAdam:
		return append(coupled[T](m.WeightDecay, m.L2), &ScaleByNAdam[T]{B1: m.Beta1, B2: m.Beta2, Eps: m.Eps, MomentumDecay: m.MomentumDecay, Torch113: m.Torch113}, lr), nil
	case RAdam:
		return append(coupled[T](m.WeightDecay, m.L2), &ScaleByRAdam[T]{B1: m.Beta1, B2: m.Beta2, Eps: m.Eps}, lr), nil
	}
	var zero T
	return nil, fmt.Errorf("optim: method %T cannot update %T parameters", m, zero)
}

// coupled returns the head of a chain that adds L2 regularization to the
// gradient: wd·θ for PyTorch's weight_decay plus 2λ·θ for a penalty λ‖θ‖².
func coupled[T Float](wd, l2 float64) Chain[T] {
	if r := wd + 2*l2; r != 0 {
		return Chain[T]{&AddDecayedWeights[T]{Rate: r}}
	}
	return nil
}

func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

func unitInterval(field string, v float64) error {
	if !(v >= 0 && v < 1) {
		return fmt.Errorf("optim: %s = %v: must be in [0, 1)", field, v)
	}
	return nil
}

func closedUnit(field string, v float64) error {
	if !(v >= 0 && v <= 1) {
		return fmt.Errorf("optim: %s = %v: must be in [0, 1]", field, v)
	}
	return nil
}

func positive(field string, v float64) error {
	if !(v > 0) || math.IsInf(v, 1) {
		return fmt.Errorf("optim: %s = %v: must be positive and finite", field, v)
	}
	return nil
}

func nonNegative(field string, v float64) error {
	if !(v >= 0) || math.IsInf(v, 1) {
		return fmt.Errorf("optim: %s = %v: must be finite and ≥ 0", field, v)
	}
	return nil
}
