package optim

import (
	"math"

	"github.com/descentml/descent/internal/kernel"
	"github.com/descentml/descent/schedule"
)

// The gradient transforms. Each is a pointer to a struct whose exported
// fields are its hyperparameters, which its Validate checks with the same
// range functions (method.go) as the named methods; its state is
// registered at Init. The named optimizers (SGD, Adam, AdamW, …) are
// chains of these.

var (
	_ Transform[float32] = (*AddDecayedWeights[float32])(nil)
	_ Transform[float32] = (*Momentum[float32])(nil)
	_ Transform[float32] = (*EMA[float32])(nil)
	_ Transform[float32] = (*ScaleByAdam[float32])(nil)
	_ Transform[float32] = (*ScaleByRMS[float32])(nil)
	_ Transform[float32] = (*ScaleByAdagrad[float32])(nil)
	_ Transform[float32] = (*ScaleByAdadelta[float32])(nil)
	_ Transform[float32] = (*ScaleByAdamax[float32])(nil)
	_ Transform[float32] = (*ScaleByNAdam[float32])(nil)
	_ Transform[float32] = (*ScaleByRAdam[float32])(nil)
	_ Transform[float32] = (*ScaleByLR[float32])(nil)
	_ Transform[float32] = (*ClipByGlobalNorm[float32])(nil)
	_ Transform[float32] = (*ClipByValue[float32])(nil)
	_ Transform[float32] = (*Negate[float32])(nil)
)

// Negate turns gradient ascent into descent, for maximizing (PyTorch's
// maximize=True, optax's scale(−1)):
//
//	u ← −u
//
// Config.Maximize puts it at the very head of every chain, so that all
// that follows — clipping, coupled decay, moments — sees −g, exactly as
// PyTorch's maximize does.
type Negate[T Float] struct{ claim }

func (*Negate[T]) Name() string                      { return "negate" }
func (*Negate[T]) Init(*State[T], []ParamInfo) error { return nil }
func (*Negate[T]) Begin(*StepInfo)                   {}
func (*Negate[T]) Update(_, _ int, u, _ []T)         { kernel.Scale(-1, u) }
func (*Negate[T]) gradScale() T                      { return -1 }

// AddDecayedWeights adds the decay term to the update:
//
//	u ← u + λ·η_t·θ
//
// with λ = WeightDecay and η_t = DecaySchedule.At(t−1), or 1 when DecaySchedule
// is nil.
// Parameters that the optimizer's DecayMask excludes are left alone.
//
// Its place in the chain is the whole difference between L2 regularization
// and decoupled weight decay. At the head of the chain it is coupled L2: the
// decay joins the gradient and is rescaled with it by adaptive methods
// (PyTorch's weight_decay on SGD and Adam). After an adaptive scaling it is
// decoupled weight decay (AdamW): every weight shrinks at the same rate,
// whatever its gradient history.
type AddDecayedWeights[T Float] struct {
	WeightDecay   float64
	DecaySchedule schedule.Schedule // optional multiplier η_t of WeightDecay
	From          int               // the first step it applies to; 0 or 1: every step (ADOPT's is 2)

	rate []T // per parameter: WeightDecay·η_t, or 0 where masked
	on   []bool
	claim
}

func (d *AddDecayedWeights[T]) Name() string { return "add_decayed_weights" }

// Validate checks the hyperparameters, naming the first bad one.
func (d *AddDecayedWeights[T]) Validate() error { return d.check("AddDecayedWeights") }

func (d *AddDecayedWeights[T]) check(owner string) error {
	return firstErr(
		nonNegative(owner+".WeightDecay", d.WeightDecay),
		optionalSchedule(owner+".DecaySchedule", d.DecaySchedule),
		atLeast(owner+".From", d.From, 0),
	)
}

func (d *AddDecayedWeights[T]) Init(_ *State[T], params []ParamInfo) error {
	d.rate = make([]T, len(params))
	d.on = make([]bool, len(params))
	for k, p := range params {
		d.on[k] = p.Decay
	}
	return nil
}

