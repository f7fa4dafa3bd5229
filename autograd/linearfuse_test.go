package autograd

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/descentml/descent/tensor"
)

func init() {
	fused := func(t *Tape[float64], in []*Var[float64]) *Var[float64] { return t.LinearReLU(in[0], in[1], in[2]) }
	shapes := [][]int{{3, 4}, {5, 4}, {5}}
	opCases = append(opCases,
		opCase{name: "LinearReLU/fresh", shapes: shapes, op: fresh(fused)},
		opCase{name: "LinearReLU/twice", shapes: shapes, op: twice(fused)})
}

// TestLinearReLUMatchesUnfused checks LinearReLU against Linear and ReLU
// one after another, for float32 and float64, with 1, 2 and 3 threads: the
// output and every gradient the same bit for bit, with and without a bias,
// with the input's gradient wanted or not, and added to another's. The
// shapes cover layers cut by units (wide) and by rows (narrow, as a
// classifier's output), odd sizes that leave the bands unequal, and a
// layer too small to be spread.
func TestLinearReLUMatchesUnfused(t *testing.T) {
	defer tensor.SetThreads(0)
	// Spread uses at most GOMAXPROCS workers: allow 3.
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(max(3, runtime.GOMAXPROCS(0))))
	for _, c := range []linearCase{
		{128, 784, 256, true, false}, // the MLP's first layer
		{128, 256, 256, true, true},  // its second
		{127, 33, 200, true, true},
		{131, 256, 10, true, true}, // narrow: cut by rows
		{130, 100, 257, false, true},
		{3, 300, 300, true, true},
		{5, 7, 10, true, true}, // not spread
	} {
		testLinearReLU[float32](t, c)
		testLinearReLU[float64](t, c)
	}
}

type linearCase struct {
	rows, in, out int
	bias, gradX   bool
}

func testLinearReLU[T tensor.Float](t *testing.T, c linearCase) {
	t.Helper()
	rng := rand.New(rand.NewPCG(11, 12))
	param := func(grad bool, shape ...int) *Var[T] {
		x := tensor.New[T](shape...)
		for i := range x.Data() {
			x.Data()[i] = T(rng.NormFloat64())
		}
		return NewVar(x, grad)
	}
	x, w := param(c.gradX, c.rows, c.in), param(true, c.out, c.in)
	var b *Var[T]
	if c.bias {
		b = param(true, c.out)
	}
	weights := tensor.New[T](c.rows, c.out)
	for i := range weights.Data() {
		weights.Data()[i] = T(i%7 - 3)
	}
	run := func(threads int, fused bool) [][]T {
		tensor.SetThreads(threads)
		for _, v := range []*Var[T]{x, w, b} {
			if v != nil {
				v.ZeroGrad()
			}
		}
		tape := NewTape[T]()
		var y *Var[T]
		if fused {
			y = tape.LinearReLU(x, w, b)
		} else {
			y = tape.ReLU(tape.Linear(x, w, b))
		}
		// x's gradient also gets a second term, so that the product adds to it.
		loss := tape.Add(tape.Sum(tape.Mul(y, tape.Const(weights))), tape.Sum(tape.Scale(x, 0.5)))
		if err := tape.Backward(loss); err != nil {
			t.Fatal(err)
		}
		out := [][]T{append([]T(nil), y.Value().Data()...), append([]T(nil), y.Grad().Data()...)}
		for _, v := range []*Var[T]{x, w, b} {
			if v != nil && v.Grad() != nil {
				out = append(out, append([]T(nil), v.Grad().Data()...))
			}
		}
		return out
	}
	name := fmt.Sprintf("%T %+v", T(0), c)
	want := run(1, false)
	for _, threads := range []int{1, 2, 3} {
		got := run(threads, true)
		if len(got) != len(want) {
			t.Fatalf("LinearReLU %s: %d results; unfused %d", name, len(got), len(want))
		}
		for i := range want {
			for j := range want[i] {
				if !sameBits(got[i][j], want[i][j]) {
					t.Fatalf("LinearReLU %s with %d threads: result %d [%d] = %v; unfused %v", name, threads, i, j, got[i][j], want[i][j])
				}
			}
		}
	}
}

// sameBits reports whether a and b are the same value bit for bit (a
// float32 converts to float64 exactly).
func sameBits[T tensor.Float](a, b T) bool {
	return math.Float64bits(float64(a)) == math.Float64bits(float64(b))
}
