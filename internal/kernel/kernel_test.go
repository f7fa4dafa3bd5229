package kernel

import (
	"math"
	"math/rand/v2"
	"sync/atomic"
	"testing"
)

func TestParallelCoversEveryIndexOnce(t *testing.T) {
	for _, threads := range []int{1, 2, 5} {
		SetThreads(threads)
		for _, n := range []int{0, 1, 2, 7, 1000} {
			hits := make([]atomic.Int32, n)
			var bad atomic.Bool
			Parallel(n, func(w, i int) {
				if w < 0 || w >= threads {
					bad.Store(true)
				}
				hits[i].Add(1)
			})
			for i := range hits {
				if h := hits[i].Load(); h != 1 {
					t.Fatalf("threads=%d n=%d: index %d ran %d times; want 1", threads, n, i, h)
				}
			}
			if bad.Load() {
				t.Fatalf("threads=%d n=%d: worker index out of range", threads, n)
			}
		}
	}
	SetThreads(0)
}

func TestGemmMatchesDefinition(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, tc := range []struct{ m, n, k int }{{1, 1, 1}, {3, 5, 7}, {17, 4, 9}, {0, 3, 2}, {4, 3, 0}} {
		for _, ta := range []bool{false, true} {
			for _, tb := range []bool{false, true} {
				lda, ldb := tc.k+1, tc.n+2
				if ta {
					lda = tc.m + 1
				}
				if tb {
					ldb = tc.k + 2
				}
				a := randSlice(rng, max(tc.m, tc.k)*lda)
				b := randSlice(rng, max(tc.k, tc.n)*ldb)
				c := randSlice(rng, tc.m*(tc.n+3))
				want := append([]float64(nil), c...)
				alpha, beta := 0.5, -1.5
				for i := 0; i < tc.m; i++ {
					for j := 0; j < tc.n; j++ {
						var s float64
						for p := 0; p < tc.k; p++ {
							av, bv := a[i*lda+p], b[p*ldb+j]
							if ta {
								av = a[p*lda+i]
							}
							if tb {
								bv = b[j*ldb+p]
							}
							s += av * bv
						}
						want[i*(tc.n+3)+j] = alpha*s + beta*want[i*(tc.n+3)+j]
					}
				}
				Gemm(ta, tb, tc.m, tc.n, tc.k, alpha, a, lda, b, ldb, beta, c, tc.n+3)
				for i := range c {
					if math.Abs(c[i]-want[i]) > 1e-12*(1+math.Abs(want[i])) {
						t.Fatalf("Gemm(%v,%v,%+v)[%d] = %v; want %v", ta, tb, tc, i, c[i], want[i])
					}
				}
			}
		}
	}
}

// TestCol2imIsAdjoint checks ⟨Im2col(x), y⟩ = ⟨x, Col2im(y)⟩.
func TestCol2imIsAdjoint(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, s := range []ConvShape{
		{C: 2, H: 5, W: 4, KH: 3, KW: 3, SH: 1, SW: 1, PH: 1, PW: 1},
		{C: 1, H: 7, W: 6, KH: 2, KW: 3, SH: 2, SW: 3, PH: 0, PW: 2},
	} {
		oh, ow := s.Out()
		x := randSlice(rng, s.C*s.H*s.W)
		y := randSlice(rng, s.C*s.KH*s.KW*oh*ow)
		cols := make([]float64, len(y))
		Im2col(s, x, cols)
		back := make([]float64, len(x))
		Col2im(s, y, back)
		var l, r float64
		for i := range y {
			l += cols[i] * y[i]
		}
		for i := range x {
			r += x[i] * back[i]
		}
		if math.Abs(l-r) > 1e-10*(1+math.Abs(l)) {
			t.Errorf("%+v: <im2col x, y> = %v; <x, col2im y> = %v", s, l, r)
		}
	}
}

func randSlice(rng *rand.Rand, n int) []float64 {
	s := make([]float64, n)
	for i := range s {
		s[i] = rng.NormFloat64()
	}
	return s
}
