package nn_test

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/descentml/descent/autograd"
	"github.com/descentml/descent/bench/benchmodels"
	"github.com/descentml/descent/internal/kernel"
	"github.com/descentml/descent/nn"
	"github.com/descentml/descent/optim"
	"github.com/descentml/descent/tensor"
)

// BenchmarkSeqStep times a forward and backward pass (no optimizer) of
// sequence layers on a batch, reporting tokens/s and GFLOP/s. The FLOP
// counts are those of the matrix multiplies, ×3 for forward, input
// gradient and weight gradient; the causal attention's products count
// below the diagonal only ((T+1)/2 keys per query on average), the work it
// has to do. "%sgemm" is that as a fraction of the sgemm 512³ rate
// measured beside each step (benchmarkSeqStep), which bench/compare.py
// prints.
func BenchmarkSeqStep(b *testing.B) {
	b.Run("gpt-block-d128-h4/batch32-ctx128", func(b *testing.B) {
		const batch, ctx, d, ff, heads = 32, 128, 128, 512, 4
		rng := rand.New(rand.NewPCG(1, 2))
		block := nn.NewBlock[float32](nn.TransformerConfig{Vocab: 1, Dim: d, Context: ctx, Heads: heads, Layers: 1, FF: ff}, rng)
		tokens := float64(batch * ctx)
		perToken := 2*float64(d*3*d+d*d+2*d*ff) + 2*float64((ctx+1)*d)
		benchmarkForwardBackward(b, block, []int{batch, ctx, d}, batch*ctx, 3*tokens*perToken, rng)
	})
	b.Run("lstm-256/batch32-ctx128", func(b *testing.B) {
		const batch, ctx, h = 32, 128, 256
		rng := rand.New(rand.NewPCG(1, 2))
		lstm := nn.NewLSTM[float32](h, h, rng)
		flops := 3 * 2 * float64(batch*ctx) * float64(h*4*h+h*4*h)
		benchmarkForwardBackward(b, lstm, []int{batch, ctx, h}, batch*ctx, flops, rng)
	})
	b.Run("gpt-2x128-vocab96/batch32-ctx128", func(b *testing.B) {
		const batch, ctx, d, vocab = 32, 128, 128, 96
		rng := rand.New(rand.NewPCG(1, 2))
		m, err := nn.NewTransformer[float32](nn.TransformerConfig{Vocab: vocab, Dim: d, Context: ctx, Heads: 4, Layers: 2}, rng)
		if err != nil {
			b.Fatal(err)
		}
		tokens := float64(batch * ctx)
		perToken := 2*(2*float64(d*3*d+d*d+2*d*4*d)+2*float64((ctx+1)*d)) + 2*float64(d*vocab)
		benchmarkLM(b, m, batch, ctx, vocab, 3*tokens*perToken, rng, nil)
	})
}

// benchmarkForwardBackward times m's forward pass on a random input of the
// given shape and the backward pass from a random upstream gradient.
func benchmarkForwardBackward(b *testing.B, m nn.Module[float32], shape []int, tokens int, flops float64, rng *rand.Rand) {
	x := tensor.New[float32](shape...)
	for i := range x.Data() {
		x.Data()[i] = float32(rng.NormFloat64())
	}
	tape := autograd.NewTape[float32]()
	var g *tensor.Tensor[float32]
	step := func() {
		y, err := m.Forward(tape, tape.Const(x))
		if err != nil {
			b.Fatal(err)
		}
		if g == nil {
			g = tensor.New[float32](y.Shape()...)
			for i := range g.Data() {
				g.Data()[i] = float32(rng.NormFloat64())
			}
		}
		if err := tape.BackwardWith(y, g); err != nil {
			b.Fatal(err)
		}
		nn.ZeroGrad(m.Params())
		tape.Reset()
	}
	benchmarkSeqStep(b, step, tokens, flops)
}

// benchmarkLM times a language model's forward pass, cross-entropy over
// every position and backward pass, and opt's step unless opt is nil.
func benchmarkLM(b *testing.B, m nn.Module[float32], batch, ctx, vocab int, flops float64, rng *rand.Rand, opt *optim.Optimizer[float32]) {
	x := tensor.New[float32](batch, ctx)
	labels := make([]int, batch*ctx)
	for i := range labels {
		x.Data()[i] = float32(rng.IntN(vocab))
		labels[i] = rng.IntN(vocab)
	}
	tape := autograd.NewTape[float32]()
	step := func() {
		logits, err := m.Forward(tape, tape.Const(x))
		if err != nil {
			b.Fatal(err)
		}
		if err := tape.Backward(tape.CrossEntropy(tape.Reshape(logits, -1, vocab), labels)); err != nil {
			b.Fatal(err)
		}
		if opt != nil {
			if err := opt.Step(); err != nil {
				b.Fatal(err)
			}
		}
		nn.ZeroGrad(m.Params())
		tape.Reset()
	}
	benchmarkSeqStep(b, step, batch*ctx, flops)
}

