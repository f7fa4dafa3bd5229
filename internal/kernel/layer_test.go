package kernel

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"unsafe"
)

var layerShapes = [][2]int{{0, 5}, {3, 0}, {1, 1}, {2, 17}, {7, 10}, {128, 10}, {5, 33}, {33, 256}, {3, 1000}}

// TestRowKernels checks AddRowVector, ColumnSums and ColumnMeanVar against
// their definitions, with row strides longer than a row and guard bands:
// exactly where the order of operations is the same, and for the variance
// (which the test sums in float64) to (m+2)·u relative.
func TestRowKernels(t *testing.T) {
	forEachType(t, testRowKernels[float32], testRowKernels[float64])
}

func testRowKernels[T Float](t *testing.T) {
	forEachLevel(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(31, 32))
		u := 0x1p-53
		if typeName[T]() == "float32" {
			u = 0x1p-24
		}
		for _, s := range layerShapes {
			m, n := s[0], s[1]
			ld := n + rng.IntN(4)
			x := newGuarded[T](need(m, n, ld), rng.IntN(16))
			fill(rng, x.s, false, false)
			b := newGuarded[T](n, rng.IntN(16))
			fill(rng, b.s, false, false)
			name := fmt.Sprintf("(m=%d, n=%d, ld=%d)", m, n, ld)

			want := append([]T(nil), x.s...)
			for i := 0; i < m; i++ {
				for j := 0; j < n; j++ {
					want[i*ld+j] += b.s[j]
				}
			}
			AddRowVector(m, n, b.s, x.s, ld)
			x.check(t, "AddRowVector"+name)
			for i := range want {
				if !sameBits(x.s[i], want[i]) {
					t.Fatalf("AddRowVector%s[%d] = %v; want %v", name, i, x.s[i], want[i])
				}
			}

			sums := newGuarded[T](n, rng.IntN(16))
			ColumnSums(m, n, x.s, ld, sums.s)
			sums.check(t, "ColumnSums"+name)
			for j := 0; j < n; j++ {
				var want T
				for i := 0; i < m; i++ {
					want += x.s[i*ld+j]
				}
				if !sameBits(sums.s[j], want) {
					t.Fatalf("ColumnSums%s[%d] = %v; want %v", name, j, sums.s[j], want)
				}
			}

			mean, variance := newGuarded[T](n, 1), newGuarded[T](n, 2)
			ColumnMeanVar(m, n, x.s, ld, mean.s, variance.s)
			mean.check(t, "ColumnMeanVar"+name)
			variance.check(t, "ColumnMeanVar"+name)
			for j := 0; j < n; j++ {
				var s, s2, mag float64
				for i := 0; i < m; i++ {
					s += float64(x.s[i*ld+j])
				}
				mu := s / float64(m)
				for i := 0; i < m; i++ {
					d := float64(x.s[i*ld+j]) - mu
					s2 += d * d
					mag += math.Abs(float64(x.s[i*ld+j]))
				}
				v := s2 / float64(m)
				tol := 2 * float64(m+2) * u
				if m == 0 {
					if !math.IsNaN(float64(mean.s[j])) || !math.IsNaN(float64(variance.s[j])) {
						t.Fatalf("ColumnMeanVar%s[%d] = %v, %v; want NaN, NaN", name, j, mean.s[j], variance.s[j])
					}
					continue
				}
				if math.Abs(float64(mean.s[j])-mu) > tol*mag/float64(m) || math.Abs(float64(variance.s[j])-v) > tol*(v+mag*mag/float64(m*m)) {
					t.Fatalf("ColumnMeanVar%s[%d] = %v, %v; want %v, %v", name, j, mean.s[j], variance.s[j], mu, v)
				}
			}
		}
	})
}

// TestBatchNormRowKernels checks AffineRows, AffineReLURows, ColumnDiffDots
// and BatchNormGradRows against their definitions, exactly (the order of
// operations is the same), with row strides longer than a row and guard
// bands; ColumnSumsDots against ColumnSums and ColumnDiffDots;
// the Add forms over two bands of rows against one pass;
// ReLUColumnSumsDots and ReLUBatchNormGradRows against ReLUGradRows
// followed by ColumnSums and ColumnDiffDots, and BatchNormGradRows, and
// ColumnMeanVar's variance against AddSquaredDiff row by row, bit for bit;
// then the same with special values in x and dy too, NaN payloads compared
// (batchNormRowKernelsSpecials).
func TestBatchNormRowKernels(t *testing.T) {
	forEachType(t, testBatchNormRowKernels[float32], testBatchNormRowKernels[float64])
}

