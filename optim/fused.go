package optim

import "github.com/descentml/descent/internal/kernel"

// fusion turns the fused kernels on; tests turn it off to compare.
var fusion = true

// fused runs a whole chain of one of the common shapes as one kernel per
// chunk, straight from memory: the gradient, the parameter and the state are
// each read once and written once, with no pass over an update buffer. The
// shapes, after the learning rate has been folded into the subtraction:
//
//	[ClipByGlobalNorm] [AddDecayedWeights] ScaleByAdam [AddDecayedWeights]   Adam, AdamW
//	[ClipByGlobalNorm] [AddDecayedWeights] Momentum                           SGD with momentum
//	[ClipByGlobalNorm] [AddDecayedWeights] ScaleByRMS [Momentum]              RMSprop
//
// The kernels compute exactly what the transforms do, in the same order, so
// the result is bit for bit that of the chain.
type fused[T Float] struct {
	clip      *ClipByGlobalNorm[T]
	coupled   *AddDecayedWeights[T]
	adam      *ScaleByAdam[T]
	decoupled *AddDecayedWeights[T]
	mom       *Momentum[T] // SGD's, or RMSprop's after ScaleByRMS
	rms       *ScaleByRMS[T]
}

// fuse returns the fused form of body, or nil if it has none.
func fuse[T Float](body Chain[T]) *fused[T] {
	f := &fused[T]{}
	i := 0
	next := func() Transform[T] {
		if i < len(body) {
			return body[i]
		}
		return nil
	}
	if c, ok := next().(*ClipByGlobalNorm[T]); ok {
		f.clip, i = c, i+1
	}
	if d, ok := next().(*AddDecayedWeights[T]); ok {
		f.coupled, i = d, i+1
	}
	switch t := next().(type) {
	case *ScaleByAdam[T]:
		f.adam, i = t, i+1
		if d, ok := next().(*AddDecayedWeights[T]); ok {
			f.decoupled, i = d, i+1
		}
	case *Momentum[T]:
		f.mom, i = t, i+1
	case *ScaleByRMS[T]:
		f.rms, i = t, i+1
		if m, ok := next().(*Momentum[T]); ok && m.Dampening == 0 && !m.Nesterov {
			f.mom, i = m, i+1
		}
	default:
		return nil
	}
	if i != len(body) {
		return nil
	}
	return f
}

// step updates elements [off, off+len(p)) of parameter k, whose gradient is
// g, subtracting lr·update (nlr = −lr).
func (f *fused[T]) step(k, off int, p, g []T, nlr T) {
	n := len(p)
	gs := T(1)
	if f.clip != nil && f.clip.clip {
		gs = f.clip.scale
	}
	var wc, wd T
	if f.coupled != nil {
		wc = f.coupled.rate[k]
	}
	if f.decoupled != nil {
		wd = f.decoupled.rate[k]
	}
	switch {
	case f.adam != nil:
		a := f.adam
		var vmax []T
		if a.AMSGrad {
			vmax = a.vmax[k][off : off+n]
		}
		kernel.AdamStep(p, g, a.m[k][off:off+n], a.v[k][off:off+n], vmax, gs, wc, a.b1, a.b2, a.c1, a.c2, T(a.Eps), wd, nlr)
	case f.rms != nil:
		r := f.rms
		var ga, buf []T
		var mu T
		if r.Centered {
			ga = r.g[k][off : off+n]
		}
		if f.mom != nil {
			buf, mu = f.mom.b[k][off:off+n], f.mom.mu
		}
		kernel.RMSpropStep(p, g, r.v[k][off:off+n], ga, buf, gs, wc, T(r.Alpha), T(r.Eps), mu, nlr, r.EpsInSqrt)
	default:
		m := f.mom
		kernel.MomentumStep(p, g, m.b[k][off:off+n], gs, wc, m.mu, m.damp, nlr, m.Nesterov)
	}
}
