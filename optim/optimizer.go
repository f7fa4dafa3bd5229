package optim

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"unsafe"

	"github.com/descentml/descent/internal/kernel"
	"github.com/descentml/descent/schedule"
)

// Config sets up an optimizer. Method is required; everything else has a
// usable zero value.
type Config struct {
	// Method is the update rule: SGD, Adam, AdamW, … or a custom Chain.
	Method Method
	// LR is the learning-rate schedule (schedule.Constant(1e-3) for a fixed
	// rate). nil means the method's PyTorch default rate, held constant;
	// SGD and custom chains have none and need LR.
	LR schedule.Schedule
	// Momentum, if set, schedules the momentum (SGD's μ, Adam's β₁),
	// overriding the method's: schedule.OneCycle.Momentum() and
	// schedule.Cyclic.Momentum() cycle it against the learning rate.
	Momentum schedule.Schedule
	// Maximize, if set, climbs the objective instead of descending it: each
	// gradient is negated before anything else sees it (clipping, coupled
	// decay, the method), PyTorch's maximize=True, for every method.
	Maximize bool
	// ClipNorm, if positive and finite, clips the gradients of all groups
	// together to this global norm before each step (PyTorch's
	// clip_grad_norm_; the ClipByGlobalNorm transform at the head of each
	// chain). 0 and +Inf clip nothing.
	ClipNorm float64
	// ClipNormType is the order of ClipNorm's norm: 0 means 2; 1, any p > 0,
	// or math.Inf(1).
	ClipNormType float64
	// ClipValue, if positive and finite, clips each gradient element to
	// [−ClipValue, ClipValue] before each step (clip_grad_value_). 0 and
	// +Inf clip nothing.
	ClipValue float64
	// DecayMask says which parameters weight decay applies to; nil means all.
	// WeightsOnly excludes biases and normalization parameters.
	DecayMask func(name string, shape []int) bool
	// NonFinite says what a step does with a NaN or infinite gradient (or
	// gradient norm): by default it returns an error; SkipNonFinite skips the
	// step. Either way nothing is changed.
	NonFinite NonFinitePolicy
}

// NonFinitePolicy is what Step does when a gradient holds NaN or ±Inf.
type NonFinitePolicy int

const (
	// ErrorOnNonFinite makes Step return a *NonFiniteError and change
	// nothing: parameters, state and step count are as before the call.
	ErrorOnNonFinite NonFinitePolicy = iota
	// SkipNonFinite makes Step skip the update, change nothing, count the
	// skipped step (Optimizer.Skipped) and return nil, as a loss scaler does.
	// Only the optimizer is left as it was: what ran before Step stays done,
	// such as the running statistics a batch-normalization layer updated in
	// the forward pass of the skipped batch.
	SkipNonFinite
)

// ErrNonFinite is matched by errors.Is for every *NonFiniteError.
var ErrNonFinite = errors.New("optim: non-finite gradient")

// NonFiniteError reports a gradient that holds NaN or ±Inf, or whose norm
// overflowed.
type NonFiniteError struct {
	Step  int     // the step that was refused
	Param string  // the first parameter with a non-finite gradient; "" if only the norm overflowed
	Index int     // the first such element
	Value float64 // its value
	Norm  float64 // the gradient norm, when clipping computed one
}

func (e *NonFiniteError) Error() string {
	if e.Param == "" {
		return fmt.Sprintf("optim: step %d: gradient norm is %v", e.Step, e.Norm)
	}
	return fmt.Sprintf("optim: step %d: gradient of %q is %v at index %d", e.Step, e.Param, e.Value, e.Index)
}

// Is reports whether target is ErrNonFinite.
func (e *NonFiniteError) Is(target error) bool { return target == ErrNonFinite }

// Group is a set of parameters with its own learning rate or method.
type Group[T Float] struct {
	Params []Param[T]
	LR     schedule.Schedule // nil: Config.LR
	Method Method            // nil: Config.Method (a Chain can serve one group only)
}

