package descent_test

import (
	"fmt"
	"log"
	"math/rand/v2"

	"github.com/descentml/descent/autograd"
	"github.com/descentml/descent/data"
	"github.com/descentml/descent/loss"
	"github.com/descentml/descent/nn"
	"github.com/descentml/descent/optim"
	"github.com/descentml/descent/schedule"
	"github.com/descentml/descent/tensor"
	"github.com/descentml/descent/train"
)

// One training loop written out, a package for each stage, in the order
// of a step: data gathers a batch, the model records its forward pass on
// an autograd tape, loss adds the objective, Backward fills the
// gradients, and optim moves the parameters under a schedule.
// train.Trainer runs this loop for you, with evaluation, checkpoints and
// early stopping; its example trains the same way.
func Example() {
	set := data.Digits() // 1,797 8×8 images, embedded
	rng := rand.New(rand.NewPCG(1, 2))
	model := nn.NewSequential(
		nn.NewLinear[float32](set.Dim(), 32, rng), nn.NewReLU[float32](),
		nn.NewLinear[float32](32, set.Classes(), rng),
	)
	const epochs, batch = 3, 64
	b := data.Batches{Order: make([]int, set.Len()), Size: batch}
	opt, err := optim.New(train.Params[float32](model), optim.Config{
		Method: optim.DefaultAdam(),
		LR:     schedule.Cosine{Base: 1e-2, TMax: epochs * b.Len()},
	})
	if err != nil {
		log.Fatal(err)
	}

	x, y := make([]float32, batch*set.Dim()), make([]int, batch)
	tape := autograd.NewTape[float32]()
	for epoch := range epochs {
		data.Permute(b.Order, 7, epoch) // a shuffle that is a pure function of (seed, epoch)
		sum := 0.0
		for _, idx := range b.All() {
			n := len(idx)
			data.Gather(set, idx, x[:n*set.Dim()], y[:n])
			logits, err := model.Forward(tape, tape.Const(tensor.FromSlice(x[:n*set.Dim()], n, set.Dim())))
			if err != nil {
				log.Fatal(err)
			}
			l, err := loss.CrossEntropy(tape, logits, y[:n])
			if err != nil {
				log.Fatal(err)
			}
			if err := tape.Backward(l); err != nil {
				log.Fatal(err)
			}
			if err := opt.Step(); err != nil {
				log.Fatal(err)
			}
			opt.ZeroGrad()
			sum += float64(l.Value().Item()) * float64(n)
			tape.Reset() // l and logits are invalid from here on
		}
		fmt.Printf("epoch %d: mean loss %.3f\n", epoch+1, sum/float64(set.Len()))
	}
	// Output:
	// epoch 1: mean loss 1.628
	// epoch 2: mean loss 0.592
	// epoch 3: mean loss 0.433
}
