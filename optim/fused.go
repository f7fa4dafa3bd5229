package optim

import "github.com/descentml/descent/internal/kernel"

// fusion turns the fused kernels on; tests turn it off to compare.
var fusion = true

// A fused step runs a whole chain of one of the common shapes as one kernel
// per chunk, straight from memory: the gradient, the parameter and the state
// are each read once and written once, with no pass over an update buffer.
// The shapes, after the learning rate has been folded into the subtraction:
//
//	[Negate] [ClipByGlobalNorm] [AddDecayedWeights] core [tail]
//
// where the core and what may follow it are the core's business: Adam,
// Lion, ADOPT and AdEMAMix (each then AddDecayedWeights: decoupled decay),
// Momentum, RMSprop (then Momentum). The
// fused step reads the chain through three small interfaces, so that no
// transform reaches into another's fields:
//
//   - a gradScaler multiplies the whole gradient by one factor (maximize's
//     −1, clipping's scale); the factors multiply into the kernel's gs;
//   - a weightDecayer adds rate·θ (coupled L2 before the core, decoupled
//     decay after it);
//   - a fuser is a core transform that returns the kernel for itself and
//     its tail, or nil if it has none for that tail.
//
// The kernels compute exactly what the transforms do, in the same order, so
// the result is bit for bit that of the chain.
type fused[T Float] struct {
	scales  []gradScaler[T]
	coupled weightDecayer[T]
	core    fusedStep[T]
}

type gradScaler[T Float] interface {
	gradScale() T // the factor of this step; exactly 1 when it does nothing
}

type weightDecayer[T Float] interface {
	decayRate(k int) T // the rate for parameter k at this step; 0: none
}

type fuser[T Float] interface {
	fuse(tail Chain[T]) fusedStep[T]
}

// fusedStep updates elements [off, off+len(p)) of parameter k, whose
// gradient is g: u = gs·g (+ wc·θ when wc ≠ 0), the core and its tail, then
// θ ← θ + nlr·u (nlr = −lr).
type fusedStep[T Float] interface {
	step(k, off int, p, g []T, gs, wc, nlr T)
}

var (
	_ gradScaler[float32]    = (*ClipByGlobalNorm[float32])(nil)
	_ gradScaler[float32]    = (*Negate[float32])(nil)
	_ weightDecayer[float32] = (*AddDecayedWeights[float32])(nil)
	_ fuser[float32]         = (*ScaleByAdam[float32])(nil)
	_ fuser[float32]         = (*Momentum[float32])(nil)
	_ fuser[float32]         = (*ScaleByRMS[float32])(nil)
)

// fuse returns the fused form of body, or nil if it has none.
func fuse[T Float](body Chain[T]) *fused[T] {
	f := &fused[T]{}
	i := 0
	for ; i < len(body); i++ {
		s, ok := body[i].(gradScaler[T])
		if !ok {
			break
		}
		f.scales = append(f.scales, s)
	}
	if i < len(body) {
		if d, ok := body[i].(weightDecayer[T]); ok {
			f.coupled, i = d, i+1
		}
	}
	if i == len(body) {
		return nil
	}
	c, ok := body[i].(fuser[T])
	if !ok {
		return nil
	}
	if f.core = c.fuse(body[i+1:]); f.core == nil {
		return nil
	}
	return f
}

// step updates elements [off, off+len(p)) of parameter k, whose gradient is
// g, subtracting lr·update (nlr = −lr).
func (f *fused[T]) step(k, off int, p, g []T, nlr T) {
	gs := T(1)
	for _, s := range f.scales {
		gs *= s.gradScale()
	}
	var wc T
	if f.coupled != nil {
		wc = f.coupled.decayRate(k)
	}
	f.core.step(k, off, p, g, gs, wc, nlr)
}

// decayAfter returns the decoupled decay a core's fused kernel may take as
// its tail: nothing, or one weightDecayer. ok is false for any other tail.
func decayAfter[T Float](tail Chain[T]) (d weightDecayer[T], ok bool) {
	switch len(tail) {
	case 0:
		return nil, true
	case 1:
		d, ok = tail[0].(weightDecayer[T])
		return d, ok
	}
	return nil, false
}

func (d *AddDecayedWeights[T]) decayRate(k int) T { return d.rate[k] }

func (c *ClipByGlobalNorm[T]) gradScale() T {
	if c.clip {
		return c.scale
	}
	return 1
}

// adamStep is ScaleByAdam's fused kernel, with an optional decoupled decay.
type adamStep[T Float] struct {
	a     *ScaleByAdam[T]
	decay weightDecayer[T]
}

func (a *ScaleByAdam[T]) fuse(tail Chain[T]) fusedStep[T] {
	d, ok := decayAfter(tail)
	if !ok {
		return nil
	}
	return &adamStep[T]{a, d}
}

func (s *adamStep[T]) step(k, off int, p, g []T, gs, wc, nlr T) {
	a, n := s.a, len(p)
	var wd T
	if s.decay != nil {
		wd = s.decay.decayRate(k)
	}
	var vmax []T
	if a.AMSGrad {
		vmax = a.vmax[k][off : off+n]
	}
	kernel.AdamStep(p, g, a.m[k][off:off+n], a.v[k][off:off+n], vmax, gs, wc, a.b1, a.b2, a.c1, a.c2, T(a.Eps), wd, nlr)
}

// heavyBall is a momentum stage u ← b ← μ·b + u that a fused kernel can
// run after its own: PyTorch's Momentum with no dampening and no Nesterov.
type heavyBall[T Float] interface {
	heavyBall() bool                       // whether this stage is one
	heavyBallState(k, off, n int) ([]T, T) // its buffer for the block, and μ
}

var _ heavyBall[float32] = (*Momentum[float32])(nil)

func (m *Momentum[T]) heavyBall() bool { return m.Dampening == 0 && !m.Nesterov }

func (m *Momentum[T]) heavyBallState(k, off, n int) ([]T, T) { return m.b[k][off : off+n], m.mu }

func (m *Momentum[T]) fuse(tail Chain[T]) fusedStep[T] {
	if len(tail) != 0 {
		return nil
	}
	return m
}

func (m *Momentum[T]) step(k, off int, p, g []T, gs, wc, nlr T) {
	kernel.MomentumStep(p, g, m.b[k][off:off+len(p)], gs, wc, m.mu, m.damp, nlr, m.Nesterov)
}

// rmsStep is ScaleByRMS's fused kernel, with an optional heavy-ball
// momentum after it.
type rmsStep[T Float] struct {
	r   *ScaleByRMS[T]
	mom heavyBall[T]
}

func (r *ScaleByRMS[T]) fuse(tail Chain[T]) fusedStep[T] {
	s := &rmsStep[T]{r: r}
	switch len(tail) {
	case 0:
	case 1:
		m, ok := tail[0].(heavyBall[T])
		if !ok || !m.heavyBall() {
			return nil
		}
		s.mom = m
	default:
		return nil
	}
	return s
}

func (s *rmsStep[T]) step(k, off int, p, g []T, gs, wc, nlr T) {
	r, n := s.r, len(p)
	var ga, buf []T
	var mu T
	if r.Centered {
		ga = r.g[k][off : off+n]
	}
	if s.mom != nil {
		buf, mu = s.mom.heavyBallState(k, off, n)
	}
	kernel.RMSpropStep(p, g, r.v[k][off:off+n], ga, buf, gs, wc, T(r.Alpha), T(r.Eps), mu, nlr, r.EpsInSqrt)
}
