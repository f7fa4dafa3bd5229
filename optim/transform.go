package optim

import (
	"fmt"
	"math"
)

// A Transform is one stage of an optimizer's update rule. A chain of
// transforms turns each parameter's gradient into the update that Step
// subtracts from it: the optimizer copies a block of the gradient into an
// update buffer u, each transform rewrites u in place, in order, and finally
// θ ← θ − u. That subtraction is the only place the sign flips; every
// transform works with a descent direction.
//
// A transform owns its state (moments, accumulators), which it registers with
// the State at Init so that it is allocated in one slab and saved with the
// optimizer.
type Transform[T Float] interface {
	// Init registers the transform's state for params. It is called once,
	// when the optimizer is made.
	Init(s *State[T], params []ParamInfo) error
	// Begin is called once per step, before any Update of that step: it
	// computes the step's coefficients (bias corrections, rates) from c.
	// It is not called for a step that is skipped.
	Begin(c *StepInfo)
	// Update rewrites u, the update for elements [off, off+len(u)) of
	// parameter k, whose current values are p. Update is called
	// concurrently for disjoint blocks and must not write shared fields.
	Update(k, off int, u, p []T)
}

// A Reducer is a transform that needs sums over whole parameter tensors
// before it can update any block of them: a cautious update normalises its
// mask by the mask's count over each tensor. Transforms otherwise see one
// block at a time, so before the update pass of a step the optimizer runs a
// reduction pass: for every block it copies the gradient into u, runs the
// transforms before the Reducer on it, and calls Gather, which adds the
// block's contributions to acc (Sums() values, private to the chunk of work
// being run); the optimizer adds the chunks' acc per parameter in a fixed
// order (the sums do not depend on the number of threads) and calls Reduce
// once with sums[k] for every parameter k, before any Update of the step.
//
// This runner keeps no copy of the whole update: Reduce gets u = nil and
// p, the parameters' values. Gather must not change any state, and the
// transforms before a Reducer run twice per step, so they must keep no
// state that Update changes (clipping, Negate and AddDecayedWeights
// qualify; others are refused). A chain may hold one Reducer. (The
// signatures are those of the staged reducers that whole-matrix methods
// need, which keep the whole update, so that one interface serves both.)
type Reducer[T Float] interface {
	Transform[T]
	// Sums returns how many float64 sums per parameter Gather accumulates.
	Sums() int
	// Gather reads block [off, off+len(u)) of parameter k's update u, as
	// the transforms before the reducer left it, and its values p, and adds
	// its contributions to acc. It is called concurrently for disjoint
	// blocks.
	Gather(k, off int, u, p []T, acc []float64)
	// Reduce is called once per step, after every Gather, with the sums of
	// each parameter.
	Reduce(sums [][]float64, u, p [][]T)
}

// stateless is implemented by transforms whose Update changes no state, so
// that they can run before a Reducer.
type stateless interface{ stateless() }

func (*ClipByGlobalNorm[T]) stateless()  {}
func (*ClipByValue[T]) stateless()       {}
func (*Negate[T]) stateless()            {}
func (*AddDecayedWeights[T]) stateless() {}
func (*ScaleByLR[T]) stateless()         {}

// reducerOf returns chain's Reducer and the transforms before it, or an
// error if it has more than one or one that cannot be run twice precedes
// it.
func reducerOf[T Float](chain Chain[T]) (Reducer[T], Chain[T], error) {
	var red Reducer[T]
	var pre Chain[T]
	for i, tr := range chain {
		r, ok := tr.(Reducer[T])
		if !ok {
			continue
		}
		if red != nil {
			return nil, nil, fmt.Errorf("optim: %s and %s both need per-tensor sums: a chain may hold one", Name(red), Name(tr))
		}
		red, pre = r, chain[:i]
		for _, p := range pre {
			if _, ok := p.(stateless); !ok {
				return nil, nil, fmt.Errorf("optim: %s keeps state and cannot come before %s, which needs per-tensor sums", Name(p), Name(tr))
			}
		}
	}
	return red, pre, nil
}

// StepInfo is what a transform may know of the step being taken.
type StepInfo struct {
	T  int     // the step's number: 1 for the first step
	LR float64 // the learning rate of the transform's parameter group at this step
	// Momentum is the group's scheduled momentum (SGD's μ, Adam's β₁) at
	// this step, or NaN when no momentum schedule is set: transforms with a
	// momentum coefficient use it in place of their own (one-cycle and cyclic
	// schedules cycle it).
	Momentum float64

	norm func(p float64) float64
}

// MomentumOr returns the scheduled momentum, or v when there is none.
func (c *StepInfo) MomentumOr(v float64) float64 {
	if math.IsNaN(c.Momentum) {
		return v
	}
	return c.Momentum
}

// GradNorm returns the p-norm of all the optimizer's gradients taken
// together (every group), for any p > 0 or +Inf. With Config.ClipValue set
// it is the norm of the gradients clipped by value (the gradients
// themselves are not changed). It is computed at most once per p per step.
func (c *StepInfo) GradNorm(p float64) float64 { return c.norm(p) }

// Chain is a custom update rule: transforms applied in order. Pass it as
// Config.Method. The chain is used as given: include a learning-rate stage
// ([ScaleByLR]) if the rule should follow Config.LR. Each Chain value may
// serve one optimizer only, since its transforms hold that optimizer's state.
type Chain[T Float] []Transform[T]

// Validate reports a nil transform.
func (c Chain[T]) Validate() error {
	for i, t := range c {
		if t == nil {
			return fmt.Errorf("optim: Chain[%d] is nil", i)
		}
	}
	return nil
}

func (Chain[T]) defaultLR() float64 { return 0 }

// State allocates the transforms' per-parameter buffers in one slab, each
// placed so that buffers do not alias in the cache, and records their names
// for saving. Transforms call Vec and Scalar from Init.
type State[T Float] struct {
	params  []ParamInfo
	avoid   [][2]uintptr // per parameter of the group: where its values and gradient live
	prefix  string       // "<position in chain>." for the transform being set up
	group   int
	vecs    []vecReq[T]
	scalars []scalarReq
	slab    []T
}

type vecReq[T Float] struct {
	name  string // "<param>/<position>.<buffer>"
	size  int
	dst   *[]T
	init  T
	avoid [2]uintptr // addresses of the parameter's values and gradient
}

type scalarReq struct {
	name string // "<group>.<position>.<scalar>"
	dst  *float64
}

// Vec registers a state buffer named name for parameter k of the transform's
// group, as long as the parameter and filled with init; *dst is set to it
// once every transform has been set up, before the first step.
func (s *State[T]) Vec(dst *[]T, k int, name string, init T) {
	p := s.params[k]
	s.vecs = append(s.vecs, vecReq[T]{name: p.Name + "/" + s.prefix + name, size: p.Size, dst: dst, init: init, avoid: s.avoid[k]})
}

// Scalar registers a scalar of the transform's state, saved and restored
// with the buffers.
func (s *State[T]) Scalar(dst *float64, name string) {
	s.scalars = append(s.scalars, scalarReq{name: fmt.Sprintf("%d.%s%s", s.group, s.prefix, name), dst: dst})
}

// Name returns a transform's name: its Name method's result if it has one,
// else its Go type.
func Name[T Float](t Transform[T]) string {
	if n, ok := t.(interface{ Name() string }); ok {
		return n.Name()
	}
	return fmt.Sprintf("%T", t)
}
