package kernel

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// convShapes covers strides 1–3, padding on either side wider than the
// window's overhang or not, windows larger than the image, and 1×N images.
func convShapes() []ConvShape {
	var ss []ConvShape
	for _, hw := range [][2]int{{1, 1}, {1, 7}, {5, 4}, {6, 9}, {28, 28}} {
		for _, k := range [][2]int{{1, 1}, {3, 3}, {2, 3}, {5, 5}} {
			for _, st := range [][2]int{{1, 1}, {2, 2}, {1, 3}} {
				for _, pad := range [][2]int{{0, 0}, {1, 1}, {2, 0}, {0, 3}} {
					s := ConvShape{C: 2, H: hw[0], W: hw[1], KH: k[0], KW: k[1], SH: st[0], SW: st[1], PH: pad[0], PW: pad[1]}
					if oh, ow := s.Out(); oh > 0 && ow > 0 && s.H+2*s.PH >= s.KH && s.W+2*s.PW >= s.KW {
						ss = append(ss, s)
					}
				}
			}
		}
	}
	return ss
}

// forEachTap calls f with the index into x and into cols of every element of
// the lowered matrix that lies inside the image, in the order of the
// definitions in the doc comments of Im2col and Col2im.
func forEachTap(s ConvShape, f func(xi, ci int)) {
	oh, ow := s.Out()
	for r := 0; r < s.C*s.KH*s.KW; r++ {
		c, ki, kj := r/(s.KH*s.KW), r/s.KW%s.KH, r%s.KW
		for oi := 0; oi < oh; oi++ {
			for oj := 0; oj < ow; oj++ {
				ii, jj := oi*s.SH+ki-s.PH, oj*s.SW+kj-s.PW
				if ii >= 0 && ii < s.H && jj >= 0 && jj < s.W {
					f((c*s.H+ii)*s.W+jj, r*oh*ow+oi*ow+oj)
				}
			}
		}
	}
}

// TestIm2colCol2imMatchDefinition checks both against the loops in their doc
// comments, exactly (Col2im adds in the same order), with guard bands.
func TestIm2colCol2imMatchDefinition(t *testing.T) {
	forEachType(t, testConv[float32], testConv[float64])
}

func testConv[T Float](t *testing.T) {
	forEachLevel(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(21, 22))
		for _, s := range convShapes() {
			oh, ow := s.Out()
			rows := s.C * s.KH * s.KW
			x := newGuarded[T](s.C*s.H*s.W, 3)
			fill(rng, x.s, false, false)
			cols := newGuarded[T](rows*oh*ow, 5)
			fill(rng, cols.s, false, false)
			want := make([]T, len(cols.s))
			forEachTap(s, func(xi, ci int) { want[ci] = x.s[xi] })
			Im2col(s, x.s, cols.s)
			cols.check(t, fmt.Sprintf("Im2col(%+v)", s))
			for i := range want {
				if cols.s[i] != want[i] {
					t.Fatalf("Im2col(%+v)[%d] = %v; want %v", s, i, cols.s[i], want[i])
				}
			}
			wantX := append([]T(nil), x.s...)
			forEachTap(s, func(xi, ci int) { wantX[xi] += cols.s[ci] })
			Col2im(s, cols.s, x.s)
			x.check(t, fmt.Sprintf("Col2im(%+v)", s))
			for i := range wantX {
				if x.s[i] != wantX[i] {
					t.Fatalf("Col2im(%+v)[%d] = %v; want %v", s, i, x.s[i], wantX[i])
				}
			}
		}
	})
}

