package kernel

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"
	"unsafe"
)

type gemmShape struct{ m, n, k int }

// gemmShapes covers the edges of the blocked multiply: rows around the tile
// heights (6 and 12), columns around the vector and panel widths (4, 8, 16,
// 32), k around the unrolling (4), the lanes of the packing (16) and the
// blocks of k (256), tall and skinny products and empty ones.
var gemmShapes = []gemmShape{
	{1, 1, 1}, {1, 1, 0}, {0, 3, 2}, {4, 0, 3}, {4, 3, 0}, {3, 5, 7}, {2, 3, 1},
	{5, 7, 2}, {6, 8, 3}, {7, 9, 4}, {11, 15, 5}, {12, 16, 16}, {13, 17, 17},
	{24, 31, 15}, {25, 32, 33}, {37, 33, 64}, {12, 48, 65}, {6, 64, 100}, {1, 65, 9},
	{49, 1, 31}, {100, 3, 257}, {3, 100, 300}, {1, 200, 513}, {200, 2, 2},
	{130, 70, 600}, {61, 47, 256}, {19, 29, 1000},
}

// TestGemm checks the matrix multiply of every level against its definition
// (summed in float64) on every shape in gemmShapes and on random ones, for
// all four transpositions, leading dimensions longer than a row, slices that
// start at any alignment, alpha and beta in {0, 1, other} (beta = 0 with NaN
// in C), and guard bands: no element of C's slice outside the m×n matrix may
// change. The tolerance is the bound on rounding errors of any order of
// summation, 2(k+2)·u·(|alpha|·Σₚ|a||b| + |beta·c|), with u the unit
// roundoff of the element type.
func TestGemm(t *testing.T) {
	forEachType(t, testGemm[float32], testGemm[float64])
}

func testGemm[T Float](t *testing.T) {
	forEachLevel(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(11, 12))
		shapes := append([]gemmShape(nil), gemmShapes...)
		for range 40 {
			shapes = append(shapes, gemmShape{1 + rng.IntN(70), 1 + rng.IntN(70), rng.IntN(300)})
		}
		for i, s := range shapes {
			for _, ta := range []bool{false, true} {
				for _, tb := range []bool{false, true} {
					for _, ab := range [][2]float64{{1, 0}, {1, 1}, {-0.7, 0.3}, {0, 0.5}, {2, 0}} {
						pad := rng.IntN(3) * rng.IntN(9) // often 0
						checkGemmCase[T](t, rng, s, ta, tb, T(ab[0]), T(ab[1]), pad, (i+pad)%16)
					}
				}
			}
		}
	})
}