func (d *AddDecayedWeights[T]) Begin(c *StepInfo) {
	r := d.WeightDecay
	if d.DecaySchedule != nil {
		r *= d.DecaySchedule.At(c.T - 1)
	}
	if c.T < d.From {
		r = 0
	}
	for k := range d.rate {
		if d.on[k] {
			d.rate[k] = T(r)
		}
	}
}

func (d *AddDecayedWeights[T]) Update(k, _ int, u, p []T) {
	if r := d.rate[k]; r != 0 {
		kernel.Axpy(r, p, u)
	}
}

// Momentum is PyTorch's heavy-ball momentum (torch.optim.SGD):
//
//	b₁ = u                        on the first step
//	b  ← μ·b + (1 − dampening)·u  after
//	u  ← b                        (Nesterov: u ← u + μ·b)
//
// with μ = Momentum, or the scheduled momentum when there is one.
type Momentum[T Float] struct {
	Momentum  float64 // μ
	Dampening float64
	Nesterov  bool

	b        [][]T
	mu, damp T
	claim
}

func (m *Momentum[T]) Name() string { return "momentum" }

// Validate checks the hyperparameters, naming the first bad one.
func (m *Momentum[T]) Validate() error { return m.check("Momentum") }

func (m *Momentum[T]) check(owner string) error {
	return firstErr(
		unitInterval(owner+".Momentum", m.Momentum),
		nonNegative(owner+".Dampening", m.Dampening),
	)
}

func (m *Momentum[T]) Init(s *State[T], params []ParamInfo) error {
	m.b = make([][]T, len(params))
	for k := range params {
		s.Vec(&m.b[k], k, "momentum_buffer", 0)
	}
	return nil
}

func (m *Momentum[T]) Begin(c *StepInfo) {
	m.mu, m.damp = T(c.MomentumOr(m.Momentum)), T(1-m.Dampening)
	if c.T == 1 {
		m.damp = 1 // the buffer starts as a copy of the first update
	}
}

func (m *Momentum[T]) Update(k, off int, u, _ []T) {
	kernel.Momentum(u, m.b[k][off:off+len(u)], m.mu, m.damp, m.Nesterov)
}

// EMA is momentum as the textbook writes it, an exponential moving average
// of the updates:
//
//	v ← β·v + (1 − β)·u,  v₀ = 0
//	u ← v
//
// with β = Momentum, or the scheduled momentum when there is one. Unlike
// [Momentum] the first step is (1 − β)·u, not u.
type EMA[T Float] struct {
	Momentum float64 // β

	v       [][]T
	beta, d T
	claim
}

func (e *EMA[T]) Name() string { return "ema" }

// Validate checks the hyperparameter.
func (e *EMA[T]) Validate() error { return unitInterval("EMA.Momentum", e.Momentum) }

func (e *EMA[T]) Init(s *State[T], params []ParamInfo) error {
	e.v = make([][]T, len(params))
	for k := range params {
		s.Vec(&e.v[k], k, "ema", 0)
	}
	return nil
}

func (e *EMA[T]) Begin(c *StepInfo) {
	b := c.MomentumOr(e.Momentum)
	e.beta, e.d = T(b), T(1-b)
}

func (e *EMA[T]) Update(k, off int, u, _ []T) {
	kernel.Momentum(u, e.v[k][off:off+len(u)], e.beta, e.d, false)
}

// ScaleByAdam replaces the update by Adam's bias-corrected moment ratio
// (Kingma & Ba 2015):
//
//	m ← β₁·m + (1 − β₁)·u
//	v ← β₂·v + (1 − β₂)·u²
//	u ← m̂ / (√v̂ + ε),  m̂ = m/(1 − β₁ᵗ),  v̂ = v/(1 − β₂ᵗ)
//
// With AMSGrad (Reddi et al. 2018) the denominator uses the running maximum
// of v instead of v. β₁ is replaced by the scheduled momentum when there is
// one.
type ScaleByAdam[T Float] struct {
	Beta1, Beta2, Eps float64
	AMSGrad           bool

	m, v, vmax     [][]T
	b1, b2, c1, c2 T
	claim
}

