package kernel

import (
	"math/rand/v2"
	"testing"
)

// TestRunsOfOne checks, on every level, what synchronised batch norm's
// loops over an input [N, C] rely on (autograd's syncBatchNorm): that Sum,
// SumSquaredDiff and DotDiff over a run of one element are the element's
// own term, rounded once to float64, so that the loops give the bits of
// the calls they replace.
func TestRunsOfOne(t *testing.T) {
	forEachLevel(t, func(t *testing.T) {
		forEachType(t, testRunsOfOne[float32], testRunsOfOne[float64])
	})
}

func testRunsOfOne[T Float](t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for range 10000 {
		x, y := T(rng.NormFloat64()*3), T(rng.NormFloat64())
		mu := float64(T(rng.NormFloat64()))
		if got, want := Sum([]T{x}), float64(x); got != want {
			t.Fatalf("Sum(%v) = %v; want %v", x, got, want)
		}
		d := float64(x) - mu
		if got, want := SumSquaredDiff([]T{x}, mu), float64(d*d); got != want {
			t.Fatalf("SumSquaredDiff(%v, %v) = %v; want %v", x, mu, got, want)
		}
		if got, want := DotDiff([]T{x}, []T{y}, mu), float64((float64(x)-mu)*float64(y)); got != want {
			t.Fatalf("DotDiff(%v, %v, %v) = %v; want %v", x, y, mu, got, want)
		}
	}
}
