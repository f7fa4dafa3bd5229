package autograd

import "github.com/descentml/descent/tensor"

// A Var is a tensor in a computation that gradients flow through: its value
// and, once [Tape.Backward] has reached it, its gradient (the derivative of
// the loss with respect to each element, the same shape as the value).
//
// Vars come in two kinds. Leaves made by [NewVar] belong to the caller: a
// model's parameters, or an input whose gradient is wanted. Their gradient
// buffer is allocated once, when the Var is made, and gradients accumulate
// in it over every Backward until [Var.ZeroGrad] clears it in place. Every
// other Var (the results of a Tape's operations, and inputs from
// [Tape.Const]) belongs to its Tape and is valid until [Tape.Reset], which
// recycles its buffers for the next step.
type Var[T tensor.Float] struct {
	value    *tensor.Tensor[T]
	grad     *tensor.Tensor[T]
	needGrad bool // a gradient flows to this Var
	leaf     bool // made by NewVar: owned by the caller, grad persistent
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
func (v *Var[T]) Grad() *tensor.Tensor[T] { return v.grad }

// Shape returns the shape of the Var's value; it must not be modified.
func (v *Var[T]) Shape() []int { return v.value.Shape() }

// RequiresGrad reports whether a gradient flows to the Var: it is a leaf
// made with requiresGrad, or the result of an operation on such a Var.
func (v *Var[T]) RequiresGrad() bool { return v.needGrad }

// ZeroGrad sets the Var's gradient to zero, in place: the buffer is kept.
func (v *Var[T]) ZeroGrad() {
	if v.grad != nil {
		clear(v.grad.Data())
	}
}
