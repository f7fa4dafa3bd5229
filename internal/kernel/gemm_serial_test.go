package kernel

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"unsafe"
)

// TestGemmSerialMatchesGemm checks that GemmSerial gives Gemm's results bit
// for bit, on products narrow and wide, with and without transposes and a
// beta, and leaves the elements around C alone.
func TestGemmSerialMatchesGemm(t *testing.T) {
	forEachLevel(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(41, 42))
		for _, c := range []struct{ m, n, k int }{{144, 32, 242}, {32, 242, 144}, {7, 5, 3}, {30, 70, 600}, {1, 1, 1}} {
			for _, tr := range [][2]bool{{false, false}, {false, true}, {true, false}, {true, true}} {
				name := fmt.Sprintf("%+v%v", c, tr)
				ar, ac := stored(tr[0], c.m, c.k)
				br, bc := stored(tr[1], c.k, c.n)
				a, b := make([]float32, ar*ac), make([]float32, br*bc)
				fill(rng, a, false, false)
				fill(rng, b, false, false)
				got := newGuarded[float32](c.m*(c.n+1), 1)
				fill(rng, got.s, false, false)
				want := append([]float32(nil), got.s...)
				GemmSerial(tr[0], tr[1], c.m, c.n, c.k, 1.5, a, ac, b, bc, 0.5, got.s, c.n+1)
				Gemm(tr[0], tr[1], c.m, c.n, c.k, 1.5, a, ac, b, bc, 0.5, want, c.n+1)
				got.check(t, "GemmSerial"+name)
				for i := range want {
					if !sameBits(got.s[i], want[i]) {
						t.Fatalf("GemmSerial%s[%d] = %v; want %v", name, i, got.s[i], want[i])
					}
				}
			}
		}
	})
}

// TestGemmInPlaceMatchesPacked checks that a product reading panels of B
// where they are gives the bits of one that packs them: B is stored once
// with rows n apart (read in place) and once with rows a multiple of 4 KiB
// apart (packed).
func TestGemmInPlaceMatchesPacked(t *testing.T) {
	forEachType(t, testGemmInPlace[float32], testGemmInPlace[float64])
}

func testGemmInPlace[T float32 | float64](t *testing.T) {
	forEachLevel(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(43, 44))
		page := 4096 / int(unsafe.Sizeof(T(0)))
		for _, s := range append(gemmShapes, gemmShape{128, 256, 128}, gemmShape{5, 256, 128}, gemmShape{64, 784, 256}, gemmShape{30, 96, 600}) {
			for _, ta := range []bool{false, true} {
				ar, ac := stored(ta, s.m, s.k)
				a, b := make([]T, ar*ac), alignedSlice[T](s.k*s.n) // rows on cache lines when n·size is a multiple of 64
				fill(rng, a, false, false)
				fill(rng, b, false, false)
				ldPacked := max(1, (s.n+page-1)/page) * page
				bPacked := make([]T, s.k*ldPacked)
				for p := 0; p < s.k; p++ {
					copy(bPacked[p*ldPacked:], b[p*s.n:(p+1)*s.n])
				}
				got := make([]T, s.m*s.n)
				fill(rng, got, false, false)
				want := append([]T(nil), got...)
				Gemm(ta, false, s.m, s.n, s.k, 1.5, a, max(ac, 1), b, max(s.n, 1), 0.5, got, max(s.n, 1))
				Gemm(ta, false, s.m, s.n, s.k, 1.5, a, max(ac, 1), bPacked, ldPacked, 0.5, want, max(s.n, 1))
				for i := range want {
					if !sameBits(got[i], want[i]) {
						t.Fatalf("Gemm(%v, %+v) in place [%d] = %v; packed %v", ta, s, i, got[i], want[i])
					}
				}
			}
		}
	})
}
