package nn

import (
	"fmt"
	"strings"
	"unsafe"

	"github.com/descentml/descent/autograd"
	"github.com/descentml/descent/tensor"
)

// A Module is a layer or a model: a differentiable function of its input
// with named parameters and buffers.
//
// Forward records the module's computation on the tape and returns its
// output. A problem with the input that data can cause (the wrong width or
// image size) is a returned error that names the module and both shapes;
// it is also recorded on the tape (see [autograd.Tape.Fail]), so a later
// Backward fails too.
//
// Params lists the trainable parameters and Buffers the state that is saved
// with the model but not trained (BatchNorm's running statistics), both in a
// fixed order under PyTorch's names. Modules build these lists once; the
// returned slices must not be modified, and calling them allocates nothing.
//
// A model of your own is any type with these methods, and a [ModeSetter]
// if a layer it holds has a mode. One that holds layers should also be a
// [Container], listing them, as [Sequential] is: code that looks for
// layers of one kind inside a model finds them only that way.
type Module[T tensor.Float] interface {
	Forward(t *autograd.Tape[T], x *autograd.Var[T]) (*autograd.Var[T], error)
	Params() []Param[T]
	Buffers() []Buffer[T]
}

// A Param is a trainable parameter as an optimizer sees it: a name, a shape
// and the value and gradient slices, which are allocated once when the
// module is made and never reallocated (zeroing the gradient clears it in
// place; discarding it, [DiscardGrads], leaves it as it is). An optimizer
// updates Value in place from Grad. Var is the same parameter as a leaf of
// the autograd graph, for losses over parameters such as [loss.L2], and
// holds Grad as its gradient.
//
// [loss.L2]: https://pkg.go.dev/github.com/descentml/descent/loss#L2
type Param[T tensor.Float] struct {
	Name  string // PyTorch's name: "weight", or "0.weight" inside a Sequential
	Shape []int
	Value []T
	Grad  []T
	Var   *autograd.Var[T]
}

// A Buffer is module state that is saved with the model but not trained,
// such as BatchNorm's running mean. Exactly one of Value and Int is set:
// Value for floating-point buffers, Int for integer ones (PyTorch's int64
// num_batches_tracked, shape []). Both alias the module's own storage.
type Buffer[T tensor.Float] struct {
	Name  string
	Shape []int
	Value []T
	Int   []int64
}

// Mode says whether a model is training or evaluating. It changes what
// BatchNorm and Dropout do; other layers ignore it. The zero Mode is Train,
// as a new PyTorch module is in training mode.
type Mode uint8

const (
	// Train: BatchNorm normalizes with the batch's statistics and updates
	// its running ones; Dropout drops.
	Train Mode = iota
	// Eval: BatchNorm normalizes with its running statistics; Dropout passes
	// its input through.
	Eval
)

// String returns "train" or "eval".
func (m Mode) String() string {
	if m == Eval {
		return "eval"
	}
	return "train"
}

// A ModeSetter is a module whose behaviour depends on the [Mode]. Containers
// such as [Sequential] pass SetMode on to the modules they hold.
type ModeSetter interface {
	SetMode(Mode)
}

// A Container is a module made of other modules, its layers, as
// [Sequential] is. Layers returns them in order, each layer once; a layer
// may be a Container too. The returned slice must not be modified.
//
// A model of your own that holds layers (a struct with a Linear layer, a
// BatchNorm and another Linear layer, say) should implement Container:
// Params, Buffers and SetMode say nothing of which layer holds what, and
// code that needs the layers of one kind inside a model reaches them
// through Layers alone. Package train does, to recompute batch
// normalization's running statistics at an evaluation point
// (Schedule-Free's x, an average of the weights); it refuses such a run
// for a model whose buffers hold batch-norm statistics that no Layers
// reaches.
type Container[T tensor.Float] interface {
	Module[T]
	Layers() []Module[T]
}

// ZeroGrad sets every parameter's gradient to zero, in place.
func ZeroGrad[T tensor.Float](params []Param[T]) {
	for _, p := range params {
		clear(p.Grad)
	}
}

// DiscardGrads is ZeroGrad without the pass over the gradients: it marks
// each parameter's gradient as zero (autograd.Var.DiscardGrad, PyTorch's
// zero_grad(set_to_none=True) keeping the buffer), and the next backward
// pass overwrites it rather than adding to it; later passes add, so
// gradients still accumulate over micro-batches. A Param without a Var is
// zeroed. Grad holds stale values until then: after the backward pass, call
// [ZeroDiscardedGrads] before reading Grad.
func DiscardGrads[T tensor.Float](params []Param[T]) {
	for _, p := range params {
		if p.Var != nil {
			p.Var.DiscardGrad()
		} else {
			clear(p.Grad)
		}
	}
}

// ZeroDiscardedGrads zeroes the gradients that DiscardGrads discarded and
// no backward pass has written since: those of the parameters the loss did
// not depend on (usually none, and then it writes nothing), or all of them
// when no backward pass ran. Call it after the backward pass, before
// anything reads Grad (an optimizer, clipping, an all-reduce).
func ZeroDiscardedGrads[T tensor.Float](params []Param[T]) {
	for _, p := range params {
		if p.Var != nil {
			p.Var.ZeroDiscardedGrad()
		}
	}
}

