package train_test

import (
	"context"
	"fmt"
	"math/rand/v2"

	"github.com/descentml/descent/data"
	"github.com/descentml/descent/nn"
	"github.com/descentml/descent/optim"
	"github.com/descentml/descent/schedule"
	"github.com/descentml/descent/train"
)

// The README's library example, whole: an MLP with batch norm trained
// with AdamW and a cosine schedule on the embedded digits, then evaluated
// on the held-out test split. The numbers are the same on every machine
// and thread count.
func ExampleNew() {
	splits, err := data.Load("digits", data.DefaultOptions())
	if err != nil {
		panic(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	model := nn.NewSequential(
		nn.NewFlatten[float32](),
		nn.NewLinear[float32](64, 128, rng), nn.NewBatchNorm1d[float32](128), nn.NewReLU[float32](),
		nn.NewLinear[float32](128, 10, rng),
	)
	const epochs, batch = 5, 128
	steps := epochs * ((splits.Train.Len() + batch - 1) / batch)
	opt, err := optim.New(train.Params[float32](model), optim.Config{
		Method:    optim.DefaultAdamW(),
		LR:        schedule.Cosine{Base: 1e-2, TMax: steps},
		ClipNorm:  1,
		DecayMask: optim.WeightsOnly, // no decay on biases and batch-norm parameters
	})
	if err != nil {
		panic(err)
	}
	tr, err := train.New[float32](model, opt, train.Data{Train: splits.Train, Val: splits.Val},
		train.Config{Epochs: epochs, BatchSize: batch})
	if err != nil {
		panic(err)
	}
	if err := tr.Run(context.Background()); err != nil {
		panic(err)
	}
	_, acc, err := tr.Evaluate(splits.Test)
	if err != nil {
		panic(err)
	}
	fmt.Printf("%d steps; test accuracy %.1f%%\n", tr.Step(), 100*acc)
	// Output:
	// 55 steps; test accuracy 98.1%
}
