package train_test

import (
	"bytes"
	"context"
	"fmt"
	"math"
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
// the digits, with batch norm and dropout if asked, and a convolution
// before it.
type replicaRun struct {
	init      uint64 // the seed of the initial weights
	batchNorm bool
	wrap      bool // train the Sequential inside a model of one's own (wrapped)
	dropout   bool
	conv      bool // a 3×3 convolution to 4 channels (and batch norm), ReLU and 2×2 max pooling first
	method    optim.Method
	lr        float64 // 0: the method's default
	clip      float64
	cfg       train.Config
	trainSet  data.Dataset // nil: the digits' training split
}

// build builds the run on c. It does not fail t, so that the ranks of
// comm.Local can call it off the test's goroutine.
func (r replicaRun) build(t testing.TB, c *comm.Comm, splits *data.Splits) (*train.Trainer[float64], *nn.Sequential[float64], *optim.Optimizer[float64], error) {
	t.Helper()
	rng := rand.New(rand.NewPCG(r.init, 99))
	var layers []nn.Module[float64]
	if r.conv { // [1 8 8] → [4 8 8] → [4 4 4], 64 features as the image's
		layers = append(layers, nn.NewConv2D[float64](nn.Conv2DConfig{In: 1, Out: 4, Kernel: 3, Padding: 1}, rng))
		if r.batchNorm {
			layers = append(layers, nn.NewBatchNorm2d[float64](4))
		}
		layers = append(layers, nn.NewReLU[float64](), nn.NewMaxPool2D[float64](2))
	}
	layers = append(layers, nn.NewFlatten[float64](), nn.NewLinear[float64](64, 32, rng))
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
		return nil, nil, nil, err
	}
	sets := train.Data{Train: r.trainSet, Val: splits.Val}
	if r.trainSet == nil {
		sets.Train = splits.Train
	}
	var m train.Model[float64] = model
	if r.wrap {
		m = wrapped[float64]{model}
	}
	tr, err := train.New(m, opt, sets, cfg)
	return tr, model, opt, err
}

// trainOn builds the run on c and runs it; it returns the trainer, the
// model and the optimizer's state.
func (r replicaRun) trainOn(t *testing.T, c *comm.Comm, splits *data.Splits) (*train.Trainer[float64], *nn.Sequential[float64], []byte) {
	t.Helper()
	tr, m, opt, err := r.build(t, c, splits)
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	var state bytes.Buffer
	if err := opt.Save(&state); err != nil {
		t.Fatal(err)
	}
	return tr, m, state.Bytes()
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

// largestDiff returns the largest difference between the parameters of a
// and b, relative (absolute for values below 1), and which it is; NaN if
// one is NaN.
func largestDiff(a, b nn.Module[float64]) (float64, string) {
	ap, bp := a.Params(), b.Params()
	worst, at := 0.0, ""
	for i := range ap {
		for j, v := range ap[i].Value {
			d := math.Abs(bp[i].Value[j]-v) / math.Max(1, math.Abs(v))
			if math.IsNaN(d) {
				return d, fmt.Sprintf("%s[%d]", ap[i].Name, j)
			}
			if d > worst {
				worst, at = d, fmt.Sprintf("%s[%d]", ap[i].Name, j)
			}
		}
	}
	return worst, at
}

// equivalence is a run of the digits, 2 epochs of batches of 31, that
// one process and the ranks train alike.
type equivalence struct {
	name   string
	method optim.Method
	lr     float64 // 0: the method's default
	clip   float64
	syncBN bool // batch norm, synchronised over the ranks
	conv   bool // replicaRun.conv
	avg    *optim.Averaging
	acc    int  // Config.Accumulate
	wrap   bool // replicaRun.wrap
}

func (m equivalence) replicaRun() replicaRun {
	return replicaRun{method: m.method, lr: m.lr, clip: m.clip, batchNorm: m.syncBN, conv: m.conv, wrap: m.wrap,
		cfg: train.Config{Epochs: 2, BatchSize: 31, Seed: 5, SyncBatchNorm: m.syncBN, Average: m.avg, Accumulate: m.acc}}
}

// bound is how far the parameters of one process and of the ranks may be
// apart (relative, or absolute below 1). The gradients differ by the order
// of the additions over the batch, an ulp or so, and 2 epochs (90 steps,
// the last of 10 examples) of momentum or AdamW leave the parameters at
// most 6e-16 apart with 2 and 3 ranks; the bound leaves a factor of 1000
// for other machines and kernels. With synchronised batch norm, the
// statistics are float64 sums in another order than one process's, and the
// bias before it, whose gradient is zero but for rounding, moves with
// AdamW's normalized noise: seen 1.5e-11 (2 ranks) and 1.7e-11 (3 ranks),
// and for the convolution's bias before BatchNorm2d 3.5e-11 and 6.2e-11
// (comm.Local's ranks); without synchronisation the runs differ by 0.02.
func (m equivalence) bound() float64 {
	if m.syncBN {
		return 1e-8
	}
	return 1e-12
}

// poisoned is a dataset whose example at has a NaN feature.
type poisoned struct {
	data.Dataset
	at int
}

func (p poisoned) Example(i int, x []float32) int {
	y := p.Dataset.Example(i, x)
	if i == p.at {
		x[0] = float32(math.NaN())
	}
	return y
}
