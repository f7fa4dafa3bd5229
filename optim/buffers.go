package optim

import (
	"fmt"
	"io"
	"strconv"

	"github.com/nlpodyssey/safetensors"
)

// This file writes and reads one buffer per parameter, by name, as the
// weight average (Averager) and the gradient accumulation (Accumulator)
// keep them in a checkpoint.

// named returns params with each unnamed parameter named by its index,
// and an error if two share a name: names key the saved buffers.
func named[T Float](params []Param[T]) ([]Param[T], error) {
	ps := append([]Param[T](nil), params...)
	names := map[string]bool{}
	for i := range ps {
		p := &ps[i]
		if p.Name == "" {
			p.Name = strconv.Itoa(i)
		}
		if names[p.Name] {
			return nil, fmt.Errorf("optim: two parameters are named %q: names key the saved buffers and must be unique", p.Name)
		}
		names[p.Name] = true
	}
	return ps, nil
}

// saveBuffers writes bufs[i], shaped as params[i] and named by it, as a
// safetensors file with meta; what names it in errors.
func saveBuffers[T Float](w io.Writer, params []Param[T], bufs [][]T, meta map[string]string, what string) error {
	views := make(map[string]tensorView[T], len(params))
	for i, p := range params {
		views[p.Name] = tensorView[T]{data: bufs[i], shape: p.Shape}
	}
	meta["dtype"] = dtypeOf[T]().String()
	if err := safetensors.SerializeToWriter(views, meta, w); err != nil {
		return fmt.Errorf("optim: saving %s: %w", what, err)
	}
	return nil
}

// checkBuffers checks that st holds one tensor for each of params, by
// name, of its shape and of type T, and nothing else; what names st in
// errors.
func checkBuffers[T Float](st safetensors.SafeTensors, params []Param[T], what string) error {
	if len(st.Names()) != len(params) {
		return fmt.Errorf("optim: %s has %d tensors, for %d parameters", what, len(st.Names()), len(params))
	}
	for _, p := range params {
		tv, ok := st.Tensor(p.Name)
		if !ok {
			return fmt.Errorf("optim: %s has no tensor %q", what, p.Name)
		}
		if tv.DType() != dtypeOf[T]() || !sameShape(tv.Shape(), p.Shape) {
			return fmt.Errorf("optim: %s: tensor %q is %v %v, want %v %v", what, p.Name, tv.DType(), tv.Shape(), dtypeOf[T](), p.Shape)
		}
	}
	return nil
}

// loadBuffers copies the tensors of st, checked by checkBuffers, into
// bufs.
func loadBuffers[T Float](st safetensors.SafeTensors, params []Param[T], bufs [][]T) {
	for i, p := range params {
		tv, _ := st.Tensor(p.Name)
		setFromLittleEndian(bufs[i], tv.Data())
	}
}
