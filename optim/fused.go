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
// Cautious over Adam or Lion (the same), Momentum, RMSprop (then
// Momentum), Schedule-Free and Prodigy (nothing), the trust ratio (the rate
// and momentum: LARS), and LAMB's Adam (decoupled decay, then the trust
// ratio and its tail). A chain that does not end with ScaleByLR is fused as
// well, with nlr = −1 (θ + (−1)·u is θ − u). The fused step reads the chain
// through small interfaces, so that no transform reaches into another's
// fields:
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
//
// A core that needs sums over each whole parameter before it can move any
// element (cautious's count of its mask, Prodigy's sums for d, the trust
// ratio's norms) is a fusedReducer: the step is then two passes, a gather
// straight from the gradient and the fused update (LAMB's gather writes its
// update to a buffer that the step reads: a bufferedStep), with the sums
// added in the order the staged chain adds them (see reduce.go), so the
// result is still that of the chain, bit for bit, and independent of the
// number of threads.
type fused[T Float] struct {
	scales  []gradScaler[T]
	coupled weightDecayer[T]
	core    fusedStep[T]

	red    fusedReducer[T] // core, when it needs a gather pass
	acc    [][]float64     // per chunk of the optimizer: the gather's partial sums
	sums   [][]float64     // per parameter: the sums added up
	shared bool            // the core is a SharedReducer of a link: the link reduces
}

// A fusedReducer is a fusedStep that needs sums over each whole parameter
// first. gather adds the contributions of block [off, off+len(p)) of
// parameter k, whose gradient is g, to acc (length sums()), from the
// update u = gs·g (+ wc·θ) that step starts from; it may update state that
// step does not read. It is called concurrently for disjoint blocks.
// reduce is called once, with sums[k] the sums of parameter k.
type fusedReducer[T Float] interface {
	fusedStep[T]
	sums() int
	gather(k, off int, p, g []T, gs, wc T, acc []float64)
	reduce(sums [][]float64)
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
	f.red, _ = f.core.(fusedReducer[T])
	return f
}

// coefficients returns gs and wc of parameter k at this step.
func (f *fused[T]) coefficients(k int) (gs, wc T) {
	gs = 1
	for _, s := range f.scales {
		gs *= s.gradScale()
	}
	if f.coupled != nil {
		wc = f.coupled.decayRate(k)
	}
	return gs, wc
}

// step updates elements [off, off+len(p)) of parameter k, whose gradient is
// g, subtracting lr·update (nlr = −lr).
func (f *fused[T]) step(k, off int, p, g []T, nlr T) {
	gs, wc := f.coefficients(k)
	f.core.step(k, off, p, g, gs, wc, nlr)
}

// gather runs the reducer's gather over chunk i, elements [lo, hi) of
// parameter k, block by block as the staged chain does.
func (f *fused[T]) gather(i, k, lo, hi int, p, g []T) {
	gs, wc := f.coefficients(k)
	acc := f.acc[i]
	clear(acc)
	for off := lo; off < hi; off += blockLen {
		n := min(blockLen, hi-off)
		f.red.gather(k, off, p[off:off+n], g[off:off+n], gs, wc, acc)
	}
}

// gatherChunk is the gather pass's work on chunk i (none for the chunks of
// groups without a fused reducer).
func (o *Optimizer[T]) gatherChunk(_, i int) {
	c := o.chunks[i]
	g := o.groups[c.g]
	if f := g.fused; f != nil && f.red != nil {
		p := &g.params[c.k]
		f.gather(i, c.k, c.lo, c.hi, p.Value, p.Grad)
	}
}

// runGathers runs the gather pass of every fused reducer and reduces the
// sums, adding each parameter's in the order of its chunks.
func (o *Optimizer[T]) runGathers() {
	if !o.gathers {
		return
	}
	o.parallel("optimizer gather", o.gatherFn)
	for gi, g := range o.groups {
		f := g.fused
		if f == nil || f.red == nil {
			continue
		}
		for _, row := range f.sums {
			clear(row)
		}
		for i, c := range o.chunks {
			if c.g == gi {
				for j, v := range f.acc[i] {
					f.sums[c.k][j] += v
				}
			}
		}
		if !f.shared {
			f.red.reduce(f.sums)
		}
	}
	for _, l := range o.links {
		if l.fused {
			l.reduce()
		}
	}
}

