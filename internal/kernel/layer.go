package kernel

import (
	"math"
	"unsafe"
)

// The layer kernels below are the elementwise and row-wise loops of the
// layers' forward and backward passes. Matrices are row-major, m rows of n
// columns with row stride ld, as for Gemm; outputs come last. Work along rows
// runs through vector kernels (Axpy and the ones below), whose results equal
// the reference loops bit for bit; none runs in parallel.

// ReLU sets y to the rectified x; NaN passes through, −0 becomes +0. y may be
// x.
//
//	y[i] = x[i] if !(x[i] <= 0), else 0
func ReLU[T Float](x, y []T) {
	y = y[:len(x)]
	table[T]().relu(x, y)
}

func reluRef[T Float](x, y []T) {
	y = y[:len(x)]
	for i, v := range x {
		if v <= 0 {
			y[i] = 0
		} else {
			y[i] = v
		}
	}
}

// ReLUGrad sets dx to the gradient dy let through by a ReLU whose input was
// x (its output gives the same result). dx may be dy.
//
//	dx[i] = dy[i] if !(x[i] <= 0), else 0
func ReLUGrad[T Float](x, dy, dx []T) {
	dy, dx = dy[:len(x)], dx[:len(x)]
	table[T]().reluGrad(x, dy, dx)
}

func reluGradRef[T Float](x, dy, dx []T) {
	dy, dx = dy[:len(x)], dx[:len(x)]
	for i, v := range x {
		if v <= 0 {
			dx[i] = 0
		} else {
			dx[i] = dy[i]
		}
	}
}

// AddConst sets y to x plus the constant c, the bias of a convolution's
// output channel. y may be x.
//
//	y[i] = x[i] + c
func AddConst[T Float](c T, x, y []T) {
	y = y[:len(x)]
	table[T]().addConst(c, x, y)
}

func addConstRef[T Float](c T, x, y []T) {
	y = y[:len(x)]
	for i, v := range x {
		y[i] = v + c
	}
}

// checkMatrix panics unless x holds an m×n matrix with row stride ld. It
// reports whether the matrix has any rows to visit (rows of an m×0 matrix
// may lie outside x).
func checkMatrix(m, n, lenX, ld int) bool {
	if m < 0 || n < 0 {
		panic("kernel: negative matrix dimension")
	}
	if ld < max(n, 1) {
		panic("kernel: row stride shorter than a row")
	}
	if need(m, n, ld) > lenX {
		panic("kernel: matrix slice too short")
	}
	return m > 0 && n > 0
}

// AddRowVector adds b to every row of x, the bias of a dense layer:
//
//	x[i*ldx+j] += b[j]
func AddRowVector[T Float](m, n int, b, x []T, ldx int) {
	if checkMatrix(m, n, len(x), ldx) {
		table[T]().addRowVector(m, n, b[:n], x, ldx)
	}
}

func addRowVectorRef[T Float](m, n int, b, x []T, ldx int) {
	b = b[:n]
	for i := 0; i < m; i++ {
		r := x[i*ldx : i*ldx+n]
		for j, v := range b {
			r[j] += v
		}
	}
}

// BiasReLU adds b to every row of x and rectifies the sums, AddRowVector
// then ReLU in one pass (NaN passes through, −0 becomes +0):
//
//	x[i*ldx+j] = x[i*ldx+j] + b[j] if !(x[i*ldx+j] + b[j] <= 0), else 0
func BiasReLU[T Float](m, n int, b, x []T, ldx int) {
	if checkMatrix(m, n, len(x), ldx) {
		table[T]().biasReLU(m, n, b[:n], x, ldx)
	}
}

func biasReLURef[T Float](m, n int, b, x []T, ldx int) {
	b = b[:n]
	for i := 0; i < m; i++ {
		r := x[i*ldx : i*ldx+n]
		for j, v := range b {
			if s := r[j] + v; s <= 0 {
				r[j] = 0
			} else {
				r[j] = s
			}
		}
	}
}

// ColumnSums sets dst to the sums of the columns of x, the gradient of a
// bias, adding the rows in order: AddColumnSums to zeros.
//
//	dst[j] = Σᵢ x[i*ldx+j]
func ColumnSums[T Float](m, n int, x []T, ldx int, dst []T) {
	clear(dst[:n])
	AddColumnSums(m, n, x, ldx, dst)
}