func testBatchNormRowKernels[T Float](t *testing.T) {
	forEachLevel(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(35, 36))
		vec := func(n int) []T {
			v := make([]T, n)
			fill(rng, v, false, false)
			return v
		}
		for _, s := range layerShapes {
			m, n := s[0], s[1]
			ldx, ldy, ldd := n+1+rng.IntN(4), n+1+rng.IntN(4), n+1+rng.IntN(4)
			x, dy := newGuarded[T](need(m, n, ldx), rng.IntN(16)), newGuarded[T](need(m, n, ldy), rng.IntN(16))
			fill(rng, x.s, false, false)
			fill(rng, dy.s, false, false)
			a, b, mean, k, c := vec(n), vec(n), vec(n), vec(n), vec(n)
			name := fmt.Sprintf("(m=%d, n=%d)", m, n)

			y := newGuarded[T](need(m, n, ldd), rng.IntN(16))
			AffineRows(m, n, x.s, ldx, a, b, y.s, ldd)
			y.check(t, "AffineRows"+name)
			for i := 0; i < m; i++ {
				for j := 0; j < n; j++ {
					if want := T(x.s[i*ldx+j]*a[j]) + b[j]; !sameBits(y.s[i*ldd+j], want) {
						t.Fatalf("AffineRows%s[%d][%d] = %v; want %v", name, i, j, y.s[i*ldd+j], want)
					}
				}
			}

			xs := newGuarded[T](need(m, n, ldx), rng.IntN(16)) // NaN, ±0 and ±Inf among the values
			fill(rng, xs.s, false, true)
			r := newGuarded[T](need(m, n, ldd), rng.IntN(16))
			AffineReLURows(m, n, xs.s, ldx, a, b, r.s, ldd)
			r.check(t, "AffineReLURows"+name)
			for i := 0; i < m; i++ {
				for j := 0; j < n; j++ {
					want := T(xs.s[i*ldx+j]*a[j]) + b[j]
					if want <= 0 {
						want = 0
					}
					if !sameBits(r.s[i*ldd+j], want) {
						t.Fatalf("AffineReLURows%s[%d][%d] = %v; want %v", name, i, j, r.s[i*ldd+j], want)
					}
				}
			}

			// The ReLU-masked kernels against the masked gradient written out
			// (ReLUGradRows) and the kernels above; ys, the ReLU's output,
			// holds NaN, ±0 and ±Inf.
			ldr := n + 1 + rng.IntN(4)
			ys := newGuarded[T](need(m, n, ldr), rng.IntN(16))
			fill(rng, ys.s, false, true)
			g := make([]T, need(m, n, ldy))
			ReLUGradRows(m, n, ys.s, ldr, dy.s, ldy, g, ldy)
			ws, wd := make([]T, n), make([]T, n)
			ColumnSums(m, n, g, ldy, ws)
			ColumnDiffDots(m, n, x.s, ldx, mean, g, ldy, wd)
			bs, bd := newGuarded[T](n, rng.IntN(16)), newGuarded[T](n, rng.IntN(16))
			ReLUColumnSumsDots(m, n, x.s, ldx, mean, ys.s, ldr, dy.s, ldy, bs.s, bd.s)
			bs.check(t, "ReLUColumnSumsDots"+name)
			bd.check(t, "ReLUColumnSumsDots"+name)
			for j := 0; j < n; j++ {
				if !sameBits(bs.s[j], ws[j]) || !sameBits(bd.s[j], wd[j]) {
					t.Fatalf("ReLUColumnSumsDots%s[%d] = %v, %v; want %v, %v", name, j, bs.s[j], bd.s[j], ws[j], wd[j])
				}
			}
			ColumnSums(m, n, dy.s, ldy, ws)
			ColumnDiffDots(m, n, x.s, ldx, mean, dy.s, ldy, wd)
			ColumnSumsDots(m, n, x.s, ldx, mean, dy.s, ldy, bs.s, bd.s)
			bs.check(t, "ColumnSumsDots"+name)
			bd.check(t, "ColumnSumsDots"+name)
			for j := 0; j < n; j++ {
				if !sameBits(bs.s[j], ws[j]) || !sameBits(bd.s[j], wd[j]) {
					t.Fatalf("ColumnSumsDots%s[%d] = %v, %v; want %v, %v", name, j, bs.s[j], bd.s[j], ws[j], wd[j])
				}
			}
			// The Add forms over two bands of rows cut anywhere, in order,
			// give the one-pass bits.
			cut := rng.IntN(m + 1)
			ReLUColumnSumsDots(m, n, x.s, ldx, mean, ys.s, ldr, dy.s, ldy, ws, wd)
			ReLUColumnSumsDots(cut, n, x.s, ldx, mean, ys.s, ldr, dy.s, ldy, bs.s, bd.s)
			if m > cut && n > 0 {
				AddReLUColumnSumsDots(m-cut, n, x.s[cut*ldx:], ldx, mean, ys.s[cut*ldr:], ldr, dy.s[cut*ldy:], ldy, bs.s, bd.s)
			}
			bs.check(t, "AddReLUColumnSumsDots"+name)
			bd.check(t, "AddReLUColumnSumsDots"+name)
			for j := 0; j < n; j++ {
				if !sameBits(bs.s[j], ws[j]) || !sameBits(bd.s[j], wd[j]) {
					t.Fatalf("AddReLUColumnSumsDots%s cut at row %d [%d] = %v, %v; want %v, %v", name, cut, j, bs.s[j], bd.s[j], ws[j], wd[j])
				}
			}
			ColumnSumsDots(m, n, x.s, ldx, mean, dy.s, ldy, ws, wd)
			ColumnSumsDots(cut, n, x.s, ldx, mean, dy.s, ldy, bs.s, bd.s)
			if m > cut && n > 0 {
				AddColumnSumsDots(m-cut, n, x.s[cut*ldx:], ldx, mean, dy.s[cut*ldy:], ldy, bs.s, bd.s)
			}
			for j := 0; j < n; j++ {
				if !sameBits(bs.s[j], ws[j]) || !sameBits(bd.s[j], wd[j]) {
					t.Fatalf("AddColumnSumsDots%s cut at row %d [%d] = %v, %v; want %v, %v", name, cut, j, bs.s[j], bd.s[j], ws[j], wd[j])
				}
			}
			rx, wx := newGuarded[T](need(m, n, ldd), rng.IntN(16)), make([]T, need(m, n, ldd))
			ReLUBatchNormGradRows(m, n, x.s, ldx, ys.s, ldr, dy.s, ldy, mean, a, k, c, rx.s, ldd)
			rx.check(t, "ReLUBatchNormGradRows"+name)
			BatchNormGradRows(m, n, x.s, ldx, g, ldy, mean, a, k, c, wx, ldd)
			for i := 0; i < m; i++ {
				for j := 0; j < n; j++ {
					if !sameBits(rx.s[i*ldd+j], wx[i*ldd+j]) {
						t.Fatalf("ReLUBatchNormGradRows%s[%d][%d] = %v; want %v", name, i, j, rx.s[i*ldd+j], wx[i*ldd+j])
					}
				}
			}

			// ColumnMeanVar's variance against AddSquaredDiff on each row.
			for _, in := range []guarded[T]{x, xs} {
				mu, v := newGuarded[T](n, rng.IntN(16)), newGuarded[T](n, rng.IntN(16))
				ColumnMeanVar(m, n, in.s, ldx, mu.s, v.s)
				mu.check(t, "ColumnMeanVar"+name)
				v.check(t, "ColumnMeanVar"+name)
				want := rowsVariance(m, n, in.s, ldx, mu.s)
				for j := range want {
					if !sameBits(v.s[j], want[j]) {
						t.Fatalf("ColumnMeanVar%s variance[%d] = %v; want %v", name, j, v.s[j], want[j])
					}
				}
			}

			dots := newGuarded[T](n, rng.IntN(16))
			ColumnDiffDots(m, n, x.s, ldx, mean, dy.s, ldy, dots.s)
			dots.check(t, "ColumnDiffDots"+name)
			for j := 0; j < n; j++ {
				var want T
				for i := 0; i < m; i++ {
					want += T((x.s[i*ldx+j] - mean[j]) * dy.s[i*ldy+j])
				}
				if !sameBits(dots.s[j], want) {
					t.Fatalf("ColumnDiffDots%s[%d] = %v; want %v", name, j, dots.s[j], want)
				}
			}

			dx := newGuarded[T](need(m, n, ldd), rng.IntN(16))
			BatchNormGradRows(m, n, x.s, ldx, dy.s, ldy, mean, a, k, c, dx.s, ldd)
			dx.check(t, "BatchNormGradRows"+name)
			for i := 0; i < m; i++ {
				for j := 0; j < n; j++ {
					want := ((dy.s[i*ldy+j] - a[j]) - T((x.s[i*ldx+j]-mean[j])*k[j])) * c[j]
					if !sameBits(dx.s[i*ldd+j], want) {
						t.Fatalf("BatchNormGradRows%s[%d][%d] = %v; want %v", name, i, j, dx.s[i*ldd+j], want)
					}
				}
			}
			batchNormRowKernelsSpecials(t, rng, m, n, a, b, mean, k, c)
		}
	})
}

