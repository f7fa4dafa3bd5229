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
						ref.maxPool(x.s, w, oh, ow, wantY, wantCodes, 1, h*w, oh*ow)
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

// TestMaxPool2PlanesMatchesReference checks MaxPool2Planes,
// MaxPool2GradPlanes and ReLUMaxPool2GradPlanes of every level against
// MaxPool2, MaxPool2Grad and ReLUGrad plane by plane, exactly, on several planes with gaps between them that must not
// change, and guard bands around the whole.
func TestMaxPool2PlanesMatchesReference(t *testing.T) {
	forEachType(t, testMaxPool2Planes[float32], testMaxPool2Planes[float64])
}

func testMaxPool2Planes[T Float](t *testing.T) {
	forEachLevel(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(43, 44))
		for _, c := range []struct{ h, w, planes, gapX, gapY int }{
			{26, 26, 16, 676, 0}, {11, 11, 32, 242, 0}, {11, 11, 3, 0, 7}, {5, 6, 4, 3, 2}, {2, 2, 1, 0, 0}, {1, 3, 2, 1, 1}, {4, 4, 0, 0, 0},
		} {
			name := fmt.Sprintf("%+v", c)
			oh, ow := c.h/2, c.w/2
			ldx, ldy := c.h*c.w+c.gapX, oh*ow+c.gapY
			x := newGuarded[T](max(c.planes*ldx, 1), rng.IntN(16))
			fill(rng, x.s, false, true)
			y := newGuarded[T](max(c.planes*ldy, 1), rng.IntN(16))
			codes := guardedBytes(max(c.planes*ldy, 1))
			wantY := append([]T(nil), y.s...)
			wantCodes := append([]uint8(nil), codes.s...)
			for p := range c.planes {
				MaxPool2(c.h, c.w, x.s[p*ldx:], wantY[p*ldy:], wantCodes[p*ldy:])
			}
			MaxPool2Planes(c.h, c.w, c.planes, x.s, ldx, y.s, codes.s, ldy)
			y.check(t, "MaxPool2Planes"+name)
			codes.check(t, "MaxPool2Planes"+name)
			for i := range wantY {
				if !sameBits(y.s[i], wantY[i]) || codes.s[i] != wantCodes[i] {
					t.Fatalf("MaxPool2Planes%s[%d] = %v, code %d; want %v, code %d", name, i, y.s[i], codes.s[i], wantY[i], wantCodes[i])
				}
			}

			// With a bias and a ReLU first: as AddConst and ReLU on a copy.
			b := make([]T, c.planes)
			fill(rng, b, false, true)
			biased := append([]T(nil), x.s...)
			for p := range c.planes {
				plane := biased[p*ldx : p*ldx+c.h*c.w]
				AddConst(b[p], plane, plane)
				ReLU(plane, plane)
			}
			by, bcodes := append([]T(nil), y.s...), append([]uint8(nil), codes.s...)
			MaxPool2Planes(c.h, c.w, c.planes, biased, ldx, by, bcodes, ldy)
			gotY := newGuarded[T](len(y.s), rng.IntN(16))
			gotCodes := guardedBytes(len(codes.s))
			copy(gotY.s, y.s)
			copy(gotCodes.s, codes.s)
			BiasReLUMaxPool2Planes(c.h, c.w, c.planes, b, x.s, ldx, gotY.s, gotCodes.s, ldy)
			gotY.check(t, "BiasReLUMaxPool2Planes"+name)
			gotCodes.check(t, "BiasReLUMaxPool2Planes"+name)
			for i := range by {
				if !sameBits(gotY.s[i], by[i]) || gotCodes.s[i] != bcodes[i] {
					t.Fatalf("BiasReLUMaxPool2Planes%s[%d] = %v, code %d; want %v, code %d", name, i, gotY.s[i], gotCodes.s[i], by[i], bcodes[i])
				}
			}

			g := make([]T, len(y.s))
			fill(rng, g, false, true)
			gx := newGuarded[T](len(x.s), rng.IntN(16))
			want := append([]T(nil), gx.s...)
			for p := range c.planes {
				MaxPool2Grad(c.h, c.w, g[p*ldy:], codes.s[p*ldy:], want[p*ldx:])
			}
			MaxPool2GradPlanes(c.h, c.w, c.planes, g, codes.s, ldy, gx.s, ldx)
			gx.check(t, "MaxPool2GradPlanes"+name)
			for i := range want {
				if !sameBits(gx.s[i], want[i]) {
					t.Fatalf("MaxPool2GradPlanes%s[%d] = %v; want %v", name, i, gx.s[i], want[i])
				}
			}

			// With the ReLU's gradient: as ReLUGrad of the pooled outputs first.
			masked := make([]T, len(g))
			ReLUGrad(y.s, g, masked)
			for p := range c.planes {
				MaxPool2Grad(c.h, c.w, masked[p*ldy:], codes.s[p*ldy:], want[p*ldx:])
			}
			ReLUMaxPool2GradPlanes(c.h, c.w, c.planes, y.s, g, codes.s, ldy, gx.s, ldx)
			gx.check(t, "ReLUMaxPool2GradPlanes"+name)
			for i := range want {
				if !sameBits(gx.s[i], want[i]) {
					t.Fatalf("ReLUMaxPool2GradPlanes%s[%d] = %v; want %v", name, i, gx.s[i], want[i])
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
