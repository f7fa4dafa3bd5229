package tensor

// An Arena hands out tensors for one pass of a computation (one training
// step, say) and takes them all back at [Arena.Reset]. It remembers the
// buffers of the previous pass and hands them out again in the same order,
// so a loop that repeats the same computation allocates only during its
// first pass; a buffer too small for a later request is replaced by a larger
// one, so varying sizes (a short last batch) settle after one pass each.
//
// The tensors an Arena hands out are valid until the next Reset; after it,
// their storage is reused. The zero Arena is ready to use. An Arena is not
// safe for concurrent use.
type Arena[T Float] struct {
	bufs  [][]T        // data buffers, in the order of the last pass
	heads []*Tensor[T] // tensor headers, reused likewise
	nbuf  int          // buffers handed out in this pass
	nhead int          // headers handed out in this pass
}

// Get returns a tensor of the given shape whose contents are unspecified
// (left over from an earlier pass). Use it for results that are overwritten
// in full.
func (a *Arena[T]) Get(shape ...int) *Tensor[T] {
	n := Size(shape)
	if a.nbuf == len(a.bufs) {
		a.bufs = append(a.bufs, nil)
	}
	if cap(a.bufs[a.nbuf]) < n {
		a.bufs[a.nbuf] = make([]T, n)
	}
	data := a.bufs[a.nbuf][:n:n]
	a.nbuf++
	return a.header(data, shape)
}

// Zeros returns a tensor of the given shape filled with zeros.
func (a *Arena[T]) Zeros(shape ...int) *Tensor[T] {
	x := a.Get(shape...)
	clear(x.data)
	return x
}

// View returns a tensor of the given shape that uses data as its storage,
// like [FromSlice] but with a header from the arena. It panics if len(data)
// is not the product of the dimensions.
func (a *Arena[T]) View(data []T, shape ...int) *Tensor[T] {
	if len(data) != Size(shape) {
		panic("tensor: data length does not match shape")
	}
	return a.header(data, shape)
}

func (a *Arena[T]) header(data []T, shape []int) *Tensor[T] {
	if a.nhead == len(a.heads) {
		a.heads = append(a.heads, new(Tensor[T]))
	}
	h := a.heads[a.nhead]
	a.nhead++
	h.shape = append(h.shape[:0], shape...)
	h.data = data
	return h
}

// Reset takes back every tensor handed out since the last Reset.
func (a *Arena[T]) Reset() {
	a.nbuf, a.nhead = 0, 0
}