// TestSoftmaxRows checks that softmax rows are positive, sum to 1 and agree
// with exp(log-softmax), that large logits do not overflow, that results do
// not depend on the row stride or on computing in place, and that NaN
// propagates.
func TestSoftmaxRows(t *testing.T) {
	forEachType(t, testSoftmax[float32], testSoftmax[float64])
}

func testSoftmax[T Float](t *testing.T) {
	rng := rand.New(rand.NewPCG(33, 34))
	tol := 1e-12
	if typeName[T]() == "float32" {
		tol = 1e-6
	}
	for _, s := range layerShapes {
		m, n := s[0], s[1]
		ld := n + 3
		x := newGuarded[T](need(m, n, ld), 2)
		fill(rng, x.s, false, false)
		if m > 1 && n > 0 {
			x.s[ld] = 1000 // row 1 would overflow exp without the shift
			x.s[0] = -1000
		}
		p, lp := newGuarded[T](need(m, n, n), 0), newGuarded[T](need(m, n, n), 5)
		SoftmaxRows(m, n, x.s, ld, p.s, n)
		LogSoftmaxRows(m, n, x.s, ld, lp.s, n)
		p.check(t, "SoftmaxRows")
		lp.check(t, "LogSoftmaxRows")
		for i := 0; i < m; i++ {
			var sum float64
			for j := 0; j < n; j++ {
				pij, lij := float64(p.s[i*n+j]), float64(lp.s[i*n+j])
				if !(pij >= 0 && pij <= 1) || math.Abs(pij-math.Exp(lij)) > tol {
					t.Fatalf("m=%d n=%d: softmax[%d][%d] = %v, exp(log-softmax) = %v", m, n, i, j, pij, math.Exp(lij))
				}
				sum += pij
			}
			if n > 0 && math.Abs(sum-1) > float64(n)*tol {
				t.Fatalf("m=%d n=%d: row %d of softmax sums to %v; want 1", m, n, i, sum)
			}
		}
		inPlace := append([]T(nil), x.s...)
		SoftmaxRows(m, n, inPlace, ld, inPlace, ld)
		for i := 0; i < m; i++ {
			for j := 0; j < n; j++ {
				if inPlace[i*ld+j] != p.s[i*n+j] {
					t.Fatalf("m=%d n=%d: softmax in place [%d][%d] = %v; want %v", m, n, i, j, inPlace[i*ld+j], p.s[i*n+j])
				}
			}
		}
	}
	x := []T{1, T(math.NaN()), 2}
	y := make([]T, 3)
	SoftmaxRows(1, 3, x, 3, y, 3)
	for j, v := range y {
		if !math.IsNaN(float64(v)) {
			t.Errorf("softmax of a row with NaN [%d] = %v; want NaN", j, v)
		}
	}
}

