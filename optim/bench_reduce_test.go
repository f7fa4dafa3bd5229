package optim_test

import (
	"math/rand/v2"
	"testing"

	"github.com/descentml/descent/internal/kernel"
	"github.com/descentml/descent/optim"
	"github.com/descentml/descent/schedule"
)

// BenchmarkStepMatrix measures a step of the optimizers that work on whole
// matrices, on one float32 weight matrix. For Muon the GFLOP/s column
// counts the Newton–Schulz products (5 iterations of 4r²c + 2r³ flops for
// an r×c matrix, r ≤ c), to be read beside Sgemm/1024, the float32 GEMM's
// own rate on 1024³ (C = A·B, 2·1024³ flops) measured in the same run.
func BenchmarkStepMatrix(b *testing.B) {
	b.Run("Sgemm/1024", func(b *testing.B) { benchmarkSgemm(b, 1024) })
	soap := optim.DefaultSOAP()
	soap.PreconditionFrequency = 10
	for _, tc := range []struct {
		name  string
		m     optim.Method
		shape [2]int
	}{
		{"Muon/256x256", optim.DefaultMuon(), [2]int{256, 256}},
		{"Muon/1024x1024", optim.DefaultMuon(), [2]int{1024, 1024}},
		{"SOAP/256x256", soap, [2]int{256, 256}},
	} {
		b.Run(tc.name, func(b *testing.B) { benchmarkStepMatrix(b, tc.m, tc.shape[0], tc.shape[1]) })
	}
}

func benchmarkSgemm(b *testing.B, n int) {
	rng := rand.New(rand.NewPCG(1, 1))
	x, y, z := make([]float32, n*n), make([]float32, n*n), make([]float32, n*n)
	for i := range x {
		x[i], y[i] = float32(rng.NormFloat64()), float32(rng.NormFloat64())
	}
	kernel.Gemm(false, false, n, n, n, 1, x, n, y, n, 0, z, n) // warm-up
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		kernel.Gemm(false, false, n, n, n, 1, x, n, y, n, 0, z, n)
	}
	b.ReportMetric(2*float64(n)*float64(n)*float64(n)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}

func benchmarkStepMatrix(b *testing.B, m optim.Method, rows, cols int) {
	rng := rand.New(rand.NewPCG(1, 1))
	n := rows * cols
	p := optim.Param[float32]{Name: "w", Shape: []int{rows, cols}, Value: make([]float32, n), Grad: make([]float32, n)}
	for j := range p.Value {
		p.Value[j] = float32(rng.NormFloat64())
		p.Grad[j] = float32(rng.NormFloat64()) * 1e-3
	}
	opt, err := optim.New([]optim.Param[float32]{p}, optim.Config{Method: m, LR: schedule.Constant(1e-3)})
	if err != nil {
		b.Fatal(err)
	}
	for range 2 { // warm-up: SOAP's first step only builds its preconditioner
		if err := opt.Step(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if err := opt.Step(); err != nil {
			b.Fatal(err)
		}
	}
	if mu, ok := m.(optim.Muon); ok {
		r, c := float64(min(rows, cols)), float64(max(rows, cols))
		flops := float64(mu.NSSteps) * (4*r*r*c + 2*r*r*r)
		b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
	}
}
