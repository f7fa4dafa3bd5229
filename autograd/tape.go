package autograd

import (
	"errors"
	"fmt"

	"github.com/descentml/descent/internal/kernel"
	"github.com/descentml/descent/tensor"
)

// A Tape records the operations of one forward pass so that [Tape.Backward]
// can run them in reverse. Each operation is a method that computes its
// result at once and, if a gradient will flow through it, appends a node to
// the tape.
//
// A Tape owns the results of its operations and their gradients; their
// buffers come from an arena that [Tape.Reset] takes back, so a training
// loop that resets one Tape after each step allocates (almost) nothing after
// the first step. A Tape is not safe for concurrent use.
//
// # Errors
//
// An operation whose operands do not fit (shapes that do not broadcast, a
// label out of range, a nil operand where its doc does not allow nil, a
// Var of another Tape) records an error on the tape and returns a
// placeholder; every later operation does nothing until Reset, and [Tape.Err]
// and [Tape.Backward] return the first error. Code that builds a model can
// therefore chain operations and check once, as with bufio.Scanner. The
// layers of package nn and the losses of package loss return this error
// from their own calls.
type Tape[T tensor.Float] struct {
	arena  tensor.Arena[T]
	vars   []*Var[T] // pool of Vars, reused in order
	nvar   int
	nodes  []node[T]
	err    error
	done   bool    // Backward has run since the last Reset
	noGrad bool    // SetNoGrad: record nothing
	dead   *Var[T] // returned by operations after an error

	// scratch for shape computations
	shape, sa, sb, idx []int

	codes   []uint8              // scratch for the argmax codes of an unrecorded max-pool
	job     job[T]               // the work being spread over the pool
	norm    job[T]               // the batch norm of a LinearBatchNormReLU job, run with it
	jobFn   func(w, i int)       // t.runTask, bound once so that spreading allocates nothing
	bandFn  func(w, workers int) // t.runBand, bound once likewise
	shareFn func(w, workers int) // t.runShare, bound once likewise

	reducer     BatchReducer // SetBatchReducer: synchronised batch norm
	syncedCount int          // SyncedCount
	syncScratch []float64    // the sums a BatchReducer combines

	ceTerms []float64 // the loss terms of a cross-entropy's rows, summed in order
	dimSums []float64 // SumDim's and MeanDim's sums of a row of outputs

	// the operands of the Concats recorded, node.ints[1:3] of each a range
	// of them; kept here, not on the node, which every operation writes
	operands []*Var[T]

	bwd  int         // the index of the node whose backward pass is running
	sums normSums[T] // a batch norm's sums taken by the Linear layer after it
}

// NewTape returns an empty Tape.
func NewTape[T tensor.Float]() *Tape[T] { return new(Tape[T]) }

// Err returns the first error recorded since the last Reset, or nil.
func (t *Tape[T]) Err() error { return t.err }

// Reset forgets the recorded operations and the first error, and takes back
// every buffer the Tape has handed out: every Var made by the Tape since the
// last Reset is invalid afterwards. Leaves made by NewVar keep their values
// and gradients.
func (t *Tape[T]) Reset() {
	t.arena.Reset()
	t.nvar = 0
	for i := range t.nodes {
		n := &t.nodes[i]
		n.out, n.a, n.b, n.c, n.d, n.e = nil, nil, nil, nil, nil, nil
		n.saved = nil
	}
	clear(t.operands)
	t.operands = t.operands[:0]
	t.nodes = t.nodes[:0]
	t.err = nil
	t.done = false
	t.sums.node, t.sums.job = nil, job[T]{}
}

// SetNoGrad turns gradient tracking off (on = true) or back on for the
// operations that follow, as PyTorch's torch.no_grad: their results need no
// gradient, nothing is recorded for Backward, and what only a backward pass
// would read (softmax probabilities, pooling positions) is not kept. Use it
// for evaluation. The setting survives Reset.
func (t *Tape[T]) SetNoGrad(on bool) { t.noGrad = on }

// Const returns a Var holding x that needs no gradient: an input batch or a
// target. The Var belongs to the Tape; x is not copied.
func (t *Tape[T]) Const(x *tensor.Tensor[T]) *Var[T] {
	return t.newVar(x, false)
}