// Optimizer updates a fixed list of parameters in place, one Step at a time.
// It owns the step count, from which the schedules are evaluated.
// An Optimizer is not safe for concurrent use; Step itself spreads its work
// over the cores.
type Optimizer[T Float] struct {
	groups  []*group[T]
	state   State[T]
	t       int // steps taken
	skipped int
	policy  NonFinitePolicy
	clipP   float64 // order of the norm checked before every step; 0: check finiteness only
	size    int     // elements over all parameters

	chunks  []chunk
	bands   [][2]int // per parameter, over all groups: its chunks [first, end)
	scratch [][]T
	partial []float64 // per chunk: norm contribution or finiteness
	normP   float64   // the order normOK holds a value for
	// normClamp, when positive, is ClipValue, set by Step and cleared by
	// GradNorm: the norm that clipping by norm sees is that of the
	// gradients clipped by value.
	normClamp float64
	clipValue float64
	normVal   float64
	normOK    bool
	clipNorm  float64 // the norm clipping by norm saw at the last step
	// measureNorm makes the finiteness check measure the 2-norm, for
	// LastGradStats (diagnostics.go).
	measureNorm bool
	// evaluating is set between Eval and Train; trainPoint then holds the
	// training point of the groups with an evaluation point.
	evaluating bool
	trainPoint [][][]T
	links      []*link[T] // the SharedReducers that reduce across groups (reduce.go)
	gathers    bool       // some group's fused step needs a gather pass
	gatherFn   func(w, i int)
	runFn      func(w, i int) // o.runChunk, bound once so that Step does not allocate
	zeroFn     func(w, i int)
	bandFn     func(w, workers int)
	bandJob    func(w, i int) // the chunks' work of the pass that bandFn runs
	normFn     func(w, i int)
	finFn      func(w, i int)
	normOf     func(p float64) float64
}

type group[T Float] struct {
	params []Param[T]
	chain  Chain[T]
	lr     schedule.Schedule
	mom    schedule.Schedule
	info   StepInfo
	// body is the chain run on each block. When the chain ends with
	// ScaleByLR, body leaves it out and the final subtraction applies the
	// rate instead (θ ← θ + (−α)·u, bit for bit θ − α·u), saving a pass.
	body  Chain[T]
	apply T // −α when ScaleByLR is folded into the subtraction, else −1
	// fused, if not nil, runs body as one kernel (see fused.go).
	fused *fused[T]
	// staged, if not nil, runs body pass by pass: it holds a Reducer
	// (see reduce.go).
	staged *staged[T]
	// eval, if not nil, gives the point to evaluate at (see evalpoint.go).
	eval evalPointer[T]
}

// chunk is a range of one parameter's elements that one worker updates.
type chunk struct{ g, k, lo, hi int }

const (
	// chunkLen is the elements per unit of parallel work: small enough
	// that a worker's band of a parameter's chunks (parallel) nearly
	// matches its band of the rows of the gradient that the backward pass
	// wrote (autograd's Linear), large enough that its sums are few.
	// Models of bandsBelow elements or more, whose chunks go to whichever
	// worker is free, take chunkLenLarge: fewer hand-offs and sums.
	chunkLen      = 1 << 14
	chunkLenLarge = 1 << 18
	blockLen      = 4096    // elements per pass of the chain: u stays in L1
	serialAt      = 1 << 16 // below this many elements in all, one goroutine
	// bandsBelow is the most elements in all whose chunks go to the
	// workers in static bands (parallel): 2M float32 parameters have 32 MB
	// of values, gradients and two moments, the last-level cache here.
	bandsBelow = 1 << 21
)

// New returns an optimizer for params with one group.
func New[T Float](params []Param[T], c Config) (*Optimizer[T], error) {
	return NewGroups([]Group[T]{{Params: params}}, c)
}

