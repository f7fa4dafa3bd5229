package autograd

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"testing"
	"unsafe"

	"github.com/descentml/descent/internal/kernel"
	"github.com/descentml/descent/tensor"
)

// BenchmarkBatchNormRows measures BatchNormReLU of an input [N, C], the
// MLP's batch norm after a Linear layer, and BatchNorm alone, forward and
// backward, the gradients discarded and overwritten as in a training step,
// on GOMAXPROCS threads.
func BenchmarkBatchNormRows(b *testing.B) {
	kernel.SetThreads(runtime.GOMAXPROCS(0))
	for _, s := range [][2]int{{128, 256}, {512, 256}} {
		b.Run(fmt.Sprintf("f32/%dx%d", s[0], s[1]), func(b *testing.B) { benchBatchNormRows[float32](b, s[0], s[1], true) })
	}
	b.Run("f32/128x256/norelu", func(b *testing.B) { benchBatchNormRows[float32](b, 128, 256, false) })
}

func benchBatchNormRows[T tensor.Float](b *testing.B, n, c int, relu bool) {
	rng := rand.New(rand.NewPCG(1, 2))
	param := func(lo float64, shape ...int) *Var[T] {
		v := tensor.New[T](shape...)
		for i := range v.Data() {
			v.Data()[i] = T(lo + rng.NormFloat64())
		}
		return NewVar(v, true)
	}
	x, gamma, beta, dy := param(0.3, n, c), param(1, c), param(0, c), param(0, n, c)
	mean, variance := make([]T, c), make([]T, c)
	tape := NewTape[T]()
	b.SetBytes(int64(n * c * int(unsafe.Sizeof(T(0)))))
	b.ReportAllocs()
	for b.Loop() {
		for _, v := range []*Var[T]{x, gamma, beta} {
			v.DiscardGrad()
		}
		var y *Var[T]
		if relu {
			y = tape.BatchNormReLU(x, gamma, beta, 1e-5, mean, variance)
		} else {
			y = tape.BatchNorm(x, gamma, beta, 1e-5, mean, variance)
		}
		if err := tape.BackwardWith(y, dy.Value()); err != nil {
			b.Fatal(err)
		}
		tape.Reset()
	}
}

// TestBatchNormRowsMatchesColumnBands checks the batch norm of an input
// [N, C] (BatchNorm, BatchNormEval, BatchNormReLU, BatchNormEvalReLU),
// whose passes that write [N, C] arrays run by bands of rows, bit for bit
// against the code that ran every pass by bands of channels (kept below as
// oldNormRows and oldNormRowsGrad, on all the channels at once, which gave
// the same bits on any number of threads): the output, the batch
// statistics, and the gradients of the input, γ and β, added to gradients
// already there or overwriting discarded ones, for float32 and float64 on
// 1, 2 and 3 threads. The shapes include one row, one channel, odd sizes,
// channels not divisible by the workers, and sizes under bandAt (run on
// the caller) and over it (spread).
func TestBatchNormRowsMatchesColumnBands(t *testing.T) {
	defer tensor.SetThreads(0)
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(max(3, runtime.GOMAXPROCS(0))))
	shapes := [][2]int{{1, 1}, {1, 5}, {7, 1}, {5, 7}, {33, 17}, {1, 40000}, {40000, 1}, {128, 256}, {127, 301}, {333, 101}}
	for _, s := range shapes {
		for _, m := range []rowsMode{{}, {relu: true}, {eval: true}, {eval: true, relu: true}, {relu: true, noAffine: true}} {
			for _, discard := range []bool{false, true} {
				m.discard = discard
				testBatchNormRows[float32](t, s[0], s[1], m)
				if s[0]*s[1] < 1<<16 {
					testBatchNormRows[float64](t, s[0], s[1], m)
				}
			}
		}
	}
}

type rowsMode struct {
	eval, relu, noAffine bool
	discard              bool // the gradients discarded and overwritten, else added to
	specials             bool // special values in x and ∂y (rowsSpecials)
}

