package autograd

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"
	"unsafe"

	"github.com/descentml/descent/internal/kernel"
	"github.com/descentml/descent/tensor"
)

// BenchmarkCrossEntropy measures the cross-entropy of logits [N, 10], the
// MNIST classifier's, and [4096, 63], the KJV character model's (batches of
// 32 windows of 128), forward and backward. In the "bands" cases the pool
// writes the logits by bands of rows before each step and reads their
// gradient by bands after it, as a Linear output layer cut by rows does,
// so that each core holds its rows' lines as in a training step.
func BenchmarkCrossEntropy(b *testing.B) {
	for _, shape := range [][2]int{{16, 10}, {128, 10}, {256, 10}, {512, 10}, {1024, 10}, {4096, 63}} {
		rows, c := shape[0], shape[1]
		b.Run(fmt.Sprintf("f32/%dx%d", rows, c), func(b *testing.B) { benchCrossEntropy[float32](b, rows, c, false) })
		b.Run(fmt.Sprintf("f64/%dx%d", rows, c), func(b *testing.B) { benchCrossEntropy[float64](b, rows, c, false) })
		b.Run(fmt.Sprintf("bands/f32/%dx%d", rows, c), func(b *testing.B) { benchCrossEntropy[float32](b, rows, c, true) })
	}
}

func benchCrossEntropy[T tensor.Float](b *testing.B, rows, c int, bands bool) {
	rng := rand.New(rand.NewPCG(1, 2))
	x := tensor.New[T](rows, c)
	for i := range x.Data() {
		x.Data()[i] = T(rng.NormFloat64() * 3)
	}
	labels := make([]int, rows)
	for i := range labels {
		labels[i] = rng.IntN(c)
	}
	logits := NewVar(x, true)
	tape := NewTape[T]()
	src := slices.Clone(x.Data())
	var sink T
	write := func(w, workers int) { // the output layer's forward
		lo, hi := kernel.Band(rows, w, workers)
		copy(x.Data()[lo*c:hi*c], src[lo*c:hi*c])
	}
	read := func(w, workers int) { // its backward
		lo, hi := kernel.Band(rows, w, workers)
		if s := T(kernel.Sum(logits.Grad().Data()[lo*c : hi*c])); w == 0 {
			sink += s
		}
	}
	b.SetBytes(int64(rows * c * int(unsafe.Sizeof(T(0)))))
	b.ReportAllocs()
	for b.Loop() {
		if bands {
			kernel.Spread(write)
		}
		l := tape.CrossEntropy(logits, labels)
		if err := tape.Backward(l); err != nil {
			b.Fatal(err)
		}
		if bands {
			kernel.Spread(read)
		}
		tape.Reset()
	}
	_ = sink
}

// crossEntropyRef is the cross-entropy as it was computed before
// kernel.SoftmaxRowsStats, one row at a time: the mean loss, the
// probabilities (ignored rows zero) and their count.
func crossEntropyRef[T tensor.Float](x []T, c int, labels []int, skip bool, ignore int) (loss T, probs []T, count int) {
	probs = make([]T, len(x))
	var sum float64
	for i, l := range labels {
		if skip && l == ignore {
			continue
		}
		count++
		row, p := x[i*c:(i+1)*c], probs[i*c:(i+1)*c]
		m, s := kernel.SoftmaxRow(row, p)
		sum += m + math.Log(s) - float64(row[l])
	}
	return T(sum / float64(count)), probs, count
}

// crossEntropyGradRef is the backward pass as it was, row by row, for a
// loss gradient of 1: gx set, or added to when add.
func crossEntropyGradRef[T tensor.Float](probs []T, c int, labels []int, skip bool, ignore, count int, gx []T, add bool) {
	g := 1 / T(count)
	for i, l := range labels {
		row, pr := gx[i*c:(i+1)*c], probs[i*c:(i+1)*c]
		switch {
		case skip && l == ignore:
			if !add {
				clear(row)
			}
			continue
		case add:
			kernel.Axpy(g, pr, row)
		default:
			kernel.Affine(g, 0, pr, row)
		}
		row[l] -= g
	}
}

