// Package benchmodels builds the models that the PyTorch training script of
// bench/compare.py trains, for descent's own measurements of the same runs
// (the training-step benchmarks of packages nn and train, and the command
// bench/trainbench).
package benchmodels

import (
	"math/rand/v2"

	"github.com/descentml/descent/nn"
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
