package train_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"
	"time"

	"github.com/descentml/descent/autograd"
	"github.com/descentml/descent/bench/benchmodels"
	"github.com/descentml/descent/comm"
	"github.com/descentml/descent/data"
	"github.com/descentml/descent/internal/kernel"
	"github.com/descentml/descent/nn"
	"github.com/descentml/descent/optim"
	"github.com/descentml/descent/tensor"
	"github.com/descentml/descent/train"
)

// BenchmarkTrainStep measures whole training steps as the loop runs them —
// gather a batch, forward, cross-entropy, backward, an AdamW step (lr 1e-3,
// weight decay 0.01), discard the gradients (as PyTorch's zero_grad with
// its default set_to_none) — on random MNIST-shaped data, the work of the
// PyTorch training script in bench/compare.py. It reports
// samples/s and GFLOP/s, from the FLOP count of stepFlops (the products
// only); a step allocates nothing after the first. bench/compare.py prints
// the GFLOP/s as a fraction of the 2-core sgemm 512³ rate measured in the
// same session.
func BenchmarkTrainStep(b *testing.B) {
	for _, bc := range benchModels {
		b.Run(bc.name+"/batch128", func(b *testing.B) {
			kernel.SetThreads(runtime.GOMAXPROCS(0)) // the pool keeps the size of its first use: -cpu 1,2 would run 2 on one thread
			benchmarkTrainStep(b, bc.model, bc.shape, 128, nil)
		})
	}
}

// BenchmarkTrainScaling measures BenchmarkTrainStep's steps across sizes,
// for the README's table of how cost grows (bench/scaling.py runs it with
// -cpu 1,2): the MLP 784-256-256-10 and the small CNN at batches of 16 to
// 1024, and (under width/) the MLP 784-H-H-10 at batch 128 for widths H of
// 64 to 4096.
// Each sub-benchmark uses GOMAXPROCS threads for the kernels.
func BenchmarkTrainScaling(b *testing.B) {
	for batch := 16; batch <= 1024; batch *= 2 {
		b.Run(fmt.Sprintf("mlp-784-256-256-10/batch%d", batch), func(b *testing.B) {
			kernel.SetThreads(runtime.GOMAXPROCS(0))
			benchmarkTrainStep(b, func(r *rand.Rand) *nn.Sequential[float32] { return mlp(256, r) }, []int{784}, batch, nil)
		})
	}
	for batch := 16; batch <= 1024; batch *= 2 {
		b.Run(fmt.Sprintf("cnn-28x28-c16-c32-10/batch%d", batch), func(b *testing.B) {
			kernel.SetThreads(runtime.GOMAXPROCS(0))
			benchmarkTrainStep(b, benchmodels.CNN, []int{1, 28, 28}, batch, nil)
		})
	}
	for width := 64; width <= 4096; width *= 2 {
		b.Run(fmt.Sprintf("width/mlp-784-%d-%d-10/batch128", width, width), func(b *testing.B) {
			kernel.SetThreads(runtime.GOMAXPROCS(0))
			benchmarkTrainStep(b, func(r *rand.Rand) *nn.Sequential[float32] { return mlp(width, r) }, []int{784}, 128, nil)
		})
	}
}

// mlp returns the MLP 784-width-width-10 with ReLU after the hidden layers.
func mlp(width int, rng *rand.Rand) *nn.Sequential[float32] {
	return nn.NewSequential(
		nn.NewLinear[float32](784, width, rng), nn.NewReLU[float32](),
		nn.NewLinear[float32](width, width, rng), nn.NewReLU[float32](),
		nn.NewLinear[float32](width, 10, rng),
	)
}

// benchModels are the models of the step benchmarks, PyTorch's
// train_bench.py's.
var benchModels = []struct {
	name  string
	shape []int
	model func(*rand.Rand) *nn.Sequential[float32]
}{
	{"mlp-784-256-256-10", []int{784}, func(r *rand.Rand) *nn.Sequential[float32] { return benchmodels.MLP(false, r) }},
	{"mlpbn-784-256-256-10", []int{784}, func(r *rand.Rand) *nn.Sequential[float32] { return benchmodels.MLP(true, r) }},
	{"cnn-28x28-c16-c32-10", []int{1, 28, 28}, benchmodels.CNN},
}