// TestSoftmaxRowsStats checks that SoftmaxRowsStats gives, at every level,
// the bits of SoftmaxRow on each row — the entries, top and sum, NaN
// payloads included — with row strides longer than a row, contiguous
// outputs (one Exp of a block) and not, in place, with special values
// (NaN, ±Inf, −0) and with rows of only −Inf, over blocks of rows of every
// length around softmaxBlock.
func TestSoftmaxRowsStats(t *testing.T) {
	forEachType(t, testSoftmaxRowsStats[float32], testSoftmaxRowsStats[float64])
}

func testSoftmaxRowsStats[T Float](t *testing.T) {
	forEachLevel(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(35, 36))
		shapes := append([][2]int{{1, 0}, {300, 10}, {205, 10}, {2, 2049}, {130, 16}, {9, 7}}, layerShapes...)
		for _, s := range shapes {
			for _, specials := range []bool{false, true} {
				m, n := s[0], s[1]
				for _, ldx := range []int{max(n, 1), n + 3} {
					x := newGuarded[T](need(m, n, ldx), 1)
					fill(rng, x.s, false, specials)
					if specials && m > 2 && n > 0 {
						for j := 0; j < n; j++ {
							x.s[2*ldx+j] = T(math.Inf(-1)) // a row of only −Inf
						}
					}
					want := make([]T, m*n)
					wtop, wsum := make([]float64, m), make([]float64, m)
					for i := 0; i < m; i++ {
						var row []T // nil for rows of none, which may lie past the end of x
						if n > 0 {
							row = x.s[i*ldx : i*ldx+n]
						}
						wtop[i], wsum[i] = SoftmaxRow(row, want[i*n:(i+1)*n])
					}
					for _, ldy := range []int{max(n, 1), n + 2, -1} { // −1: in place
						y, top, sum := newGuarded[T](need(m, n, max(ldy, 1)), 2), make([]float64, m), make([]float64, m)
						out, ld := y.s, ldy
						if ldy < 0 {
							out, ld = append([]T(nil), x.s...), ldx
							SoftmaxRowsStats(m, n, out, ldx, out, ldx, top, sum)
						} else {
							SoftmaxRowsStats(m, n, x.s, ldx, y.s, ldy, top, sum)
							y.check(t, "SoftmaxRowsStats")
						}
						for i := 0; i < m; i++ {
							if math.Float64bits(top[i]) != math.Float64bits(wtop[i]) || math.Float64bits(sum[i]) != math.Float64bits(wsum[i]) {
								t.Fatalf("%dx%d ldx %d ldy %d row %d: top, sum = %v, %v; SoftmaxRow's %v, %v", m, n, ldx, ldy, i, top[i], sum[i], wtop[i], wsum[i])
							}
							for j := 0; j < n; j++ {
								if got := out[i*ld+j]; bits(got) != bits(want[i*n+j]) {
									t.Fatalf("%dx%d ldx %d ldy %d: [%d][%d] = %v; SoftmaxRow's %v", m, n, ldx, ldy, i, j, got, want[i*n+j])
								}
							}
						}
					}
				}
			}
		}
	})
}

