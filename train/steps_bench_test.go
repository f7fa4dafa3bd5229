package train_test

import (
	"context"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/descentml/descent/bench/benchmodels"
	"github.com/descentml/descent/data"
	"github.com/descentml/descent/internal/kernel"
	"github.com/descentml/descent/nn"
	"github.com/descentml/descent/train"
)

// BenchmarkSeqTrainStep times the steps of a SeqTrainer as `descent train
// --data kjv` runs them, the language model of BenchmarkLMTrainStep
// (./nn), gpt-2x128-h4 on batches of 32 windows of 128 characters of the
// embedded corpus, with bench/kjv_gpt.py's optimizer: what that benchmark
// leaves out, the loss's checks, the loss value and the trainer's
// bookkeeping, is in. The first step (buffers allocated) is not timed.
func BenchmarkSeqTrainStep(b *testing.B) {
	b.Run("gpt-2x128-h4/batch32-ctx128", func(b *testing.B) {
		kernel.SetThreads(runtime.GOMAXPROCS(0))
		text, err := data.NewText(data.DefaultCorpus(), data.DefaultTextOptions())
		if err != nil {
			b.Fatal(err)
		}
		m, err := nn.NewTransformer[float32](nn.TransformerConfig{Vocab: text.Vocab.Len(), Dim: 128, Context: benchmodels.LMCtx, Heads: 4, Layers: 2}, rand.New(rand.NewPCG(1, 2)))
		if err != nil {
			b.Fatal(err)
		}
		opt, err := benchmodels.LMOptimizer(m)
		if err != nil {
			b.Fatal(err)
		}
		cfg := train.SeqConfig{Steps: b.N + 1, EvalEvery: b.N + 1, BatchSize: benchmodels.LMBatch, Ctx: benchmodels.LMCtx, Seed: 1,
			OnStep: func(s train.SeqStep) {
				if s.Step == 1 {
					b.ResetTimer()
				}
			}}
		tr, err := train.NewSeq[float32](m, opt, text.Train, nil, cfg)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		if err := tr.Run(context.Background()); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(b.N*benchmodels.LMBatch*benchmodels.LMCtx)/b.Elapsed().Seconds(), "tokens/s")
	})
}