// BenchmarkTrainStepDiagnostics measures the cost of the optimizer's
// diagnostics (train.Diagnostics) on BenchmarkTrainStep's MLP at batch 128:
// one run of 2·b.N epochs of 32 steps that gathers them in every other
// epoch, so that the two kinds of epoch share the machine's load. It
// reports the median over the b.N pairs of the ratio of an epoch's time
// with them to the next epoch's without ("on/off"), and the median epoch
// times. Without clipping the gradient norm takes a pass a step; with
// clip-norm it is clipping's, and only the once-an-epoch copy of the
// weights remains.
func BenchmarkTrainStepDiagnostics(b *testing.B) {
	for _, clip := range []float64{0, 1} {
		b.Run(fmt.Sprintf("clip%g", clip), func(b *testing.B) {
			benchmarkDiagnostics(b, optim.Config{Method: optim.DefaultAdamW(), ClipNorm: clip})
		})
	}
}

func benchmarkDiagnostics(b *testing.B, oc optim.Config) {
	rng := rand.New(rand.NewPCG(1, 2))
	const n, batch = 4096, 128
	set := randomSet(b, rng, n, []int{784})
	m := benchmodels.MLP(false, rng)
	opt, err := optim.New(train.Params[float32](m), oc)
	if err != nil {
		b.Fatal(err)
	}
	var tr *train.Trainer[float32]
	var on, off []float64 // seconds per epoch
	last := time.Now()
	cfg := train.Config{Epochs: 2*b.N + 1, BatchSize: batch, DropLast: true, OnEpoch: func(e train.Epoch) error {
		d := time.Since(last).Seconds()
		switch {
		case e.Epoch == 1: // warm-up: buffers allocated
		case e.Epoch%2 == 0:
			on = append(on, d)
		default:
			off = append(off, d)
		}
		train.SetDiagnostics(tr, e.Epoch%2 == 1) // the next epoch's
		last = time.Now()
		return nil
	}}
	if tr, err = train.New[float32](m, opt, train.Data{Train: set}, cfg); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	last = time.Now()
	if err := tr.Run(context.Background()); err != nil {
		b.Fatal(err)
	}
	ratios := make([]float64, len(on))
	for i := range on {
		ratios[i] = on[i] / off[i]
	}
	b.ReportMetric(median(ratios), "on/off")
	b.ReportMetric(median(on)*1e3, "ms/epoch-on")
	b.ReportMetric(median(off)*1e3, "ms/epoch-off")
}

// randomSet returns n examples of the given shape (784 values) with
// features uniform in [0, 1) and labels uniform over 10 classes, drawn
// from rng.
func randomSet(tb testing.TB, rng *rand.Rand, n int, shape []int) *data.Set {
	tb.Helper()
	x := make([]float32, n*784)
	y := make([]int, n)
	for i := range x {
		x[i] = rng.Float32()
	}
	for i := range y {
		y[i] = rng.IntN(10)
	}
	set, err := data.NewSet(x, y, shape, 10)
	if err != nil {
		tb.Fatal(err)
	}
	return set
}

// BenchmarkTrainStepLargeSet is BenchmarkTrainStep's MLP on a random set
// of MNIST's size (60000 examples, 188 MB): the rows of a batch come from
// memory, not from the last-level cache as the 13 MB of the 4096 examples
// of BenchmarkTrainStep may.
func BenchmarkTrainStepLargeSet(b *testing.B) {
	bc := benchModels[0]
	b.Run("n60000/"+bc.name+"/batch128", func(b *testing.B) { benchmarkTrainStepSet(b, bc.model, bc.shape, 128, 60000, nil) })
}

// benchmarkTrainStep measures steps of a global batch of batch examples,
// data-parallel over c if it is not nil, on a set of 4096 examples.
func benchmarkTrainStep(b *testing.B, model func(*rand.Rand) *nn.Sequential[float32], shape []int, batch int, c *comm.Comm) {
	benchmarkTrainStepSet(b, model, shape, batch, 4096, c)
}

// benchmarkTrainStepSet is benchmarkTrainStep on a set of n examples.
func benchmarkTrainStepSet(b *testing.B, model func(*rand.Rand) *nn.Sequential[float32], shape []int, batch, n int, c *comm.Comm) {
	flops := trainSteps(b, model, shape, batch, n, c, nil)
	b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "samples/s")
	b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}