func (a *ScaleByAdam[T]) Name() string { return "scale_by_adam" }

// Validate checks the hyperparameters, naming the first bad one.
func (a *ScaleByAdam[T]) Validate() error { return a.check("ScaleByAdam") }

func (a *ScaleByAdam[T]) check(owner string) error {
	return firstErr(
		unitInterval(owner+".Beta1", a.Beta1),
		unitInterval(owner+".Beta2", a.Beta2),
		positive(owner+".Eps", a.Eps),
	)
}

func (a *ScaleByAdam[T]) Init(s *State[T], params []ParamInfo) error {
	a.m, a.v = make([][]T, len(params)), make([][]T, len(params))
	if a.AMSGrad {
		a.vmax = make([][]T, len(params))
	}
	for k := range params {
		s.Vec(&a.m[k], k, "exp_avg", 0)
		s.Vec(&a.v[k], k, "exp_avg_sq", 0)
		if a.AMSGrad {
			s.Vec(&a.vmax[k], k, "max_exp_avg_sq", 0)
		}
	}
	return nil
}

func (a *ScaleByAdam[T]) Begin(c *StepInfo) {
	b1 := c.MomentumOr(a.Beta1)
	t := float64(c.T)
	a.b1, a.b2 = T(b1), T(a.Beta2)
	a.c1 = T(1 / (1 - math.Pow(b1, t)))
	a.c2 = T(1 / math.Sqrt(1-math.Pow(a.Beta2, t)))
}

func (a *ScaleByAdam[T]) Update(k, off int, u, _ []T) {
	n := len(u)
	var vmax []T
	if a.AMSGrad {
		vmax = a.vmax[k][off : off+n]
	}
	kernel.Adam(u, a.m[k][off:off+n], a.v[k][off:off+n], vmax, a.b1, a.b2, a.c1, a.c2, T(a.Eps))
}

// ScaleByRMS divides the update by the root of its running mean square
// (RMSprop, Hinton 2012):
//
//	v ← α·v + (1 − α)·u²
//	u ← u / (√v + ε)               (EpsInSqrt: u / √(v + ε))
//
// Centered (Graves 2013) subtracts the square of the running mean g of u:
// u ← u / (√(v − g²) + ε).
type ScaleByRMS[T Float] struct {
	Alpha, Eps float64
	Centered   bool
	EpsInSqrt  bool

	v, g [][]T
	claim
}

func (r *ScaleByRMS[T]) Name() string { return "scale_by_rms" }

// Validate checks the hyperparameters, naming the first bad one.
func (r *ScaleByRMS[T]) Validate() error { return r.check("ScaleByRMS") }

func (r *ScaleByRMS[T]) check(owner string) error {
	return firstErr(
		unitInterval(owner+".Alpha", r.Alpha),
		positive(owner+".Eps", r.Eps),
	)
}

func (r *ScaleByRMS[T]) Init(s *State[T], params []ParamInfo) error {
	r.v = make([][]T, len(params))
	if r.Centered {
		r.g = make([][]T, len(params))
	}
	for k := range params {
		s.Vec(&r.v[k], k, "square_avg", 0)
		if r.Centered {
			s.Vec(&r.g[k], k, "grad_avg", 0)
		}
	}
	return nil
}

func (r *ScaleByRMS[T]) Begin(*StepInfo) {}

func (r *ScaleByRMS[T]) Update(k, off int, u, _ []T) {
	n := len(u)
	var g []T
	if r.Centered {
		g = r.g[k][off : off+n]
	}
	kernel.RMSprop(u, r.v[k][off:off+n], g, T(r.Alpha), T(r.Eps), r.EpsInSqrt)
}

// ScaleByAdagrad divides the update by the root of the sum of its squares
// (Duchi et al. 2011), with PyTorch's learning-rate decay:
//
//	s ← s + u²,  s₀ = InitialAccumulator
//	u ← u / (√s + ε) / (1 + (t − 1)·LRDecay)
type ScaleByAdagrad[T Float] struct {
	LRDecay, InitialAccumulator, Eps float64 // in Adagrad's order

	s     [][]T
	decay T
	claim
}

