package kernel

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"unsafe"
)

// lengths covers the edges of every loop in the vector kernels: empty, less
// than one vector, one vector ± 1 for 4, 8 and 16 lanes, the unrolled
// iteration ± 1, and long slices with ragged ends.
var lengths = []int{0, 1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 100, 127, 128, 129, 1000, 4097}

// offsets are the starts of slices within their buffers, in elements: every
// alignment a vector load can meet.
var offsets = []int{0, 1, 3, 7, 15}

// forEachShape calls f for every length and every offset (f gets its index
// j), first with ordinary values, then with special values.
func forEachShape(f func(n, j int, specials bool)) {
	for _, specials := range []bool{false, true} {
		for _, n := range lengths {
			for j := range offsets {
				f(n, j, specials)
			}
		}
	}
}

// guard is the number of elements on each side of a slice that a kernel must
// neither read into its result nor write.
const guard = 19

// levels returns the instruction-set levels the CPU runs, slowest first.
func levels() []level {
	var ls []level
	for l := generic; l <= best; l++ {
		ls = append(ls, l)
	}
	return ls
}

// forEachType runs the float32 and float64 instances of a test as subtests.
func forEachType(t *testing.T, f32, f64 func(*testing.T)) {
	t.Run("float32", f32)
	t.Run("float64", f64)
}

// forEachLevel runs f once per level with the kernels switched to it.
func forEachLevel(t *testing.T, f func(t *testing.T)) {
	t.Helper()
	defer use(best)
	for _, l := range levels() {
		use(l)
		t.Run(l.String(), f)
	}
}

// sentinel returns a NaN with a payload no kernel produces, so a guard element
// that changed is told apart from one that was written with a NaN.
func sentinel[T Float]() T {
	var x T
	if unsafe.Sizeof(x) == 4 {
		return T(math.Float32frombits(0x7fa5a5a5)) // a signalling NaN: any arithmetic quiets it
	}
	f := math.Float64frombits(0x7ff5a5a5a5a5a5a5)
	return *(*T)(unsafe.Pointer(&f))
}

func bits[T Float](x T) uint64 {
	if unsafe.Sizeof(x) == 4 {
		return uint64(*(*uint32)(unsafe.Pointer(&x)))
	}
	return *(*uint64)(unsafe.Pointer(&x))
}

// guarded is a slice inside a buffer whose other elements hold the sentinel.
type guarded[T Float] struct {
	buf []T
	off int
	s   []T
}

func newGuarded[T Float](n, off int) guarded[T] {
	buf := make([]T, off+n+2*guard)
	for i := range buf {
		buf[i] = sentinel[T]()
	}
	return guarded[T]{buf: buf, off: off, s: buf[guard+off : guard+off+n : guard+off+n]}
}

// check fails t if an element outside the slice changed.
func (g guarded[T]) check(t *testing.T, what string) {
	t.Helper()
	want := bits(sentinel[T]())
	for i, v := range g.buf {
		if i >= guard+g.off && i < guard+g.off+len(g.s) {
			continue
		}
		if bits(v) != want {
			t.Fatalf("%s: element %d outside the slice (at %d..%d) changed to %v", what, i, guard+g.off, guard+g.off+len(g.s), v)
		}
	}
}

// fill sets s to random values: normal, or their absolute values if nonneg;
// with specials set, about one in ten is a special value instead.
func fill[T Float](rng *rand.Rand, s []T, nonneg, specials bool) {
	special := []float64{0, math.Copysign(0, -1), math.Inf(1), math.Inf(-1), math.NaN(), 1e-40, 1e30, -1e-40}
	for i := range s {
		x := rng.NormFloat64()
		if specials && rng.IntN(10) == 0 {
			x = special[rng.IntN(len(special))]
		}
		if nonneg {
			x = math.Abs(x)
		}
		s[i] = T(x)
	}
}

// sameBits reports whether a and b are identical, taking any two NaNs as equal.
func sameBits[T Float](a, b T) bool {
	return bits(a) == bits(b) || (a != a && b != b)
}

func typeName[T Float]() string {
	var x T
	return fmt.Sprintf("float%d", 8*unsafe.Sizeof(x))
}