func BenchmarkLayer(b *testing.B) {
	const m, n = 128, 256
	x := randomSlices[float32](3, m*n)
	bias := x[2][:n]
	b.Run("ReLU/float32/128x256", func(b *testing.B) {
		b.SetBytes(2 * 4 * m * n)
		for range b.N {
			ReLU(x[0], x[1])
		}
	})
	b.Run("ReLUGrad/float32/128x256", func(b *testing.B) {
		b.SetBytes(3 * 4 * m * n)
		for range b.N {
			ReLUGrad(x[0], x[1], x[1])
		}
	})
	b.Run("AddRowVector/float32/128x256", func(b *testing.B) {
		b.SetBytes(2 * 4 * m * n)
		for range b.N {
			AddRowVector(m, n, bias, x[0], n)
		}
	})
	b.Run("ColumnSums/float32/128x256", func(b *testing.B) {
		b.SetBytes(4 * m * n)
		for range b.N {
			ColumnSums(m, n, x[0], n, bias)
		}
	})
	b.Run("ColumnMeanVar/float32/128x256", func(b *testing.B) {
		b.SetBytes(2 * 4 * m * n)
		v := make([]float32, n)
		for range b.N {
			ColumnMeanVar(m, n, x[0], n, bias, v)
		}
	})
	b.Run("SoftmaxRows/float32/128x10", func(b *testing.B) {
		b.SetBytes(2 * 4 * 128 * 10)
		for range b.N {
			SoftmaxRows(128, 10, x[0], 10, x[1], 10)
		}
	})
}

// TestCopyAddRows checks CopyRows and AddRows of every level against their
// definitions, exactly, on blocks of every row length in lengths, with row
// strides longer than a row and guard bands.
func TestCopyAddRows(t *testing.T) {
	forEachType(t, testCopyAddRows[float32], testCopyAddRows[float64])
}