// BenchmarkLMTrainStep times a whole training step of the language models
// of bench/kjv_gpt.py as `descent train --data kjv` runs them: forward,
// cross-entropy over every position, backward, the gradients clipped to
// global norm 1 and AdamW (weight decay on the matrices only), on batches
// of 32 windows of 128 tokens from a vocabulary of 63. It reports
// tokens/s, GFLOP/s of the matrix products and the allocations of a step
// after the first.
func BenchmarkLMTrainStep(b *testing.B) {
	const batch, ctx, vocab = benchmodels.LMBatch, benchmodels.LMCtx, benchmodels.LMVocab
	b.Run("gpt-2x128-h4/batch32-ctx128", func(b *testing.B) {
		const d = 128
		rng := rand.New(rand.NewPCG(1, 2))
		m, err := nn.NewTransformer[float32](nn.TransformerConfig{Vocab: vocab, Dim: d, Context: ctx, Heads: 4, Layers: 2}, rng)
		if err != nil {
			b.Fatal(err)
		}
		perToken := 2*(2*float64(d*3*d+d*d+2*d*4*d)+2*float64((ctx+1)*d)) + 2*float64(d*vocab)
		benchmarkLM(b, m, batch, ctx, vocab, 3*batch*ctx*perToken, rng, lmOptimizer(b, m))
	})
	b.Run("lstm-256/batch32-ctx128", func(b *testing.B) {
		const h = 256
		rng := rand.New(rand.NewPCG(1, 2))
		m, err := nn.NewRecurrentLM[float32](nn.RecurrentLMConfig{Cell: nn.CellLSTM, Vocab: vocab, Embed: h, Hidden: h}, rng)
		if err != nil {
			b.Fatal(err)
		}
		perToken := 2*float64(h*4*h+h*4*h) + 2*float64(h*vocab)
		benchmarkLM(b, m, batch, ctx, vocab, 3*batch*ctx*perToken, rng, lmOptimizer(b, m))
	})
}

// lmOptimizer returns bench/kjv_gpt.py's optimizer for m.
func lmOptimizer(b *testing.B, m nn.Module[float32]) *optim.Optimizer[float32] {
	opt, err := benchmodels.LMOptimizer(m)
	if err != nil {
		b.Fatal(err)
	}
	return opt
}

// benchmarkSeqStep is benchmarkStep for steps of many milliseconds, each
// paired with the sgemm rate on the same threads: after every timed step,
// with the timer stopped, two sgemm 512³ products are timed, and "%sgemm"
// reports the median over the steps of the step's GFLOP/s over theirs, so
// that a machine whose speed drifts moves both alike; "rt-ns" is the
// cores' round trip, as BenchmarkTrainFraction's in ./train.
func benchmarkSeqStep(b *testing.B, step func(), tokens int, flops float64) {
	const n, burst = 512, 2
	ga, gb, gc := make([]float32, n*n), make([]float32, n*n), make([]float32, n*n)
	for i := range ga {
		ga[i], gb[i] = float32(i%7)-3, float32(i%5)-2
	}
	gemm := func() { kernel.Gemm(false, false, n, n, n, 1, ga, n, gb, n, 0, gc, n) }
	gemm() // its buffers
	step() // warm-up: the tape's buffers are allocated here
	rt := kernel.RoundTrip(2000)
	ratios := make([]float64, 0, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	var stepped time.Duration
	for range b.N {
		t0 := time.Now()
		step()
		d := time.Since(t0)
		stepped += d
		b.StopTimer()
		g0 := time.Now()
		for range burst {
			gemm()
		}
		ratios = append(ratios, flops/d.Seconds()/(2*n*n*n*burst/time.Since(g0).Seconds()))
		b.StartTimer()
	}
	slices.Sort(ratios)
	sec := stepped.Seconds()
	b.ReportMetric(float64(tokens*b.N)/sec, "tokens/s")
	b.ReportMetric(flops*float64(b.N)/sec/1e9, "GFLOP/s")
	b.ReportMetric(100*ratios[len(ratios)/2], "%sgemm")
	b.ReportMetric(float64(max(rt, kernel.RoundTrip(2000)).Nanoseconds()), "rt-ns")
}
