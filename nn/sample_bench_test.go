package nn_test

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/descentml/descent/nn"
)

// BenchmarkSample times sampling from a character-level LSTM (vocabulary
// 64, embedding 64, hidden 256): 300 tokens after a prompt of one, at
// contexts of 16, 64 and 256 tokens, reporting the time per token.
func BenchmarkSample(b *testing.B) {
	for _, ctx := range []int{16, 64, 256} {
		b.Run(fmt.Sprintf("lstm-256/ctx%d", ctx), func(b *testing.B) { benchmarkSample(b, ctx) })
	}
}

func benchmarkSample(b *testing.B, ctx int) {
	m, err := nn.NewRecurrentLM[float32](nn.RecurrentLMConfig{Cell: nn.CellLSTM, Vocab: 64, Embed: 64, Hidden: 256}, rand.New(rand.NewPCG(1, 0)))
	if err != nil {
		b.Fatal(err)
	}
	cfg := nn.DefaultSampleConfig(ctx)
	cfg.Tokens = 300
	b.ReportAllocs()
	start := time.Now()
	for i := 0; b.Loop(); i++ {
		if _, err := nn.Sample[float32](m, []int{1}, cfg, rand.New(rand.NewPCG(uint64(i), 0))); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(time.Since(start).Nanoseconds())/float64(b.N*cfg.Tokens), "ns/token")
}