// TestIm2colAtBatch lowers a batch of images side by side and checks each
// block against Im2col of its image, the columns past the batch untouched,
// and Col2imAt against Col2im.
func TestIm2colAtBatch(t *testing.T) {
	rng := rand.New(rand.NewPCG(23, 24))
	for _, s := range convShapes() {
		const batch = 3
		oh, ow := s.Out()
		rows, cols := s.C*s.KH*s.KW, oh*ow
		ldc := batch*cols + 2
		x := randSlice(rng, batch*s.C*s.H*s.W)
		wide := newGuarded[float64](need(rows, batch*cols, ldc), 1)
		for i := range wide.s {
			wide.s[i] = sentinel[float64]()
		}
		for b := 0; b < batch; b++ {
			Im2colAt(s, x[b*s.C*s.H*s.W:], wide.s[b*cols:], ldc)
		}
		wide.check(t, "Im2colAt")
		one := make([]float64, rows*cols)
		for b := 0; b < batch; b++ {
			Im2col(s, x[b*s.C*s.H*s.W:], one)
			for r := 0; r < rows; r++ {
				for j := 0; j < cols; j++ {
					if got, want := wide.s[r*ldc+b*cols+j], one[r*cols+j]; got != want {
						t.Fatalf("Im2colAt(%+v) image %d [%d][%d] = %v; want %v", s, b, r, j, got, want)
					}
				}
			}
		}
		for r := 0; r < rows-1; r++ {
			for j := batch * cols; j < ldc; j++ {
				if bits(wide.s[r*ldc+j]) != bits(sentinel[float64]()) {
					t.Fatalf("Im2colAt(%+v) wrote [%d][%d], past the batch", s, r, j)
				}
			}
		}
		fill(rng, wide.s, false, false)
		for b := 0; b < batch; b++ {
			got := make([]float64, s.C*s.H*s.W)
			want := make([]float64, s.C*s.H*s.W)
			Col2imAt(s, wide.s[b*cols:], ldc, got)
			for r := 0; r < rows; r++ {
				copy(one[r*cols:(r+1)*cols], wide.s[r*ldc+b*cols:])
			}
			Col2im(s, one, want)
			for i := range got {
				if got[i] != want[i] {
					t.Fatalf("Col2imAt(%+v) image %d [%d] = %v; want %v", s, b, i, got[i], want[i])
				}
			}
		}
	}
}

func BenchmarkIm2col(b *testing.B) {
	for _, s := range []ConvShape{
		{C: 1, H: 28, W: 28, KH: 3, KW: 3, SH: 1, SW: 1, PH: 1, PW: 1},
		{C: 16, H: 14, W: 14, KH: 3, KW: 3, SH: 1, SW: 1, PH: 1, PW: 1},
		{C: 32, H: 14, W: 14, KH: 5, KW: 5, SH: 2, SW: 2, PH: 2, PW: 2},
		{C: 1, H: 28, W: 28, KH: 3, KW: 3, SH: 1, SW: 1}, // the small CNN's
		{C: 16, H: 13, W: 13, KH: 3, KW: 3, SH: 1, SW: 1},
	} {
		oh, ow := s.Out()
		x := make([]float32, s.C*s.H*s.W)
		cols := make([]float32, s.C*s.KH*s.KW*oh*ow)
		name := fmt.Sprintf("%dx%dx%d/k%dx%d/s%d/p%d", s.C, s.H, s.W, s.KH, s.KW, s.SH, s.PH)
		b.Run("Im2col/"+name, func(b *testing.B) {
			b.SetBytes(int64(4 * len(cols)))
			b.ReportAllocs()
			for range b.N {
				Im2col(s, x, cols)
			}
		})
		b.Run("Col2im/"+name, func(b *testing.B) {
			b.SetBytes(int64(4 * len(cols)))
			b.ReportAllocs()
			for range b.N {
				Col2im(s, cols, x)
			}
		})
	}
}

// TestIm2colTapsMatchesReference checks each level's im2colTaps against
// im2colTapsRef, exactly, on the CNN's channels and ragged rows, with rows
// of cols wider than a block and guard bands.
func TestIm2colTapsMatchesReference(t *testing.T) {
	forEachType(t, testIm2colTaps[float32], testIm2colTaps[float64])
}

func testIm2colTaps[T Float](t *testing.T) {
	forEachLevel(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(25, 26))
		for _, c := range []struct{ h, w, k, sh, pad int }{
			{28, 28, 3, 1, 0}, {13, 13, 3, 1, 3}, {40, 37, 5, 2, 1}, {3, 3, 3, 1, 0}, {9, 70, 2, 1, 5}, {6, 17, 1, 3, 0},
		} {
			name := fmt.Sprintf("%+v", c)
			oh, ow := (c.h-c.k)/c.sh+1, c.w-c.k+1
			ldc := oh*ow + c.pad
			x := newGuarded[T](c.h*c.w, 2)
			fill(rng, x.s, false, true)
			got := newGuarded[T](need(c.k*c.k, oh*ow, ldc), 1)
			want := append([]T(nil), got.s...)
			table[T]().im2colTaps(c.k, c.k, oh, ow, c.w, c.sh*c.w, x.s, got.s, ldc)
			im2colTapsRef(c.k, c.k, oh, ow, c.w, c.sh*c.w, x.s, want, ldc)
			got.check(t, "im2colTaps"+name)
			for i := range want {
				if !sameBits(got.s[i], want[i]) {
					t.Fatalf("im2colTaps%s[%d] = %v; want %v", name, i, got.s[i], want[i])
				}
			}
		}
	})
}
