package optim

import (
	"math"

	"github.com/descentml/descent/internal/kernel"
)

var (
	_ Reducer[float32]      = (*ScaleByTrustRatio[float32])(nil)
	_ fuser[float32]        = (*ScaleByTrustRatio[float32])(nil)
	_ fusedReducer[float32] = (*trustStep[float32])(nil)
)

// ScaleByTrustRatio scales each parameter's update by the ratio of the
// parameter's norm to the update's (You et al. 2017, 2020; optax's
// scale_by_trust_ratio), one ratio per tensor:
//
//	r = η·‖θ‖₂ / (‖u‖₂ + ε),  or 1 when ‖θ‖ = 0 or ‖u‖ = 0
//	u ← r·u
//
// with η = TrustCoefficient and ε = Eps. Parameters that TrustMask excludes keep
// their update (r = 1). The norms are over the whole tensor, so the
// transform is a [Reducer]: the norms are summed while the update is
// formed, and the scaling is applied in the next pass. As LARS has it
// (after a coupled decay, then the rate and momentum), its chain runs
// fused: a gather pass that reads g and θ for the norms, and one kernel
// that steps. After LAMB's Adam, the gather moves Adam's moments and keeps
// the update for the step (lamb.go).
type ScaleByTrustRatio[T Float] struct {
	TrustCoefficient float64                             // η; LAMB's is 1, LARS's 0.001
	Eps              float64                             // ε added to ‖u‖
	TrustMask        func(name string, shape []int) bool // nil: every parameter

	on    []bool
	ratio []T
	r64   []float64
	claim
}

func (s *ScaleByTrustRatio[T]) Name() string { return "scale_by_trust_ratio" }

// Validate checks the hyperparameters, naming the first bad one.
func (s *ScaleByTrustRatio[T]) Validate() error { return s.check("ScaleByTrustRatio") }

func (s *ScaleByTrustRatio[T]) check(owner string) error {
	return firstErr(
		positive(owner+".TrustCoefficient", s.TrustCoefficient),
		nonNegative(owner+".Eps", s.Eps),
	)
}

func (s *ScaleByTrustRatio[T]) Init(_ *State[T], params []ParamInfo) error {
	s.on, s.ratio, s.r64 = make([]bool, len(params)), make([]T, len(params)), make([]float64, len(params))
	for k, p := range params {
		s.on[k] = s.TrustMask == nil || s.TrustMask(p.Name, p.Shape)
	}
	return nil
}

func (s *ScaleByTrustRatio[T]) Begin(*StepInfo) {}

func (s *ScaleByTrustRatio[T]) sumsOnly() {}

func (s *ScaleByTrustRatio[T]) Sums() int { return 2 }

func (s *ScaleByTrustRatio[T]) Gather(k, _ int, u, p []T, acc []float64) {
	if s.on[k] {
		uu, pp := kernel.NormsStep(p, u, 1, 0) // as the fused gather adds them
		acc[0] += uu
		acc[1] += pp
	}
}

func (s *ScaleByTrustRatio[T]) Reduce(sums [][]float64, _, _ [][]T) {
	for k, sk := range sums {
		r := 1.0
		un, pn := math.Sqrt(sk[0]), math.Sqrt(sk[1])
		if s.on[k] && un != 0 && pn != 0 {
			r = float64(T(s.TrustCoefficient * pn / (un + s.Eps)))
		}
		s.ratio[k], s.r64[k] = T(r), r
	}
}

func (s *ScaleByTrustRatio[T]) Update(k, _ int, u, _ []T) {
	if r := s.ratio[k]; r != 1 {
		kernel.Scale(r, u)
	}
}

// Ratios returns the trust ratio each parameter's update was last scaled
// by (1 where masked or a norm was zero).
func (s *ScaleByTrustRatio[T]) Ratios() []float64 { return s.r64 }

// maskedDecay is AddDecayedWeights restricted further by a method's own
// mask (LAMB's and LARS's, as optax takes one).
type maskedDecay[T Float] struct {
	AddDecayedWeights[T]
	mask func(name string, shape []int) bool
}

func maskDecay[T Float](rate float64, mask func(name string, shape []int) bool) Transform[T] {
	if mask == nil {
		return &AddDecayedWeights[T]{WeightDecay: rate}
	}
	return &maskedDecay[T]{AddDecayedWeights[T]{WeightDecay: rate}, mask}
}

func (d *maskedDecay[T]) Init(s *State[T], params []ParamInfo) error {
	ps := make([]ParamInfo, len(params))
	for k, p := range params {
		ps[k] = p
		ps[k].Decay = p.Decay && d.mask(p.Name, p.Shape)
	}
	return d.AddDecayedWeights.Init(s, ps)
}

// trustStep is ScaleByTrustRatio's fused form, with the rate and an
// optional momentum after it (LARS): the gather reads the gradient and θ
// for the norms, and TrustStep takes the step.
type trustStep[T Float] struct {
	s   *ScaleByTrustRatio[T]
	lr  *ScaleByLR[T] // nil when the rate is folded into the subtraction
	mom *Momentum[T]  // nil: no momentum
}

func (s *ScaleByTrustRatio[T]) fuse(tail Chain[T]) fusedStep[T] {
	f := &trustStep[T]{s: s}
	if len(tail) == 0 {
		return f
	}
	lr, ok := tail[0].(*ScaleByLR[T])
	if !ok || len(tail) > 2 {
		return nil
	}
	f.lr = lr
	if len(tail) == 2 {
		if f.mom, ok = tail[1].(*Momentum[T]); !ok {
			return nil
		}
	}
	return f
}

func (f *trustStep[T]) sums() int { return f.s.Sums() }

func (f *trustStep[T]) gather(k, _ int, p, g []T, gs, wc T, acc []float64) {
	if f.s.on[k] {
		uu, pp := kernel.NormsStep(p, g, gs, wc)
		acc[0] += uu
		acc[1] += pp
	}
}

func (f *trustStep[T]) reduce(sums [][]float64) { f.s.Reduce(sums, nil, nil) }

func (f *trustStep[T]) step(k, off int, p, g []T, gs, wc, nlr T) {
	lr := T(1) // 1·u is u: the rate is in nlr
	if f.lr != nil {
		lr = f.lr.lr
	}
	var b []T
	var mu, damp T
	nesterov := false
	if m := f.mom; m != nil {
		b, mu, damp, nesterov = m.b[k][off:off+len(p)], m.mu, m.damp, m.Nesterov
	}
	kernel.TrustStep(p, g, b, gs, wc, f.s.ratio[k], lr, mu, damp, nlr, nesterov)
}