// AddColumnSums adds the sums of the columns of x to dst, adding the rows
// to it in order:
//
//	dst[j] = ((dst[j] + x[j]) + x[ldx+j]) + … + x[(m−1)*ldx+j]
func AddColumnSums[T Float](m, n int, x []T, ldx int, dst []T) {
	dst = dst[:n]
	if checkMatrix(m, n, len(x), ldx) {
		table[T]().addColumnSums(m, n, x, ldx, dst)
	}
}

func addColumnSumsRef[T Float](m, n int, x []T, ldx int, s []T) {
	s = s[:n]
	for i := 0; i < m; i++ {
		for j, v := range x[i*ldx : i*ldx+n] {
			s[j] += v
		}
	}
}

// ReLUGradRows sets the m×n matrix dx to the gradient dy let through by a
// ReLU whose output (or input) was y, ReLUGrad on each row of matrices
// with row strides ldy, lddy and lddx. dx may be dy (with lddx = lddy).
//
//	dx[i*lddx+j] = dy[i*lddy+j] if !(y[i*ldy+j] <= 0), else 0
func ReLUGradRows[T Float](m, n int, y []T, ldy int, dy []T, lddy int, dx []T, lddx int) {
	if checkMatrix(m, n, len(y), ldy) && checkMatrix(m, n, len(dy), lddy) && checkMatrix(m, n, len(dx), lddx) {
		table[T]().reluGradRows(m, n, y, ldy, dy, lddy, dx, lddx)
	}
}

func reluGradRowsRef[T Float](m, n int, y []T, ldy int, dy []T, lddy int, dx []T, lddx int) {
	for i := 0; i < m; i++ {
		reluGradRef(y[i*ldy:i*ldy+n], dy[i*lddy:i*lddy+n], dx[i*lddx:i*lddx+n])
	}
}

// CopyRows copies the m×n matrix src (row stride lds) to dst (row stride
// ldd):
//
//	dst[i*ldd+j] = src[i*lds+j]
func CopyRows[T Float](m, n int, src []T, lds int, dst []T, ldd int) {
	if checkMatrix(m, n, len(src), lds) && checkMatrix(m, n, len(dst), ldd) {
		table[T]().copyRows(m, n, src, lds, dst, ldd)
	}
}

func copyRowsRef[T Float](m, n int, src []T, lds int, dst []T, ldd int) {
	for i := 0; i < m; i++ {
		copy(dst[i*ldd:i*ldd+n], src[i*lds:i*lds+n])
	}
}

// AddRows adds the m×n matrix src (row stride lds) to dst (row stride ldd):
//
//	dst[i*ldd+j] += src[i*lds+j]
func AddRows[T Float](m, n int, src []T, lds int, dst []T, ldd int) {
	if checkMatrix(m, n, len(src), lds) && checkMatrix(m, n, len(dst), ldd) {
		table[T]().addRows(m, n, src, lds, dst, ldd)
	}
}

func addRowsRef[T Float](m, n int, src []T, lds int, dst []T, ldd int) {
	for i := 0; i < m; i++ {
		d, s := dst[i*ldd:i*ldd+n], src[i*lds:i*lds+n]
		for j, v := range s {
			d[j] += v
		}
	}
}

// AddSquaredDiff adds the squared differences of x and mean to s:
//
//	s[i] += (x[i] - mean[i]) * (x[i] - mean[i])
func AddSquaredDiff[T Float](x, mean, s []T) {
	mean, s = mean[:len(x)], s[:len(x)]
	table[T]().addSquaredDiff(x, mean, s)
}

func addSquaredDiffRef[T Float](x, mean, s []T) {
	mean, s = mean[:len(x)], s[:len(x)]
	for i, v := range x {
		d := v - mean[i]
		s[i] += T(d * d)
	}
}

// ColumnMeanVar sets mean and variance to the mean and the biased variance
// (divided by m, as batch normalization uses) of the columns of x, in two
// passes over x:
//
//	mean[j]     = (Σᵢ x[i*ldx+j]) / m
//	variance[j] = (Σᵢ (x[i*ldx+j] - mean[j])²) / m
//
// The sums run over the rows in order in the element type: for float32 and
// m rows, the relative error of a sum of positive terms is at most about
// m·2⁻²⁴ (1e-5 for m = 128, and typically √m·2⁻²⁴ ≈ 1e-6). With m = 0 both
// are NaN.
func ColumnMeanVar[T Float](m, n int, x []T, ldx int, mean, variance []T) {
	ColumnSums(m, n, x, ldx, mean)
	mean, variance = mean[:n], variance[:n]
	for j := range mean {
		mean[j] /= T(m)
	}
	clear(variance)
	if checkMatrix(m, n, len(x), ldx) {
		table[T]().addColumnSquaredDiffs(m, n, x, ldx, mean, variance)
	}
	for j := range variance {
		variance[j] /= T(m)
	}
}

