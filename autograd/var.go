package autograd

import "github.com/descentml/descent/tensor"

// A Var is a tensor in a computation that gradients flow through: its value
// and, once [Tape.Backward] has reached it, its gradient (the derivative of
// the loss with respect to each element, the same shape as the value).
//
// Vars come in two kinds. Leaves made by [NewVar] belong to the caller: a
// model's parameters, or an input whose gradient is wanted. Their gradient
// buffer is allocated once, when the Var is made, and gradients accumulate
// in it over every Backward until [Var.ZeroGrad] clears it in place (or
// [Var.DiscardGrad] marks it as zero without clearing it). Every other Var
// (the results of a Tape's operations, and inputs from [Tape.Const])
// belongs to its Tape and is valid until [Tape.Reset], which recycles its
// buffers, and the Var itself, for the next step: a Var kept past Reset
// is another Var of the next step. Given to another Tape's operation, it
// is that Tape's error.
type Var[T tensor.Float] struct {
	value    *tensor.Tensor[T]
	grad     *tensor.Tensor[T]
	needGrad bool // a gradient flows to this Var
	leaf     bool // made by NewVar: owned by the caller, grad persistent
	// discarded: DiscardGrad was called and no backward operation has
	// written grad since; its contents are stale and count as zero.
	discarded bool
	tape      *Tape[T] // the Tape that made it; nil for a leaf
}

// NewVar returns a leaf Var holding value (not a copy). With requiresGrad,
// it gets a gradient buffer of value's shape, zeroed, that Backward
// accumulates into; a model's parameters are made this way. Without it, no
// gradient is computed for it (an input or a constant).
func NewVar[T tensor.Float](value *tensor.Tensor[T], requiresGrad bool) *Var[T] {
	v := &Var[T]{value: value, needGrad: requiresGrad, leaf: true}
	if requiresGrad {
		v.grad = tensor.New[T](value.Shape()...)
	}
	return v
}

// NewVarWithGrad returns a leaf Var holding value whose gradient accumulates
// in grad, as NewVar with requiresGrad does in a buffer of its own: for
// callers that allocate a parameter's value and gradient together. grad
// must have value's shape and hold zeros. Neither is copied.
func NewVarWithGrad[T tensor.Float](value, grad *tensor.Tensor[T]) *Var[T] {
	if !tensor.SameShape(value.Shape(), grad.Shape()) {
		panic("autograd: gradient shape does not match value shape")
	}
	return &Var[T]{value: value, grad: grad, needGrad: true, leaf: true}
}

// Value returns the Var's value.
func (v *Var[T]) Value() *tensor.Tensor[T] { return v.value }

// Grad returns the Var's gradient, or nil if none has been computed: for a
// Var that does not require a gradient, or one that Backward did not reach.
// A gradient discarded by [Var.DiscardGrad] and not written since is
// cleared first, so that it reads as the zero it stands for.
func (v *Var[T]) Grad() *tensor.Tensor[T] {
	v.ZeroDiscardedGrad()
	return v.grad
}

// Shape returns the shape of the Var's value; it must not be modified.
func (v *Var[T]) Shape() []int { return v.value.Shape() }

// RequiresGrad reports whether a gradient flows to the Var: it is a leaf
// made with requiresGrad, or the result of an operation on such a Var.
func (v *Var[T]) RequiresGrad() bool { return v.needGrad }

// ZeroGrad sets the Var's gradient to zero, in place: the buffer is kept.
func (v *Var[T]) ZeroGrad() {
	v.discarded = false
	if v.grad != nil {
		clear(v.grad.Data())
	}
}

// DiscardGrad makes the Var's gradient zero without writing it, as
// PyTorch's zero_grad(set_to_none=True) but keeping the buffer: the
// contents are left as they are, stale, and count as zero. The first
// backward operation to write the gradient afterwards overwrites it instead
// of adding to it (a weight's gradient is a product with β = 0, an
// elementwise one a copy), which saves the pass of ZeroGrad that writes
// zeros and the backward pass's read of them; later writes, in the same
// Backward or later ones, add as usual, so gradients still accumulate over
// micro-batches. A training loop calls it where it would call ZeroGrad,
// after the optimizer's step.
//
// A gradient that no backward operation wrote since, because the loss did
// not depend on the Var, is still stale: [Var.Grad] and
// [Var.ZeroDiscardedGrad] clear it. Code that reads the buffer by other
// means (an optimizer holding its slice) must call ZeroDiscardedGrad after
// the backward pass, before reading.
//
// Overwriting differs from adding to zero in one bit only: a gradient
// element that is −0 stays −0, where 0 + (−0) gave +0. PyTorch's
// set_to_none has the same effect.
func (v *Var[T]) DiscardGrad() {
	v.discarded = v.grad != nil
}

// GradDiscarded reports whether the Var's gradient is discarded
// ([Var.DiscardGrad]) and no backward operation has written it since: its
// buffer holds stale values that count as zero.
func (v *Var[T]) GradDiscarded() bool { return v.discarded }

// ZeroDiscardedGrad clears the Var's gradient if it is discarded
// ([Var.DiscardGrad]) and unwritten since, so that its buffer holds the
// zero it stands for; otherwise it does nothing. Call it after a backward
// pass on every parameter whose gradient is read through its buffer.
func (v *Var[T]) ZeroDiscardedGrad() {
	if v.discarded {
		v.discarded = false
		clear(v.grad.Data())
	}
}
