package autograd

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/descentml/descent/internal/kernel"
	"github.com/descentml/descent/tensor"
)

func init() {
	op := func(t *Tape[float64], in []*Var[float64]) *Var[float64] {
		return t.LinearBatchNormReLU(in[0], in[1], in[2], in[3], in[4], 1e-5, nil, nil)
	}
	shapes := [][]int{{6, 4}, {5, 4}, {5}, {5}, {5}}
	opCases = append(opCases,
		opCase{name: "LinearBatchNormReLU/fresh", shapes: shapes, op: fresh(op)},
		opCase{name: "LinearBatchNormReLU/twice", shapes: shapes, op: twice(op)})
}

// TestLinearBatchNormReLUMatchesUnfused checks LinearBatchNormReLU against
// Linear and BatchNormReLU one after the other on one thread, for float32
// and float64, with 1, 2 and 3 threads: the output, the batch statistics
// and every gradient the same bit for bit, with and without a bias and γ
// and β, the operands' gradients set (intermediates) or added to (leaves,
// and an input with another term), with NaN, infinities and a row of
// zeros, and without recording (SetNoGrad). The shapes cover the MLP's
// layers, units not divisible by the workers, fewer units than a band
// needs (run unfused on the pool, fused on one thread), one example, and
// layers too small to spread; whether it runs fused is checked against
// fusesLinearNorm's rule.
func TestLinearBatchNormReLUMatchesUnfused(t *testing.T) {
	for _, c := range []linearNormCase{
		{rows: 128, in: 784, out: 256, bias: true, affine: true}, // the MLP's layers
		{rows: 128, in: 256, out: 256, bias: true, affine: true, gradX: true},
		{rows: 128, in: 256, out: 256, bias: true, affine: true, gradX: true, set: true},
		{rows: 127, in: 33, out: 200, bias: true, affine: true, gradX: true, special: true},
		{rows: 130, in: 100, out: 257, gradX: true, set: true, special: true},
		{rows: 131, in: 64, out: 193, affine: true, gradX: true},
		{rows: 129, in: 256, out: 10, bias: true, affine: true, gradX: true}, // narrow
		{rows: 64, in: 600, out: 2, bias: true, gradX: true, set: true},      // fewer units than workers
		{rows: 1, in: 784, out: 256, bias: true, affine: true, gradX: true},
		{rows: 3, in: 300, out: 300, bias: true, affine: true, gradX: true}, // its output not spread
		{rows: 5, in: 7, out: 10, bias: true, affine: true, gradX: true},    // not spread
		{rows: 128, in: 256, out: 256, bias: true, affine: true, nanInput: true},
		{rows: 128, in: 256, out: 256, bias: true, affine: true, noGrad: true},
	} {
		testLinearBatchNormReLU[float32](t, c)
		testLinearBatchNormReLU[float64](t, c)
	}
}

type linearNormCase struct {
	rows, in, out       int
	bias, affine, gradX bool
	set                 bool // the operands intermediate: their gradients set, not added to
	special             bool // NaN and ±Inf in a unit's weights and bias, a row of zeros
	nanInput, noGrad    bool // a NaN in the input (every unit NaN); SetNoGrad
}