// addColumnSquaredDiffsRef adds the squared differences of the rows of x
// and mean to s, AddSquaredDiff on each row in order.
func addColumnSquaredDiffsRef[T Float](m, n int, x []T, ldx int, mean, s []T) {
	for i := 0; i < m; i++ {
		addSquaredDiffRef(x[i*ldx:i*ldx+n], mean[:n], s[:n])
	}
}

// AffineRows scales and shifts the columns of x, the normalization of a
// batch norm with its statistics and parameters folded into a and b. y may
// be x (with ldy = ldx).
//
//	y[i*ldy+j] = x[i*ldx+j]*a[j] + b[j]
func AffineRows[T Float](m, n int, x []T, ldx int, a, b, y []T, ldy int) {
	affineRows(table[T]().mulAdd, m, n, x, ldx, a, b, y, ldy)
}

// affineRows runs the row kernel row (mulAdd or mulAddReLU) on each row of
// x and y, with a and b.
func affineRows[T Float](row func(x, a, b, y []T), m, n int, x []T, ldx int, a, b, y []T, ldy int) {
	if !checkMatrix(m, n, len(x), ldx) || !checkMatrix(m, n, len(y), ldy) {
		return
	}
	a, b = a[:n], b[:n]
	for i := 0; i < m; i++ {
		row(x[i*ldx:i*ldx+n], a, b, y[i*ldy:i*ldy+n])
	}
}

func mulAddRef[T Float](x, a, b, y []T) {
	a, b, y = a[:len(x)], b[:len(x)], y[:len(x)]
	for i, v := range x {
		y[i] = T(v*a[i]) + b[i]
	}
}

// AffineReLURows is AffineRows followed by ReLU in one pass, a batch norm
// and its rectification (NaN passes through, −0 becomes +0). y may be x
// (with ldy = ldx).
//
//	y[i*ldy+j] = x[i*ldx+j]*a[j] + b[j] if !(x[i*ldx+j]*a[j] + b[j] <= 0), else 0
func AffineReLURows[T Float](m, n int, x []T, ldx int, a, b, y []T, ldy int) {
	affineRows(table[T]().mulAddReLU, m, n, x, ldx, a, b, y, ldy)
}

func mulAddReLURef[T Float](x, a, b, y []T) {
	a, b, y = a[:len(x)], b[:len(x)], y[:len(x)]
	for i, v := range x {
		if s := T(v*a[i]) + b[i]; s <= 0 {
			y[i] = 0
		} else {
			y[i] = s
		}
	}
}

// Affine scales and shifts x into y, the normalization of one image
// channel by a batch norm with its statistics and parameters folded into a
// and b. y may be x.
//
//	y[i] = x[i]*a + b
func Affine[T Float](a, b T, x, y []T) {
	table[T]().affine(a, b, x, y[:len(x)])
}

func affineRef[T Float](a, b T, x, y []T) {
	y = y[:len(x)]
	for i, v := range x {
		y[i] = T(v*a) + b
	}
}

// BatchNormGrad sets dx to the input gradient of a batch norm in training
// mode over one image channel, BatchNormGradRows with the same coefficients
// for every element. dx may be dy.
//
//	dx[i] = ((dy[i] - a) - (x[i] - mean)*k) * c
func BatchNormGrad[T Float](x, dy, dx []T, mean, a, k, c T) {
	table[T]().normGradRun(x, dy[:len(x)], dx[:len(x)], mean, a, k, c)
}

func normGradRunRef[T Float](x, dy, dx []T, mean, a, k, c T) {
	dy, dx = dy[:len(x)], dx[:len(x)]
	for i, v := range x {
		dx[i] = ((dy[i] - a) - T((v-mean)*k)) * c
	}
}

