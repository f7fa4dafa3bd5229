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
