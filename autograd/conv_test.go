package autograd

import (
	"math/rand/v2"
	"testing"

	"github.com/descentml/descent/tensor"
)

// TestConv2DFrozenFilters checks that a convolution whose filters and bias
// need no gradient still gives its input's gradient over a batch of several
// chunks, equal bit for bit to the one it gives when they do: the chunks'
// tasks then have no partial sums of ∂W and ∂b to write.
func TestConv2DFrozenFilters(t *testing.T) {
	const batch = 12 // two chunks and a part for 1→8 channels of 28×28
	rng := rand.New(rand.NewPCG(5, 6))
	random := func(shape ...int) *tensor.Tensor[float32] {
		x := tensor.New[float32](shape...)
		for i := range x.Data() {
			x.Data()[i] = float32(rng.NormFloat64())
		}
		return x
	}
	xv, wv, bv := random(batch, 1, 28, 28), random(8, 1, 3, 3), random(8)
	if chunk := convChunkImages(9, 8, 26*26); batch <= 2*chunk {
		t.Fatalf("batch %d fits in two chunks of %d; want more", batch, chunk)
	}
	inputGrad := func(frozen bool) []float32 {
		x, w, b := NewVar(xv, true), NewVar(wv, !frozen), NewVar(bv, !frozen)
		tape := NewTape[float32]()
		y := tape.Conv2D(x, w, b, [2]int{1, 1}, [2]int{0, 0})
		if err := tape.Backward(tape.Sum(tape.Square(y))); err != nil {
			t.Fatal(err)
		}
		return x.Grad().Data()
	}
	want, got := inputGrad(false), inputGrad(true)
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("∂x[%d] with frozen filters = %v; want %v", i, got[i], want[i])
		}
	}
}

// TestConv2DEmptyBatch checks that a convolution of no images gives zero
// gradients to filters and a bias that are results of other operations,
// whose gradient buffers the tape reuses from an earlier step.
func TestConv2DEmptyBatch(t *testing.T) {
	w, b := NewVar(tensor.New[float32](4, 2, 3, 3), true), NewVar(tensor.New[float32](4), true)
	for i := range w.Value().Data() {
		w.Value().Data()[i] = 1
	}
	tape := NewTape[float32]()
	for _, batch := range []int{3, 0} { // the first step leaves nonzero gradients in the buffers
		clear(w.Grad().Data())
		clear(b.Grad().Data())
		x := tensor.New[float32](batch, 2, 5, 5)
		for i := range x.Data() {
			x.Data()[i] = 1
		}
		y := tape.Conv2D(tape.Const(x), tape.Square(w), tape.Square(b), [2]int{1, 1}, [2]int{0, 0})
		if err := tape.Backward(tape.Sum(y)); err != nil {
			t.Fatal(err)
		}
		tape.Reset()
	}
	for i, g := range append(append([]float32(nil), w.Grad().Data()...), b.Grad().Data()...) {
		if g != 0 {
			t.Fatalf("gradient %d of the filters and bias over an empty batch = %v; want 0", i, g)
		}
	}
}
