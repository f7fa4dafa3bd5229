package train_test

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/descentml/descent/nn"
	"github.com/descentml/descent/optim"
	"github.com/descentml/descent/schedule"
	"github.com/descentml/descent/train"
)

// withUnused is a model with a parameter its loss does not depend on: the
// backward pass never writes that gradient.
type withUnused struct {
	*nn.Sequential[float32]
	params []nn.Param[float32]
}

func (m withUnused) Params() []nn.Param[float32] { return m.params }

// TestDiscardedGradsMatchZeroed trains each benchmark model (and the MLP
// with a parameter the loss does not reach, whose gradient starts as
// garbage) for two epochs with AdamW, SGD with Nesterov momentum and Lion,
// with and without accumulation, twice: as the trainer does, discarding the
// gradients after each step so that the backward pass overwrites them, and
// as it did before, zeroing them after each step (autograd.Var.ZeroGrad in
// OnBatch, which ends the discard) so that the backward pass adds to
// zeros. The losses and the weights must be the same bits: overwriting
// differs only in the sign of a zero gradient, which no update turns into
// a different weight.
func TestDiscardedGradsMatchZeroed(t *testing.T) {
	set := randomSet(t, rand.New(rand.NewPCG(5, 6)), 200, []int{784})
	images := randomSet(t, rand.New(rand.NewPCG(5, 6)), 200, []int{1, 28, 28})
	type model struct {
		name  string
		build func(*rand.Rand) train.Model[float32]
	}
	var models []model
	for _, bc := range benchModels {
		models = append(models, model{bc.name, func(r *rand.Rand) train.Model[float32] { return bc.model(r) }})
	}
	models = append(models, model{"mlp-unused", func(r *rand.Rand) train.Model[float32] {
		extra := nn.NewLinear[float32](3, 2, r)
		for _, p := range extra.Params() {
			for i := range p.Grad {
				p.Grad[i] = 1 // garbage a discarded gradient keeps until cleared
			}
		}
		m := benchModels[0].model(r)
		return withUnused{m, append(append([]nn.Param[float32](nil), m.Params()...), extra.Params()...)}
	}})
	methods := []optim.Config{
		{Method: optim.DefaultAdamW()},
		{Method: optim.SGD{Momentum: 0.9, Nesterov: true}, LR: schedule.Constant(0.05)},
		{Method: optim.DefaultLion()},
	}
	for _, mc := range models {
		for _, oc := range methods {
			for _, acc := range []int{1, 3} {
				name := fmt.Sprintf("%s/%T/accumulate%d", mc.name, oc.Method, acc)
				t.Run(name, func(t *testing.T) {
					run := func(zero bool) ([]nn.Param[float32], []float64) {
						m := mc.build(rand.New(rand.NewPCG(1, 2)))
						opt, err := optim.New(train.Params[float32](m), oc)
						if err != nil {
							t.Fatal(err)
						}
						zeroAll := func() {
							for _, p := range m.Params() {
								p.Var.ZeroGrad()
							}
						}
						var losses []float64
						cfg := train.Config{Epochs: 2, BatchSize: 32, Accumulate: acc, Seed: 3, OnBatch: func(b train.Batch) {
							losses = append(losses, b.Loss)
							if zero {
								zeroAll()
							}
						}}
						data := train.Data{Train: set}
						if mc.name == benchModels[2].name {
							data.Train = images
						}
						tr, err := train.New(m, opt, data, cfg)
						if err != nil {
							t.Fatal(err)
						}
						if zero {
							zeroAll()
						}
						if err := tr.Run(context.Background()); err != nil {
							t.Fatal(err)
						}
						return m.Params(), losses
					}
					wantP, wantL := run(true)
					gotP, gotL := run(false)
					for i := range gotL {
						if math.Float64bits(gotL[i]) != math.Float64bits(wantL[i]) {
							t.Fatalf("loss of batch %d = %v discarding gradients; %v zeroing them", i, gotL[i], wantL[i])
						}
					}
					for i, p := range gotP {
						for j, v := range p.Value {
							if w := wantP[i].Value[j]; math.Float32bits(v) != math.Float32bits(w) {
								t.Fatalf("%s[%d] = %v discarding gradients; %v zeroing them", p.Name, j, v, w)
							}
						}
					}
				})
			}
		}
	}
}