func (a *ScaleByAdagrad[T]) Name() string { return "scale_by_adagrad" }

// Validate checks the hyperparameters, naming the first bad one.
func (a *ScaleByAdagrad[T]) Validate() error { return a.check("ScaleByAdagrad") }

func (a *ScaleByAdagrad[T]) check(owner string) error {
	return firstErr(
		nonNegative(owner+".LRDecay", a.LRDecay),
		nonNegative(owner+".InitialAccumulator", a.InitialAccumulator),
		positive(owner+".Eps", a.Eps),
	)
}

func (a *ScaleByAdagrad[T]) Init(s *State[T], params []ParamInfo) error {
	a.s = make([][]T, len(params))
	for k := range params {
		s.Vec(&a.s[k], k, "sum", T(a.InitialAccumulator))
	}
	return nil
}

func (a *ScaleByAdagrad[T]) Begin(c *StepInfo) {
	a.decay = T(1 / (1 + float64(c.T-1)*a.LRDecay))
}

func (a *ScaleByAdagrad[T]) Update(k, off int, u, _ []T) {
	kernel.Adagrad(u, a.s[k][off:off+len(u)], T(a.Eps))
	if a.decay != 1 {
		kernel.Scale(a.decay, u)
	}
}

// ScaleByAdadelta replaces the update by Adadelta's unit-corrected step
// (Zeiler 2012):
//
//	v ← ρ·v + (1 − ρ)·u²
//	Δ = √(d + ε) / √(v + ε) · u
//	d ← ρ·d + (1 − ρ)·Δ²
//	u ← Δ
type ScaleByAdadelta[T Float] struct {
	Rho, Eps float64

	v, d [][]T
	claim
}

func (a *ScaleByAdadelta[T]) Name() string { return "scale_by_adadelta" }

// Validate checks the hyperparameters, naming the first bad one.
func (a *ScaleByAdadelta[T]) Validate() error { return a.check("ScaleByAdadelta") }

func (a *ScaleByAdadelta[T]) check(owner string) error {
	return firstErr(
		closedUnit(owner+".Rho", a.Rho),
		positive(owner+".Eps", a.Eps),
	)
}

func (a *ScaleByAdadelta[T]) Init(s *State[T], params []ParamInfo) error {
	a.v, a.d = make([][]T, len(params)), make([][]T, len(params))
	for k := range params {
		s.Vec(&a.v[k], k, "square_avg", 0)
		s.Vec(&a.d[k], k, "acc_delta", 0)
	}
	return nil
}

func (a *ScaleByAdadelta[T]) Begin(*StepInfo) {}

func (a *ScaleByAdadelta[T]) Update(k, off int, u, _ []T) {
	n := len(u)
	kernel.Adadelta(u, a.v[k][off:off+n], a.d[k][off:off+n], T(a.Rho), T(a.Eps))
}

// ScaleByAdamax replaces the update by Adamax's ratio of the first moment to
// the infinity norm (Kingma & Ba 2015, §7.1):
//
//	m ← β₁·m + (1 − β₁)·u
//	n ← max(β₂·n, |u| + ε)
//	u ← m / ((1 − β₁ᵗ)·n)
type ScaleByAdamax[T Float] struct {
	Beta1, Beta2, Eps float64

	m, n   [][]T
	b1, c1 T
	claim
}

func (a *ScaleByAdamax[T]) Name() string { return "scale_by_adamax" }

// Validate checks the hyperparameters, naming the first bad one.
func (a *ScaleByAdamax[T]) Validate() error { return a.check("ScaleByAdamax") }

func (a *ScaleByAdamax[T]) check(owner string) error {
	return firstErr(
		unitInterval(owner+".Beta1", a.Beta1),
		unitInterval(owner+".Beta2", a.Beta2),
		positive(owner+".Eps", a.Eps),
	)
}

func (a *ScaleByAdamax[T]) Init(s *State[T], params []ParamInfo) error {
	a.m, a.n = make([][]T, len(params)), make([][]T, len(params))
	for k := range params {
		s.Vec(&a.m[k], k, "exp_avg", 0)
		s.Vec(&a.n[k], k, "exp_inf", 0)
	}
	return nil
}

