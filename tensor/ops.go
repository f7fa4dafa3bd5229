package tensor

import (
	"fmt"

	"github.com/descentml/descent/internal/kernel"
)

// MatMulShape checks that op(a)·op(b) is defined for matrices of shapes a
// and b, where op transposes when the flag is set, and returns the product's
// rows m and columns n and the inner dimension k. The error names both shapes
// (a transposed operand is marked ᵀ).
func MatMulShape(a, b []int, transA, transB bool) (m, n, k int, err error) {
	if len(a) != 2 || len(b) != 2 {
		return 0, 0, 0, fmt.Errorf("tensor: matmul %v%s × %v%s: want two matrices (rank 2)", a, mark(transA), b, mark(transB))
	}
	m, k = a[0], a[1]
	if transA {
		m, k = k, m
	}
	kb, n := b[0], b[1]
	if transB {
		kb, n = n, kb
	}
	if k != kb {
		return 0, 0, 0, fmt.Errorf("tensor: matmul %v%s × %v%s: inner dimensions %d and %d differ", a, mark(transA), b, mark(transB), k, kb)
	}
	return m, n, k, nil
}

func mark(trans bool) string {
	if trans {
		return "ᵀ"
	}
	return ""
}

// MatMul returns the matrix product a·b of an m×k and a k×n matrix.
func MatMul[T Float](a, b *Tensor[T]) (*Tensor[T], error) {
	m, n, k, err := MatMulShape(a.shape, b.shape, false, false)
	if err != nil {
		return nil, err
	}
	c := New[T](m, n)
	kernel.Gemm(false, false, m, n, k, 1, a.data, max(k, 1), b.data, max(n, 1), 0, c.data, max(n, 1))
	return c, nil
}

// Transpose returns the transpose of a matrix (a new tensor).
func Transpose[T Float](x *Tensor[T]) (*Tensor[T], error) {
	if len(x.shape) != 2 {
		return nil, fmt.Errorf("tensor: transpose %v: want a matrix (rank 2)", x.shape)
	}
	r, c := x.shape[0], x.shape[1]
	y := New[T](c, r)
	TransposeInto(y.data, x.data, r, c)
	return y, nil
}

// TransposeInto writes the transpose of the r×c row-major matrix src into
// dst (c×r). It panics if either slice is shorter than r·c.
//
//	dst[j*r+i] = src[i*c+j]
func TransposeInto[T Float](dst, src []T, r, c int) {
	if len(dst) < r*c || len(src) < r*c {
		panic("tensor: transpose slice too short")
	}
	for i := 0; i < r; i++ {
		row := src[i*c : (i+1)*c]
		for j, v := range row {
			dst[j*r+i] = v
		}
	}
}

// Broadcast appends to dst the shape that two tensors of shapes a and b
// broadcast to, by NumPy's rules (align the shapes at their last
// dimensions; each pair of dimensions must be equal or one of them 1, and a
// missing dimension counts as 1), and returns it. op names the operation in
// the error, which names both shapes.
func Broadcast(dst []int, op string, a, b []int) ([]int, error) {
	r := max(len(a), len(b))
	dst = dst[:0]
	for i := 0; i < r; i++ {
		da, db := dimFromEnd(a, r-1-i), dimFromEnd(b, r-1-i)
		switch {
		case da == db || db == 1:
			dst = append(dst, da)
		case da == 1:
			dst = append(dst, db)
		default:
			return nil, fmt.Errorf("tensor: %s %v and %v: dimensions %d and %d do not broadcast", op, a, b, da, db)
		}
	}
	return dst, nil
}

// dimFromEnd returns dimension len(s)−1−i of s counted from the end, or 1
// past its start.
func dimFromEnd(s []int, i int) int {
	if i >= len(s) {
		return 1
	}
	return s[len(s)-1-i]
}

// BroadcastStrides appends to dst, for each dimension of the shape `to`, the
// step in the row-major data of a tensor of shape `from` that one step along
// that dimension takes when `from` is broadcast to `to`: 0 along dimensions
// that are broadcast (missing or 1 in from), and returns it. from must
// broadcast to to.
func BroadcastStrides(dst []int, from, to []int) []int {
	dst = dst[:0]
	for range to {
		dst = append(dst, 0)
	}
	stride := 1
	for i := 1; i <= len(from); i++ {
		d := from[len(from)-i]
		if d != 1 {
			dst[len(to)-i] = stride
		}
		stride *= d
	}
	return dst
}

// ForEachRow visits a tensor of shape `shape` row by row, where a row runs
// along the last dimension, together with two broadcast operands whose
// strides (from [BroadcastStrides]) are sa and sb. For each row it calls
// fn(o, ia, ib, n), where o is the row's start in the tensor's data, ia and
// ib the starts in the operands' data, and n the row length; element j of
// the row reads the operands at ia + j·sa[last] and ib + j·sb[last]. A rank-0
// shape is one row of one element. idx is scratch space of at least
// len(shape) ints.
func ForEachRow(shape, sa, sb, idx []int, fn func(o, ia, ib, n int)) {
	r := len(shape)
	if r == 0 {
		fn(0, 0, 0, 1)
		return
	}
	n := shape[r-1]
	if Size(shape) == 0 {
		return
	}
	idx = idx[:r-1]
	clear(idx)
	o, ia, ib := 0, 0, 0
	for {
		fn(o, ia, ib, n)
		o += n
		// Advance the index over the outer dimensions, like an odometer.
		d := r - 2
		for ; d >= 0; d-- {
			idx[d]++
			ia += sa[d]
			ib += sb[d]
			if idx[d] < shape[d] {
				break
			}
			ia -= sa[d] * shape[d]
			ib -= sb[d] * shape[d]
			idx[d] = 0
		}
		if d < 0 {
			return
		}
	}
}
