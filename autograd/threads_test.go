package autograd

import (
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"

	"github.com/descentml/descent/tensor"
)

// TestResultsIndependentOfThreads runs a forward and backward pass of a
// CNN large enough for every operation to spread its work over the pool
// (convolutions, max-pooling with even and odd sides, batch norms, ReLU,
// linear layers, cross-entropy), with 1 and with 3 threads, and checks that
// the loss and every gradient are the same bit for bit.
func TestResultsIndependentOfThreads(t *testing.T) {
	defer tensor.SetThreads(0)
	rng := rand.New(rand.NewPCG(3, 4))
	param := func(shape ...int) *Var[float32] {
		x := tensor.New[float32](shape...)
		for i := range x.Data() {
			x.Data()[i] = float32(rng.NormFloat64() * 0.3)
		}
		return NewVar(x, true)
	}
	const batch = 64
	x := param(batch, 1, 28, 28)
	w1, b1 := param(8, 1, 3, 3), param(8)
	w2, b2 := param(16, 8, 3, 3), param(16)
	g2, s2 := param(16), param(16)
	w3, b3 := param(32, 16*6*6), param(32)
	g3, s3 := param(32), param(32)
	w4, b4 := param(10, 32), param(10)
	leaves := []*Var[float32]{x, w1, b1, w2, b2, g2, s2, w3, b3, g3, s3, w4, b4}
	labels := make([]int, batch)
	for i := range labels {
		labels[i] = rng.IntN(10)
	}
	run := func(threads int, discard bool) (float32, [][]float32) {
		tensor.SetThreads(threads)
		resetGrads(leaves, discard)
		tape := NewTape[float32]()
		pool := func(h *Var[float32]) *Var[float32] { return tape.MaxPool2D(h, [2]int{2, 2}, [2]int{2, 2}, [2]int{}) }
		h := pool(tape.ReLU(tape.Conv2D(x, w1, b1, [2]int{1, 1}, [2]int{1, 1})))                    // [64 8 14 14]
		h = tape.Conv2D(h, w2, b2, [2]int{1, 1}, [2]int{0, 0})                                      // [64 16 12 12]
		h = pool(tape.ReLU(tape.BatchNorm(h, g2, s2, 1e-5, nil, nil)))                              // [64 16 6 6]
		h = tape.ReLU(tape.BatchNorm(tape.Linear(tape.Flatten(h), w3, b3), g3, s3, 1e-5, nil, nil)) // [64 32]
		loss := tape.CrossEntropy(tape.Linear(h, w4, b4), labels)
		if err := tape.Backward(loss); err != nil {
			t.Fatal(err)
		}
		var grads [][]float32
		for _, v := range leaves {
			grads = append(grads, append([]float32(nil), v.Grad().Data()...))
		}
		return loss.Value().Item(), grads
	}
	l1, g1 := run(1, false)
	for _, threads := range []int{3, 2, 1} {
		l, g := run(threads, true)
		if math.Float32bits(l) != math.Float32bits(l1) {
			t.Errorf("loss with %d threads = %v; with 1 thread %v", threads, l, l1)
		}
		for i := range g {
			for j := range g[i] {
				if !sameGrad(g[i][j], g1[i][j]) {
					t.Fatalf("gradient %d [%d] with %d threads, discarded before = %v; with 1 thread, zeroed before %v", i, j, threads, g[i][j], g1[i][j])
				}
			}
		}
	}
}

// resetGrads readies the leaves' gradients for a pass: zeroed (ZeroGrad),
// or discarded (DiscardGrad) over buffers of NaN, which the pass must then
// overwrite entirely, as it does in a training loop's second step.
func resetGrads[T tensor.Float](leaves []*Var[T], discard bool) {
	for _, v := range leaves {
		if !discard {
			v.ZeroGrad()
			continue
		}
		g := v.grad.Data()
		for i := range g {
			g[i] = T(math.NaN())
		}
		v.DiscardGrad()
	}
}

// sameGrad reports whether a gradient element computed over a discarded
// gradient equals the one computed over zeros: the same bits, but for the
// sign of a zero (an overwrite keeps −0 where 0 + (−0) gave +0), which ==
// ignores; NaN, what a discarded buffer held, equals nothing.
func sameGrad[T tensor.Float](got, want T) bool { return got == want }

