package train_test

import (
	"context"
	"math/rand/v2"
	"testing"

	"github.com/descentml/descent/comm"
	"github.com/descentml/descent/data"
	"github.com/descentml/descent/internal/benchmodels"
	"github.com/descentml/descent/nn"
	"github.com/descentml/descent/optim"
	"github.com/descentml/descent/train"
)

// BenchmarkTrainStep measures whole training steps as the loop runs them —
// gather a batch, forward, cross-entropy, backward, an AdamW step (lr 1e-3,
// weight decay 0.01), zero the gradients — on random MNIST-shaped data, the
// work of the PyTorch training script in bench/compare.py. It reports
// samples/s; a step allocates nothing after the first.
func BenchmarkTrainStep(b *testing.B) {
	for _, bc := range benchModels {
		b.Run(bc.name+"/batch128", func(b *testing.B) { benchmarkTrainStep(b, bc.model, bc.shape, 128, nil) })
	}
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

// benchmarkTrainStep measures steps of a global batch of batch examples,
// data-parallel over c if it is not nil.
func benchmarkTrainStep(b *testing.B, model func(*rand.Rand) *nn.Sequential[float32], shape []int, batch int, c *comm.Comm) {
	rng := rand.New(rand.NewPCG(1, 2))
	const n = 4096
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
		b.Fatal(err)
	}
	m := model(rng)
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
		if steps == 1 {
			b.ResetTimer() // after the first step: buffers allocated
		}
		if steps == b.N+1 {
			b.StopTimer()
			cancel()
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
	b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "samples/s")
}
