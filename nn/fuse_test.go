package nn

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/descentml/descent/autograd"
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
		for i := range want {
			for j := range want[i] {
				if math.Float32bits(got[i][j]) != math.Float32bits(want[i][j]) {
					t.Fatalf("%s: result %d [%d] = %v; layer by layer %v", c.name, i, j, got[i][j], want[i][j])
				}
			}
		}
	}
}

// BenchmarkCNNFusion measures forward and backward passes of the small
// CNN of bench/benchmodels at batch 128, with its Conv2D–ReLU–MaxPool2D
// blocks fused (Sequential.Forward) and run layer by layer, in turn, step
// by step, so that both share the machine's load: it reports the median
// time of each and the median ratio of a fused step's time to the next
// unfused one's.
func BenchmarkCNNFusion(b *testing.B) {
	rng := rand.New(rand.NewPCG(13, 14))
	m := NewSequential(
		NewConv2D[float32](Conv2DConfig{In: 1, Out: 16, Kernel: 3}, rng), NewReLU[float32](), NewMaxPool2D[float32](2),
		NewConv2D[float32](Conv2DConfig{In: 16, Out: 32, Kernel: 3}, rng), NewReLU[float32](), NewMaxPool2D[float32](2),
		NewFlatten[float32](), NewLinear[float32](32*5*5, 10, rng),
	)
	x := tensor.New[float32](128, 1, 28, 28)
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
		ZeroGrad(m.Params())
		y, err := forward(tape, m, tape.Const(x), fused)
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
	for range b.N {
		fused = append(fused, step(true))
		layers = append(layers, step(false))
		ratio = append(ratio, fused[len(fused)-1]/layers[len(layers)-1])
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
