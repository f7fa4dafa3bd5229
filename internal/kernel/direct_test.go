package kernel

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// direct3x3Cases are the images of the direct convolution's tests: the
// CNN's 28×28, outputs of one vector and a bit (18), of exactly two (32),
// of less than one (3) and of one (1); filter counts that leave 0, 1 and 2
// of the kernels' groups of three over.
var direct3x3Cases = []direct3x3Case{
	{28, 28, 16, 2}, {12, 20, 5, 3}, {18, 34, 3, 1}, {7, 5, 1, 2}, {3, 3, 2, 1}, {9, 18, 8, 1},
}

// A direct3x3Case is an image's sides, filters and images.
type direct3x3Case struct{ h, w, o, n int }

// forEachDirect3x3 runs f on every case at every level, with a generator
// seeded by seed and the case's name and output sides.
func forEachDirect3x3(t *testing.T, seed uint64, f func(t *testing.T, rng *rand.Rand, c direct3x3Case, name string, oh, ow int)) {
	forEachLevel(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(seed, seed+1))
		for _, c := range direct3x3Cases {
			f(t, rng, c, fmt.Sprintf("%+v", c), c.h-2, c.w-2)
		}
	})
}

func TestConv3x3MatchesReference(t *testing.T) {
	forEachDirect3x3(t, 31, func(t *testing.T, rng *rand.Rand, c direct3x3Case, name string, oh, ow int) {
		ldy := oh*ow + 3
		x, f := newGuarded[float32](c.h*c.w, 1), make([]float32, 9*c.o)
		fill(rng, x.s, false, false)
		fill(rng, f, false, false)
		got := newGuarded[float32](need(c.o, oh*ow, ldy), 2)
		want := append([]float32(nil), got.s...)
		Conv3x3(c.h, c.w, x.s, f, c.o, got.s, ldy)
		conv3x3Ref(oh, ow, c.w, x.s, f, c.o, want, ldy)
		got.check(t, "Conv3x3"+name)
		for o := 0; o < c.o; o++ {
			for p := 0; p < oh*ow; p++ {
				i, j := p/ow, p%ow
				var abs float64
				for tap := 0; tap < 9; tap++ {
					abs += math.Abs(float64(f[o*9+tap] * x.s[(i+tap/3)*c.w+tap%3+j]))
				}
				at := o*ldy + p
				if d := math.Abs(float64(got.s[at] - want[at])); d > 1e-6*abs {
					t.Fatalf("Conv3x3%s[%d] = %v; want %v", name, at, got.s[at], want[at])
				}
			}
		}
		for o := 0; o < c.o; o++ { // the gaps between planes are left alone
			for at := o*ldy + oh*ow; at < min((o+1)*ldy, len(got.s)); at++ {
				if !sameBits(got.s[at], want[at]) {
					t.Fatalf("Conv3x3%s wrote %v at %d, between planes", name, got.s[at], at)
				}
			}
		}
	})
}

func TestConv3x3GradMatchesReference(t *testing.T) {
	forEachDirect3x3(t, 33, func(t *testing.T, rng *rand.Rand, c direct3x3Case, name string, oh, ow int) {
		ldx, ldg := c.h*c.w+1, oh*ow+2
		ldgi := c.o*ldg + 5
		x := newGuarded[float32]((c.n-1)*ldx+c.h*c.w, 1)
		g := newGuarded[float32]((c.n-1)*ldgi+need(c.o, oh*ow, ldg), 2)
		fill(rng, x.s, false, false)
		fill(rng, g.s, false, false)
		ldw := c.o + 1
		got := newGuarded[float32](8*ldw+c.o, 1)
		fill(rng, got.s, false, false)
		want := append([]float32(nil), got.s...)
		Conv3x3Grad(c.h, c.w, x.s, ldx, c.n, g.s, ldg, ldgi, c.o, got.s, ldw)
		conv3x3GradRef(oh, ow, c.w, x.s, ldx, c.n, g.s, ldg, ldgi, c.o, want, ldw)
		got.check(t, "Conv3x3Grad"+name)
		for at := range want {
			tap, o := at/ldw, at%ldw
			if o >= c.o {
				if !sameBits(got.s[at], want[at]) {
					t.Fatalf("Conv3x3Grad%s wrote %v at %d, outside the filters", name, got.s[at], at)
				}
				continue
			}
			abs := math.Abs(float64(want[at]))
			for b := 0; b < c.n; b++ {
				for p := 0; p < oh*ow; p++ {
					i, j := p/ow, p%ow
					abs += math.Abs(float64(g.s[b*ldgi+o*ldg+p] * x.s[b*ldx+(i+tap/3)*c.w+tap%3+j]))
				}
			}
			if d := math.Abs(float64(got.s[at] - want[at])); d > 1e-6*abs {
				t.Fatalf("Conv3x3Grad%s[%d] = %v; want %v", name, at, got.s[at], want[at])
			}
		}
	})
}
