package nn

import (
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/descentml/descent/autograd"
	"github.com/descentml/descent/internal/kernel"
	"github.com/descentml/descent/tensor"
)

func init() {
	layerCases = append(layerCases, layerCase{name: "Sequential/conv-relu-pool", build: func(r *rand.Rand) Module[float64] {
		return NewSequential(
			NewConv2D[float64](Conv2DConfig{In: 2, Out: 3, Kernel: 3, Padding: 1}, r),
			NewReLU[float64](),
			NewMaxPool2D[float64](2),
			NewFlatten[float64](),
			NewLinear[float64](12, 3, r),
		)
	}, input: []int{2, 2, 5, 4}})
}

// TestSequentialFusedMatchesLayers checks that a Sequential whose Conv2D,
// ReLU and MaxPool2D(2) run fused gives the output and gradients of the
// layers run one by one, bit for bit, and that blocks that cannot be fused
// (another window, outputs smaller than it) run unfused.
func TestSequentialFusedMatchesLayers(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	for _, c := range []struct {
		name    string
		model   *Sequential[float32]
		input   []int
		wantErr string // the error of a block that cannot run, fused or not
	}{
		{"cnn", NewSequential(
			NewConv2D[float32](Conv2DConfig{In: 1, Out: 16, Kernel: 3}, rng), NewReLU[float32](), NewMaxPool2D[float32](2),
			NewConv2D[float32](Conv2DConfig{In: 16, Out: 32, Kernel: 3}, rng), NewReLU[float32](), NewMaxPool2D[float32](2),
			NewFlatten[float32](), NewLinear[float32](32*5*5, 10, rng),
		), []int{20, 1, 28, 28}, ""},
		{"pool3", NewSequential(
			NewConv2D[float32](Conv2DConfig{In: 2, Out: 4, Kernel: 3, Padding: 1}, rng), NewReLU[float32](), NewMaxPool2D[float32](3),
		), []int{3, 2, 7, 7}, ""},
		{"too-small", NewSequential(
			NewConv2D[float32](Conv2DConfig{In: 1, Out: 2, Kernel: 3}, rng), NewReLU[float32](), NewMaxPool2D[float32](2),
		), []int{2, 1, 3, 6}, "autograd: maxpool2d: input [2 2 1 4] with padding [0 0] is smaller than the 2×2 kernel (layer 2)"},
	} {
		x := tensor.New[float32](c.input...)
		for i := range x.Data() {
			x.Data()[i] = float32(rng.NormFloat64())
		}
		run := func(fused bool) [][]float32 {
			for _, p := range c.model.Params() {
				clear(p.Grad)
			}
			tape := autograd.NewTape[float32]()
			in := autograd.NewVar(x, true)
			y, err := forward(tape, c.model, in, fused)
			if c.wantErr != "" {
				if fused && (err == nil || err.Error() != c.wantErr) {
					t.Errorf("%s: error %v; want %s", c.name, err, c.wantErr)
				}
				return nil
			}
			if err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			if err := tape.Backward(tape.Sum(tape.Mul(y, tape.Const(y.Value())))); err != nil {
				t.Fatal(err)
			}
			out := [][]float32{append([]float32(nil), y.Value().Data()...), append([]float32(nil), in.Grad().Data()...)}
			for _, p := range c.model.Params() {
				out = append(out, append([]float32(nil), p.Grad...))
			}
			return out
		}
		got, want := run(true), run(false)
		if i, j := firstBitDiff(got, want); i >= 0 {
			t.Fatalf("%s: result %d [%d] = %v; layer by layer %v", c.name, i, j, got[i][j], want[i][j])
		}
	}
}

// TestSequentialLinearReLUMatchesLayers checks that an MLP whose Linear
// and ReLU layers run fused (Sequential.Forward) gives the loss and
// gradients of the layers run one by one, bit for bit, with 1, 2 and 3
// threads.
func TestSequentialLinearReLUMatchesLayers(t *testing.T) {
	defer tensor.SetThreads(0)
	// Spread uses at most GOMAXPROCS workers: allow 3.
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(max(3, runtime.GOMAXPROCS(0))))
	rng := rand.New(rand.NewPCG(15, 16))
	m := NewSequential(
		NewLinear[float32](50, 300, rng), NewReLU[float32](),
		NewLinear[float32](300, 200, rng), NewReLU[float32](),
		NewLinear[float32](200, 10, rng))
	const batch = 129
	x := tensor.New[float32](batch, 50)
	for i := range x.Data() {
		x.Data()[i] = float32(rng.NormFloat64())
	}
	labels := make([]int, batch)
	for i := range labels {
		labels[i] = rng.IntN(10)
	}
	run := func(threads int, fused bool) [][]float32 {
		tensor.SetThreads(threads)
		ZeroGrad(m.Params())
		return lossGrads(t, m, x, labels, fused)
	}
	want := run(1, false)
	for _, threads := range []int{1, 2, 3} {
		got := run(threads, true)
		if i, j := firstBitDiff(got, want); i >= 0 {
			t.Fatalf("fused MLP with %d threads: result %d [%d] = %v; layers %v", threads, i, j, got[i][j], want[i][j])
		}
	}
}

