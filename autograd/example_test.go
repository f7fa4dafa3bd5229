package autograd_test

import (
	"fmt"

	"github.com/descentml/descent/autograd"
	"github.com/descentml/descent/tensor"
)

// A loss that package loss does not have, built from the Tape's
// operations: the mean absolute error, whose gradient is sign(p − y)/n
// (0 where the prediction is exact, as PyTorch's L1 loss).
func Example_meanAbsoluteError() {
	pred := autograd.NewVar(tensor.FromSlice([]float64{2.5, 0, 2, 8}, 4), true)
	target := tensor.FromSlice([]float64{3, -0.5, 2, 7}, 4)

	tape := autograd.NewTape[float64]()
	loss := tape.Mean(tape.Abs(tape.Sub(pred, tape.Const(target))))
	if err := tape.Backward(loss); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("loss", loss.Value().Item())
	fmt.Println("∂loss/∂pred", pred.Grad().Data())
	// Output:
	// loss 0.5
	// ∂loss/∂pred [-0.25 0.25 0 0.25]
}

// Features from two sources joined along the last dimension, then summed
// over it: only the operand that needs a gradient gets one.
func ExampleTape_Concat() {
	a := autograd.NewVar(tensor.FromSlice([]float64{1, 2, 3, 4}, 2, 2), true)
	b := tensor.FromSlice([]float64{10, 20}, 2, 1) // a constant input

	tape := autograd.NewTape[float64]()
	h := tape.Concat(-1, a, tape.Const(b)) // [2, 3]
	s := tape.SumDim(h, -1)                // [2]
	if err := tape.Backward(tape.SumSquares(s)); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("h", h.Shape(), h.Value().Data())
	fmt.Println("s", s.Shape(), s.Value().Data())
	fmt.Println("∂/∂a", a.Grad().Data()) // 2·s of each row
	// Output:
	// h [2 3] [1 2 10 3 4 20]
	// s [2] [13 27]
	// ∂/∂a [26 26 54 54]
}
