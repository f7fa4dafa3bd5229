package loss_test

import (
	"fmt"
	"log"

	"github.com/descentml/descent/autograd"
	"github.com/descentml/descent/loss"
	"github.com/descentml/descent/tensor"
)

// Cross-entropy from logits, plus an L2 penalty on the logits' source, and
// the gradient that flows back.
func ExampleCrossEntropy() {
	w := autograd.NewVar(tensor.FromSlice([]float64{2, 0, 0, 1, -1, 0.5}, 2, 3), true)
	tape := autograd.NewTape[float64]()

	ce, err := loss.CrossEntropy(tape, w, []int{0, 2}) // w as the logits of two samples
	if err != nil {
		log.Fatal(err)
	}
	l2, err := loss.L2(tape, 0.01, w)
	if err != nil {
		log.Fatal(err)
	}
	total := tape.Add(ce, l2)
	if err := tape.Backward(total); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("cross-entropy %.4f, penalty %.4f\n", ce.Value().Item(), l2.Value().Item())
	fmt.Printf("gradient %.4f\n", w.Grad().Data())

	// A label outside the classes is an error, not a panic.
	_, err = loss.CrossEntropy(autograd.NewTape[float64](), w, []int{0, 3})
	fmt.Println(err)
	// Output:
	// cross-entropy 0.6473, penalty 0.0625
	// gradient [-0.0665 0.0533 0.0533 0.3070 0.0188 -0.3159]
	// autograd: cross-entropy: label 3 at index 1 is out of range [0, 3) for logits [2 3]
}