func testLinearBatchNormReLU[T tensor.Float](t *testing.T, c linearNormCase) {
	t.Helper()
	rng := rand.New(rand.NewPCG(21, 22))
	param := func(grad bool, shape ...int) *Var[T] { return normalVar[T](rng, grad, shape...) }
	x, w := param(c.gradX, c.rows, c.in), param(true, c.out, c.in)
	var b, gamma, beta *Var[T]
	if c.bias {
		b = param(true, c.out)
	}
	if c.affine {
		gamma, beta = param(true, c.out), param(true, c.out)
	}
	if c.special {
		w.Value().Data()[3*c.in+1] = T(math.NaN())
		w.Value().Data()[5*c.in] = T(math.Inf(1))
		if b != nil {
			b.Value().Data()[7] = T(math.Inf(-1))
		}
		clear(x.Value().Data()[2*c.in : 3*c.in])
	}
	if c.nanInput {
		x.Value().Data()[c.in+3] = T(math.NaN())
	}
	weights := param(false, c.rows, c.out).Value() // of the outputs in the loss
	leaves := []*Var[T]{x, w, b, gamma, beta}
	run := func(threads int, fused bool) [][]T {
		tensor.SetThreads(threads)
		for _, v := range leaves {
			if v != nil && v.needGrad {
				v.ZeroGrad()
			}
		}
		tape := NewTape[T]()
		tape.SetNoGrad(c.noGrad)
		in := leaves
		if c.set {
			in = make([]*Var[T], len(leaves))
			for i, v := range leaves {
				if v != nil {
					in[i] = tape.Scale(v, 1)
				}
			}
		}
		bm, bv := make([]T, c.out), make([]T, c.out)
		var y *Var[T]
		if fused {
			if got, want := tape.fusesLinearNorm(in[0], in[1], in[2], in[3], in[4], bm, bv), fusesAt(c, threads); got != want {
				t.Fatalf("LinearBatchNormReLU %T %+v with %d threads: fused %v; want %v", T(0), c, threads, got, want)
			}
			y = tape.LinearBatchNormReLU(in[0], in[1], in[2], in[3], in[4], 1e-5, bm, bv)
		} else {
			y = tape.BatchNormReLU(tape.Linear(in[0], in[1], in[2]), in[3], in[4], 1e-5, bm, bv)
		}
		var ops []opKind
		for _, n := range tape.nodes {
			ops = append(ops, n.op)
		}
		out := [][]T{append([]T(nil), y.Value().Data()...), bm, bv, {T(len(ops))}}
		for _, op := range ops {
			out = append(out, []T{T(op)})
		}
		if c.noGrad {
			return out
		}
		loss := tape.Sum(tape.Mul(y, tape.Const(weights)))
		if !c.set && c.gradX {
			// x's gradient also gets a second term, so that the product adds to it.
			loss = tape.Add(loss, tape.Sum(tape.Scale(x, 0.5)))
		}
		if err := tape.Backward(loss); err != nil {
			t.Fatal(err)
		}
		return append(out, gradsOf(append(leaves, in...)...)...)
	}
	matchOnThreads(t, fmt.Sprintf("LinearBatchNormReLU %T %+v", T(0), c), run)
}

// matchOnThreads checks that run(threads, true), a fused operation on that
// many threads, gives the bits of run(1, false), the operations it fuses
// on one thread, for 1, 2 and 3 threads (as many workers, whatever
// GOMAXPROCS: Spread uses at most GOMAXPROCS).
func matchOnThreads[T tensor.Float](t *testing.T, name string, run func(threads int, fused bool) [][]T) {
	t.Helper()
	defer tensor.SetThreads(0)
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(max(3, runtime.GOMAXPROCS(0))))
	want := run(1, false)
	for _, threads := range []int{1, 2, 3} {
		got := run(threads, true)
		if i, j := firstDiff(got, want); i >= 0 {
			t.Fatalf("%s with %d threads: result %d [%d] = %v; unfused %v", name, threads, i, j, at(got, i, j), at(want, i, j))
		}
	}
}

// gradsOf returns copies of the gradients of the Vars of vs that have one.
func gradsOf[T tensor.Float](vs ...*Var[T]) [][]T {
	var out [][]T
	for _, v := range vs {
		if v != nil && v.Grad() != nil {
			out = append(out, append([]T(nil), v.Grad().Data()...))
		}
	}
	return out
}

// fusesAt returns whether LinearBatchNormReLU runs case c fused with that
// many threads: on one worker, or with at least unitsAt units per worker.
func fusesAt(c linearNormCase, threads int) bool {
	return threads == 1 || c.rows*c.out*c.in < bandAt || c.out >= unitsAt*threads
}

// TestLinearBatchNormReLUParts runs the parts of LinearBatchNormReLU's
// job one after the other on one goroutine, in order and in reverse (as a
// participant that takes the parts of workers that have not started does,
// kernel.Spread), with 2 and 3 workers, and the second phase also as one
// worker (a Spread call that found the pool busy): the output and batch
// statistics must be the bits of the operation on one thread. A part whose
// statistics were of another band than its product would read units not
// yet computed.
func TestLinearBatchNormReLUParts(t *testing.T) {
	defer tensor.SetThreads(0)
	tensor.SetThreads(1)
	for _, s := range []struct{ rows, in, out int }{{128, 256, 256}, {127, 33, 200}, {5, 7, 10}} {
		testLinearNormParts[float32](t, s.rows, s.in, s.out)
		testLinearNormParts[float64](t, s.rows, s.in, s.out)
	}
}

