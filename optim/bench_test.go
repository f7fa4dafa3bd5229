package optim_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/descentml/descent/internal/kernel"
	"github.com/descentml/descent/optim"
	"github.com/descentml/descent/schedule"
)

// BenchmarkStep measures one optimizer step on float32 parameters. SetBytes
// is the memory a fused step must move per step, so the MB/s column reads as
// memory bandwidth: 20 B/param for SGD with momentum and RMSprop (read θ, g,
// one state buffer; write θ and the buffer), 28 B/param for Adam, AdamW
// and ADOPT (two state buffers), 36 for AdEMAMix (three). Lion and
// Schedule-Free SGD have one buffer (20 B/param), Schedule-Free AdamW two.
// Lion, ADOPT and AdEMAMix run as fused Go loops; Schedule-Free and
// cautious AdamW as chains of transforms, and cautious AdamW reads the
// gradient and the moment once more for its per-tensor count.
func BenchmarkStep(b *testing.B) {
	methods := []struct {
		name  string
		m     optim.Method
		bytes int64
	}{
		{"SGD-momentum", optim.SGD{Momentum: 0.9}, 20},
		{"RMSprop", optim.DefaultRMSprop(), 20},
		{"Adam", optim.DefaultAdam(), 28},
		{"AdamW", optim.DefaultAdamW(), 28},
		{"AdamW-cautious", cautious(), 28},
		{"Lion", optim.DefaultLion(), 20},
		{"ADOPT", optim.DefaultADOPT(), 28},
		{"AdEMAMix", optim.DefaultAdEMAMix(), 36},
		{"ScheduleFreeAdamW", optim.DefaultScheduleFreeAdamW(), 28},
		{"ScheduleFreeSGD", optim.DefaultScheduleFreeSGD(), 20},
		{"LAMB", optim.DefaultLAMB(), 28},       // as Adam; the trust ratio adds a pass
		{"LARS", optim.DefaultLARS(), 20},       // as SGD with momentum
		{"Prodigy", optim.DefaultProdigy(), 40}, // θ, g, θ₀, m, v, s read; θ, m, v, s written
	}
	sizes := []struct {
		name     string
		n, parts int
	}{
		{"1M", 1_000_000, 1},
		{"1Mx100", 1_000_000, 100},
		{"10M", 10_000_000, 1},
		{"10Mx100", 10_000_000, 100},
	}
	for _, s := range sizes {
		if s.parts == 1 {
			b.Run("Triad/"+s.name, func(b *testing.B) { benchmarkTriad(b, s.n) })
		}
	}
	for _, m := range methods {
		for _, s := range sizes {
			b.Run(fmt.Sprintf("%s/%s", m.name, s.name), func(b *testing.B) {
				benchmarkStep(b, m.m, s.n, s.parts, m.bytes)
			})
		}
	}
}

// benchmarkTriad is the reference for BenchmarkStep's bandwidths, measured
// in the same run: the stream triad in the in-place form the optimizers'
// steps have, y ← y + s·x over n float32 elements (two streams read, one
// written back: 12 B/element, as STREAM counts its triad), spread over the
// cores in the optimizer's chunks of 2¹⁸ elements.
func benchmarkTriad(b *testing.B, n int) {
	const chunk = 1 << 18
	rng := rand.New(rand.NewPCG(1, 1))
	x, y := make([]float32, n), make([]float32, n)
	for i := range x {
		x[i], y[i] = float32(rng.NormFloat64()), float32(rng.NormFloat64())
	}
	triad := func(_, i int) {
		lo, hi := i*chunk, min(n, (i+1)*chunk)
		kernel.Axpy(1e-3, x[lo:hi], y[lo:hi])
	}
	chunks := (n + chunk - 1) / chunk
	kernel.Parallel(chunks, triad)
	b.SetBytes(12 * int64(n))
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		kernel.Parallel(chunks, triad)
	}
}

func cautious() optim.AdamW {
	m := optim.DefaultAdamW()
	m.Cautious = true
	return m
}

func benchmarkStep(b *testing.B, m optim.Method, n, parts int, bytesPerParam int64) {
	rng := rand.New(rand.NewPCG(1, 1))
	params := make([]optim.Param[float32], parts)
	for i := range params {
		size := n / parts
		if i < n%parts {
			size++
		}
		p := optim.Param[float32]{Name: fmt.Sprint(i), Shape: []int{size}, Value: make([]float32, size), Grad: make([]float32, size)}
		for j := range p.Value {
			p.Value[j] = float32(rng.NormFloat64())
			p.Grad[j] = float32(rng.NormFloat64()) * 1e-3
		}
		params[i] = p
	}
	opt, err := optim.New(params, optim.Config{Method: m, LR: schedule.Constant(1e-3)})
	if err != nil {
		b.Fatal(err)
	}
	if err := opt.Step(); err != nil { // warm-up
		b.Fatal(err)
	}
	b.SetBytes(bytesPerParam * int64(n))
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if err := opt.Step(); err != nil {
			b.Fatal(err)
		}
	}
}