func testCopyAddRows[T Float](t *testing.T) {
	forEachLevel(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(37, 38))
		for _, m := range []int{0, 1, 3, 7} {
			for _, n := range lengths {
				lds, ldd := n+1+rng.IntN(5), n+1+rng.IntN(5)
				src, dst := newGuarded[T](need(m, n, lds), rng.IntN(16)), newGuarded[T](need(m, n, ldd), rng.IntN(16))
				fill(rng, src.s, false, true)
				fill(rng, dst.s, false, true)
				name := fmt.Sprintf("(m=%d, n=%d)", m, n)
				old := append([]T(nil), dst.s...)
				AddRows(m, n, src.s, lds, dst.s, ldd)
				dst.check(t, "AddRows"+name)
				for i := 0; i < m; i++ {
					for j := 0; j < n; j++ {
						if want := old[i*ldd+j] + src.s[i*lds+j]; !sameBits(dst.s[i*ldd+j], want) {
							t.Fatalf("AddRows%s[%d][%d] = %v; want %v", name, i, j, dst.s[i*ldd+j], want)
						}
					}
				}
				CopyRows(m, n, src.s, lds, dst.s, ldd)
				dst.check(t, "CopyRows"+name)
				for i := 0; i < m; i++ {
					for j := 0; j < n; j++ {
						if got, want := dst.s[i*ldd+j], src.s[i*lds+j]; bits(got) != bits(want) {
							t.Fatalf("CopyRows%s[%d][%d] = %v; want %v", name, i, j, got, want)
						}
					}
				}
				for i := 0; i+1 < m && n > 0; i++ { // the gaps between rows are dst's own
					for j := n; j < ldd; j++ {
						if bits(dst.s[i*ldd+j]) != bits(old[i*ldd+j]) {
							t.Fatalf("CopyRows%s wrote [%d][%d], between rows", name, i, j)
						}
					}
				}
			}
		}
	})
}

// TestAddColumnSums checks AddColumnSums of every level against its
// definition, exactly, on bands of every row length in lengths with row
// strides longer than a row, guard bands, and NaN, ±0 and ±Inf among the
// values.
func TestAddColumnSums(t *testing.T) {
	forEachType(t, testAddColumnSums[float32], testAddColumnSums[float64])
}

func testAddColumnSums[T Float](t *testing.T) {
	forEachBand(t, 39, func(t *testing.T, rng *rand.Rand, m, n, ld int, name string) {
		x := make([]T, need(m, n, ld))
		fill(rng, x, false, true)
		s := newGuarded[T](n, rng.IntN(16))
		fill(rng, s.s, false, true)
		s0 := append([]T(nil), s.s...)
		AddColumnSums(m, n, x, ld, s.s)
		s.check(t, "AddColumnSums"+name)
		for j := 0; j < n; j++ {
			want := s0[j]
			for i := 0; i < m; i++ {
				want += x[i*ld+j]
			}
			if !sameBits(s.s[j], want) {
				t.Fatalf("AddColumnSums%s[%d] = %v; want %v", name, j, s.s[j], want)
			}
		}
	})
}

// forEachBand runs f at every level on bands of m rows for a few m and of
// n columns for every n in lengths, with a row stride ld longer than a row,
// and a random source seeded with seed.
func forEachBand(t *testing.T, seed uint64, f func(t *testing.T, rng *rand.Rand, m, n, ld int, name string)) {
	forEachLevel(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(seed, seed+1))
		for _, m := range []int{0, 1, 3, 7, 33} {
			for _, n := range lengths {
				ld := n + 1 + rng.IntN(5)
				f(t, rng, m, n, ld, fmt.Sprintf("(m=%d, n=%d, ld=%d)", m, n, ld))
			}
		}
	})
}

// TestBiasReLU checks BiasReLU and ReLUGradRows of every level against
// their definitions, exactly, on bands of every row length in lengths with
// row strides longer than a row (whose gaps they must leave alone), guard
// bands, and NaN, ±0 and ±Inf among the values; and BiasReLU against
// AddRowVector then ReLU, whose results it stands for.
func TestBiasReLU(t *testing.T) {
	forEachType(t, testBiasReLU[float32], testBiasReLU[float64])
}