// TestBatchNormRowsSpecialValues is TestBatchNormRowsMatchesColumnBands
// with special values in the input and the output's gradient
// (rowsSpecials): quiet NaNs of both signs and distinct payloads, ±Inf,
// −0, ±1e30 and denormals, compared bit for bit, NaN payloads included
// where the kernels are in assembly (asmKernels). In pure Go (noasm) the
// payload of a sum of two NaNs depends on the operand order the compiler
// picks, and kernel.ColumnSumsDots's sums keep another NaN of a channel
// than ColumnSums's, which the code before used (TestBatchNormRowKernelsSpecials).
func TestBatchNormRowsSpecialValues(t *testing.T) {
	defer tensor.SetThreads(0)
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(max(3, runtime.GOMAXPROCS(0))))
	shapes := [][2]int{{1, 1}, {1, 6}, {7, 1}, {5, 7}, {33, 17}, {1, 40000}, {40000, 1}, {128, 256}, {127, 301}}
	for _, s := range shapes {
		for _, m := range []rowsMode{{}, {relu: true}, {eval: true}, {eval: true, relu: true}, {relu: true, noAffine: true}} {
			for _, discard := range []bool{false, true} {
				m.discard, m.specials = discard, true
				testBatchNormRows[float32](t, s[0], s[1], m)
				if s[0]*s[1] < 1<<16 {
					testBatchNormRows[float64](t, s[0], s[1], m)
				}
			}
		}
	}
}

// rowsSpecials puts special values in the input x and the output's
// gradient dy [n, c] of a batch norm, by channels so that not every
// statistic is NaN: channel j, by (j + n) mod 6, keeps its values (0),
// gets in about a quarter of its rows −0, ±1e30 or denormals in x (1), any
// special value in x (2), in dy (3) or in both (4), or gets only ±0 and
// denormals in x (5), a variance that is denormal or 0. The special values
// are quiet NaNs of both signs with distinct payloads, ±Inf, −0, ±1e30
// (whose squares overflow float32) and ±denormals; in dy +0 for −0, which
// the Tape's gradients, sums from 0, turn into +0 (−0 in ∂y is tested with
// the kernels, in internal/kernel).
func rowsSpecials[T tensor.Float](rng *rand.Rand, n, c int, x, dy []T) {
	nan := func(neg bool, payload uint64) T {
		switch any(T(0)).(type) {
		case float32:
			b := uint32(0x7fc00000 | payload)
			if neg {
				b |= 1 << 31
			}
			return T(math.Float32frombits(b))
		default:
			b := 0x7ff8000000000000 | payload<<29 | payload
			if neg {
				b |= 1 << 63
			}
			return T(math.Float64frombits(b))
		}
	}
	tiny := T(1e-40) // denormal in float32
	if _, ok := any(T(0)).(float64); ok {
		tiny = T(1e-310)
	}
	negZero := T(math.Copysign(0, -1))
	finite := []T{negZero, 1e30, -1e30, tiny, -tiny, 3 * tiny}
	all := append([]T{T(math.Inf(1)), T(math.Inf(-1))}, finite...)
	for p := uint64(1); p <= 6; p++ {
		all = append(all, nan(p%2 == 0, p))
	}
	allDy := append([]T(nil), all...)
	allDy[2] = 0 // for −0, which the Tape's gradients, added to 0, make +0
	put := func(v []T, j int, from []T) {
		for i := range n {
			if rng.IntN(4) == 0 {
				v[i*c+j] = from[rng.IntN(len(from))]
			}
		}
	}
	for j := range c {
		switch (j + n) % 6 {
		case 1:
			put(x, j, finite)
		case 2:
			put(x, j, all)
		case 3:
			put(dy, j, allDy)
		case 4:
			put(x, j, all)
			put(dy, j, allDy)
		case 5:
			for i := range n {
				x[i*c+j] = []T{0, negZero, tiny, -tiny, 5 * tiny}[rng.IntN(5)]
			}
		}
	}
}

func testBatchNormRows[T tensor.Float](t *testing.T, n, c int, m rowsMode) {
	t.Helper()
	in := newRowsInputs[T](n, c, m)
	name := fmt.Sprintf("%T [%d, %d] %+v", T(0), n, c, m)
	want := in.reference()
	for _, threads := range []int{1, 2, 3} {
		tensor.SetThreads(threads)
		sameRows(t, fmt.Sprintf("%s with %d threads", name, threads), in.tape(t), want, !m.specials || asmKernels())
	}
}

// rowsInputs are the inputs of a batch norm of an input [N, C] and of its
// backward pass, for a mode.
type rowsInputs[T tensor.Float] struct {
	n, c            int
	m               rowsMode
	x, dy           []T    // the input and the output's gradient
	gamma, beta     []T    // nil when m.noAffine
	runMean, runVar []T    // the statistics of eval mode
	before          [3][]T // the gradients already there, to add to
}

const rowsEps = 1e-5

