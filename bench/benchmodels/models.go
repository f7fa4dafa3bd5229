// Package benchmodels builds the models that the PyTorch training script of
// bench/compare.py trains, for descent's own measurements of the same runs
// (the training-step benchmarks of packages nn and train, and the command
// bench/trainbench).
package benchmodels

import (
	"math/rand/v2"

	"github.com/descentml/descent/nn"
	"github.com/descentml/descent/optim"
	"github.com/descentml/descent/schedule"
)

// MLP returns the MLP 784-256-256-10 with ReLU after each hidden layer and,
// with batchNorm, a BatchNorm1d before each ReLU (train_bench.py's mlp and
// mlpbn).
func MLP(batchNorm bool, rng *rand.Rand) *nn.Sequential[float32] {
	var layers []nn.Module[float32]
	for i, sizes := range [][2]int{{784, 256}, {256, 256}, {256, 10}} {
		layers = append(layers, nn.NewLinear[float32](sizes[0], sizes[1], rng))
		if i == 2 {
			break
		}
		if batchNorm {
			layers = append(layers, nn.NewBatchNorm1d[float32](sizes[1]))
		}
		layers = append(layers, nn.NewReLU[float32]())
	}
	return nn.NewSequential(layers...)
}

// CNN returns train_bench.py's cnn for 28×28 images of one channel: conv
// 1→16 3×3, ReLU, max-pool 2, conv 16→32 3×3, ReLU, max-pool 2, flatten,
// Linear 800→10.
func CNN(rng *rand.Rand) *nn.Sequential[float32] {
	return nn.NewSequential(
		nn.NewConv2D[float32](nn.Conv2DConfig{In: 1, Out: 16, Kernel: 3}, rng),
		nn.NewReLU[float32](),
		nn.NewMaxPool2D[float32](2),
		nn.NewConv2D[float32](nn.Conv2DConfig{In: 16, Out: 32, Kernel: 3}, rng),
		nn.NewReLU[float32](),
		nn.NewMaxPool2D[float32](2),
		nn.NewFlatten[float32](),
		nn.NewLinear[float32](32*5*5, 10, rng),
	)
}

// LM settings of bench/kjv_gpt.py's speed measurement (TORCH_LM in
// bench/compare.py): batches of LMBatch windows of LMCtx tokens from a
// vocabulary of LMVocab, the KJV's characters.
const (
	LMBatch = 32
	LMCtx   = 128
	LMVocab = 63
)

// LMOptimizer returns the optimizer of that recipe for m's parameters:
// AdamW (lr 3e-3, weight decay 0.1 on the matrices only) after clipping
// the gradients' global norm to 1.
func LMOptimizer(m nn.Module[float32]) (*optim.Optimizer[float32], error) {
	var params []optim.Param[float32]
	for _, p := range m.Params() {
		params = append(params, optim.Param[float32]{Name: p.Name, Shape: p.Shape, Value: p.Value, Grad: p.Grad})
	}
	adamw := optim.DefaultAdamW()
	adamw.WeightDecay = 0.1
	return optim.New(params, optim.Config{Method: adamw, LR: schedule.Constant(3e-3), ClipNorm: 1, DecayMask: optim.WeightsOnly})
}
