package optim

import (
	"math"

	"github.com/descentml/descent/internal/kernel"
)

// ScheduleFree is the Schedule-Free step (Defazio et al. 2024, "The Road
// Less Scheduled"; facebookresearch/schedule_free) of [ScheduleFreeAdamW]
// and [ScheduleFreeSGD], run as one fused kernel. It keeps the base
// sequence z and moves the parameters, which hold the training point y; the evaluation point x is a
// mix of the two that the optimizer puts in the parameters with
// [Optimizer.Eval]. With t = 1, 2, …, k = t − 1, the group's rate α:
//
//	γ_t = α·min(1, t/Warmup)                 (Warmup 0: α)
//	γmax ← max(γmax, γ_t)
//	w_t = t^R · γmax^WeightLRPower,  W ← W + w_t,  c = w_t/W   (0 if W = 0)
//	v ← β₂·v + (1 − β₂)·u²;  u ← u/(√(v/(1 − β₂ᵗ)) + ε)          (Adam only)
//	u ← u + λ·y
//	y ← (1 − c)·y + c·z + γ_t·(β·(1 − c) − 1)·u
//	z ← z − γ_t·u,   z₀ = y₀
//
// and it writes y_old − y_new into u, which the optimizer subtracts. γmax
// and W are saved scalars; z (and v) saved buffers. The chain must not hold
// ScaleByLR: the rate is applied here. x = y + (1 − 1/β)·(z − y). β = Beta1
// (ScheduleFreeAdamW's Beta1, ScheduleFreeSGD's Momentum), β₂ = Beta2,
// λ = WeightDecay.
type ScheduleFree[T Float] struct {
	Beta1, Beta2, Eps, WeightDecay float64
	Adam                           bool // normalise by the second moment (AdamW); false: SGD
	Warmup                         int
	R, WeightLRPower               float64

	z, v              [][]T
	wd                []T // per parameter: WeightDecay, or 0 where masked
	on                []bool
	lrMax, weightSum  float64
	b2, bc2, c, a, lr T
	first             bool
	claim
}

var _ Transform[float32] = (*ScheduleFree[float32])(nil)

func (s *ScheduleFree[T]) Name() string {
	if s.Adam {
		return "schedule_free_adamw"
	}
	return "schedule_free_sgd"
}

// Validate checks the hyperparameters, naming the first bad one; Beta2
// and Eps only when Adam is set, as SGD has no use for them.
func (s *ScheduleFree[T]) Validate() error { return s.check("ScheduleFree", "Beta1") }

// check names Beta1 beta1, as ScheduleFreeSGD calls it Momentum.
func (s *ScheduleFree[T]) check(owner, beta1 string) error {
	var beta2, eps error
	if s.Adam {
		beta2, eps = unitInterval(owner+".Beta2", s.Beta2), positive(owner+".Eps", s.Eps)
	}
	return firstErr(
		openUnit(owner+"."+beta1, s.Beta1),
		beta2,
		eps,
		nonNegative(owner+".WeightDecay", s.WeightDecay),
		atLeast(owner+".Warmup", s.Warmup, 0),
		nonNegative(owner+".R", s.R),
		nonNegative(owner+".WeightLRPower", s.WeightLRPower),
	)
}

func (s *ScheduleFree[T]) Init(st *State[T], params []ParamInfo) error {
	s.z, s.wd, s.on = make([][]T, len(params)), make([]T, len(params)), make([]bool, len(params))
	if s.Adam {
		s.v = make([][]T, len(params))
	}
	for k, p := range params {
		st.Vec(&s.z[k], k, "z", 0)
		if s.Adam {
			st.Vec(&s.v[k], k, "exp_avg_sq", 0)
		}
		s.on[k] = p.Decay
	}
	st.Scalar(&s.lrMax, "lr_max")
	st.Scalar(&s.weightSum, "weight_sum")
	return nil
}

func (s *ScheduleFree[T]) Begin(c *StepInfo) {
	t := float64(c.T)
	lr := c.LR
	if c.T <= s.Warmup {
		lr *= t / float64(s.Warmup)
	}
	s.lrMax = math.Max(s.lrMax, lr)
	w := math.Pow(t, s.R) * math.Pow(s.lrMax, s.WeightLRPower)
	s.weightSum += w
	ckp1 := 0.0
	if s.weightSum != 0 {
		ckp1 = w / s.weightSum
	}
	s.first = c.T == 1
	s.b2, s.bc2 = T(s.Beta2), T(1-math.Pow(s.Beta2, t))
	s.c, s.a, s.lr = T(ckp1), T(lr*(s.Beta1*(1-ckp1)-1)), T(lr)
	for k, on := range s.on {
		if on {
			s.wd[k] = T(s.WeightDecay)
		}
	}
}

func (s *ScheduleFree[T]) Update(k, off int, u, p []T) {
	z, v := s.block(k, off, p)
	kernel.ScheduleFree(u, p, z, v, s.b2, s.bc2, T(s.Eps), s.wd[k], s.c, s.a, s.lr)
}

// block returns z and v (nil for SGD) of the block [off, off+len(p)) of
// parameter k, whose values are p; at the first step it sets z₀ = y₀.
func (s *ScheduleFree[T]) block(k, off int, p []T) (z, v []T) {
	n := len(p)
	z = s.z[k][off : off+n]
	if s.first {
		copy(z, p)
	}
	if s.Adam {
		v = s.v[k][off : off+n]
	}
	return z, v
}

// scheduleFreeStep is ScheduleFree's fused kernel; it takes no tail.
type scheduleFreeStep[T Float] struct{ s *ScheduleFree[T] }

var _ fuser[float32] = (*ScheduleFree[float32])(nil)

func (s *ScheduleFree[T]) fuse(tail Chain[T]) fusedStep[T] {
	if len(tail) != 0 {
		return nil
	}
	return scheduleFreeStep[T]{s}
}

func (f scheduleFreeStep[T]) step(k, off int, p, g []T, gs, wc, nlr T) {
	s := f.s
	z, v := s.block(k, off, p)
	kernel.ScheduleFreeStep(p, g, z, v, gs, wc, s.b2, s.bc2, T(s.Eps), s.wd[k], s.c, s.a, s.lr, nlr)
}

// evalPoint writes the evaluation point x = y + (1 − 1/β)·(z − y) of
// parameter k, whose training point is y, into x.
func (s *ScheduleFree[T]) evalPoint(k int, y, x []T) {
	w := T(1 - 1/s.Beta1)
	for i, z := range s.z[k] {
		x[i] = kernel.LerpScalar(y[i], z, w)
	}
}