// A bufferedStep is a fusedReducer that keeps a buffer per parameter from
// its gather to its step (LAMB's update), outside the saved state.
type bufferedStep[T Float] interface {
	allocate(params []Param[T]) // after the state's
}

// allocate sets up the gather's sums of a fused reducer in group g (of
// the given parameters), and its buffers, for an optimizer of nchunks
// chunks.
func (f *fused[T]) allocate(params []Param[T], nchunks int) {
	if f.red == nil {
		return
	}
	if b, ok := f.red.(bufferedStep[T]); ok {
		b.allocate(params)
	}
	w := f.red.sums()
	f.acc, f.sums = make([][]float64, nchunks), make([][]float64, len(params))
	for i := range f.acc {
		f.acc[i] = make([]float64, w)
	}
	for k := range f.sums {
		f.sums[k] = make([]float64, w)
	}
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

// cautiousStep is Cautious's fused form: a gather pass counts the mask
// from the gradient, Cautious's Reduce turns the counts into scales, and
// the base's masked kernel, with an optional decoupled decay, steps.
type cautiousStep[T Float] struct {
	c     *Cautious[T]
	base  maskedFuser[T]
	decay weightDecayer[T]
}

// A maskedFuser is a CautiousBase with fused kernels for its masked form.
type maskedFuser[T Float] interface {
	// agreeStep is Agree on the update u = gs·g (+ wc·θ).
	agreeStep(k, off int, p, g []T, gs, wc T) float64
	// maskedStep is the fused step of UpdateMasked with scale s, then
	// θ ← θ + nlr·(u + wd·θ) (wd·θ left out when wd = 0).
	maskedStep(k, off int, p, g []T, gs, wc, s, wd, nlr T)
}

var (
	_ fuser[float32]        = (*Cautious[float32])(nil)
	_ fusedReducer[float32] = (*cautiousStep[float32])(nil)
	_ maskedFuser[float32]  = (*ScaleByAdam[float32])(nil)
	_ maskedFuser[float32]  = (*ScaleByLion[float32])(nil)
)

func (c *Cautious[T]) fuse(tail Chain[T]) fusedStep[T] {
	base, ok := c.Base.(maskedFuser[T])
	if !ok {
		return nil
	}
	d, ok := decayAfter(tail)
	if !ok {
		return nil
	}
	return &cautiousStep[T]{c, base, d}
}

func (s *cautiousStep[T]) sums() int { return s.c.Sums() }

func (s *cautiousStep[T]) gather(k, off int, p, g []T, gs, wc T, acc []float64) {
	acc[0] += s.base.agreeStep(k, off, p, g, gs, wc)
}

func (s *cautiousStep[T]) reduce(sums [][]float64) { s.c.Reduce(sums, nil, nil) }

func (s *cautiousStep[T]) step(k, off int, p, g []T, gs, wc, nlr T) {
	var wd T
	if s.decay != nil {
		wd = s.decay.decayRate(k)
	}
	s.base.maskedStep(k, off, p, g, gs, wc, s.c.s[k], wd, nlr)
}

func (a *ScaleByAdam[T]) agreeStep(k, off int, p, g []T, gs, wc T) float64 {
	return kernel.AdamAgreeStep(p, g, a.m[k][off:off+len(p)], gs, wc, a.b1)
}

func (a *ScaleByAdam[T]) maskedStep(k, off int, p, g []T, gs, wc, s, wd, nlr T) {
	n := len(p)
	var vmax []T
	if a.AMSGrad {
		vmax = a.vmax[k][off : off+n]
	}
	kernel.AdamCautiousStep(p, g, a.m[k][off:off+n], a.v[k][off:off+n], vmax, gs, wc, a.b1, a.b2, a.c1, a.c2, T(a.Eps), s, wd, nlr)
}

func (l *ScaleByLion[T]) agreeStep(k, off int, p, g []T, gs, wc T) float64 {
	return kernel.LionAgreeStep(p, g, l.m[k][off:off+len(p)], gs, wc, l.b1)
}

func (l *ScaleByLion[T]) maskedStep(k, off int, p, g []T, gs, wc, s, wd, nlr T) {
	kernel.LionCautiousStep(p, g, l.m[k][off:off+len(p)], gs, wc, l.b1, l.b2, s, wd, nlr)
}