// NewGroups returns an optimizer for parameter groups that may each have
// their own learning rate and method. It refuses, naming the field, what
// would fail or do nothing at a step: no parameters at all (a group may be
// empty), a parameter whose Value or Grad is not of its shape's length, a
// hyperparameter (a named method's, or one of a custom [Chain]'s
// transforms'), clipping bound or schedule that is NaN, infinite or out
// of range, and a first learning rate or momentum (At(0)) that a step
// could not use.
func NewGroups[T Float](groups []Group[T], c Config) (*Optimizer[T], error) {
	if c.NonFinite != ErrorOnNonFinite && c.NonFinite != SkipNonFinite {
		return nil, fmt.Errorf("optim: Config.NonFinite = %d: unknown policy", c.NonFinite)
	}
	o := &Optimizer[T]{policy: c.NonFinite, clipNorm: math.NaN()}
	// +Inf clips nothing, as in PyTorch: the same as 0.
	if math.IsInf(c.ClipNorm, 1) {
		c.ClipNorm = 0
	}
	if math.IsInf(c.ClipValue, 1) {
		c.ClipValue = 0
	}
	if err := firstErr(nonNegative("Config.ClipNorm", c.ClipNorm), nonNegative("Config.ClipValue", c.ClipValue)); err != nil {
		return nil, err
	}
	o.clipValue = c.ClipValue
	if c.ClipNorm > 0 {
		o.clipP = c.ClipNormType
		if o.clipP == 0 {
			o.clipP = 2
		}
		if err := checkClipNorm("Config.ClipNorm", c.ClipNorm, "Config.ClipNormType", o.clipP); err != nil {
			return nil, err
		}
	}
	names := map[string]bool{}
	seenChain := map[*Transform[T]]bool{}
	taken := map[*claim]bool{} // the transforms' claims, given back unless New succeeds
	served := false
	defer func() {
		if !served {
			for cl := range taken {
				cl.release()
			}
		}
	}()
	for gi, gc := range groups {
		g := &group[T]{params: append([]Param[T](nil), gc.Params...), lr: gc.LR, mom: c.Momentum}
		m := gc.Method
		if m == nil {
			m = c.Method
		}
		if m == nil {
			return nil, errors.New("optim: Config.Method is nil: choose an update rule such as optim.DefaultAdamW()")
		}
		if g.lr == nil {
			g.lr = c.LR
		}
		if g.lr == nil {
			lr := m.defaultLR()
			if lr == 0 {
				return nil, fmt.Errorf("optim: %T has no default learning rate: set Config.LR", m)
			}
			g.lr = schedule.Constant(lr)
		}
		if err := schedule.Validate(g.lr); err != nil {
			return nil, err
		}
		if g.mom != nil {
			if err := schedule.Validate(g.mom); err != nil {
				return nil, err
			}
		}
		// The first step's rates, as Step checks them: a schedule with no
		// Validate of its own (a user's) is refused here, not at step 1.
		if _, _, err := g.rates(0, gi); err != nil {
			return nil, err
		}
		chain, err := chainOf[T](m)
		if err != nil {
			return nil, err
		}
		if len(chain) > 0 {
			if seenChain[&chain[0]] {
				return nil, fmt.Errorf("optim: group %d reuses a Chain: each group needs its own transforms", gi)
			}
			seenChain[&chain[0]] = true
		}
		if err := claimAll(chain, gi, taken); err != nil {
			return nil, err
		}
		var head Chain[T]
		if c.Maximize {
			head = append(head, &Negate[T]{})
		}
		if c.ClipValue > 0 {
			head = append(head, &ClipByValue[T]{ClipValue: c.ClipValue})
		}
		if c.ClipNorm > 0 {
			head = append(head, &ClipByGlobalNorm[T]{ClipNorm: c.ClipNorm, ClipNormType: o.clipP})
		}
		g.chain = append(head, chain...)
		g.body = g.chain
		if n := len(g.chain); n > 0 {
			if _, ok := g.chain[n-1].(*ScaleByLR[T]); ok {
				g.body = g.chain[:n-1]
			}
		}
		if fusion {
			g.fused = fuse(g.body) // with no ScaleByLR to fold, apply = −1: exactly θ − u
		}
		g.eval = evalPointOf(g.chain)
		for k := range g.params {
			p := &g.params[k]
			if p.Name == "" {
				p.Name = strconv.Itoa(o.size0() + k)
			}
			if names[p.Name] {
				return nil, fmt.Errorf("optim: two parameters are named %q: names key the saved state and must be unique", p.Name)
			}
			names[p.Name] = true
			if err := checkParam(p, true); err != nil {
				return nil, err
			}
		}
		o.groups = append(o.groups, g)
	}
	if len(names) == 0 {
		return nil, errors.New("optim: no parameters to update")
	}
	o.link()
	o.size = paramCount(o.groups)
	step := chunkLen // elements per chunk: the model's size decides, never the threads
	if o.size >= bandsBelow {
		step = chunkLenLarge
	}
	for gi, g := range o.groups {
		infos := make([]ParamInfo, len(g.params))
		avoid := make([][2]uintptr, len(g.params))
		for k, p := range g.params {
			decay := c.DecayMask == nil || c.DecayMask(p.Name, p.Shape)
			infos[k] = ParamInfo{Name: p.Name, Shape: append([]int(nil), p.Shape...), Size: len(p.Value), Decay: decay}
			avoid[k] = [2]uintptr{addr(p.Value), addr(p.Grad)}
			first := len(o.chunks)
			for lo := 0; lo < len(p.Value); lo += step {
				o.chunks = append(o.chunks, chunk{gi, k, lo, min(lo+step, len(p.Value))})
			}
			o.bands = append(o.bands, [2]int{first, len(o.chunks)})
		}
		o.state.params, o.state.avoid, o.state.group = infos, avoid, gi
		if g.fused == nil {
			g.staged = o.newStaged(gi)
		}
		for ti, tr := range g.chain {
			o.state.prefix = fmt.Sprintf("%d.", ti)
			if err := tr.Init(&o.state, infos); err != nil {
				return nil, err
			}
		}
	}
	o.state.allocate()
	o.partial = make([]float64, len(o.chunks))
	for _, g := range o.groups {
		if g.fused != nil && g.fused.red != nil {
			g.fused.allocate(g.params, len(o.chunks))
			o.gathers = true
		}
	}
	o.runFn, o.normFn, o.finFn, o.normOf, o.gatherFn = o.runChunk, o.normChunk, o.finiteChunk, o.gradNorm, o.gatherChunk
	o.bandFn, o.zeroFn = o.runBand, o.zeroChunk
	o.ensureScratch()
	served = true
	return o, nil
}