func (a *ScaleByAdamax[T]) Begin(c *StepInfo) {
	b1 := c.MomentumOr(a.Beta1)
	a.b1, a.c1 = T(b1), T(1/(1-math.Pow(b1, float64(c.T))))
}

func (a *ScaleByAdamax[T]) Update(k, off int, u, _ []T) {
	n := len(u)
	kernel.Adamax(u, a.m[k][off:off+n], a.n[k][off:off+n], a.b1, T(a.Beta2), a.c1, T(a.Eps))
}

// ScaleByNAdam replaces the update by NAdam's Nesterov-accelerated ratio
// (Dozat 2016), with PyTorch's momentum decay schedule:
//
//	μ_t = β₁·(1 − ½·0.96^(t·ψ)),  Πμ ← Πμ·μ_t
//	m ← β₁·m + (1 − β₁)·u
//	v ← β₂·v + (1 − β₂)·u²
//	u ← [(1 − μ_t)/(1 − Πμ) · u + μ_{t+1}/(1 − Πμ·μ_{t+1}) · m] / (√(v/(1 − β₂ᵗ)) + ε)
//
// with ψ = MomentumDecay. The running product Πμ is part of the saved state.
// Torch113 uses PyTorch 1.13's weight for m, μ_{t+1}/(1 − Πμ·μ_t·μ_{t+1}).
type ScaleByNAdam[T Float] struct {
	Beta1, Beta2, Eps, MomentumDecay float64
	Torch113                         bool

	m, v           [][]T
	muProduct      float64
	b1, b2, c2, cg T
	cm             T
	claim
}

func (a *ScaleByNAdam[T]) Name() string { return "scale_by_nadam" }

// Validate checks the hyperparameters, naming the first bad one.
func (a *ScaleByNAdam[T]) Validate() error { return a.check("ScaleByNAdam") }

func (a *ScaleByNAdam[T]) check(owner string) error {
	return firstErr(
		unitInterval(owner+".Beta1", a.Beta1),
		unitInterval(owner+".Beta2", a.Beta2),
		positive(owner+".Eps", a.Eps),
		nonNegative(owner+".MomentumDecay", a.MomentumDecay),
	)
}

func (a *ScaleByNAdam[T]) Init(s *State[T], params []ParamInfo) error {
	a.m, a.v = make([][]T, len(params)), make([][]T, len(params))
	for k := range params {
		s.Vec(&a.m[k], k, "exp_avg", 0)
		s.Vec(&a.v[k], k, "exp_avg_sq", 0)
	}
	a.muProduct = 1
	s.Scalar(&a.muProduct, "mu_product")
	return nil
}

func (a *ScaleByNAdam[T]) Begin(c *StepInfo) {
	b1 := c.MomentumOr(a.Beta1)
	t := float64(c.T)
	mu := b1 * (1 - 0.5*math.Pow(0.96, t*a.MomentumDecay))
	muNext := b1 * (1 - 0.5*math.Pow(0.96, (t+1)*a.MomentumDecay))
	a.muProduct *= mu
	next := a.muProduct * muNext
	if a.Torch113 {
		next *= mu
	}
	a.b1, a.b2 = T(b1), T(a.Beta2)
	a.c2 = T(1 / (1 - math.Pow(a.Beta2, t)))
	a.cg = T((1 - mu) / (1 - a.muProduct))
	a.cm = T(muNext / (1 - next))
}

func (a *ScaleByNAdam[T]) Update(k, off int, u, _ []T) {
	n := len(u)
	kernel.NAdam(u, a.m[k][off:off+n], a.v[k][off:off+n], a.b1, a.b2, a.c2, a.cg, a.cm, T(a.Eps))
}

