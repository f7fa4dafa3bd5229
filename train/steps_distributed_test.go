package train_test

import (
	"bytes"
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

func saved(t *testing.T, m nn.Module[float64]) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := nn.Save(&b, m); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}
