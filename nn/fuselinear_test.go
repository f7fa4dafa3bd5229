package nn

import (
	"math"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/descentml/descent/autograd"
	"github.com/descentml/descent/tensor"
)

// TestSequentialLinearReLUMatchesLayers checks that an MLP whose Linear
// and ReLU layers run fused (Sequential.Forward) gives the loss and
// gradients of autograd's Linear and ReLU one after another, bit for bit,
// with 1, 2 and 3 threads.
func TestSequentialLinearReLUMatchesLayers(t *testing.T) {
	defer tensor.SetThreads(0)
	// Spread uses at most GOMAXPROCS workers: allow 3.
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(max(3, runtime.GOMAXPROCS(0))))
	rng := rand.New(rand.NewPCG(15, 16))
	l1, l2, l3 := NewLinear[float32](50, 300, rng), NewLinear[float32](300, 200, rng), NewLinear[float32](200, 10, rng)
	m := NewSequential(l1, NewReLU[float32](), l2, NewReLU[float32](), l3)
	const batch = 129
	x := tensor.New[float32](batch, 50)
	for i := range x.Data() {
		x.Data()[i] = float32(rng.NormFloat64())
	}
	labels := make([]int, batch)
	for i := range labels {
		labels[i] = rng.IntN(10)
	}
	run := func(threads int, fused bool) [][]float32 {
		tensor.SetThreads(threads)
		ZeroGrad(m.Params())
		tape := autograd.NewTape[float32]()
		y := tape.Const(x)
		if fused {
			var err error
			if y, err = m.Forward(tape, y); err != nil {
				t.Fatal(err)
			}
		} else {
			for _, l := range []*Linear[float32]{l1, l2} {
				y = tape.ReLU(tape.Linear(y, l.Weight(), l.Bias()))
			}
			y = tape.Linear(y, l3.Weight(), l3.Bias())
		}
		loss := tape.CrossEntropy(y, labels)
		if err := tape.Backward(loss); err != nil {
			t.Fatal(err)
		}
		out := [][]float32{{loss.Value().Item()}}
		for _, p := range m.Params() {
			out = append(out, append([]float32(nil), p.Var.Grad().Data()...))
		}
		return out
	}
	want := run(1, false)
	for _, threads := range []int{1, 2, 3} {
		got := run(threads, true)
		for i := range want {
			for j := range want[i] {
				if math.Float32bits(got[i][j]) != math.Float32bits(want[i][j]) {
					t.Fatalf("fused MLP with %d threads: result %d [%d] = %v; layers %v", threads, i, j, got[i][j], want[i][j])
				}
			}
		}
	}
}