// size0 numbers unnamed parameters by their position across groups.
func (o *Optimizer[T]) size0() int {
	n := 0
	for _, g := range o.groups {
		n += len(g.params)
	}
	return n
}

func addr[T Float](s []T) uintptr {
	if len(s) == 0 {
		return 0
	}
	return uintptr(unsafe.Pointer(&s[0]))
}

func (o *Optimizer[T]) ensureScratch() {
	for len(o.scratch) < kernel.Threads() {
		o.scratch = append(o.scratch, make([]T, blockLen))
	}
}

// Step updates every parameter from its gradient: it clips, runs each
// group's chain of transforms, and subtracts the result, in one pass over
// memory per parameter. A gradient with NaN or ±Inf changes nothing (see
// Config.NonFinite). Step allocates nothing. Between Eval and Train it
// returns an error and changes nothing.
func (o *Optimizer[T]) Step() error {
	if o.evaluating {
		return errEvaluating
	}
	t := o.t + 1
	for gi, g := range o.groups {
		lr, mom, err := g.rates(o.t, gi)
		if err != nil {
			return err
		}
		g.info = StepInfo{T: t, LR: lr, Momentum: mom, norm: o.normOf}
	}
	o.normOK, o.normClamp = false, o.clipValue
	if err := o.checkFinite(t); err != nil {
		if o.policy == SkipNonFinite {
			o.skipped++
			return nil
		}
		return err
	}
	for _, g := range o.groups {
		for _, tr := range g.chain {
			tr.Begin(&g.info)
		}
		g.apply = -1
		if len(g.body) < len(g.chain) {
			g.apply = -T(g.info.LR)
		}
	}
	if o.clipP != 0 {
		o.clipNorm = o.gradNorm(o.clipP) // computed already: by the check or the clipping
	}
	o.ensureScratch()
	o.runGathers()
	o.parallel("optimizer step", o.runFn)
	o.runStaged()
	o.t = t
	return nil
}