// TestCrossEntropySameBits checks that the cross-entropy, computed by
// blocks of rows (kernel.SoftmaxRowsStats, one Affine or Axpy for each run
// of rows not ignored), gives the bits of the row-by-row computation it
// replaced: the loss, and the logits' gradient set (a new buffer, and one
// discarded over NaN) and added to, with
// and without ignored rows (runs of them, and all of them), with logits
// holding NaN, ±Inf and −0, on 1, 2 and 3 threads: the shapes include ones
// that spreadRows cuts into bands of rows, and rows long enough that the
// probabilities not saved take blocks of fewer rows than ceBlock.
func TestCrossEntropySameBits(t *testing.T) {
	t.Run("float32", testCrossEntropySameBits[float32])
	t.Run("float64", testCrossEntropySameBits[float64])
}

func testCrossEntropySameBits[T tensor.Float](t *testing.T) {
	defer tensor.SetThreads(0)
	// Spread uses at most GOMAXPROCS workers: allow 3.
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(max(3, runtime.GOMAXPROCS(0))))
	rng := rand.New(rand.NewPCG(7, 8))
	same := func(a, b T) bool { // the same bits, NaN payloads included (float32 widens exactly)
		return math.Float64bits(float64(a)) == math.Float64bits(float64(b))
	}
	const ignore = -100
	for _, threads := range []int{1, 2, 3} {
		tensor.SetThreads(threads)
		for _, shape := range [][2]int{{1, 10}, {7, 3}, {64, 10}, {65, 10}, {128, 10}, {300, 33}, {5, 1}, {1000, 40}, {50, 3000}} {
			rows, c := shape[0], shape[1]
			for variant := range 4 { // plain, specials, ignored rows, all ignored
				x := tensor.New[T](rows, c)
				for i := range x.Data() {
					v := rng.NormFloat64() * 4
					if variant == 1 && rng.IntN(12) == 0 {
						v = []float64{math.NaN(), math.Inf(1), math.Inf(-1), math.Copysign(0, -1), 1e30}[rng.IntN(5)]
					}
					x.Data()[i] = T(v)
				}
				labels := make([]int, rows)
				skip := variant >= 2
				for i := range labels {
					labels[i] = rng.IntN(c)
					if variant == 3 || (variant == 2 && (rng.IntN(3) == 0 || i%70 < 3)) {
						labels[i] = ignore
					}
				}
				name := fmt.Sprintf("threads %d %dx%d variant %d", threads, rows, c, variant)
				wantLoss, probs, count := crossEntropyRef(x.Data(), c, labels, skip, ignore)
				want := make([]T, rows*c)
				for i := range want {
					want[i] = T(rng.NormFloat64()) // overwritten by the set pass
				}
				logits := NewVar(x, true)
				tape := NewTape[T]()
				for pass, mode := range []string{"new", "add", "discarded"} {
					add := mode == "add"
					crossEntropyGradRef(probs, c, labels, skip, ignore, count, want, add)
					if mode == "discarded" { // over NaN, overwritten
						resetGrads([]*Var[T]{logits}, true)
					}
					var l *Var[T]
					if skip {
						l = tape.CrossEntropyIgnore(logits, labels, ignore)
					} else {
						l = tape.CrossEntropy(logits, labels)
					}
					if got := l.Value().Item(); !same(got, wantLoss) {
						t.Fatalf("%s: loss %v; row by row %v", name, got, wantLoss)
					}
					if err := tape.Backward(l); err != nil {
						t.Fatal(err)
					}
					for i, g := range logits.Grad().Data() {
						if !same(g, want[i]) {
							t.Fatalf("%s pass %d (%s): gradient [%d] = %v; row by row %v", name, pass, mode, i, g, want[i])
						}
					}
					tape.Reset()
				}
				// no gradient wanted: the probabilities go to scratch
				l := tape.CrossEntropyIgnore(tape.Const(x), labels, ignore)
				if got := l.Value().Item(); !same(got, wantLoss) {
					t.Fatalf("%s: loss without gradient %v; row by row %v", name, got, wantLoss)
				}
				tape.Reset()
			}
		}
	}
}
