package kernel

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// poolSizes are image sides: one window, odd and even sides, and rows of
// more than one vector of windows with ragged ends.
var poolSizes = []int{1, 2, 3, 4, 5, 11, 13, 26, 28, 31, 32, 33, 34, 65, 70}

// TestMaxPool2MatchesReference checks MaxPool2 and MaxPool2Grad of every
// level against the reference loops, exactly, on planes of every pair of
// sides, with and without special values (ties between zeros, NaN, ±Inf),
// and with guard bands around the outputs.
func TestMaxPool2MatchesReference(t *testing.T) {
	forEachType(t, testMaxPool2[float32], testMaxPool2[float64])
}

func testMaxPool2[T Float](t *testing.T) {
	forEachLevel(t, func(t *testing.T) {
		ref := reference[T]()
		rng := rand.New(rand.NewPCG(41, 42))
		for _, specials := range []bool{false, true} {
			for _, h := range poolSizes {
				for _, w := range poolSizes {
					name := fmt.Sprintf("(h=%d, w=%d, specials %v)", h, w, specials)
					oh, ow := h/2, w/2
					x := newGuarded[T](h*w, rng.IntN(16))
					fill(rng, x.s, false, specials)
					if specials {
						for i := range x.s { // ties: many zeros of both signs
							if rng.IntN(4) == 0 {
								x.s[i] = 0 * x.s[i]
							}
						}
					}
					y, wantY := newGuarded[T](oh*ow, rng.IntN(16)), make([]T, oh*ow)
					codes, wantCodes := guardedBytes(oh*ow), make([]uint8, oh*ow)
					MaxPool2(h, w, x.s, y.s, codes.s)
					if oh > 0 && ow > 0 {
						ref.maxPool(x.s, w, oh, ow, wantY, wantCodes)
					}
					y.check(t, "MaxPool2"+name)
					codes.check(t, "MaxPool2"+name)
					for i := range wantY {
						if !sameBits(y.s[i], wantY[i]) || codes.s[i] != wantCodes[i] {
							t.Fatalf("MaxPool2%s[%d] = %v, code %d; want %v, code %d", name, i, y.s[i], codes.s[i], wantY[i], wantCodes[i])
						}
					}

					g := make([]T, oh*ow)
					fill(rng, g, false, specials)
					gx := newGuarded[T](h*w, rng.IntN(16))
					MaxPool2Grad(h, w, g, codes.s, gx.s)
					gx.check(t, "MaxPool2Grad"+name)
					for i := 0; i < h; i++ {
						for j := 0; j < w; j++ {
							var want T
							if o := i/2*ow + j/2; i < 2*oh && j < 2*ow && int(codes.s[o]) == i%2*2+j%2 {
								want = g[o]
							}
							if got := gx.s[i*w+j]; !sameBits(got, want) {
								t.Fatalf("MaxPool2Grad%s[%d][%d] = %v; want %v", name, i, j, got, want)
							}
						}
					}
				}
			}
		}
	})
}

// guardedUint8 is a byte slice inside a buffer whose other bytes hold a
// sentinel.
type guardedUint8 struct {
	buf []uint8
	s   []uint8
}

const byteSentinel = 0xa5

func guardedBytes(n int) guardedUint8 {
	buf := make([]uint8, n+2*guard)
	for i := range buf {
		buf[i] = byteSentinel
	}
	return guardedUint8{buf: buf, s: buf[guard : guard+n : guard+n]}
}

func (g guardedUint8) check(t *testing.T, what string) {
	t.Helper()
	for i, b := range g.buf {
		if (i < guard || i >= guard+len(g.s)) && b != byteSentinel {
			t.Fatalf("%s: byte %d outside the slice changed to %#x", what, i, b)
		}
	}
}