// rates returns the learning rate and the scheduled momentum (NaN if
// none) of g, group gi, for the step that follows step earlier ones, or an
// error if either is not one a step can use.
func (g *group[T]) rates(step, gi int) (lr, mom float64, err error) {
	lr = g.lr.At(step)
	if !(lr >= 0) || math.IsInf(lr, 1) {
		return 0, 0, fmt.Errorf("optim: step %d: learning rate of group %d is %v: must be finite and ≥ 0", step+1, gi, lr)
	}
	mom = math.NaN()
	if g.mom != nil {
		mom = g.mom.At(step)
		if !(mom >= 0 && mom < 1) {
			return 0, 0, fmt.Errorf("optim: step %d: scheduled momentum of group %d is %v: must be in [0, 1)", step+1, gi, mom)
		}
	}
	return lr, mom, nil
}

// paramCount returns the number of elements of the groups' parameters.
func paramCount[T Float](groups []*group[T]) int {
	n := 0
	for _, g := range groups {
		for _, p := range g.params {
			n += len(p.Value)
		}
	}
	return n
}

// parallel runs fn over every chunk, on one goroutine for small models;
// pass names it on kernel's timing probe.
// Up to bandsBelow elements each worker of kernel.Spread takes the same
// band (kernel.Band) of every parameter's chunks in every pass, so that a
// parameter's rows, their gradient and their state stay in one core's
// cache from pass to pass and from step to step, and its band of the rows
// of a weight gradient is about the one the backward pass wrote on that
// core. A larger model's state streams from memory whichever core reads
// it, and its chunks go to whichever worker is free (kernel.Parallel):
// with static halves a core slowed by anything else on the machine holds
// up the whole step, and there is no cache to keep.
func (o *Optimizer[T]) parallel(pass string, fn func(w, i int)) {
	if o.size < serialAt {
		for i := range o.chunks {
			fn(0, i)
		}
		return
	}
	if o.size >= bandsBelow {
		kernel.Parallel(len(o.chunks), fn)
		return
	}
	o.bandJob = fn
	if kernel.ProbeOn {
		kernel.ProbeLabel(pass, 0)
	}
	kernel.Spread(o.bandFn)
	o.bandJob = nil
}

// runBand runs the current pass over part w of workers of every
// parameter's chunks. A parameter of fewer chunks than workers (a bias, a
// small filter: one chunk) would leave every part but the last empty, so
// the chunks of such parameters are dealt out in turn over the workers
// instead, the same way in every pass.
func (o *Optimizer[T]) runBand(w, workers int) {
	small := 0 // chunks of small parameters dealt so far
	for _, b := range o.bands {
		n := b[1] - b[0]
		if n < workers {
			for i := range n {
				if (small+i)%workers == w {
					o.bandJob(w, b[0]+i)
				}
			}
			small += n
			continue
		}
		lo, hi := kernel.Band(n, w, workers)
		for i := b[0] + lo; i < b[0]+hi; i++ {
			o.bandJob(w, i)
		}
	}
}

func (o *Optimizer[T]) runChunk(w, i int) {
	c := o.chunks[i]
	g := o.groups[c.g]
	p := &g.params[c.k]
	if g.staged != nil {
		return // runStaged's
	}
	if g.fused != nil {
		g.fused.step(c.k, c.lo, p.Value[c.lo:c.hi], p.Grad[c.lo:c.hi], g.apply)
		return
	}
	buf := o.scratch[w]
	for off := c.lo; off < c.hi; off += blockLen {
		n := min(blockLen, c.hi-off)
		u, val := buf[:n], p.Value[off:off+n]
		copy(u, p.Grad[off:off+n])
		for _, tr := range g.body {
			tr.Update(c.k, off, u, val)
		}
		kernel.Axpy(g.apply, u, val) // θ ← θ − u: the one place the sign flips
	}
}

// ZeroGrad sets every parameter's gradient to zero, as PyTorch's
// optimizer.zero_grad(set_to_none=False). Each core clears the bands of
// the gradients that it updated in Step, and that the next backward pass
// adds to on the same core (autograd's Linear). It allocates nothing.
func (o *Optimizer[T]) ZeroGrad() {
	o.parallel("zero grads", o.zeroFn)
}

func (o *Optimizer[T]) zeroChunk(_, i int) {
	c := o.chunks[i]
	clear(o.groups[c.g].params[c.k].Grad[c.lo:c.hi])
}

