package train

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/descentml/descent/tensor"
)

// argmaxCorrect is countCorrect as it was, the reference: the prediction of
// a row is the first index of its largest logit by >, so that a NaN never
// becomes the prediction and a NaN first entry stays it.
func argmaxCorrect[T tensor.Float](logits *tensor.Tensor[T], labels []int, kind Loss) int {
	out := logits.Data()
	classes := len(out) / len(labels)
	correct := 0
	for i, y := range labels {
		row := out[i*classes : (i+1)*classes]
		pred := 0
		if kind == BinaryCrossEntropy {
			if row[0] > 0 {
				pred = 1
			}
		} else {
			for j, v := range row {
				if v > row[pred] {
					pred = j
				}
			}
		}
		if pred == y {
			correct++
		}
	}
	return correct
}

// TestCountCorrect checks countCorrect against argmaxCorrect on rows of
// random and special values (ties, ±0, ±Inf, NaN anywhere, the first
// entry NaN), with labels at every class and out of range, for both losses.
func TestCountCorrect(t *testing.T) {
	testCountCorrect[float32](t)
	testCountCorrect[float64](t)
}

func testCountCorrect[T tensor.Float](t *testing.T) {
	specials := []T{0, T(math.Copysign(0, -1)), 1, -1, 2, T(math.Inf(1)), T(math.Inf(-1)), T(math.NaN())}
	rng := rand.New(rand.NewPCG(5, 6))
	for _, c := range []int{1, 2, 3, 10, 17} {
		const n = 4000
		x := tensor.New[T](n, c)
		for i := range x.Data() {
			if rng.IntN(3) == 0 {
				x.Data()[i] = T(rng.NormFloat64())
			} else {
				x.Data()[i] = specials[rng.IntN(len(specials))]
			}
		}
		labels := make([]int, n)
		for i := range labels {
			labels[i] = rng.IntN(c+2) - 1 // −1 and c out of range
		}
		for _, kind := range []Loss{CrossEntropy, BinaryCrossEntropy} {
			for i := range n { // each row alone, then all
				row := tensor.FromSlice(x.Data()[i*c:(i+1)*c], 1, c)
				if got, want := countCorrect(row, labels[i:i+1], kind), argmaxCorrect(row, labels[i:i+1], kind); got != want {
					t.Fatalf("countCorrect(%v, [%d], %d) = %d; want %d", row.Data(), labels[i], kind, got, want)
				}
			}
			if got, want := countCorrect(x, labels, kind), argmaxCorrect(x, labels, kind); got != want {
				t.Errorf("countCorrect(%T %dx%d, %d) = %d; want %d", T(0), n, c, kind, got, want)
			}
		}
	}
}

// BenchmarkCountCorrect times countCorrect against argmaxCorrect on the
// logits of the MLP step and of a language model's.
func BenchmarkCountCorrect(b *testing.B) {
	for _, s := range [][2]int{{128, 10}, {4096, 63}} {
		n, c := s[0], s[1]
		rng := rand.New(rand.NewPCG(1, 2))
		x := tensor.New[float32](n, c)
		for i := range x.Data() {
			x.Data()[i] = float32(rng.NormFloat64())
		}
		labels := make([]int, n)
		for i := range labels {
			labels[i] = rng.IntN(c)
		}
		b.Run(fmt.Sprintf("%dx%d/argmax", n, c), func(b *testing.B) {
			for range b.N {
				argmaxCorrect(x, labels, CrossEntropy)
			}
		})
		b.Run(fmt.Sprintf("%dx%d", n, c), func(b *testing.B) {
			for range b.N {
				countCorrect(x, labels, CrossEntropy)
			}
		})
	}
}
