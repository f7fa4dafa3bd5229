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
// memory bandwidth, to be read beside Triad's from the same run: 20 B/param
// for SGD with momentum, RMSprop, Lion and Schedule-Free SGD (read θ, g,
// one state buffer; write θ and the buffer), 28 B/param for Adam, AdamW,
// ADOPT and Schedule-Free AdamW (two state buffers), 36 for AdEMAMix
// (three). Methods that need a sum over each tensor before they can move
// it take two passes, and their bytes count both: the cautious forms read
// g and m once more to count the mask (AdamW 36, Lion 28); Prodigy's
// gather reads θ, g, θ₀, m, v, s and writes m, v, s, and its step reads
// θ, m, v and writes θ (52); LAMB's first pass is Adam's with u written
// (28 B) and its second reads u and θ and writes θ (40 in all); LARS's
// first reads g and θ for the norms and its second is SGD's (28).
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
		{"AdamW-cautious", cautious(), 36},
		{"Lion", optim.DefaultLion(), 20},
		{"Lion-cautious", optim.Lion{Beta1: 0.9, Beta2: 0.99, Cautious: true}, 28},
		{"ADOPT", optim.DefaultADOPT(), 28},
		{"AdEMAMix", optim.DefaultAdEMAMix(), 36},
		{"ScheduleFreeAdamW", optim.DefaultScheduleFreeAdamW(), 28},
		{"ScheduleFreeSGD", optim.DefaultScheduleFreeSGD(), 20},
		{"LAMB", optim.DefaultLAMB(), 40},
		{"LARS", optim.DefaultLARS(), 28},
		{"Prodigy", optim.DefaultProdigy(), 52},
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
// cores in chunks of 2¹⁸ elements (the optimizer's are 2¹⁴).
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