// Fail records err as the tape's error, unless one is already recorded, and
// returns a placeholder Var. Layers and losses built outside this package use
// it to stop a forward pass the way the Tape's own operations do.
func (t *Tape[T]) Fail(err error) *Var[T] {
	if t.err == nil {
		t.err = err
	}
	if t.dead == nil {
		t.dead = &Var[T]{value: tensor.New[T](0)}
	}
	return t.dead
}

// Backward computes the gradient of loss, a Var holding one value, with
// respect to every Var it depends on, and adds it to their gradients (or
// writes it into a discarded one, see [Var.DiscardGrad]). It
// returns the tape's error if an operation failed. A nil loss, or one of
// more than one value, is an error that Backward records as the tape's, as
// an operation would. Backward (or BackwardWith) may run once per Reset: a
// second is an error recorded the same way, and changes no gradient.
func (t *Tape[T]) Backward(loss *Var[T]) error {
	if t.skip("backward", loss) || t.foreign(loss) || t.again() {
		return t.err
	}
	if loss.value.Len() != 1 {
		t.Fail(fmt.Errorf("autograd: backward from a value of shape %v: want a single value (Reset, then use BackwardWith for an upstream gradient)", loss.Shape()))
		return t.err
	}
	g := t.grad(loss)
	if g == nil {
		t.done = true
		return nil
	}
	g[0]++
	t.backward()
	return t.err
}

// BackwardWith is Backward from a Var y of any shape with the upstream
// gradient dy (∂loss/∂y, y's shape): it adds dy·∂y/∂v to the gradient of
// every Var v that y depends on. It returns the tape's error if an operation
// failed. A nil y or dy, or a dy whose shape is not y's (the error names
// both), is an error that BackwardWith records as the tape's, as an
// operation would; so is a second backward pass before Reset.
func (t *Tape[T]) BackwardWith(y *Var[T], dy *tensor.Tensor[T]) error {
	if t.skip("backward", y) || t.foreign(y) || t.again() {
		return t.err
	}
	if dy == nil {
		t.Fail(errors.New("autograd: backward with a nil gradient"))
		return t.err
	}
	if !tensor.SameShape(y.Shape(), dy.Shape()) {
		t.Fail(fmt.Errorf("autograd: backward from a value of shape %v with a gradient of shape %v", y.Shape(), dy.Shape()))
		return t.err
	}
	g := t.grad(y)
	if g == nil {
		t.done = true
		return nil
	}
	kernel.Axpy(1, dy.Data(), g)
	t.backward()
	return t.err
}

// errBackwardTwice is the error of a second backward pass before Reset.
var errBackwardTwice = errors.New("autograd: backward twice on one tape without Reset")

// again fails the tape if a backward pass has run since the last Reset (a
// second would add the gradients again, through buffers the first may have
// recycled), and reports whether it did.
func (t *Tape[T]) again() bool {
	if !t.done {
		return false
	}
	t.Fail(errBackwardTwice)
	return true
}

func (t *Tape[T]) backward() {
	t.done = true
	for i := len(t.nodes) - 1; i >= 0; i-- {
		n := &t.nodes[i]
		if n.out.grad == nil {
			continue // no gradient reached this node
		}
		t.bwd = i
		t.backwardNode(n)
	}
}

// newVar returns a Var from the tape's pool.
func (t *Tape[T]) newVar(value *tensor.Tensor[T], needGrad bool) *Var[T] {
	if t.nvar == len(t.vars) {
		t.vars = append(t.vars, new(Var[T]))
	}
	v := t.vars[t.nvar]
	t.nvar++
	*v = Var[T]{value: value, needGrad: needGrad, tape: t}
	return v
}

// foreign fails the tape, once, if v was made by another Tape: its buffers
// are that Tape's, recycled at its Reset, and no gradient would flow back
// through it. It reports whether it did.
func (t *Tape[T]) foreign(v *Var[T]) bool {
	if v == nil || v.tape == nil || v.tape == t {
		return false
	}
	t.Fail(errors.New("autograd: a Var made by another Tape: an operation's operands must be leaves (NewVar) or this Tape's"))
	return true
}