// ColumnDiffDots sets dst to the dot products of the centred columns of x
// with the columns of dy, the Σ(x − μ)·∂y of a batch norm's backward pass,
// adding the rows in order:
//
//	dst[j] = Σᵢ (x[i*ldx+j] - mean[j]) * dy[i*lddy+j]
func ColumnDiffDots[T Float](m, n int, x []T, ldx int, mean, dy []T, lddy int, dst []T) {
	dst = dst[:n]
	clear(dst)
	if !checkMatrix(m, n, len(x), ldx) || !checkMatrix(m, n, len(dy), lddy) {
		return
	}
	mean = mean[:n]
	k := table[T]()
	for i := 0; i < m; i++ {
		k.addDiffProduct(x[i*ldx:i*ldx+n], mean, dy[i*lddy:i*lddy+n], dst)
	}
}

func addDiffProductRef[T Float](x, mean, dy, s []T) {
	mean, dy, s = mean[:len(x)], dy[:len(x)], s[:len(x)]
	for i, v := range x {
		s[i] += T((v - mean[i]) * dy[i])
	}
}

// BatchNormGradRows sets dx to the input gradient of a batch norm in
// training mode over the columns of x, from the output gradient dy and per
// column the mean, a = Σ∂y/m, k = s²·Σ(x − μ)·∂y/m and c = s·γ, with
// s = 1/√(σ² + ε):
//
//	dx[i*lddx+j] = ((dy[i*lddy+j] - a[j]) - (x[i*ldx+j] - mean[j])*k[j]) * c[j]
//
// dx may be dy (with lddx = lddy).
func BatchNormGradRows[T Float](m, n int, x []T, ldx int, dy []T, lddy int, mean, a, k, c, dx []T, lddx int) {
	if !checkMatrix(m, n, len(x), ldx) || !checkMatrix(m, n, len(dy), lddy) || !checkMatrix(m, n, len(dx), lddx) {
		return
	}
	mean, a, k, c = mean[:n], a[:n], k[:n], c[:n]
	t := table[T]()
	for i := 0; i < m; i++ {
		t.normGrad(x[i*ldx:i*ldx+n], dy[i*lddy:i*lddy+n], mean, a, k, c, dx[i*lddx:i*lddx+n])
	}
}

func normGradRef[T Float](x, dy, mean, a, k, c, dx []T) {
	n := len(x)
	dy, mean, a, k, c, dx = dy[:n], mean[:n], a[:n], k[:n], c[:n], dx[:n]
	for i, v := range x {
		dx[i] = ((dy[i] - a[i]) - T((v-mean[i])*k[i])) * c[i]
	}
}

// ColumnSumsDots sets sum and dot as ColumnSums and ColumnDiffDots do, in
// one pass over x and dy, the rows added in order:
//
//	sum[j] = Σᵢ dy[i*lddy+j]
//	dot[j] = Σᵢ (x[i*ldx+j] - mean[j]) * dy[i*lddy+j]
func ColumnSumsDots[T Float](m, n int, x []T, ldx int, mean, dy []T, lddy int, sum, dot []T) {
	clear(sum[:n])
	clear(dot[:n])
	AddColumnSumsDots(m, n, x, ldx, mean, dy, lddy, sum, dot)
}

// AddColumnSumsDots is ColumnSumsDots that goes on from the sums already in
// sum and dot, adding m more rows in order: over the rows of a matrix cut
// into bands, one call per band in order gives ColumnSumsDots's bits.
func AddColumnSumsDots[T Float](m, n int, x []T, ldx int, mean, dy []T, lddy int, sum, dot []T) {
	sum, dot = sum[:n], dot[:n]
	if checkMatrix(m, n, len(x), ldx) && checkMatrix(m, n, len(dy), lddy) {
		table[T]().addColumnSumsDots(m, n, x, ldx, mean[:n], dy, lddy, sum, dot)
	}
}

func addColumnSumsDotsRef[T Float](m, n int, x []T, ldx int, mean, dy []T, lddy int, s, d []T) {
	for i := 0; i < m; i++ {
		addColumnSumsRef(1, n, dy[i*lddy:], lddy, s)
		addDiffProductRef(x[i*ldx:i*ldx+n], mean[:n], dy[i*lddy:i*lddy+n], d[:n])
	}
}