// newRowsInputs makes random inputs of a batch norm of an input [n, c].
func newRowsInputs[T tensor.Float](n, c int, m rowsMode) *rowsInputs[T] {
	rng := rand.New(rand.NewPCG(uint64(n), uint64(c)))
	vec := func(k int, lo float64) []T {
		v := make([]T, k)
		for i := range v {
			v[i] = T(lo + rng.NormFloat64())
		}
		return v
	}
	in := &rowsInputs[T]{n: n, c: c, m: m, x: vec(n*c, 0.3), dy: vec(n*c, 0)}
	if !m.noAffine {
		in.gamma, in.beta = vec(c, 1), vec(c, 0)
	}
	in.runMean, in.runVar = vec(c, 0), vec(c, 0)
	for i := range in.runVar {
		in.runVar[i] = T(math.Abs(float64(in.runVar[i])) + 0.1)
	}
	in.before = [3][]T{vec(n*c, 0), vec(c, 0), vec(c, 0)}
	if m.specials {
		rowsSpecials(rng, n, c, in.x, in.dy)
	}
	return in
}

// reference returns the output, the statistics, and the gradients of the
// input, γ and β (nil for none) that the code before computes
// (oldNormRows, oldNormRowsGrad) on one worker.
func (in *rowsInputs[T]) reference() [][]T {
	n, c, m := in.n, in.c, in.m
	j := job[T]{x: in.x, y: make([]T, n*c), z: make([]T, 2*c), coef: make([]T, 2*c), n: n, p: 1,
		eps: rowsEps, train: !m.eval, relu: m.relu, gamma: in.gamma, beta: in.beta}
	if m.eval {
		j.mean, j.variance = in.runMean, in.runVar
	} else {
		j.mean, j.variance = make([]T, c), make([]T, c)
	}
	oldNormRows(&j)
	want := [][]T{j.y, j.mean, j.variance}
	g := job[T]{x: in.x, y: in.dy, z: j.z, coef: make([]T, 5*c), n: n, p: 1, train: !m.eval, gamma: in.gamma,
		tmp: make([]T, c), add: !m.discard, addGamma: !m.discard, addBeta: !m.discard}
	if m.relu {
		g.mask, g.masked = j.y, make([]T, n*c)
	}
	g.dx = append([]T(nil), in.before[0]...)
	if !m.noAffine {
		g.dgamma, g.dbeta = append([]T(nil), in.before[1]...), append([]T(nil), in.before[2]...)
	}
	oldNormRowsGrad(&g)
	return append(want, g.dx, g.dgamma, g.dbeta)
}

// tape returns what reference does, computed by a Tape on the current
// number of threads: the gradients of leaves that hold in.before,
// discarded when in.m.discard; the output's gradient in.dy, through
// Sum(y·dy), which keeps its bits (−0 and NaN payloads included).
func (in *rowsInputs[T]) tape(t *testing.T) [][]T {
	t.Helper()
	n, c, m := in.n, in.c, in.m
	leaf := func(d []T, shape ...int) *Var[T] {
		if d == nil {
			return nil
		}
		v := NewVar(tensor.FromSlice(append([]T(nil), d...), shape...), true)
		v.ZeroGrad()
		return v
	}
	x, gamma, beta := leaf(in.x, n, c), leaf(in.gamma, c), leaf(in.beta, c)
	vars := []*Var[T]{x, gamma, beta}
	for i, v := range vars { // a first pass gives the leaves their gradient buffers
		if v == nil {
			continue
		}
		tape := NewTape[T]()
		if err := tape.Backward(tape.Sum(tape.Scale(v, 0))); err != nil {
			t.Fatal(err)
		}
		copy(v.Grad().Data(), in.before[i])
		if m.discard {
			for k := range v.grad.Data() {
				v.grad.Data()[k] = T(math.NaN())
			}
			v.DiscardGrad()
		}
	}
	tape := NewTape[T]()
	bm, bv := make([]T, c), make([]T, c)
	var y *Var[T]
	switch {
	case m.eval && m.relu:
		y = tape.BatchNormEvalReLU(x, gamma, beta, rowsEps, in.runMean, in.runVar)
	case m.eval:
		y = tape.BatchNormEval(x, gamma, beta, rowsEps, in.runMean, in.runVar)
	case m.relu:
		y = tape.BatchNormReLU(x, gamma, beta, rowsEps, bm, bv)
	default:
		y = tape.BatchNorm(x, gamma, beta, rowsEps, bm, bv)
	}
	if m.eval {
		bm, bv = in.runMean, in.runVar
	}
	got := [][]T{append([]T(nil), y.Value().Data()...), bm, bv}
	if err := tape.Backward(tape.Sum(tape.Mul(y, tape.Const(tensor.FromSlice(in.dy, n, c))))); err != nil {
		t.Fatal(err)
	}
	for _, v := range vars {
		if v == nil {
			got = append(got, nil)
			continue
		}
		got = append(got, v.Grad().Data())
	}
	return got
}