// trainSteps trains model (AdamW, lr 1e-3, weight decay 0.01) on a random
// set of n examples of the given shape, in global batches of batch,
// data-parallel over c if it is not nil, for b.N timed steps after one
// untimed (in which the buffers are allocated). It calls onStep, if not
// nil, after each step but the last with the step's number from 1 and the
// FLOP count of a step (stepFlops), which it returns.
func trainSteps(b *testing.B, model func(*rand.Rand) *nn.Sequential[float32], shape []int, batch, n int, c *comm.Comm, onStep func(step int, flops float64)) float64 {
	rng := rand.New(rand.NewPCG(1, 2))
	set := randomSet(b, rng, n, shape)
	m := model(rng)
	flops := stepFlops(b, m, append([]int{batch}, shape...))
	opt, err := optim.New(train.Params[float32](m), optim.Config{Method: optim.DefaultAdamW()})
	if err != nil {
		b.Fatal(err)
	}
	steps := 0
	// One epoch is n/batch steps; the benchmark runs whole epochs and stops
	// the last one after b.N steps in all.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	epochs := (b.N+1)*batch/n + 2
	cfg := train.Config{Epochs: epochs, BatchSize: batch, DropLast: true, Comm: c, OnBatch: func(train.Batch) {
		steps++
		switch {
		case steps == 1:
			b.ResetTimer() // after the first step: buffers allocated
		case steps == b.N+1:
			b.StopTimer()
			cancel()
			return
		}
		if onStep != nil {
			onStep(steps, flops)
		}
	}}
	tr, err := train.New[float32](m, opt, train.Data{Train: set}, cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	if err := tr.Run(ctx); err != nil && ctx.Err() == nil {
		b.Fatal(err)
	}
	return flops
}

// stepFlops returns the floating-point operations of the matrix products
// of one training step of model on a batch of the given shape. It runs the
// forward pass layer by layer on zeros and reads, for each Linear and
// Conv2D layer, the shapes of its input, output and weight: a layer whose
// product makes m·n·k multiply-adds counts 2·m·n·k for the forward pass, as
// many for the weight gradient, and as many again for the input gradient
// unless it is the first layer (whose input needs none). Biases,
// activations, pooling, batch norm, the loss and the optimizer are not
// counted: GFLOP/s over the sgemm rate is the fraction of the step that
// runs at the speed of the products.
func stepFlops(tb testing.TB, model *nn.Sequential[float32], shape []int) float64 {
	tb.Helper()
	tape := autograd.NewTape[float32]()
	tape.SetNoGrad(true)
	x := tape.Const(tensor.New[float32](shape...))
	var flops float64
	for i, layer := range model.Layers() {
		y, err := layer.Forward(tape, x)
		if err != nil {
			tb.Fatal(err)
		}
		var macs float64
		switch l := layer.(type) {
		case *nn.Linear[float32]:
			ws := l.Weight().Shape() // [Out, In]
			macs = float64(len(x.Value().Data())) * float64(ws[0])
		case *nn.Conv2D[float32]:
			ws := l.Weight().Shape() // [O, C, KH, KW]; y is [N, O, OH, OW]
			macs = float64(len(y.Value().Data())) * float64(ws[1]*ws[2]*ws[3])
		}
		products := 3.0
		if i == 0 {
			products = 2
		}
		flops += products * 2 * macs
		x = y
	}
	return flops
}

// TestStepFlops checks stepFlops against the counts by hand of the
// benchmark models at batch 128.
func TestStepFlops(t *testing.T) {
	const batch = 128
	mlp := 2*2*float64(batch*784*256) + 3*2*float64(batch*256*256) + 3*2*float64(batch*256*10)
	want := map[string]float64{
		"mlp-784-256-256-10":   mlp,
		"mlpbn-784-256-256-10": mlp,
		// conv1 (26×26 outputs of 16 channels from 1×3×3 windows):
		// forward and filter gradient; conv2 (11×11 outputs of 32 from
		// 16×3×3) and the Linear layer 800→10: all three products.
		"cnn-28x28-c16-c32-10": 2*2*float64(batch*26*26*16*9) + 3*2*float64(batch*11*11*32*16*9) + 3*2*float64(batch*800*10),
	}
	for _, bc := range benchModels {
		m := bc.model(rand.New(rand.NewPCG(1, 2)))
		got := stepFlops(t, m, append([]int{batch}, bc.shape...))
		if got != want[bc.name] {
			t.Errorf("stepFlops(%s, batch %d) = %v; want %v", bc.name, batch, got, want[bc.name])
		}
	}
}