// ReLUColumnSumsDots sets sum and dot to the sums of the columns of the
// gradient g that dy lets through a ReLU whose output (or input) was y,
// and to the dot products of the centred columns of x with those of g:
// ColumnSums and ColumnDiffDots of ReLUGradRows(y, dy) in one pass,
// without writing the masked gradient, the rows added in order.
//
//	g[i,j] = dy[i*lddy+j] if !(y[i*ldy+j] <= 0), else 0
//	sum[j] = Σᵢ g[i,j]
//	dot[j] = Σᵢ (x[i*ldx+j] - mean[j]) * g[i,j]
func ReLUColumnSumsDots[T Float](m, n int, x []T, ldx int, mean, y []T, ldy int, dy []T, lddy int, sum, dot []T) {
	clear(sum[:n])
	clear(dot[:n])
	AddReLUColumnSumsDots(m, n, x, ldx, mean, y, ldy, dy, lddy, sum, dot)
}

// AddReLUColumnSumsDots is ReLUColumnSumsDots that goes on from the sums
// already in sum and dot, adding m more rows in order, as AddColumnSumsDots.
func AddReLUColumnSumsDots[T Float](m, n int, x []T, ldx int, mean, y []T, ldy int, dy []T, lddy int, sum, dot []T) {
	sum, dot = sum[:n], dot[:n]
	if checkMatrix(m, n, len(x), ldx) && checkMatrix(m, n, len(y), ldy) && checkMatrix(m, n, len(dy), lddy) {
		table[T]().addReLUColumnSumsDots(m, n, x, ldx, mean[:n], y, ldy, dy, lddy, sum, dot)
	}
}

func addReLUColumnSumsDotsRef[T Float](m, n int, x []T, ldx int, mean, y []T, ldy int, dy []T, lddy int, s, d []T) {
	mean, s, d = mean[:n], s[:n], d[:n]
	for i := 0; i < m; i++ {
		for j, v := range y[i*ldy : i*ldy+n] {
			var g T // +0 where the ReLU let nothing through, added all the same
			if !(v <= 0) {
				g = dy[i*lddy+j]
			}
			s[j] += g
			d[j] += T((x[i*ldx+j] - mean[j]) * g)
		}
	}
}

// ReLUBatchNormGradRows is BatchNormGradRows of the gradient dy let through
// by a ReLU whose output (or input) was y, without writing the masked
// gradient. dx may be dy (with lddx = lddy).
//
//	g = dy[i*lddy+j] if !(y[i*ldy+j] <= 0), else 0
//	dx[i*lddx+j] = ((g - a[j]) - (x[i*ldx+j] - mean[j])*k[j]) * c[j]
func ReLUBatchNormGradRows[T Float](m, n int, x []T, ldx int, y []T, ldy int, dy []T, lddy int, mean, a, k, c, dx []T, lddx int) {
	if !checkMatrix(m, n, len(x), ldx) || !checkMatrix(m, n, len(y), ldy) || !checkMatrix(m, n, len(dy), lddy) || !checkMatrix(m, n, len(dx), lddx) {
		return
	}
	mean, a, k, c = mean[:n], a[:n], k[:n], c[:n]
	t := table[T]()
	for i := 0; i < m; i++ {
		t.normGradReLU(x[i*ldx:i*ldx+n], y[i*ldy:i*ldy+n], dy[i*lddy:i*lddy+n], mean, a, k, c, dx[i*lddx:i*lddx+n])
	}
}

func normGradReLURef[T Float](x, y, dy, mean, a, k, c, dx []T) {
	n := len(x)
	y, dy, mean, a, k, c, dx = y[:n], dy[:n], mean[:n], a[:n], k[:n], c[:n], dx[:n]
	for i, v := range x {
		var g T
		if !(y[i] <= 0) {
			g = dy[i]
		}
		dx[i] = ((g - a[i]) - T((v-mean[i])*k[i])) * c[i]
	}
}

// SoftmaxRows sets each row of y to the softmax of the same row of x,
// SoftmaxRow of each row. y may be x (with ldy = ldx).
func SoftmaxRows[T Float](m, n int, x []T, ldx int, y []T, ldy int) {
	SoftmaxRowsStats(m, n, x, ldx, y, ldy, nil, nil)
}

