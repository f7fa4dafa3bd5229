package train_test

import (
	"bytes"
	"context"
	"math/rand/v2"
	"testing"

	"github.com/descentml/descent/comm"
	"github.com/descentml/descent/data"
	"github.com/descentml/descent/nn"
	"github.com/descentml/descent/optim"
	"github.com/descentml/descent/schedule"
	"github.com/descentml/descent/train"
)

// replicaRun is a small float64 run for the data-parallel tests: an MLP on
// the digits, with batch norm and dropout if asked.
type replicaRun struct {
	init      uint64 // the seed of the initial weights
	batchNorm bool
	dropout   bool
	method    optim.Method
	lr        float64 // 0: the method's default
	clip      float64
	cfg       train.Config
	trainSet  data.Dataset // nil: the digits' training split
}

func (r replicaRun) build(t testing.TB, c *comm.Comm, splits *data.Splits) (*train.Trainer[float64], *nn.Sequential[float64], *optim.Optimizer[float64], error) {
	t.Helper()
	rng := rand.New(rand.NewPCG(r.init, 99))
	layers := []nn.Module[float64]{nn.NewFlatten[float64](), nn.NewLinear[float64](64, 32, rng)}
	if r.batchNorm {
		layers = append(layers, nn.NewBatchNorm1d[float64](32))
	}
	layers = append(layers, nn.NewReLU[float64]())
	cfg := r.cfg
	cfg.Comm = c
	if r.dropout {
		cfg.RNG = rand.NewPCG(r.init, 7)
		layers = append(layers, nn.NewDropout[float64](0.2, rand.New(cfg.RNG)))
	}
	model := nn.NewSequential(append(layers, nn.NewLinear[float64](32, 10, rng))...)
	method := r.method
	if method == nil {
		method = optim.DefaultAdamW()
	}
	oc := optim.Config{Method: method, ClipNorm: r.clip}
	if r.lr != 0 {
		oc.LR = schedule.Constant(r.lr)
	}
	opt, err := optim.New(train.Params[float64](model), oc)
	if err != nil {
		t.Fatal(err)
	}
	sets := train.Data{Train: r.trainSet, Val: splits.Val}
	if r.trainSet == nil {
		sets.Train = splits.Train
	}
	tr, err := train.New[float64](model, opt, sets, cfg)
	return tr, model, opt, err
}

// TestSingleCommIsSingleProcess checks that a Comm of one process changes
// nothing: the model is byte-identical to that of a run without one.
func TestSingleCommIsSingleProcess(t *testing.T) {
	splits := digits(t)
	r := replicaRun{init: 1, batchNorm: true, dropout: true, cfg: train.Config{Epochs: 1, BatchSize: 37, Seed: 3}}
	var models [][]byte
	for _, c := range []*comm.Comm{nil, comm.Single()} {
		tr, m, _, err := r.build(t, c, splits)
		if err != nil {
			t.Fatal(err)
		}
		if err := tr.Run(context.Background()); err != nil {
			t.Fatal(err)
		}
		models = append(models, modelBytes(t, m))
	}
	if !bytes.Equal(models[0], models[1]) {
		t.Errorf("the model trained with comm.Single() differs from the one trained without a Comm")
	}
}