// checkGemmCase runs one product with row strides pad longer than needed,
// slices starting off elements into their buffers.
func checkGemmCase[T Float](t *testing.T, rng *rand.Rand, s gemmShape, ta, tb bool, alpha, beta T, pad, off int) {
	t.Helper()
	m, n, k := s.m, s.n, s.k
	ar, ac := stored(ta, m, k)
	br, bc := stored(tb, k, n)
	lda, ldb, ldc := max(ac, 1)+pad, max(bc, 1)+pad, max(n, 1)+pad
	a := newGuarded[T](need(ar, ac, lda), off)
	b := newGuarded[T](need(br, bc, ldb), (off+5)%16)
	c := newGuarded[T](need(m, n, ldc), (off+9)%16)
	fill(rng, a.s, false, false)
	fill(rng, b.s, false, false)
	for i := range c.s {
		c.s[i] = sentinel[T]()
	}
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			if beta == 0 {
				c.s[i*ldc+j] = T(math.NaN())
			} else {
				c.s[i*ldc+j] = T(rng.NormFloat64())
			}
		}
	}
	c0 := append([]T(nil), c.s...)
	opA := func(i, p int) float64 {
		if ta {
			return float64(a.s[p*lda+i])
		}
		return float64(a.s[i*lda+p])
	}
	opB := func(p, j int) float64 {
		if tb {
			return float64(b.s[j*ldb+p])
		}
		return float64(b.s[p*ldb+j])
	}
	Gemm(ta, tb, m, n, k, alpha, a.s, lda, b.s, ldb, beta, c.s, ldc)
	name := fmt.Sprintf("Gemm(%v, %v, m=%d, n=%d, k=%d, alpha=%v, beta=%v, pad %d, offset %d)", ta, tb, m, n, k, alpha, beta, pad, off)
	c.check(t, name)
	u := 0x1p-53
	if unsafe.Sizeof(alpha) == 4 {
		u = 0x1p-24
	}
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var sum, mag float64
			for p := 0; p < k; p++ {
				sum += opA(i, p) * opB(p, j)
				mag += math.Abs(opA(i, p) * opB(p, j))
			}
			want := float64(alpha) * sum
			bound := math.Abs(float64(alpha)) * mag
			if beta != 0 {
				want += float64(beta) * float64(c0[i*ldc+j])
				bound += math.Abs(float64(beta) * float64(c0[i*ldc+j]))
			}
			got := float64(c.s[i*ldc+j])
			if !(math.Abs(got-want) <= 2*float64(k+2)*u*bound) {
				t.Fatalf("%s[%d][%d] = %v; want %v", name, i, j, got, want)
			}
		}
	}
	// Between rows, past the n columns, C must be untouched.
	for i := 0; i < m; i++ {
		for j := n; j < ldc && i*ldc+j < len(c.s); j++ {
			if bits(c.s[i*ldc+j]) != bits(c0[i*ldc+j]) {
				t.Fatalf("%s wrote C[%d][%d], beyond the %d columns", name, i, j, n)
			}
		}
	}
}

// TestGemmLarge runs products big enough to be spread over the cores and
// blocked in k, on one thread and on several.
func TestGemmLarge(t *testing.T) {
	if testing.Short() {
		t.Skip("slow")
	}
	defer SetThreads(0)
	for _, threads := range []int{1, 3} {
		SetThreads(threads)
		forEachType(t, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(13, 14))
			for _, s := range []gemmShape{{128, 256, 784}, {300, 129, 530}, {70, 500, 300}} {
				for _, ta := range []bool{false, true} {
					for _, tb := range []bool{false, true} {
						checkGemmCase[float32](t, rng, s, ta, tb, 1, 0.5, 3, 1)
					}
				}
			}
		}, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(13, 14))
			checkGemmCase[float64](t, rng, gemmShape{257, 190, 600}, true, false, -1, 0, 0, 3)
			checkGemmCase[float64](t, rng, gemmShape{90, 333, 257}, false, true, 1, 1, 1, 0)
		})
	}
}

// TestGemmNestedAndConcurrent runs products inside Parallel tasks and from
// several goroutines at once; each must equal the same product run alone.
func TestGemmNestedAndConcurrent(t *testing.T) {
	defer SetThreads(0)
	SetThreads(2)
	const m, n, k = 64, 96, 200 // big enough to be split when run alone
	rng := rand.New(rand.NewPCG(15, 16))
	a, b := make([]float32, m*k), make([]float32, k*n)
	fill(rng, a, false, false)
	fill(rng, b, false, false)
	want := make([]float32, m*n)
	Gemm(false, false, m, n, k, 1, a, k, b, n, 0, want, n)
	check := func(c []float32, how string) {
		for i := range c {
			if c[i] != want[i] {
				t.Errorf("%s: C[%d] = %v; want %v", how, i, c[i], want[i])
				return
			}
		}
	}
	out := make([][]float32, 4)
	Parallel(len(out), func(_, i int) {
		out[i] = make([]float32, m*n)
		Gemm(false, false, m, n, k, 1, a, k, b, n, 0, out[i], n)
	})
	for i := range out {
		check(out[i], fmt.Sprintf("Gemm in Parallel task %d", i))
	}
	var wg sync.WaitGroup
	for i := range out {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 20 {
				Gemm(false, false, m, n, k, 1, a, k, b, n, 0, out[i], n)
			}
		}()
	}
	wg.Wait()
	for i := range out {
		check(out[i], fmt.Sprintf("Gemm in goroutine %d", i))
	}
}