// SoftmaxRowsStats is SoftmaxRows that also stores SoftmaxRow's results
// for row i in top[i] and sum[i] (when they are not nil): the rows'
// log-sum-exps, a cross-entropy's loss. The rows, their entries and their
// sums are SoftmaxRow's bit for bit. For float32, SoftmaxRow's steps run
// over a block of rows at a time: the shift of every row of the block,
// then one Exp of the whole block where y's rows are contiguous
// (elementwise, so each entry is the one Exp of its row gives), then each
// row's sum (Sum, in its order) and scale. A row of ten classes is shorter
// than one vector, and SoftmaxRow on it is a chain of dependent steps with
// a call for each; by steps, the exps of 128 rows are 80 vectors of
// independent work instead of 128 chains. A block is at most softmaxBlock elements (or one row), so that
// its rows stay in the first-level cache between the steps.
func SoftmaxRowsStats[T Float](m, n int, x []T, ldx int, y []T, ldy int, top, sum []float64) {
	if !checkMatrix(m, n, len(x), ldx) || !checkMatrix(m, n, len(y), ldy) {
		if m > 0 && n == 0 { // SoftmaxRow of an empty row: −Inf and 0
			for i := range m {
				if top != nil {
					top[i] = math.Inf(-1)
				}
				if sum != nil {
					sum[i] = 0
				}
			}
		}
		return
	}
	if top != nil {
		top = top[:m]
	}
	if sum != nil {
		sum = sum[:m]
	}
	if unsafe.Sizeof(T(0)) != 4 {
		for i := 0; i < m; i++ {
			t, s := SoftmaxRow(x[i*ldx:i*ldx+n], y[i*ldy:i*ldy+n])
			if top != nil {
				top[i] = t
			}
			if sum != nil {
				sum[i] = s
			}
		}
		return
	}
	k := table[T]()
	per := max(1, softmaxBlock/n)
	for i0 := 0; i0 < m; i0 += per {
		i1 := min(m, i0+per)
		for i := i0; i < i1; i++ {
			xi, yi := x[i*ldx:i*ldx+n], y[i*ldy:i*ldy+n]
			t := rowMax(xi)
			if top != nil {
				top[i] = t
			}
			k.addConst(-T(t), xi, yi)
		}
		if ldy == n {
			b := y[i0*n : i1*n]
			k.exp(b, b)
		} else {
			for i := i0; i < i1; i++ {
				yi := y[i*ldy : i*ldy+n]
				k.exp(yi, yi)
			}
		}
		for i := i0; i < i1; i++ {
			yi := y[i*ldy : i*ldy+n]
			s := k.sum(yi)
			if sum != nil {
				sum[i] = s
			}
			k.scale(T(1/s), yi)
		}
	}
}

// softmaxBlock is the most elements SoftmaxRowsStats takes a step over
// before the next: 8 KiB of float32.
const softmaxBlock = 2048

// SoftmaxRow sets y to the softmax of x and returns the largest entry top
// of x and sum = Σₖ exp(x[k] − top), so that the log-sum-exp of x is
// top + log(sum):
//
//	y[j] = exp(x[j] − top) / sum
//
// top is subtracted so that no exp overflows. For float64, exp is math.Exp
// and each entry is rounded once to T; for float32, the differences are
// rounded to float32 and raised by Exp (relative error below 3·2⁻²⁴), the
// sum is accumulated in float64 (Sum) and the entries scaled by its
// reciprocal rounded to float32 (Scale). y may be x. A row holding NaN or
// +Inf, or only −Inf, gives NaN.
func SoftmaxRow[T Float](x, y []T) (top, sum float64) {
	y = y[:len(x)]
	top = rowMax(x)
	if unsafe.Sizeof(T(0)) == 4 {
		AddConst(-T(top), x, y)
		Exp(y, y)
		sum = Sum(y)
		Scale(T(1/sum), y)
		return top, sum
	}
	var buf [64]float64 // the exps of a short row, so as not to compute them twice
	for j, v := range x {
		e := math.Exp(float64(v) - top)
		if j < len(buf) {
			buf[j] = e
		}
		sum += e
	}
	for j, v := range x {
		e := buf[min(j, len(buf)-1)]
		if j >= len(buf) {
			e = math.Exp(float64(v) - top)
		}
		y[j] = T(e / sum)
	}
	return top, sum
}

