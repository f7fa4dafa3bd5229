package autograd

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/descentml/descent/tensor"
)

// TestLinearPartsSameBits checks that a Linear layer's forward pass
// (linearPart) and backward pass (linearGradRows) give the same bits
// whether they run as one part on the caller or are cut into 2 or 3 parts
// (each part run here in turn, as the pool's workers would): where a layer
// runs never changes its results, so its placement is a matter of speed
// alone. Shapes: narrow (cut by rows, a classifier's output), wide (cut by
// units), odd sizes, with and without ReLU, gradients set and added to,
// NaN and Inf among the inputs.
func TestLinearPartsSameBits(t *testing.T) {
	t.Run("float32", testLinearPartsSameBits[float32])
	t.Run("float64", testLinearPartsSameBits[float64])
}

func testLinearPartsSameBits[T tensor.Float](t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	random := func(n int, special bool) []T {
		s := make([]T, n)
		for i := range s {
			v := rng.NormFloat64()
			if special && rng.IntN(50) == 0 {
				v = []float64{math.NaN(), math.Inf(1), math.Inf(-1), 0}[rng.IntN(4)]
			}
			s[i] = T(v)
		}
		return s
	}
	same := func(what string, a, b []T) {
		t.Helper()
		for i := range a {
			if math.Float64bits(float64(a[i])) != math.Float64bits(float64(b[i])) {
				t.Fatalf("%s [%d] = %v; on one part %v", what, i, b[i], a[i])
			}
		}
	}
	for _, s := range [][3]int{{128, 256, 10}, {131, 800, 10}, {16, 256, 10}, {1024, 256, 10}, {128, 256, 256}, {127, 33, 200}, {5, 7, 3}} {
		rows, in, outF := s[0], s[1], s[2]
		for _, relu := range []bool{false, true} {
			for _, add := range []bool{false, true} {
				special := add
				name := fmt.Sprintf("%dx%d→%d relu %v add %v", rows, in, outF, relu, add)
				x, w, b := random(rows*in, special), random(outF*in, special), random(outF, false)
				var y [4][]T
				for workers := 1; workers <= 3; workers++ {
					j := job[T]{kind: jobLinear, n: rows, p: in, ld: outF, x: x, b: w, beta: b, y: make([]T, rows*outF), relu: relu}
					for p := range workers {
						j.linearPart(p, workers)
					}
					y[workers] = j.y
					if workers > 1 {
						same(name+fmt.Sprintf(": output on %d parts", workers), y[1], y[workers])
					}
				}
				g := random(rows*outF, special)
				start := [3][]T{random(rows*in, false), random(outF*in, false), random(outF, false)}
				var grads [4][3][]T
				for workers := 1; workers <= 3; workers++ {
					j := job[T]{kind: jobLinearGrad, n: rows, p: in, ld: outF, x: g, b: w, y: x, add: add, addGamma: add, addBeta: add}
					j.z, j.gamma, j.beta = append([]T(nil), start[0]...), append([]T(nil), start[1]...), append([]T(nil), start[2]...)
					if relu {
						j.mask, j.tmp, j.dx = y[1], make([]T, rows*outF), make([]T, rows*outF)
					}
					for p := range workers {
						j.linearGradRows(p, workers)
					}
					grads[workers] = [3][]T{j.z, j.gamma, j.beta}
					if workers > 1 {
						for i, what := range []string{"input gradient", "weight gradient", "bias gradient"} {
							same(name+fmt.Sprintf(": %s on %d parts", what, workers), grads[1][i], grads[workers][i])
						}
					}
				}
			}
		}
	}
}