// newParam wraps value as a parameter named name, with a gradient buffer.
// A parameter of slabAt elements or more gets its value (a copy of value)
// and its gradient from one allocation, the gradient starting half a page
// past a page boundary from the value's start: separately allocated large
// slices start at the same offset within a page, where an optimizer
// walking both in step keeps evicting one's cache lines for the other's
// (the optimizer places its state between them).
func newParam[T tensor.Float](name string, value *tensor.Tensor[T]) Param[T] {
	var v *autograd.Var[T]
	if n := value.Len(); n >= slabAt {
		slab := make([]T, 2*n+paramGap[T](n))
		g := len(slab) - n
		copy(slab, value.Data())
		val := tensor.FromSlice(slab[:n:n], value.Shape()...)
		v = autograd.NewVarWithGrad(val, tensor.FromSlice(slab[g:], value.Shape()...))
	} else {
		v = autograd.NewVar(value, true)
	}
	return Param[T]{Name: name, Shape: v.Shape(), Value: v.Value().Data(), Grad: v.Grad().Data(), Var: v}
}

// slabAt is the least number of elements of a parameter whose value and
// gradient share an allocation; smaller ones stay compact.
const slabAt = 1 << 16

// paramGap returns the elements between the end of a value of n elements
// and the start of its gradient that put the gradient half a 4 KiB page
// (plus whole pages) after the value.
func paramGap[T tensor.Float](n int) int {
	const page = 4096
	size := int(unsafe.Sizeof(T(0)))
	return ((page/2-n*size)%page + page) % page / size
}

// fail records err on the tape and returns it, for a module's Forward.
func fail[T tensor.Float](t *autograd.Tape[T], err error) (*autograd.Var[T], error) {
	return t.Fail(err), err
}

// Sequential is a model that applies its layers in order, as PyTorch's
// nn.Sequential: the output of each is the input of the next. Its
// parameters and buffers are its layers', named with the layer's index as a
// prefix ("0.weight", "1.running_mean"), so that they match a PyTorch
// nn.Sequential of the same layers.
type Sequential[T tensor.Float] struct {
	layers  []Module[T]
	params  []Param[T]
	buffers []Buffer[T]
	mode    Mode
}

var (
	_ Container[float32] = (*Sequential[float32])(nil)
	_ ModeSetter         = (*Sequential[float32])(nil)
)

// NewSequential returns a model that applies layers in order, in training
// mode. It lists the layers' parameters and buffers once, here.
func NewSequential[T tensor.Float](layers ...Module[T]) *Sequential[T] {
	s := &Sequential[T]{layers: layers}
	for i, l := range layers {
		for _, p := range l.Params() {
			p.Name = fmt.Sprintf("%d.%s", i, p.Name)
			s.params = append(s.params, p)
		}
		for _, b := range l.Buffers() {
			b.Name = fmt.Sprintf("%d.%s", i, b.Name)
			s.buffers = append(s.buffers, b)
		}
	}
	return s
}

// Forward applies the layers in order; a block of layers that has a fused
// operation with the same results (forwardFused) runs as one. An error
// names the index of the layer that failed.
func (s *Sequential[T]) Forward(t *autograd.Tape[T], x *autograd.Var[T]) (*autograd.Var[T], error) {
	for i := 0; i < len(s.layers); i++ {
		var err error
		if y, n, err := forwardFused(t, s.layers[i:], x); n > 0 {
			if err != nil {
				return y, fmt.Errorf("%w (layers %d–%d)", err, i, i+n-1)
			}
			x, i = y, i+n-1
			continue
		}
		if x, err = s.layers[i].Forward(t, x); err != nil {
			return x, fmt.Errorf("%w (layer %d)", err, i)
		}
	}
	return x, nil
}

// Params returns the layers' parameters in order, named "index.name".
func (s *Sequential[T]) Params() []Param[T] { return s.params }

// Buffers returns the layers' buffers in order, named "index.name".
func (s *Sequential[T]) Buffers() []Buffer[T] { return s.buffers }

// Layers returns the layers, in order ([Container]).
func (s *Sequential[T]) Layers() []Module[T] { return s.layers }

// Mode returns the model's mode.
func (s *Sequential[T]) Mode() Mode { return s.mode }

// SetMode sets the mode of the model and of every layer that has one.
func (s *Sequential[T]) SetMode(m Mode) {
	s.mode = m
	for _, l := range s.layers {
		if ms, ok := l.(ModeSetter); ok {
			ms.SetMode(m)
		}
	}
}

// String lists the layers, one per line, with their indices.
func (s *Sequential[T]) String() string {
	var b strings.Builder
	b.WriteString("Sequential(\n")
	for i, l := range s.layers {
		fmt.Fprintf(&b, "  (%d): %v\n", i, l)
	}
	b.WriteString(")")
	return b.String()
}