// ScaleByRAdam replaces the update by RAdam's rectified ratio (Liu et al.
// 2020):
//
//	m ← β₁·m + (1 − β₁)·u
//	v ← β₂·v + (1 − β₂)·u²
//	ρ∞ = 2/(1 − β₂) − 1,  ρ_t = ρ∞ − 2t·β₂ᵗ/(1 − β₂ᵗ)
//	u ← m̂ · r_t·√(1 − β₂ᵗ) / (√v + ε)   when ρ_t > 5
//	u ← m̂                               otherwise (plain momentum)
//
// with m̂ = m/(1 − β₁ᵗ) and r_t = √((ρ_t − 4)(ρ_t − 2)ρ∞ / ((ρ∞ − 4)(ρ∞ − 2)ρ_t)).
// As in PyTorch, ε is added to √v before the bias correction of v.
type ScaleByRAdam[T Float] struct {
	Beta1, Beta2, Eps float64

	m, v          [][]T
	b1, b2, c1, r T
	rect          bool
	claim
}

func (a *ScaleByRAdam[T]) Name() string { return "scale_by_radam" }

// Validate checks the hyperparameters, naming the first bad one.
func (a *ScaleByRAdam[T]) Validate() error { return a.check("ScaleByRAdam") }

func (a *ScaleByRAdam[T]) check(owner string) error {
	return firstErr(
		unitInterval(owner+".Beta1", a.Beta1),
		unitInterval(owner+".Beta2", a.Beta2),
		positive(owner+".Eps", a.Eps),
	)
}

func (a *ScaleByRAdam[T]) Init(s *State[T], params []ParamInfo) error {
	a.m, a.v = make([][]T, len(params)), make([][]T, len(params))
	for k := range params {
		s.Vec(&a.m[k], k, "exp_avg", 0)
		s.Vec(&a.v[k], k, "exp_avg_sq", 0)
	}
	return nil
}

func (a *ScaleByRAdam[T]) Begin(c *StepInfo) {
	b1 := c.MomentumOr(a.Beta1)
	t := float64(c.T)
	bc2 := 1 - math.Pow(a.Beta2, t)
	rhoInf := 2/(1-a.Beta2) - 1
	rho := rhoInf - 2*t*math.Pow(a.Beta2, t)/bc2
	a.b1, a.b2 = T(b1), T(a.Beta2)
	a.c1 = T(1 / (1 - math.Pow(b1, t)))
	a.rect = rho > 5
	if a.rect {
		r := math.Sqrt((rho - 4) * (rho - 2) * rhoInf / ((rhoInf - 4) * (rhoInf - 2) * rho))
		a.r = T(math.Sqrt(bc2) * r)
	}
}

func (a *ScaleByRAdam[T]) Update(k, off int, u, _ []T) {
	n := len(u)
	kernel.RAdam(u, a.m[k][off:off+n], a.v[k][off:off+n], a.b1, a.b2, a.c1, a.r, T(a.Eps), a.rect)
}

// ScaleByLR multiplies the update by the group's learning rate at this step:
//
//	u ← α_t·u
type ScaleByLR[T Float] struct {
	lr T

	claim
}

func (s *ScaleByLR[T]) Name() string                      { return "scale_by_lr" }
func (s *ScaleByLR[T]) Init(*State[T], []ParamInfo) error { return nil }
func (s *ScaleByLR[T]) Begin(c *StepInfo)                 { s.lr = T(c.LR) }
func (s *ScaleByLR[T]) Update(_, _ int, u, _ []T)         { kernel.Scale(s.lr, u) }

// Agree returns how many elements of the block Adam's cautious mask keeps
// (the new first moment agrees in sign with u), changing nothing.
func (a *ScaleByAdam[T]) Agree(k, off int, u []T) float64 {
	return kernel.AdamAgree(u, a.m[k][off:off+len(u)], a.b1)
}

// UpdateMasked is Update with the cautious mask applied and the kept
// elements scaled by s.
func (a *ScaleByAdam[T]) UpdateMasked(k, off int, u []T, s T) {
	n := len(u)
	var vmax []T
	if a.AMSGrad {
		vmax = a.vmax[k][off : off+n]
	}
	kernel.CautiousAdam(u, a.m[k][off:off+n], a.v[k][off:off+n], vmax, a.b1, a.b2, a.c1, a.c2, T(a.Eps), s)
}
