package kernel

import (
	"fmt"
	"math/rand/v2"
	"testing"
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