// firstBitDiff returns the first place i, j where got[i][j] and
// want[i][j] differ bit for bit, over want's elements, or -1, -1.
func firstBitDiff(got, want [][]float32) (i, j int) {
	for i := range want {
		for j := range want[i] {
			if math.Float32bits(got[i][j]) != math.Float32bits(want[i][j]) {
				return i, j
			}
		}
	}
	return -1, -1
}

// lossGrads runs m forward (forward) on x and backward from its cross
// entropy with labels, and returns the loss and the parameters' gradients.
func lossGrads(t *testing.T, m *Sequential[float32], x *tensor.Tensor[float32], labels []int, fused bool) [][]float32 {
	t.Helper()
	tape := autograd.NewTape[float32]()
	y, err := forward(tape, m, tape.Const(x), fused)
	if err != nil {
		t.Fatal(err)
	}
	loss := tape.CrossEntropy(y, labels)
	if err := tape.Backward(loss); err != nil {
		t.Fatal(err)
	}
	out := [][]float32{{loss.Value().Item()}}
	for _, p := range m.Params() {
		out = append(out, slices.Clone(p.Var.Grad().Data()))
	}
	return out
}

// TestForwardLinearReLUFits checks which blocks Sequential runs through
// LinearReLU: a Linear and a ReLU on an input [..., in], and none whose
// input the Linear layer would refuse or whose second layer is not a ReLU.
func TestForwardLinearReLUFits(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	l := NewLinear[float32](4, 3, rng)
	for _, c := range []struct {
		layers []Module[float32]
		shape  []int
		want   int
	}{
		{[]Module[float32]{l, NewReLU[float32]()}, []int{5, 4}, 2},
		{[]Module[float32]{l, NewReLU[float32]()}, []int{2, 5, 4}, 2},
		{[]Module[float32]{l, NewReLU[float32]()}, []int{5, 3}, 0}, // the layer's error
		{[]Module[float32]{l, NewTanh[float32]()}, []int{5, 4}, 0},
		{[]Module[float32]{l}, []int{5, 4}, 0},
		{[]Module[float32]{NewReLU[float32](), l}, []int{5, 4}, 0},
	} {
		tape := autograd.NewTape[float32]()
		_, n, err := forwardLinearReLU(tape, c.layers, tape.Const(tensor.New[float32](c.shape...)))
		if n != c.want || err != nil {
			t.Errorf("%v on %v: %d layers run, error %v; want %d, none", c.layers, c.shape, n, err, c.want)
		}
	}
}

// BenchmarkCNNFusion measures forward and backward passes of the small
// CNN of bench/benchmodels at batch 128 with its Conv2D–ReLU–MaxPool2D
// blocks fused and run layer by layer (benchmarkFusion).
func BenchmarkCNNFusion(b *testing.B) {
	rng := rand.New(rand.NewPCG(13, 14))
	m := NewSequential(
		NewConv2D[float32](Conv2DConfig{In: 1, Out: 16, Kernel: 3}, rng), NewReLU[float32](), NewMaxPool2D[float32](2),
		NewConv2D[float32](Conv2DConfig{In: 16, Out: 32, Kernel: 3}, rng), NewReLU[float32](), NewMaxPool2D[float32](2),
		NewFlatten[float32](), NewLinear[float32](32*5*5, 10, rng),
	)
	benchmarkFusion(b, m, 1, 28, 28)
}

// BenchmarkMLPFusion measures forward and backward passes of the MLP of
// bench/benchmodels (784-256-256-10) at batch 128 with its Linear–ReLU
// blocks fused and run layer by layer (benchmarkFusion).
func BenchmarkMLPFusion(b *testing.B) {
	rng := rand.New(rand.NewPCG(13, 14))
	m := NewSequential(
		NewLinear[float32](784, 256, rng), NewReLU[float32](),
		NewLinear[float32](256, 256, rng), NewReLU[float32](),
		NewLinear[float32](256, 10, rng),
	)
	benchmarkFusion(b, m, 784)
}

