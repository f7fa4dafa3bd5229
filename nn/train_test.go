package nn_test

import (
	"math/rand/v2"
	"testing"

	"github.com/descentml/descent/autograd"
	"github.com/descentml/descent/bench/benchmodels"
	"github.com/descentml/descent/internal/kernel"
	"github.com/descentml/descent/loss"
	"github.com/descentml/descent/nn"
	"github.com/descentml/descent/tensor"
)

// mlpStep returns one training step of an MLP with the given layer sizes
// (ReLU between the Linear layers) on a fixed random batch: forward,
// cross-entropy, backward, a plain SGD update, zeroing the gradients and
// resetting the tape. It returns the loss before the update. The update is
// one vector kernel per parameter, so that the step's time is the model's.
func mlpStep[T tensor.Float](tb testing.TB, sizes []int, batch int) func() T {
	rng := rand.New(rand.NewPCG(1, 2))
	var layers []nn.Module[T]
	for i := 0; i+1 < len(sizes); i++ {
		if i > 0 {
			layers = append(layers, nn.NewReLU[T]())
		}
		layers = append(layers, nn.NewLinear[T](sizes[i], sizes[i+1], rng))
	}
	return trainStep(tb, nn.NewSequential(layers...), []int{batch, sizes[0]}, sizes[len(sizes)-1], rng)
}

// trainStep returns one training step of model, as mlpStep, on a fixed
// random batch of the given input shape with labels in [0, classes).
func trainStep[T tensor.Float](tb testing.TB, model *nn.Sequential[T], input []int, classes int, rng *rand.Rand) func() T {
	params := model.Params()
	x := tensor.New[T](input...)
	for i := range x.Data() {
		x.Data()[i] = T(rng.Float64())
	}
	labels := make([]int, input[0])
	for i := range labels {
		labels[i] = rng.IntN(classes)
	}
	tape := autograd.NewTape[T]()
	return func() T {
		defer tape.Reset()
		logits, err := model.Forward(tape, tape.Const(x))
		if err != nil {
			tb.Fatal(err)
		}
		l, err := loss.CrossEntropy(tape, logits, labels)
		if err != nil {
			tb.Fatal(err)
		}
		if err := tape.Backward(l); err != nil {
			tb.Fatal(err)
		}
		for _, p := range params {
			kernel.Axpy(-0.01, p.Grad, p.Value)
		}
		nn.ZeroGrad(params)
		return l.Value().Item()
	}
}

// TestTrainStepAllocatesNothing checks that after the first step a training
// step allocates nothing: the tape reuses its buffers.
func TestTrainStepAllocatesNothing(t *testing.T) {
	step := mlpStep[float32](t, []int{20, 16, 16, 4}, 8)
	first := step()
	if allocs := testing.AllocsPerRun(20, func() { step() }); allocs != 0 {
		t.Errorf("a training step after the first allocates %v times; want 0", allocs)
	}
	if last := step(); !(last < first) {
		t.Errorf("loss went from %v to %v over 22 SGD steps on one batch; want it to fall", first, last)
	}
}

// BenchmarkTrainStep times training steps (forward, cross-entropy,
// backward, an SGD update, zeroing the gradients) of the models of
// shared/bench/train_bench.py, float32, batch 128: the MLP 784-256-256-10,
// the same with BatchNorm1d after each hidden Linear layer, and the small
// CNN (conv 1→16 3×3, ReLU, max-pool 2, conv 16→32 3×3, ReLU, max-pool 2,
// Linear 800→10); and a CNN with padding and BatchNorm2d on batches of 32.
func BenchmarkTrainStep(b *testing.B) {
	mlpFlops := func(sizes []int, batch int) float64 {
		var flops float64
		for i := 0; i+1 < len(sizes); i++ {
			mults := 2 // forward, weight gradient
			if i > 0 {
				mults = 3 // and the input gradient
			}
			flops += float64(mults * 2 * batch * sizes[i] * sizes[i+1])
		}
		return flops
	}
	b.Run("mlp-784-256-256-10/batch128", func(b *testing.B) {
		sizes, batch := []int{784, 256, 256, 10}, 128
		benchmarkTrainStep(b, mlpStep[float32](b, sizes, batch), batch, mlpFlops(sizes, batch))
	})
	b.Run("mlpbn-784-256-256-10/batch128", func(b *testing.B) {
		rng := rand.New(rand.NewPCG(1, 2))
		const batch = 128
		step := trainStep(b, benchmodels.MLP(true, rng), []int{batch, 784}, 10, rng)
		benchmarkTrainStep(b, step, batch, mlpFlops([]int{784, 256, 256, 10}, batch))
	})
	b.Run("cnn-28x28-c16-c32-10/batch128", func(b *testing.B) {
		rng := rand.New(rand.NewPCG(1, 2))
		const batch = 128
		// conv1 (26×26 outputs): forward and filter gradient; conv2 (11×11)
		// and the Linear layer: forward, weight and input gradients.
		flops := 2*2*float64(batch*26*26*16*9) + 3*2*float64(batch*11*11*32*16*9) + 3*2*float64(batch*800*10)
		benchmarkTrainStep(b, trainStep(b, benchmodels.CNN(rng), []int{batch, 1, 28, 28}, 10, rng), batch, flops)
	})
	b.Run("cnn-28x28-c8-c16-10/batch32", func(b *testing.B) {
		rng := rand.New(rand.NewPCG(1, 2))
		model := nn.NewSequential(
			nn.NewConv2D[float32](nn.Conv2DConfig{In: 1, Out: 8, Kernel: 3, Padding: 1}, rng),
			nn.NewReLU[float32](),
			nn.NewMaxPool2D[float32](2),
			nn.NewConv2D[float32](nn.Conv2DConfig{In: 8, Out: 16, Kernel: 3, Padding: 1}, rng),
			nn.NewBatchNorm2d[float32](16),
			nn.NewReLU[float32](),
			nn.NewMaxPool2D[float32](2),
			nn.NewFlatten[float32](),
			nn.NewLinear[float32](16*7*7, 10, rng),
		)
		const batch = 32
		// conv1: forward and filter gradient; conv2 and the Linear layer:
		// forward, weight and input gradients.
		flops := 2*2*float64(batch*28*28*8*9) + 3*2*float64(batch*14*14*16*8*9) + 3*2*float64(batch*16*7*7*10)
		benchmarkTrainStep(b, trainStep(b, model, []int{batch, 1, 28, 28}, 10, rng), batch, flops)
	})
}

// benchmarkTrainStep times step, a training step on a batch of batch
// samples that does flops multiply-adds ×2.
func benchmarkTrainStep(b *testing.B, step func() float32, batch int, flops float64) {
	benchmarkStep(b, func() { step() }, batch, "samples/s", flops)
}

// benchmarkStep times step, which handles n units (samples, tokens) and
// does flops floating-point operations, and reports units/s and GFLOP/s.
func benchmarkStep(b *testing.B, step func(), n int, unit string, flops float64) {
	step() // warm-up: the tape's buffers are allocated here
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		step()
	}
	sec := b.Elapsed().Seconds()
	b.ReportMetric(float64(n*b.N)/sec, unit)
	b.ReportMetric(flops*float64(b.N)/sec/1e9, "GFLOP/s")
}