// checkFinite refuses a step whose gradients hold NaN or ±Inf. When clipping
// by norm alone, the norm (needed anyway) is the check: it is finite exactly
// when every gradient is, and an overflowing norm is refused too. With
// clipping by value as well, that norm is of clamped values, which hides an
// infinity, so the gradients are checked themselves.
func (o *Optimizer[T]) checkFinite(t int) error {
	if o.clipP != 0 && o.normClamp == 0 {
		n := o.gradNorm(o.clipP)
		if !math.IsNaN(n) && !math.IsInf(n, 0) {
			return nil
		}
		e := o.findNonFinite(t)
		e.Norm = n
		return e
	}
	if o.measureNorm && o.normClamp == 0 {
		// The same pass: a finite norm means finite gradients. A norm
		// that overflows over finite gradients (float64) is no refusal.
		if n := o.gradNorm(2); !math.IsNaN(n) && !math.IsInf(n, 0) {
			return nil
		}
		if e := o.findNonFinite(t); e.Param != "" {
			return e
		}
		return nil
	}
	o.parallel("finite grads", o.finFn)
	for _, ok := range o.partial {
		if ok == 0 {
			return o.findNonFinite(t)
		}
	}
	return nil
}

func (o *Optimizer[T]) finiteChunk(_, i int) {
	c := o.chunks[i]
	o.partial[i] = 0
	if kernel.AllFinite(o.groups[c.g].params[c.k].Grad[c.lo:c.hi]) {
		o.partial[i] = 1
	}
}

func (o *Optimizer[T]) findNonFinite(t int) *NonFiniteError {
	for _, g := range o.groups {
		for _, p := range g.params {
			for i, v := range p.Grad {
				if f := float64(v); math.IsNaN(f) || math.IsInf(f, 0) {
					return &NonFiniteError{Step: t, Param: p.Name, Index: i, Value: f}
				}
			}
		}
	}
	return &NonFiniteError{Step: t}
}

// gradNorm returns the p-norm of all gradients, summing per-chunk partial
// results in a fixed order so that it does not depend on scheduling.
func (o *Optimizer[T]) gradNorm(p float64) float64 {
	if o.normOK && o.normP == p {
		return o.normVal
	}
	o.normP = p
	o.parallel("grad norm", o.normFn)
	s := 0.0
	for _, v := range o.partial {
		s = combineNorm(s, v, p)
	}
	o.normVal, o.normOK = finishNorm(s, p), true
	return o.normVal
}

func (o *Optimizer[T]) normChunk(_, i int) {
	c := o.chunks[i]
	g := o.groups[c.g].params[c.k].Grad[c.lo:c.hi]
	if o.normClamp > 0 {
		o.partial[i] = partialNormClamped(g, o.normP, o.normClamp)
		return
	}
	o.partial[i] = partialNorm(g, o.normP)
}

// Steps returns the number of steps taken (skipped steps not counted).
func (o *Optimizer[T]) Steps() int { return o.t }

// Skipped returns the number of steps skipped for non-finite gradients.
func (o *Optimizer[T]) Skipped() int { return o.skipped }

// LR returns the learning rate that group's next step will use.
func (o *Optimizer[T]) LR(group int) float64 { return o.groups[group].lr.At(o.t) }

// Schedule returns group's learning-rate schedule, for example to pass a
// metric to a schedule.Plateau.
func (o *Optimizer[T]) Schedule(group int) schedule.Schedule { return o.groups[group].lr }

// GradNorm returns the global 2-norm of the gradients as they are now.
func (o *Optimizer[T]) GradNorm() float64 {
	o.normOK, o.normClamp = false, 0
	return o.gradNorm(2)
}

// ClipNorm returns the global gradient norm that clipping by norm measured
// at the last step, before clipping (what PyTorch's clip_grad_norm_
// returns): of order Config.ClipNormType, and of the gradients clipped by
// value when Config.ClipValue is set too. It is NaN before the first step
// and when the optimizer does not clip by norm.
func (o *Optimizer[T]) ClipNorm() float64 { return o.clipNorm }

// Groups returns the number of parameter groups.
func (o *Optimizer[T]) Groups() int { return len(o.groups) }

// Params returns group's parameters.
func (o *Optimizer[T]) Params(group int) []Param[T] { return o.groups[group].params }
