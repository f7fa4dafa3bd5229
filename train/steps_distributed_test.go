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
	"github.com/descentml/descent/train"
)

// seqRun builds a language model's run of tiny float64 models on the
// embedded corpus's first 20,000 characters.
type seqRun struct {
	gpt  bool   // a transformer, else an LSTM
	init uint64 // the seed of the initial weights
	clip float64
	cfg  train.SeqConfig
}

// build builds the run on c. It does not fail t, so that the ranks of
// comm.Local can call it off the test's goroutine.
func (r seqRun) build(t *testing.T, c *comm.Comm) (*train.SeqTrainer[float64], nn.Module[float64], error) {
	t.Helper()
	text, err := data.NewText(data.DefaultCorpus()[:20000], data.DefaultTextOptions())
	if err != nil {
		return nil, nil, err
	}
	rng := rand.New(rand.NewPCG(r.init, 3))
	var model nn.Module[float64]
	if r.gpt {
		model, err = nn.NewTransformer[float64](nn.TransformerConfig{Vocab: text.Vocab.Len(), Dim: 8, Context: r.cfg.Ctx, Heads: 2, Layers: 1}, rng)
	} else {
		model, err = nn.NewRecurrentLM[float64](nn.RecurrentLMConfig{Cell: nn.CellLSTM, Vocab: text.Vocab.Len(), Embed: 8, Hidden: 8}, rng)
	}
	if err != nil {
		return nil, nil, err
	}
	opt, err := optim.New(train.Params[float64](model), optim.Config{Method: optim.DefaultAdamW(), ClipNorm: r.clip})
	if err != nil {
		return nil, nil, err
	}
	cfg := r.cfg
	cfg.Comm = c
	tr, err := train.NewSeq[float64](model, opt, text.Train, text.Val, cfg)
	return tr, model, err
}

// trainOn builds the run on c and runs it; it returns the trainer and the
// model.
func (r seqRun) trainOn(t *testing.T, c *comm.Comm) (*train.SeqTrainer[float64], nn.Module[float64]) {
	t.Helper()
	tr, m, err := r.build(t, c)
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	return tr, m
}

func saved(t *testing.T, m nn.Module[float64]) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := nn.Save(&b, m); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// seqEquivalence is a language model's run, 12 steps of global batches of
// 7 windows (a multiple of neither 2 nor 3) with AdamW and clipping, that
// one process and the ranks train alike.
type seqEquivalence struct {
	name string
	gpt  bool // a transformer, else an LSTM
	acc  int  // SeqConfig.Accumulate
	avg  *optim.Averaging
}

var seqEquivalences = []seqEquivalence{
	{"gpt", true, 0, nil},
	{"lstm", false, 0, nil},
	{"gpt-accumulate-ema", true, 2, &optim.Averaging{EMA: true, Decay: 0.9}},
}

func (c seqEquivalence) seqRun() seqRun {
	return seqRun{gpt: c.gpt, init: 7, clip: 0.5, cfg: train.SeqConfig{Steps: 12, BatchSize: 7, Ctx: 8, Seed: 5, EvalEvery: 6, Accumulate: c.acc, Average: c.avg}}
}
