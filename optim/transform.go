package optim

import (
	"fmt"
	"math"
	"sync/atomic"
	"unsafe"
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
// optimizer. A transform value therefore serves one optimizer, in one place
// of one chain: a second optimizer's Init would take it over, and the first
// would step with the second's state. New refuses a built-in transform that
// serves an optimizer already, or stands twice in its chains; it cannot
// tell for a transform of a type of one's own, so give each optimizer its
// own values (a function that builds the Chain, called once per New).
//
// A transform may also have a method Validate() error that reports a
// hyperparameter it cannot work with, naming it, as every built-in
// transform's does ("optim: ScaleByAdam.Beta1 = 1.5: must be in [0, 1)"):
// [Chain.Validate], and so New, call it before any Init and return its
// error as it is.
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
// ([ScaleByLR]) if the rule should follow Config.LR. A Chain serves one
// optimizer only, and one group of it, since its transforms hold that
// optimizer's state: New refuses a Chain of built-in transforms given to a
// second optimizer (see [Transform]). The named methods build a new chain
// for each New, so one method value may serve any number of optimizers.
// Its transforms' hyperparameters are held to the ranges the named methods
// hold theirs to when the optimizer is made (see [Chain.Validate]).
type Chain[T Float] []Transform[T]

// Validate reports a nil transform, or the first error of a transform's
// Validate method (see [Transform]).
func (c Chain[T]) Validate() error {
	for i, t := range c {
		if t == nil {
			return fmt.Errorf("optim: Chain[%d] is nil", i)
		}
		if v, ok := t.(validator); ok {
			if err := v.Validate(); err != nil {
				return err
			}
		}
	}
	return nil
}

// A validator is a transform that checks its hyperparameters.
type validator interface{ Validate() error }

// A built-in transform's Validate is check(its type's name), where
// check(owner) holds each field to its rule and names it owner.Field. The
// named methods built on a transform call its check with their own name
// for the fields they pass on as they are, which bear the same names, so
// that a field's rule is written once (build.go checks the chain again, as
// built).

func (Chain[T]) defaultLR() float64 { return 0 }

// A claim is embedded in every built-in transform: it records that the
// transform serves an optimizer. New takes the claims of its transforms
// before it initializes anything, each atomically, so that of two News of
// one Chain at once only one proceeds, and gives them back if it fails, so
// that a refused transform keeps serving its first optimizer untouched and
// a failed New claims nothing. A serving claim holds its own address: a
// copy of a serving transform (b := *a) holds a's, not its own, and so
// starts free, as a new value should. (A plain pointer, not an
// atomic.Pointer, whose noCopy would have vet flag such copies.)
type claim struct{ self unsafe.Pointer }

func (c *claim) claims() []*claim { return []*claim{c} }

// take claims c, reporting false if c serves an optimizer already.
func (c *claim) take() bool {
	for {
		old := atomic.LoadPointer(&c.self)
		if old == unsafe.Pointer(c) {
			return false
		}
		if atomic.CompareAndSwapPointer(&c.self, old, unsafe.Pointer(c)) {
			return true
		}
	}
}

// release frees c, which take claimed.
func (c *claim) release() { atomic.StorePointer(&c.self, nil) }

// A claimer is a transform with claims: its own, and those of the
// transforms it wraps.
type claimer interface{ claims() []*claim }

// claimAll takes the claims of chain's transforms, adding each to taken,
// or returns an error naming the first transform that stands in taken
// already (twice in this optimizer's chains) or serves an optimizer
// already. The caller releases taken if its New fails.
func claimAll[T Float](chain Chain[T], group int, taken map[*claim]bool) error {
	for i, tr := range chain {
		c, ok := tr.(claimer)
		if !ok {
			continue
		}
		for _, cl := range c.claims() {
			switch {
			case taken[cl]:
				return fmt.Errorf("optim: group %d: %s (Chain[%d]) stands twice in the optimizer's chains: a transform holds the state of one place in one chain", group, Name(tr), i)
			case !cl.take():
				return fmt.Errorf("optim: group %d: %s (Chain[%d]) serves another optimizer already: a transform holds one optimizer's state; build a new Chain for each optimizer", group, Name(tr), i)
			}
			taken[cl] = true
		}
	}
	return nil
}

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
	shape []int // nil: the parameter's
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