// skip reports whether an operation must do nothing and return t.dead:
// the tape has an error already, or x, an operand of the operation called
// name that may not be nil, is nil, which it records as the tape's error.
// Operands that may be nil (a bias, an initial state) are not checked.
// (result checks that no operand is foreign.) skip and skip2 are small
// enough to be inlined: an operation pays a comparison per operand.
func (t *Tape[T]) skip(name string, x *Var[T]) bool {
	if x == nil {
		return t.nilOperand(name, 1, 1)
	}
	return t.err != nil
}

// skip2 is skip for two operands.
func (t *Tape[T]) skip2(name string, a, b *Var[T]) bool {
	if a == nil || b == nil {
		return t.nilOperand2(name, a)
	}
	return t.err != nil
}

// nilOperand2 is nilOperand for skip2: a is the first operand.
func (t *Tape[T]) nilOperand2(name string, a *Var[T]) bool {
	if a == nil {
		return t.nilOperand(name, 1, 2)
	}
	return t.nilOperand(name, 2, 2)
}

// skipAll is skip for any number of operands.
func (t *Tape[T]) skipAll(name string, vs ...*Var[T]) bool {
	for i, v := range vs {
		if v == nil {
			return t.nilOperand(name, i+1, len(vs))
		}
	}
	return t.err != nil
}

// nilOperand records that operand i of n of the operation called name is
// nil, unless the tape has an error already, and returns true.
func (t *Tape[T]) nilOperand(name string, i, n int) bool {
	if n == 1 {
		t.Fail(fmt.Errorf("autograd: %s: nil operand", name))
	} else {
		t.Fail(fmt.Errorf("autograd: %s: operand %d of %d is nil", name, i, n))
	}
	return true
}

// result returns a new Var of the given shape for an operation's result,
// with contents to be overwritten, which needs a gradient if any of ins does.
func (t *Tape[T]) result(shape []int, ins ...*Var[T]) *Var[T] {
	need := false
	for _, v := range ins {
		if t.foreign(v) || t.noGrad {
			continue
		}
		need = need || (v != nil && v.needGrad)
	}
	return t.newVar(t.arena.Get(shape...), need)
}

// grad returns v's gradient buffer for a backward pass to add to, making a
// zeroed one if v has none yet (or clearing a discarded one), or nil if no
// gradient flows to v.
func (t *Tape[T]) grad(v *Var[T]) []T {
	if v == nil || !v.needGrad {
		return nil
	}
	if v.grad == nil {
		v.grad = t.arena.Zeros(v.value.Shape()...)
	}
	v.ZeroDiscardedGrad()
	return v.grad.Data()
}

// gradOut returns v's gradient buffer for a backward pass to write into,
// or nil if no gradient flows to v. When add is false the buffer is new, or
// a leaf's discarded one ([Var.DiscardGrad]), and its contents unspecified:
// the caller must set every element. When add is true it holds gradient
// already (v feeds several operations, or is a leaf, whose gradient
// accumulates over steps): the caller must add to it.
func (t *Tape[T]) gradOut(v *Var[T]) (g []T, add bool) {
	if v == nil || !v.needGrad {
		return nil, false
	}
	if v.grad == nil {
		v.grad = t.arena.Get(v.value.Shape()...)
		return v.grad.Data(), false
	}
	if v.discarded {
		v.discarded = false
		return v.grad.Data(), false
	}
	return v.grad.Data(), true
}

// beta returns the β of a matrix multiply that writes a gradient: 1 to add
// to it, 0 to overwrite it.
func beta[T tensor.Float](add bool) T {
	if add {
		return 1
	}
	return 0
}

// push records a node for an operation whose result out needs a gradient,
// and returns it for the operation to fill in what its backward needs. It
// returns nil (and records nothing) when out needs no gradient.
func (t *Tape[T]) push(op opKind, out, a, b, c *Var[T]) *node[T] {
	if !out.needGrad {
		return nil
	}
	if len(t.nodes) < cap(t.nodes) {
		t.nodes = t.nodes[:len(t.nodes)+1]
	} else {
		t.nodes = append(t.nodes, node[T]{})
	}
	n := &t.nodes[len(t.nodes)-1]
	ints, codes := n.ints[:0], n.codes[:0]
	*n = node[T]{op: op, out: out, a: a, b: b, c: c, ints: ints, codes: codes}
	return n
}