// TestGemmDoesNotAllocate checks that after warm-up a product allocates
// nothing, on one core and on several, even after garbage collections.
func TestGemmDoesNotAllocate(t *testing.T) {
	defer SetThreads(0)
	a, b, c := make([]float32, 128*784), make([]float32, 784*256), make([]float32, 128*256)
	for _, threads := range []int{1, 2} {
		SetThreads(threads)
		f := func() { Gemm(false, true, 128, 256, 784, 1, a, 784, b, 784, 0, c, 256) }
		f()
		runtime.GC() // the buffers must survive collections
		runtime.GC()
		if allocs := testing.AllocsPerRun(20, f); allocs != 0 {
			t.Errorf("threads=%d: Gemm allocates %v times a call; want 0", threads, allocs)
		}
	}
}

// TestPackRoundTrip checks the packing of B against its definition, for
// panels of every width, including guard bands around the packed panel.
func TestPackRoundTrip(t *testing.T) {
	forEachType(t, testPack[float32], testPack[float64])
}

func testPack[E float32 | float64](t *testing.T) {
	forEachLevel(t, func(t *testing.T) {
		p, lanes := gemmTable[E]().pack, gemmTable[E]().lanes
		if p[0][0] == nil {
			t.Skip("no packing at this level")
		}
		rng := rand.New(rand.NewPCG(17, 18))
		for trans := range 2 {
			for nv := 1; nv <= 2; nv++ {
				w := nv * lanes
				for _, k := range []int{1, 2, 3, 4, 5, 15, 16, 17, 33, 100} {
					for n := 1; n <= w; n++ {
						lds := max(n, k) + rng.IntN(3)
						src := newGuarded[E](max(n, k)*lds, rng.IntN(16))
						fill(rng, src.s, false, false)
						rows := (k + lanes - 1) / lanes * lanes
						dst := newGuarded[E](rows*w, 0)
						p[trans][nv-1](&dst.s[0], &src.s[0], lds, k, n)
						dst.check(t, "pack")
						for q := 0; q < k; q++ {
							for j := 0; j < w; j++ {
								var want E
								if j < n && trans == 1 {
									want = src.s[j*lds+q]
								} else if j < n {
									want = src.s[q*lds+j]
								}
								if got := dst.s[q*w+j]; got != want {
									t.Fatalf("pack(trans=%d, w=%d, k=%d, n=%d)[%d][%d] = %v; want %v", trans, w, k, n, q, j, got, want)
								}
							}
						}
					}
				}
			}
		}
	})
}

// TestGemmClaim checks the micro-kernels' claim of their tiles of C (on
// several threads, beta 0, k of claimSteps and more: zeros written over the
// tile before the products) on every level, with guard bands around C,
// on two threads whatever the machine's cores, and on one, where nothing
// is claimed; beta −0 is a beta of 0.
func TestGemmClaim(t *testing.T) {
	prev := Threads()
	defer SetThreads(prev)
	shapes := []gemmShape{{1, 1, 32}, {12, 32, 32}, {13, 33, 64}, {25, 17, 257}, {40, 70, 300}}
	betas := []float64{0, math.Copysign(0, -1), 1}
	for _, threads := range []int{2, 1} {
		SetThreads(threads)
		forEachLevel(t, func(t *testing.T) {
			forEachType(t, func(t *testing.T) {
				rng := rand.New(rand.NewPCG(13, 14))
				for _, s := range shapes {
					for _, ta := range []bool{false, true} {
						for _, beta := range betas {
							checkGemmCase[float32](t, rng, s, ta, false, 1, float32(beta), 3, 5)
						}
					}
				}
			}, func(t *testing.T) {
				rng := rand.New(rand.NewPCG(15, 16))
				for _, s := range shapes {
					for _, ta := range []bool{false, true} {
						for _, tb := range []bool{false, true} {
							for _, beta := range betas {
								checkGemmCase[float64](t, rng, s, ta, tb, 1, beta, 2, 3)
							}
						}
					}
				}
			})
		})
	}
}