func testBiasReLU[T Float](t *testing.T) {
	forEachBand(t, 41, func(t *testing.T, rng *rand.Rand, m, n, ld int, name string) {
		x, b := newGuarded[T](need(m, n, ld), rng.IntN(16)), newGuarded[T](n, rng.IntN(16))
		fill(rng, x.s, false, true)
		fill(rng, b.s, false, true)
		x0 := append([]T(nil), x.s...)

		want := append([]T(nil), x.s...)
		for i := 0; i < m && n > 0; i++ {
			AddRowVector(1, n, b.s, want[i*ld:], n)
			ReLU(want[i*ld:i*ld+n], want[i*ld:i*ld+n])
		}
		BiasReLU(m, n, b.s, x.s, ld)
		x.check(t, "BiasReLU"+name)
		for i, v := range x.s {
			def := x0[i]
			if r, j := i/ld, i%ld; r < m && j < n {
				if def += b.s[j]; def <= 0 {
					def = 0
				}
			}
			if !sameBits(v, def) || !sameBits(v, want[i]) {
				t.Fatalf("BiasReLU%s[%d] = %v; want %v (AddRowVector then ReLU: %v)", name, i, v, def, want[i])
			}
		}

		lddy, lddx := n+1+rng.IntN(5), n+1+rng.IntN(5)
		dy, dx := newGuarded[T](need(m, n, lddy), rng.IntN(16)), newGuarded[T](need(m, n, lddx), rng.IntN(16))
		fill(rng, dy.s, false, true)
		fill(rng, dx.s, false, true)
		dx0 := append([]T(nil), dx.s...)
		ReLUGradRows(m, n, x0, ld, dy.s, lddy, dx.s, lddx)
		dx.check(t, "ReLUGradRows"+name)
		for i, v := range dx.s {
			want := dx0[i]
			if r, j := i/lddx, i%lddx; r < m && j < n {
				if want = dy.s[r*lddy+j]; x0[r*ld+j] <= 0 {
					want = 0
				}
			}
			if !sameBits(v, want) {
				t.Fatalf("ReLUGradRows%s[%d] = %v; want %v", name, i, v, want)
			}
		}
		dy0 := append([]T(nil), dy.s...)
		ReLUGradRows(m, n, x0, ld, dy.s, lddy, dy.s, lddy) // in place
		for i, v := range dy.s {
			want := dy0[i]
			if r, j := i/lddy, i%lddy; r < m && j < n && x0[r*ld+j] <= 0 {
				want = 0
			}
			if !sameBits(v, want) {
				t.Fatalf("ReLUGradRows%s in place [%d] = %v; want %v", name, i, v, want)
			}
		}
	})
}

// batchNormRowKernelsSpecials repeats, for TestBatchNormRowKernels, its
// comparisons of the batch norm's row kernels with special values in x and
// dy as well as in the ReLU's output (fillPayloads: NaNs of both signs and
// distinct payloads, ±Inf, ±0, ±1e30, denormals), bit for bit, NaN payloads
// included (identical), where the kernels compute what they are compared
// with in the same order: AffineReLURows against its definition;
// ColumnSumsDots against ColumnSums and ColumnDiffDots;
// the Add forms over two bands of rows against one pass;
// ReLUColumnSumsDots and ReLUBatchNormGradRows against ReLUGradRows
// followed by those and BatchNormGradRows; and ColumnMeanVar's variance
// against AddSquaredDiff row by row from its mean. At the generic level
// (and under noasm) two NaNs count as equal: where two NaNs meet in an
// addition or a product, which payload the result keeps is the one of
// the operand the Go compiler puts first, which it picks for each
// function (ColumnSums's generic sums keep the later NaN of a column,
// ColumnSumsDots's the earlier); the assembly kernels fix it.
func batchNormRowKernelsSpecials[T Float](t *testing.T, rng *rand.Rand, m, n int, a, b, mean, k, c []T) {
	t.Helper()
	ldx, ldy, ldr, ldd := n+1+rng.IntN(4), n+1+rng.IntN(4), n+1+rng.IntN(4), n+1+rng.IntN(4)
	x, dy, ys := newGuarded[T](need(m, n, ldx), rng.IntN(16)), newGuarded[T](need(m, n, ldy), rng.IntN(16)), newGuarded[T](need(m, n, ldr), rng.IntN(16))
	fillPayloads(rng, x.s)
	fillPayloads(rng, dy.s)
	fillPayloads(rng, ys.s)
	name := fmt.Sprintf("(m=%d, n=%d, specials)", m, n)
	exact := active != generic
	same := func(what string, got, want []T, ldg, ldw, rows int) {
		t.Helper()
		for i := 0; i < rows; i++ {
			for j := 0; j < n; j++ {
				if g, w := got[i*ldg+j], want[i*ldw+j]; !identical(g, w) && (exact || !sameBits(g, w)) {
					t.Fatalf("%s%s[%d][%d] = %v (%#x); want %v (%#x)", what, name, i, j, g, bits(g), w, bits(w))
				}
			}
		}
	}

	r, wr := newGuarded[T](need(m, n, ldd), rng.IntN(16)), make([]T, need(m, n, ldd))
	AffineReLURows(m, n, x.s, ldx, a, b, r.s, ldd)
	r.check(t, "AffineReLURows"+name)
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			if wr[i*ldd+j] = T(x.s[i*ldx+j]*a[j]) + b[j]; wr[i*ldd+j] <= 0 {
				wr[i*ldd+j] = 0
			}
		}
	}
	same("AffineReLURows", r.s, wr, ldd, ldd, m)

	g := make([]T, need(m, n, ldy))
	ReLUGradRows(m, n, ys.s, ldr, dy.s, ldy, g, ldy)
	ws, wd := make([]T, n), make([]T, n)
	bs, bd := newGuarded[T](n, rng.IntN(16)), newGuarded[T](n, rng.IntN(16))
	for _, masked := range []bool{false, true} {
		what, in := "ColumnSumsDots", dy.s
		if masked {
			what, in = "ReLUColumnSumsDots", g
			ReLUColumnSumsDots(m, n, x.s, ldx, mean, ys.s, ldr, dy.s, ldy, bs.s, bd.s)
		} else {
			ColumnSumsDots(m, n, x.s, ldx, mean, dy.s, ldy, bs.s, bd.s)
		}
		bs.check(t, what+name)
		bd.check(t, what+name)
		ColumnSums(m, n, in, ldy, ws)
		ColumnDiffDots(m, n, x.s, ldx, mean, in, ldy, wd)
		same(what+" sums", bs.s, ws, n, n, 1)
		same(what+" dots", bd.s, wd, n, n, 1)
	}

	rx, wx := newGuarded[T](need(m, n, ldd), rng.IntN(16)), make([]T, need(m, n, ldd))
	ReLUBatchNormGradRows(m, n, x.s, ldx, ys.s, ldr, dy.s, ldy, mean, a, k, c, rx.s, ldd)
	rx.check(t, "ReLUBatchNormGradRows"+name)
	BatchNormGradRows(m, n, x.s, ldx, g, ldy, mean, a, k, c, wx, ldd)
	same("ReLUBatchNormGradRows", rx.s, wx, ldd, ldd, m)

	mu, v := newGuarded[T](n, rng.IntN(16)), newGuarded[T](n, rng.IntN(16))
	ColumnMeanVar(m, n, x.s, ldx, mu.s, v.s)
	mu.check(t, "ColumnMeanVar"+name)
	v.check(t, "ColumnMeanVar"+name)
	same("ColumnMeanVar variance", v.s, rowsVariance(m, n, x.s, ldx, mu.s), n, n, 1)
}

