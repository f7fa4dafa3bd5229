package nn_test

import (
	"math/rand/v2"
	"testing"

	"github.com/descentml/descent/autograd"
	"github.com/descentml/descent/loss"
	"github.com/descentml/descent/nn"
	"github.com/descentml/descent/tensor"
)

// mlpStep returns one training step of an MLP with the given layer sizes
// (ReLU between the Linear layers) on a fixed random batch: forward,
// cross-entropy, backward, a plain SGD update, zeroing the gradients and
// resetting the tape. It returns the loss before the update.
func mlpStep[T tensor.Float](tb testing.TB, sizes []int, batch int) func() T {
	rng := rand.New(rand.NewPCG(1, 2))
	var layers []nn.Module[T]
	for i := 0; i+1 < len(sizes); i++ {
		if i > 0 {
			layers = append(layers, nn.NewReLU[T]())
		}
		layers = append(layers, nn.NewLinear[T](sizes[i], sizes[i+1], rng))
	}
	model := nn.NewSequential(layers...)
	params := model.Params()
	x := tensor.New[T](batch, sizes[0])
	for i := range x.Data() {
		x.Data()[i] = T(rng.Float64())
	}
	labels := make([]int, batch)
	for i := range labels {
		labels[i] = rng.IntN(sizes[len(sizes)-1])
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
			for i, g := range p.Grad {
				p.Value[i] -= 0.01 * g
			}
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

func BenchmarkTrainStep(b *testing.B) {
	b.Run("mlp-784-256-256-10/batch128", func(b *testing.B) {
		benchmarkTrainStep(b, []int{784, 256, 256, 10}, 128)
	})
}

func benchmarkTrainStep(b *testing.B, sizes []int, batch int) {
	step := mlpStep[float32](b, sizes, batch)
	step() // warm-up: the tape's buffers are allocated here
	var flops float64
	for i := 0; i+1 < len(sizes); i++ {
		mults := 2 // forward, weight gradient
		if i > 0 {
			mults = 3 // and the input gradient
		}
		flops += float64(mults * 2 * batch * sizes[i] * sizes[i+1])
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		step()
	}
	sec := b.Elapsed().Seconds()
	b.ReportMetric(float64(batch*b.N)/sec, "samples/s")
	b.ReportMetric(flops*float64(b.N)/sec/1e9, "GFLOP/s")
}