// TestNormIndependentOfThreads checks that LayerNorm and RMSNorm, spread
// over the pool by rows and their parameters' gradients by blocks of rows,
// give the same bits whatever the number of threads.
func TestNormIndependentOfThreads(t *testing.T) {
	defer tensor.SetThreads(0)
	rng := rand.New(rand.NewPCG(5, 6))
	fill := func(shape ...int) *tensor.Tensor[float32] {
		x := tensor.New[float32](shape...)
		for i := range x.Data() {
			x.Data()[i] = float32(rng.NormFloat64()*0.5 + 0.1)
		}
		return x
	}
	const rows, d = 1000, 130 // more than spreadAt elements; rows not a multiple of lnParts, d of a vector
	x, w, b, g := NewVar(fill(rows, d), true), NewVar(fill(d), true), NewVar(fill(d), true), fill(rows, d)
	for _, rms := range []bool{false, true} {
		run := func(threads int, discard bool) [][]float32 {
			tensor.SetThreads(threads)
			resetGrads([]*Var[float32]{x, w, b}, discard)
			tape := NewTape[float32]()
			var y *Var[float32]
			if rms {
				y = tape.RMSNorm(x, w, 1e-5)
			} else {
				y = tape.LayerNorm(x, w, b, 1e-5)
			}
			// Twice, so that the gradients are added to as well as written.
			y = tape.Add(y, tape.LayerNorm(y, w, b, 1e-5))
			if err := tape.BackwardWith(y, g); err != nil {
				t.Fatal(err)
			}
			return [][]float32{slices.Clone(y.Value().Data()), slices.Clone(x.Grad().Data()), slices.Clone(w.Grad().Data()), slices.Clone(b.Grad().Data())}
		}
		want := run(1, false)
		for _, threads := range []int{2, 3, 1} {
			got := run(threads, true)
			for i := range got {
				for k := range got[i] {
					if !sameGrad(got[i][k], want[i][k]) {
						t.Fatalf("rms %v: output/gradient %d [%d] with %d threads, discarded before = %v; with 1 thread, zeroed before %v", rms, i, k, threads, got[i][k], want[i][k])
					}
				}
			}
		}
	}
}

// TestMLPIndependentOfThreads runs a forward and backward pass of an MLP
// whose layers are cut into bands of rows (kernel.Band) for the workers,
// with a batch that no number of workers divides evenly, with and without
// batch norm, and checks that the loss and every gradient are the same bit
// for bit with 1, 2 and 3 threads.
func TestMLPIndependentOfThreads(t *testing.T) {
	defer tensor.SetThreads(0)
	rng := rand.New(rand.NewPCG(7, 8))
	param := func(shape ...int) *Var[float32] {
		x := tensor.New[float32](shape...)
		for i := range x.Data() {
			x.Data()[i] = float32(rng.NormFloat64() * 0.3)
		}
		return NewVar(x, true)
	}
	const batch, in, hidden = 131, 100, 263 // hidden activations above bandAt
	x := param(batch, in)
	w1, b1 := param(hidden, in), param(hidden)
	g1, s1 := param(hidden), param(hidden)
	w2, b2 := param(hidden, hidden), param(hidden)
	w3, b3 := param(10, hidden), param(10)
	leaves := []*Var[float32]{x, w1, b1, g1, s1, w2, b2, w3, b3}
	labels := make([]int, batch)
	for i := range labels {
		labels[i] = rng.IntN(10)
	}
	// Spread uses at most GOMAXPROCS workers: allow 3.
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(max(3, runtime.GOMAXPROCS(0))))
	for _, bn := range []bool{false, true} {
		run := func(threads int, discard bool) (float32, [][]float32) {
			tensor.SetThreads(threads)
			resetGrads(leaves, discard)
			tape := NewTape[float32]()
			h := tape.Linear(x, w1, b1)
			if bn {
				h = tape.BatchNorm(h, g1, s1, 1e-5, nil, nil)
			}
			h = tape.ReLU(tape.Linear(tape.ReLU(h), w2, b2))
			loss := tape.CrossEntropy(tape.Linear(h, w3, b3), labels)
			if err := tape.Backward(loss); err != nil {
				t.Fatal(err)
			}
			var grads [][]float32
			for _, v := range leaves {
				grads = append(grads, slices.Clone(v.Grad().Data()))
			}
			return loss.Value().Item(), grads
		}
		l1, want := run(1, false)
		for _, threads := range []int{2, 3, 1} {
			l, got := run(threads, true)
			if math.Float32bits(l) != math.Float32bits(l1) {
				t.Errorf("bn %v: loss with %d threads = %v; with 1 thread %v", bn, threads, l, l1)
			}
			for i := range got {
				for k := range got[i] {
					if !sameGrad(got[i][k], want[i][k]) {
						t.Fatalf("bn %v: gradient %d [%d] with %d threads, discarded before = %v; with 1 thread, zeroed before %v", bn, i, k, threads, got[i][k], want[i][k])
					}
				}
			}
		}
	}
}