// LogSoftmaxRows sets each row of y to the log-softmax of the same row of x:
//
//	y[i][j] = x[i][j] - max_i - log(Σₖ exp(x[i][k] - max_i))
//
// computed in float64 and rounded once to T. y may be x (with ldy = ldx).
func LogSoftmaxRows[T Float](m, n int, x []T, ldx int, y []T, ldy int) {
	if !checkMatrix(m, n, len(x), ldx) || !checkMatrix(m, n, len(y), ldy) {
		return
	}
	for i := 0; i < m; i++ {
		xi, yi := x[i*ldx:i*ldx+n], y[i*ldy:i*ldy+n]
		top := rowMax(xi)
		var sum float64
		for _, v := range xi {
			sum += math.Exp(float64(v) - top)
		}
		shift := top + math.Log(sum)
		for j, v := range xi {
			yi[j] = T(float64(v) - shift)
		}
	}
}

// rowMax returns the largest entry of x as float64, −Inf for an empty x.
// NaN entries are skipped (the exps of a softmax make them NaN anyway).
// Four running maxima let the comparisons of neighbours overlap.
func rowMax[T Float](x []T) float64 {
	m := [4]T{T(math.Inf(-1)), T(math.Inf(-1)), T(math.Inf(-1)), T(math.Inf(-1))}
	i := 0
	for ; i+4 <= len(x); i += 4 {
		v := x[i : i+4 : i+4]
		if v[0] > m[0] {
			m[0] = v[0]
		}
		if v[1] > m[1] {
			m[1] = v[1]
		}
		if v[2] > m[2] {
			m[2] = v[2]
		}
		if v[3] > m[3] {
			m[3] = v[3]
		}
	}
	for ; i < len(x); i++ {
		if x[i] > m[0] {
			m[0] = x[i]
		}
	}
	return float64(max(m[0], m[1], m[2], m[3]))
}

// Add sets z to the elementwise sum of x and y, a residual connection.
// z may be x or y.
//
//	z[i] = x[i] + y[i]
func Add[T Float](x, y, z []T) {
	n := len(x)
	table[T]().add(x, y[:n], z[:n])
}

func addRef[T Float](x, y, z []T) {
	y, z = y[:len(x)], z[:len(x)]
	for i, v := range x {
		z[i] = v + y[i]
	}
}

// Mul sets z to the elementwise product of x and y. z may be x or y.
//
//	z[i] = x[i]·y[i]
func Mul[T Float](x, y, z []T) {
	n := len(x)
	table[T]().mul(x, y[:n], z[:n])
}

func mulRef[T Float](x, y, z []T) {
	y, z = y[:len(x)], z[:len(x)]
	for i, v := range x {
		z[i] = v * y[i]
	}
}

// LayerNormRow sets y to the row x normalized with mean m and inverse
// standard deviation s, scaled by w and shifted by b, a layer norm's
// output. y may be x.
//
//	y[i] = ((x[i] − m)·s)·w[i] + b[i]
func LayerNormRow[T Float](x, w, b, y []T, m, s T) {
	n := len(x)
	table[T]().layerNorm(x, w[:n], b[:n], y[:n], m, s)
}

func layerNormRef[T Float](x, w, b, y []T, m, s T) {
	n := len(x)
	w, b, y = w[:n], b[:n], y[:n]
	for i, v := range x {
		y[i] = T(T(T(v-m)*s)*w[i]) + b[i]
	}
}

// AddNormProduct adds to acc the products of dy with the row x normalized
// with mean m and inverse standard deviation s, a row's share of a layer
// norm's weight gradient.
//
//	acc[i] += ((x[i] − m)·s)·dy[i]
func AddNormProduct[T Float](x, dy, acc []T, m, s T) {
	n := len(x)
	table[T]().addNormProduct(x, dy[:n], acc[:n], m, s)
}

func addNormProductRef[T Float](x, dy, acc []T, m, s T) {
	n := len(x)
	dy, acc = dy[:n], acc[:n]
	for i, v := range x {
		acc[i] += T(T(T(v-m)*s) * dy[i])
	}
}

// SoftmaxGrad sets dp to the gradient of a softmax's input from its
// output p and its output's gradient dp, c = Σ p·dp over the row:
//
//	dp[i] = p[i]·(dp[i] − c)
func SoftmaxGrad[T Float](p, dp []T, c T) {
	table[T]().softmaxGrad(p, dp[:len(p)], c)
}

func softmaxGradRef[T Float](p, dp []T, c T) {
	dp = dp[:len(p)]
	for i, v := range p {
		dp[i] = v * (dp[i] - c)
	}
}