// rowsVariance returns the variance of the columns of x [m, n] about mean
// by AddSquaredDiff on each row, as ColumnMeanVar computes it.
func rowsVariance[T Float](m, n int, x []T, ldx int, mean []T) []T {
	v := make([]T, n)
	for i := 0; i < m && n > 0; i++ {
		AddSquaredDiff(x[i*ldx:i*ldx+n], mean, v)
	}
	for j := range v {
		v[j] /= T(m)
	}
	return v
}

// fillPayloads sets s to normal values with, in about one in sixteen, a
// special value: quiet NaNs of both signs with distinct payloads, ±Inf,
// ±0, ±1e30 or denormals of both signs.
func fillPayloads[T Float](rng *rand.Rand, s []T) {
	var x T
	wide := unsafe.Sizeof(x) == 8
	nan := func(neg bool, payload uint64) T {
		if !wide {
			b := uint32(0x7fc00000 | payload)
			if neg {
				b |= 1 << 31
			}
			return T(math.Float32frombits(b))
		}
		b := 0x7ff8000000000000 | payload<<29 | payload
		if neg {
			b |= 1 << 63
		}
		f := math.Float64frombits(b)
		return *(*T)(unsafe.Pointer(&f))
	}
	tiny := 1e-40
	if wide {
		tiny = 1e-310
	}
	special := []T{0, T(math.Copysign(0, -1)), T(math.Inf(1)), T(math.Inf(-1)), 1e30, -1e30, T(tiny), T(-tiny)}
	for p := uint64(1); p <= 6; p++ {
		special = append(special, nan(p%2 == 0, p))
	}
	for i := range s {
		s[i] = T(rng.NormFloat64())
		if rng.IntN(16) == 0 {
			s[i] = special[rng.IntN(len(special))]
		}
	}
}

// identical reports whether a and b have the same bits, NaN payloads
// included (sameBits takes any two NaNs as equal).
func identical[T Float](a, b T) bool { return bits(a) == bits(b) }