func testLinearNormParts[T tensor.Float](t *testing.T, rows, in, out int) {
	t.Helper()
	rng := rand.New(rand.NewPCG(23, 24))
	fill := func(n int) []T {
		v := make([]T, n)
		for i := range v {
			v[i] = T(rng.NormFloat64())
		}
		return v
	}
	x, w, b, gamma, beta := fill(rows*in), fill(out*in), fill(out), fill(out), fill(out)
	tape := NewTape[T]()
	bm, bv := make([]T, out), make([]T, out)
	v := func(d []T, shape ...int) *Var[T] { return NewVar(tensor.FromSlice(d, shape...), false) }
	y := tape.LinearBatchNormReLU(v(x, rows, in), v(w, out, in), v(b, out), v(gamma, out), v(beta, out), 1e-5, bm, bv)
	want := [][]T{y.Value().Data(), bm, bv}
	for _, workers := range []int{2, 3} {
		for _, reverse := range []bool{false, true} {
			for _, split := range []bool{false, true} {
				tp := NewTape[T]()
				tp.job = job[T]{kind: jobLinearNorm, n: rows, p: in, ld: out, x: x, b: w, y: make([]T, rows*out), beta: b, phases: 2}
				tp.norm = job[T]{kind: jobNormRows, x: tp.job.y, y: make([]T, rows*out), z: make([]T, 2*out), p: 1, n: rows,
					mean: make([]T, out), variance: make([]T, out), eps: 1e-5, train: true, relu: true, coef: make([]T, 2*out),
					gamma: gamma, beta: beta}
				for ; tp.job.phase < 2; tp.job.phase++ {
					if split && tp.job.phase == 1 {
						tp.runBand(0, 1)
						break
					}
					for i := range workers {
						if reverse {
							i = workers - 1 - i
						}
						tp.runBand(i, workers)
					}
				}
				got := [][]T{tp.norm.y, tp.norm.mean, tp.norm.variance}
				if i, j := firstDiff(got, want); i >= 0 {
					t.Fatalf("LinearBatchNormReLU %T [%d, %d]→%d, %d parts, reverse %v, phase 1 on one %v: result %d [%d] = %v; on one thread %v",
						T(0), rows, in, out, workers, reverse, split, i, j, at(got, i, j), at(want, i, j))
				}
			}
		}
	}
}

// TestLinearBatchNormReLUNested runs LinearBatchNormReLU from inside a
// kernel.Spread part, where its own Spread calls find the pool busy and
// run as one worker although fusesLinearNorm counted the pool's: the bits
// of the unfused operations.
func TestLinearBatchNormReLUNested(t *testing.T) {
	defer tensor.SetThreads(0)
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(max(2, runtime.GOMAXPROCS(0))))
	tensor.SetThreads(2)
	rng := rand.New(rand.NewPCG(25, 26))
	param := func(shape ...int) *Var[float32] { return normalVar[float32](rng, true, shape...) }
	x, w, b, g, s := param(128, 256), param(256, 256), param(256), param(256), param(256)
	run := func(fused bool) [][]float32 {
		for _, v := range []*Var[float32]{x, w, b, g, s} {
			v.ZeroGrad()
		}
		tape := NewTape[float32]()
		var y *Var[float32]
		if fused {
			kernel.Spread(func(part, _ int) {
				if part == 0 {
					y = tape.LinearBatchNormReLU(x, w, b, g, s, 1e-5, nil, nil)
				}
			})
		} else {
			y = tape.BatchNormReLU(tape.Linear(x, w, b), g, s, 1e-5, nil, nil)
		}
		if err := tape.Backward(tape.Sum(tape.Mul(y, y))); err != nil {
			t.Fatal(err)
		}
		out := [][]float32{append([]float32(nil), y.Value().Data()...)}
		for _, v := range []*Var[float32]{x, w, b, g, s} {
			out = append(out, append([]float32(nil), v.Grad().Data()...))
		}
		return out
	}
	want := run(false)
	got := run(true)
	if i, j := firstDiff(got, want); i >= 0 {
		t.Fatalf("LinearBatchNormReLU inside Spread: result %d [%d] = %v; unfused %v", i, j, at(got, i, j), at(want, i, j))
	}
}

// normalVar returns a leaf of the given shape whose values are standard
// normal draws from rng, needing a gradient if grad.
func normalVar[T tensor.Float](rng *rand.Rand, grad bool, shape ...int) *Var[T] {
	x := tensor.New[T](shape...)
	for i := range x.Data() {
		x.Data()[i] = T(rng.NormFloat64())
	}
	return NewVar(x, grad)
}