// sameRows fails t unless got and want hold the same bits, NaN payloads
// included when exactNaNs, else any NaN for a NaN.
func sameRows[T tensor.Float](t *testing.T, what string, got, want [][]T, exactNaNs bool) {
	t.Helper()
	for i := range want {
		if len(got[i]) != len(want[i]) {
			t.Fatalf("%s: result %d of length %d; want %d", what, i, len(got[i]), len(want[i]))
		}
		for k := range want[i] {
			g, w := got[i][k], want[i][k]
			if math.Float64bits(float64(g)) != math.Float64bits(float64(w)) && (exactNaNs || g == g || w == w) {
				t.Fatalf("%s: result %d [%d] = %v (%#x); want %v (%#x)", what, i, k, got[i][k],
					math.Float64bits(float64(got[i][k])), want[i][k], math.Float64bits(float64(want[i][k])))
			}
		}
	}
}

// oldNormRows is normRows as it was, all the channels at once: the
// statistics and the coefficients (normCoef, unchanged), AffineRows, then
// ReLU row by row.
func oldNormRows[T tensor.Float](j *job[T]) {
	c := len(j.z) / 2
	lo, hi := 0, c
	j.normCoef(lo, hi)
	a, b := j.coef[lo:hi], j.coef[c+lo:c+hi]
	kernel.AffineRows(j.n, hi-lo, j.x[lo:], c, a, b, j.y[lo:], c)
	if j.relu {
		for o := 0; o < j.n*c; o += c {
			kernel.ReLU(j.y[o+lo:o+hi], j.y[o+lo:o+hi])
		}
	}
}

// oldNormRowsGrad is normRowsGrad as it was, all the channels at once, as
// worker 0.
func oldNormRowsGrad[T tensor.Float](j *job[T]) {
	c := len(j.z) / 2
	lo, hi, n := 0, c, c
	g, mu := j.y, j.z[c+lo:c+hi]
	if j.mask != nil {
		for o := 0; o < j.n*c; o += c {
			kernel.ReLUGrad(j.mask[o+lo:o+hi], g[o+lo:o+hi], j.masked[o+lo:o+hi])
		}
		g = j.masked
	}
	band := func(i int) []T { return j.coef[i*c+lo : i*c+hi] }
	sum, dot, a, k, cc := band(0), band(1), band(2), band(3), band(4)
	kernel.ColumnSums(j.n, n, g[lo:], c, sum)
	kernel.ColumnDiffDots(j.n, n, j.x[lo:], c, mu, g[lo:], c, dot)
	for i := range n {
		ac, kc, cc64 := j.addParamGrads(lo+i, float64(sum[i]), float64(dot[i]))
		a[i], k[i], cc[i] = T(ac), T(kc), T(cc64)
	}
	if j.dx == nil {
		return
	}
	if !j.train {
		clear(a)
	}
	rows := func(x, g, dx []T, m int) {
		if j.train {
			kernel.BatchNormGradRows(m, n, x, c, g, c, mu, a, k, cc, dx, c)
		} else {
			kernel.AffineRows(m, n, g, c, cc, a, dx, c)
		}
	}
	if !j.add {
		rows(j.x[lo:], g[lo:], j.dx[lo:], j.n)
		return
	}
	tmp := j.tmp[:n]
	for i := range j.n {
		rows(j.x[i*c+lo:], g[i*c+lo:], tmp, 1)
		kernel.Axpy(1, tmp, j.dx[i*c+lo:i*c+hi])
	}
}

