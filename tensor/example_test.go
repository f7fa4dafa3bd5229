package tensor_test

import (
	"fmt"

	"github.com/descentml/descent/tensor"
)

// A batch of two examples of three features times a 3×2 weight matrix:
// the forward pass of a linear layer.
func Example() {
	x := tensor.FromSlice([]float64{
		1, 2, 3,
		4, 5, 6,
	}, 2, 3)
	w := tensor.FromSlice([]float64{
		1, 0,
		0, 1,
		1, 1,
	}, 3, 2)
	y, err := tensor.MatMul(x, w)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(y.Shape(), y.Data())
	fmt.Println(y.At(1, 0))

	// Shapes come from data, so a mismatch is an error, not a panic.
	_, err = tensor.MatMul(w, w)
	fmt.Println(err)
	// Output:
	// [2 2] [4 5 10 11]
	// 10
	// tensor: matmul [3 2] × [3 2]: inner dimensions 2 and 3 differ
}

// Reshape and Slice return views that share the tensor's data: writing
// through one shows in the other.
func ExampleTensor_Reshape() {
	x := tensor.New[float32](2, 3)
	flat, err := x.Reshape(6)
	if err != nil {
		fmt.Println(err)
		return
	}
	flat.Set(7, 4)
	fmt.Println(x.At(1, 1))
	fmt.Println(x.Slice(1, 2).Data()) // the second row, a batch of one

	_, err = x.Reshape(4, 2)
	fmt.Println(err)
	// Output:
	// 7
	// [0 7 0]
	// tensor: reshape [2 3] to [4 2]: 6 values do not fill 8
}

// The shape two operands broadcast to, by NumPy's rules: a bias of one
// row added to a batch.
func ExampleBroadcast() {
	shape, err := tensor.Broadcast(nil, "add", []int{32, 10}, []int{10})
	fmt.Println(shape, err)
	_, err = tensor.Broadcast(nil, "add", []int{32, 10}, []int{32})
	fmt.Println(err)
	// Output:
	// [32 10] <nil>
	// tensor: add [32 10] and [32]: dimensions 10 and 32 do not broadcast
}

// An Arena hands out the same buffers on every pass of a loop that repeats
// one computation, so only the first pass allocates.
func ExampleArena() {
	var a tensor.Arena[float64]
	var first *float64
	for step := range 3 {
		a.Reset() // takes back everything the last pass got
		h := a.Zeros(4, 8)
		if step == 0 {
			first = &h.Data()[0]
		}
		fmt.Println(step, &h.Data()[0] == first)
	}
	// Output:
	// 0 true
	// 1 true
	// 2 true
}
