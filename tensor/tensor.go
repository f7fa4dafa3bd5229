package tensor

import (
	"fmt"
	"strings"
)

// Float is the element type of a tensor: float32 or float64.
type Float interface {
	float32 | float64
}

// A Tensor is a dense n-dimensional array in row-major order: the element at
// index (i₀, i₁, …, iₖ) is Data()[((i₀·d₁ + i₁)·d₂ + …)·dₖ + iₖ] for shape
// (d₀, d₁, …, dₖ). A tensor of rank 0 (shape []) holds one value.
//
// A Tensor's shape never changes; its data may be shared with views
// ([Tensor.Reshape], [Tensor.Slice]), so writing through one is seen by the
// others.
type Tensor[T Float] struct {
	shape []int
	data  []T
}

// New returns a tensor of the given shape filled with zeros. It panics if a
// dimension is negative.
func New[T Float](shape ...int) *Tensor[T] {
	return &Tensor[T]{shape: cloneInts(shape), data: make([]T, Size(shape))}
}

// FromSlice returns a tensor of the given shape that uses data as its
// storage (without copying). It panics if len(data) is not the product of
// the dimensions.
func FromSlice[T Float](data []T, shape ...int) *Tensor[T] {
	if len(data) != Size(shape) {
		panic("tensor: data length does not match shape")
	}
	return &Tensor[T]{shape: cloneInts(shape), data: data}
}

// Scalar returns a tensor of rank 0 holding v.
func Scalar[T Float](v T) *Tensor[T] {
	return &Tensor[T]{shape: []int{}, data: []T{v}}
}

// Size returns the number of elements of a tensor of the given shape: the
// product of its dimensions, 1 for rank 0. It panics if a dimension is
// negative.
func Size(shape []int) int {
	n := 1
	for _, d := range shape {
		if d < 0 {
			panic("tensor: negative dimension")
		}
		n *= d
	}
	return n
}

// SameShape reports whether a and b are the same shape.
func SameShape(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// Shape returns the tensor's dimensions. The slice belongs to the tensor and
// must not be modified.
func (x *Tensor[T]) Shape() []int { return x.shape }

// Data returns the tensor's elements in row-major order. The slice is the
// tensor's storage: writing to it changes the tensor.
func (x *Tensor[T]) Data() []T { return x.data }

// Len returns the number of elements.
func (x *Tensor[T]) Len() int { return len(x.data) }

// Rank returns the number of dimensions.
func (x *Tensor[T]) Rank() int { return len(x.shape) }

// Dim returns the size of dimension i; a negative i counts from the end
// (Dim(-1) is the last dimension). It panics if i is out of range.
func (x *Tensor[T]) Dim(i int) int {
	if i < 0 {
		i += len(x.shape)
	}
	if i < 0 || i >= len(x.shape) {
		panic("tensor: dimension index out of range")
	}
	return x.shape[i]
}

// Item returns the value of a tensor that holds exactly one element. It
// panics otherwise.
func (x *Tensor[T]) Item() T {
	if len(x.data) != 1 {
		panic("tensor: Item of a tensor that does not hold exactly one element")
	}
	return x.data[0]
}

// At returns the element at the given index, one coordinate per dimension.
// It panics if the index does not fit the shape.
func (x *Tensor[T]) At(index ...int) T {
	return x.data[x.offset(index)]
}

// Set sets the element at the given index to v. It panics if the index does
// not fit the shape.
func (x *Tensor[T]) Set(v T, index ...int) {
	x.data[x.offset(index)] = v
}

func (x *Tensor[T]) offset(index []int) int {
	if len(index) != len(x.shape) {
		panic("tensor: index rank does not match tensor rank")
	}
	off := 0
	for i, d := range x.shape {
		if index[i] < 0 || index[i] >= d {
			panic("tensor: index out of range")
		}
		off = off*d + index[i]
	}
	return off
}

// Clone returns a copy of x that shares nothing with it.
func (x *Tensor[T]) Clone() *Tensor[T] {
	return &Tensor[T]{shape: cloneInts(x.shape), data: append([]T(nil), x.data...)}
}

// CopyFrom copies src's elements into x. It panics if the two do not hold
// the same number of elements; the shapes may differ.
func (x *Tensor[T]) CopyFrom(src *Tensor[T]) {
	if len(x.data) != len(src.data) {
		panic("tensor: CopyFrom between tensors of different sizes")
	}
	copy(x.data, src.data)
}

// Reshape returns a view of x with the given shape, sharing x's data. One
// dimension may be -1: it is inferred from the others. The shape must hold
// exactly as many elements as x.
func (x *Tensor[T]) Reshape(shape ...int) (*Tensor[T], error) {
	s, err := ReshapeShape(nil, x.shape, shape)
	if err != nil {
		return nil, err
	}
	return &Tensor[T]{shape: s, data: x.data}, nil
}

// ReshapeShape appends to dst the shape that Reshape(to...) gives a tensor
// of shape from, resolving a -1, and returns it; or an error naming both
// shapes if to does not hold exactly as many elements as from.
func ReshapeShape(dst, from, to []int) ([]int, error) {
	n := Size(from)
	known, infer := 1, -1
	for i, d := range to {
		switch {
		case d == -1 && infer < 0:
			infer = i
		case d < 0:
			return nil, reshapeError(from, to, fmt.Sprintf("invalid dimension %d", d))
		default:
			known *= d
		}
	}
	dst = append(dst[:0], to...)
	if infer >= 0 {
		if known == 0 || n%known != 0 {
			return nil, reshapeError(from, to, fmt.Sprintf("%d values cannot be split that way", n))
		}
		dst[infer] = n / known
		known = n
	}
	if known != n {
		return nil, reshapeError(from, to, fmt.Sprintf("%d values do not fill %d", n, known))
	}
	return dst, nil
}

// reshapeError formats copies of the shapes, so that passing a shape to
// ReshapeShape does not make it escape (a variadic shape stays on the
// caller's stack).
func reshapeError(from, to []int, why string) error {
	return fmt.Errorf("tensor: reshape %v to %v: %s", cloneInts(from), cloneInts(to), why)
}

// Slice returns a view of the rows from through to−1 of x along its first
// dimension (a batch of samples, for a tensor whose first dimension is the
// sample), sharing x's data. It panics if x has rank 0 or the bounds are
// out of range.
func (x *Tensor[T]) Slice(from, to int) *Tensor[T] {
	if len(x.shape) == 0 {
		panic("tensor: Slice of a rank-0 tensor")
	}
	if from < 0 || to < from || to > x.shape[0] {
		panic("tensor: slice bounds out of range")
	}
	row := 1
	for _, d := range x.shape[1:] {
		row *= d
	}
	shape := cloneInts(x.shape)
	shape[0] = to - from
	return &Tensor[T]{shape: shape, data: x.data[from*row : to*row : to*row]}
}

// String formats the tensor as its shape followed by its data, for example
// "[2 2] [1 2 3 4]". Long data is elided in the middle.
func (x *Tensor[T]) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%v [", x.shape)
	const head = 8
	for i, v := range x.data {
		if len(x.data) > 2*head && i == head {
			fmt.Fprintf(&b, " …(%d more)…", len(x.data)-2*head)
		}
		if len(x.data) > 2*head && i >= head && i < len(x.data)-head {
			continue
		}
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%g", v)
	}
	b.WriteByte(']')
	return b.String()
}

func cloneInts(s []int) []int {
	return append(make([]int, 0, len(s)), s...)
}