// TestBatchNormRowsMixedPhases checks the batch norm of an input [N, C]
// (BatchNorm and BatchNormReLU in training mode, BatchNormEvalReLU, whose
// backward pass has a phase more) when kernel.Spread runs some of its
// phases on several workers and then one as fn(0, 1), on a busy pool or
// from inside a Parallel task: that worker runs every phase left
// (runBand). The jobs are built as batchNormRows and
// batchNormRowsBackward build them; for every phase s, the phases before s
// run as 2 or 3 workers one after the other, then runBand(0, 1) at
// phase s, and the output, the batch statistics and
// the gradients of the input, γ and β (set, and added to gradients already
// there) must be the bits of the ordinary path on one thread. s = the
// first phase is one worker doing everything; a one worker that stopped
// after its phase would leave the output or ∂x unwritten.
func TestBatchNormRowsMixedPhases(t *testing.T) {
	defer tensor.SetThreads(0)
	for _, s := range [][2]int{{1, 1}, {5, 7}, {33, 17}, {128, 40}} {
		for _, m := range []rowsMode{{}, {relu: true}, {relu: true, noAffine: true}, {eval: true, relu: true}} {
			for _, discard := range []bool{false, true} {
				m.discard = discard
				testMixedPhases[float32](t, s[0], s[1], m)
				testMixedPhases[float64](t, s[0], s[1], m)
			}
		}
	}
}

func testMixedPhases[T tensor.Float](t *testing.T, n, c int, m rowsMode) {
	t.Helper()
	in := newRowsInputs[T](n, c, m)
	name := fmt.Sprintf("%T [%d, %d] %+v", T(0), n, c, m)
	tensor.SetThreads(1)
	want := in.tape(t) // the ordinary path, on one thread

	// The jobs as batchNormRows and batchNormRowsBackward make them, run
	// in mixed phases.
	for _, workers := range []int{2, 3} {
		fwd := job[T]{kind: jobNormRows, x: in.x, p: 1, n: n, eps: rowsEps, train: !m.eval, relu: m.relu,
			gamma: in.gamma, beta: in.beta, phases: 2}
		first := 0
		if m.eval {
			first = 1
		}
		for split := first; split < fwd.phases; split++ {
			j := fwd
			j.y, j.z, j.coef = make([]T, n*c), make([]T, 2*c), make([]T, 2*c)
			if m.eval {
				j.mean, j.variance = in.runMean, in.runVar
				j.normCoef(0, c)
			} else {
				j.mean, j.variance = make([]T, c), make([]T, c)
			}
			tp := NewTape[T]() // its runBand runs the job's phases, as Spread does
			tp.job = j
			runPhases(t, name, first, split, workers, &tp.job.phase, j.phases, tp.runBand)
			what := fmt.Sprintf("%s forward, phases before %d on %d workers", name, split, workers)
			sameRows(t, what, [][]T{j.y, j.mean, j.variance}, want[:3], true)

			bwd := job[T]{kind: jobNormRowsGrad, x: in.x, y: in.dy, z: j.z, p: 1, n: n, train: !m.eval, gamma: in.gamma,
				add: !m.discard, addGamma: !m.discard, addBeta: !m.discard, phases: 3}
			switch {
			case m.eval:
				bwd.mask, bwd.masked = j.y, make([]T, n*c)
			case m.relu:
				bwd.mask = j.y
			}
			if bwd.add { // a row of scratch per worker
				bwd.tmp = make([]T, workers*c)
			}
			gfirst := 0
			if bwd.masked == nil {
				gfirst = 1
			}
			for gsplit := gfirst; gsplit < bwd.phases; gsplit++ {
				g := bwd
				g.coef = make([]T, 5*c)
				g.dx = append([]T(nil), in.before[0]...)
				if !m.noAffine {
					g.dgamma, g.dbeta = append([]T(nil), in.before[1]...), append([]T(nil), in.before[2]...)
				}
				if bwd.masked != nil {
					g.masked = make([]T, n*c)
				}
				tp.job = g
				runPhases(t, name, gfirst, gsplit, workers, &tp.job.phase, g.phases, tp.runBand)
				what := fmt.Sprintf("%s backward after forward split %d, phases before %d on %d workers", name, split, gsplit, workers)
				sameRows(t, what, [][]T{g.dx, g.dgamma, g.dbeta}, want[3:], true)
			}
		}
	}
}

// runPhases runs phases first…split−1 of a job in phases (whose phase is
// *phase, of phases) as workers one after the other, then the rest as
// run(0, 1), which must leave *phase at the last.
func runPhases(t *testing.T, name string, first, split, workers int, phase *int, phases int, run func(w, workers int)) {
	t.Helper()
	for *phase = first; *phase < split; *phase++ {
		for w := range workers {
			run(w, workers)
		}
	}
	run(0, 1)
	if *phase != phases-1 {
		t.Fatalf("%s: one worker from phase %d left phase %d; want %d", name, split, *phase, phases-1)
	}
}