// BenchmarkMLPBNLinearNormFusion measures forward and backward passes of
// the MLP with batch norm of bench/benchmodels (784-256-256-10, each
// hidden Linear followed by BatchNorm1d and ReLU) at batch 128 with its
// Linear–BatchNorm1d–ReLU blocks run as LinearBatchNormReLU ("fused") and
// as a Linear and a BatchNormReLU ("layers": each Linear inside a
// Sequential of its own, which Sequential.Forward does not fuse with the
// layers after it), by benchmarkModels.
func BenchmarkMLPBNLinearNormFusion(b *testing.B) {
	kernel.SetThreads(runtime.GOMAXPROCS(0)) // the pool keeps the size of its first use
	rng := rand.New(rand.NewPCG(13, 14))
	l1, l2 := NewLinear[float32](784, 256, rng), NewLinear[float32](256, 256, rng)
	bn1, bn2 := NewBatchNorm1d[float32](256), NewBatchNorm1d[float32](256)
	l3, relu := NewLinear[float32](256, 10, rng), NewReLU[float32]()
	fused := NewSequential(l1, bn1, relu, l2, bn2, relu, l3)
	layers := NewSequential(NewSequential[float32](l1), bn1, relu, NewSequential[float32](l2), bn2, relu, l3)
	benchmarkModels(b, fused.Forward, layers.Forward, fused.Params(), 784)
}

// benchmarkFusion measures forward and backward passes of m with its
// blocks fused (Sequential.Forward) and run layer by layer, by
// benchmarkModels.
func benchmarkFusion(b *testing.B, m *Sequential[float32], shape ...int) {
	benchmarkModels(b, m.Forward, func(tape *autograd.Tape[float32], x *autograd.Var[float32]) (*autograd.Var[float32], error) {
		return forward(tape, m, x, false)
	}, m.Params(), shape...)
}

// benchmarkModels measures forward and backward passes of two ways of
// running a model, fused and layers, whose parameters are params, on a
// batch of 128 random inputs of the given shape, in turn, step by step, so
// that both share the machine's load: it reports the median time of each
// and the median ratio of a fused step's time to that of the unfused one
// run next to it.
func benchmarkModels(b *testing.B, fusedFwd, layersFwd func(*autograd.Tape[float32], *autograd.Var[float32]) (*autograd.Var[float32], error), params []Param[float32], shape ...int) {
	rng := rand.New(rand.NewPCG(15, 16))
	x := tensor.New[float32](append([]int{128}, shape...)...)
	for i := range x.Data() {
		x.Data()[i] = rng.Float32()
	}
	labels := make([]int, 128)
	for i := range labels {
		labels[i] = rng.IntN(10)
	}
	tape := autograd.NewTape[float32]()
	step := func(fused bool) float64 {
		start := time.Now()
		tape.Reset()
		ZeroGrad(params)
		fwd := layersFwd
		if fused {
			fwd = fusedFwd
		}
		y, err := fwd(tape, tape.Const(x))
		if err != nil {
			b.Fatal(err)
		}
		if err := tape.Backward(tape.CrossEntropy(y, labels)); err != nil {
			b.Fatal(err)
		}
		return time.Since(start).Seconds()
	}
	step(true)
	step(false)
	b.ReportAllocs()
	b.ResetTimer()
	var fused, layers, ratio []float64
	for i := range b.N {
		// In turn fused first and layers first: a step may pay for the one
		// before it.
		var f, l float64
		if i%2 == 0 {
			f, l = step(true), step(false)
		} else {
			l, f = step(false), step(true)
		}
		fused, layers, ratio = append(fused, f), append(layers, l), append(ratio, f/l)
	}
	median := func(v []float64) float64 {
		slices.Sort(v)
		return v[len(v)/2]
	}
	b.ReportMetric(median(fused)*1e3, "ms-fused")
	b.ReportMetric(median(layers)*1e3, "ms-layers")
	b.ReportMetric(median(ratio), "fused/layers")
}

// forward runs m on x: with its blocks fused as Sequential.Forward runs
// them, or each layer on its own.
func forward[T tensor.Float](tape *autograd.Tape[T], m *Sequential[T], x *autograd.Var[T], fused bool) (*autograd.Var[T], error) {
	if fused {
		return m.Forward(tape, x)
	}
	var err error
	for _, l := range m.Layers() {
		if x, err = l.Forward(tape, x); err != nil {
			return x, err
		}
	}
	return x, nil
}
