package kernel

import "math"

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
	if !checkMatrix(m, n, len(x), ldx) {
		return
	}
	b = b[:n]
	for i := 0; i < m; i++ {
		Axpy(1, b, x[i*ldx:i*ldx+n])
	}
}

// ColumnSums sets dst to the sums of the columns of x, the gradient of a
// bias, adding the rows in order:
//
//	dst[j] = Σᵢ x[i*ldx+j]
func ColumnSums[T Float](m, n int, x []T, ldx int, dst []T) {
	dst = dst[:n]
	clear(dst)
	if !checkMatrix(m, n, len(x), ldx) {
		return
	}
	for i := 0; i < m; i++ {
		Axpy(1, x[i*ldx:i*ldx+n], dst)
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
	for i := 0; i < m && n > 0; i++ {
		AddSquaredDiff(x[i*ldx:i*ldx+n], mean, variance)
	}
	for j := range variance {
		variance[j] /= T(m)
	}
}

// SoftmaxRows sets each row of y to the softmax of the same row of x:
//
//	y[i][j] = exp(x[i][j] - max_i) / Σₖ exp(x[i][k] - max_i)
//
// with max_i the largest entry of row i, subtracted so that no exp
// overflows. exp runs in float64 and the sum is accumulated in float64, then
// each entry is rounded once to T. y may be x (with ldy = ldx). A row holding
// NaN or +Inf, or only −Inf, gives NaN.
//
// It has no vector version: in descent's models rows hold the 10 logits of a
// class, and exp dominates.
func SoftmaxRows[T Float](m, n int, x []T, ldx int, y []T, ldy int) {
	if !checkMatrix(m, n, len(x), ldx) || !checkMatrix(m, n, len(y), ldy) {
		return
	}
	var buf [64]float64 // the exps of a short row, so as not to compute them twice
	for i := 0; i < m; i++ {
		xi, yi := x[i*ldx:i*ldx+n], y[i*ldy:i*ldy+n]
		top := rowMax(xi)
		var sum float64
		for j, v := range xi {
			e := math.Exp(float64(v) - top)
			if j < len(buf) {
				buf[j] = e
			}
			sum += e
		}
		for j, v := range xi {
			e := buf[min(j, len(buf)-1)]
			if j >= len(buf) {
				e = math.Exp(float64(v) - top)
			}
			yi[j] = T(e / sum)
		}
	}
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

// rowMax returns the largest entry of x as float64, NaN if x holds one, −Inf
// for an empty x.
func rowMax[T Float](x []T) float64 {
	top := math.Inf(-1)
	for _, v := range x {
		if f := float64(v); f > top || f != f {
			top = f
			if f != f {
				break
			}
		}
	}
	return top
}
