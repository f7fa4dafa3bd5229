package kernel

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// The matrix multiply is measured as in shared/bench/gemm.c: a shape MxKxN
// (M=128, K=784, N=256 for 128x784x256; 512 means 512³) of row-major
// matrices, C = A·B, reported in GFLOP/s (2·M·N·K per product).
// BenchmarkMatMul uses every core, BenchmarkMatMulOneCore one (compare with
// OPENBLAS_NUM_THREADS=1), and BenchmarkMatMulTraining the products of a
// training step of an MLP 784-256-256-10 on batches of 128, forward (NN) and
// backward (TN: weight gradients Xᵀ·dY; NT: input gradients dY·Wᵀ).

var matMulShapes = []string{"128x784x256", "512", "1024"}

func parseShape(s string) (m, k, n int) {
	if _, err := fmt.Sscanf(s, "%dx%dx%d", &m, &k, &n); err == nil {
		return m, k, n
	}
	fmt.Sscanf(s, "%d", &m)
	return m, m, m
}

func benchmarkMatMul[T Float](b *testing.B, transA, transB bool, m, k, n int) {
	rng := rand.New(rand.NewPCG(1, 2))
	a, bm, c := make([]T, m*k), make([]T, k*n), make([]T, m*n)
	fill(rng, a, false, false)
	fill(rng, bm, false, false)
	lda, ldb := k, n
	if transA {
		lda = m
	}
	if transB {
		ldb = k
	}
	Gemm(transA, transB, m, n, k, 1, a, lda, bm, ldb, 0, c, n) // warm up the buffers
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		Gemm(transA, transB, m, n, k, 1, a, lda, bm, ldb, 0, c, n)
	}
	b.ReportMetric(2*float64(m)*float64(n)*float64(k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}

func benchMatMulShapes(b *testing.B) {
	for _, s := range matMulShapes {
		m, k, n := parseShape(s)
		b.Run("float32/"+s, func(b *testing.B) { benchmarkMatMul[float32](b, false, false, m, k, n) })
	}
	for _, s := range matMulShapes {
		m, k, n := parseShape(s)
		b.Run("float64/"+s, func(b *testing.B) { benchmarkMatMul[float64](b, false, false, m, k, n) })
	}
}

func BenchmarkMatMul(b *testing.B) {
	benchMatMulShapes(b)
}

func BenchmarkMatMulOneCore(b *testing.B) {
	defer SetThreads(0)
	SetThreads(1)
	benchMatMulShapes(b)
}

func BenchmarkMatMulTraining(b *testing.B) {
	for _, s := range []struct {
		name           string
		transA, transB bool
		m, k, n        int
	}{
		{"NN/128x784x256", false, false, 128, 784, 256},
		{"NN/128x256x256", false, false, 128, 256, 256},
		{"NN/128x256x10", false, false, 128, 256, 10},
		{"TN/784x128x256", true, false, 784, 128, 256},
		{"TN/256x128x256", true, false, 256, 128, 256},
		{"TN/256x128x10", true, false, 256, 128, 10},
		{"NT/128x256x784", false, true, 128, 256, 784},
		{"NT/128x256x256", false, true, 128, 256, 256},
		{"NT/128x10x256", false, true, 128, 10, 256},
	} {
		b.Run("float32/"+s.name, func(b *testing.B) { benchmarkMatMul[float32](b, s.transA, s.transB, s.m, s.k, s.n) })
	}
}

// BenchmarkMatMulLinear runs the products of nn.Linear (y = x·Wᵀ + b) as
// package autograd calls them, for the layers of the MLP 784-256-256-10 on
// batches of 128: forward (NT: X·Wᵀ), input gradient (NN: dY·W) and weight
// gradient (TN: dYᵀ·X), named by the layer's in→out.
func BenchmarkMatMulLinear(b *testing.B) {
	for _, l := range [][2]int{{784, 256}, {256, 256}, {256, 10}} {
		const batch = 128
		in, out := l[0], l[1]
		name := fmt.Sprintf("float32/%d-%d", in, out)
		b.Run(name+"/forward", func(b *testing.B) { benchmarkMatMul[float32](b, false, true, batch, in, out) })
		b.Run(name+"/dx", func(b *testing.B) { benchmarkMatMul[float32](b, false, false, batch, out, in) })
		b.Run(name+"/dW", func(b *testing.B) { benchmarkMatMul[float32](b, true, false, out, batch, in) })
	}
}

// BenchmarkMatMulLinearGrad runs a Linear layer's gradient products as
// package autograd's backward pass does, on Spread's workers: each worker
// computes the input gradient of its band of the batch's rows (dx: NN,
// dY[band]·W) and the weight gradient of its band of output units (dW: TN,
// dY[:, band]ᵀ·X) with GemmSerial, so that every worker reads all of W and
// of X. The layers are those of the MLP 784-256-256-10 on batches of 128.
func BenchmarkMatMulLinearGrad(b *testing.B) {
	for _, l := range [][2]int{{784, 256}, {256, 256}, {256, 10}} {
		const batch = 128
		in, out := l[0], l[1]
		rng := rand.New(rand.NewPCG(1, 2))
		g, w, x := make([]float32, batch*out), make([]float32, out*in), make([]float32, batch*in)
		dx, dw := make([]float32, batch*in), make([]float32, out*in)
		fill(rng, g, false, false)
		fill(rng, w, false, false)
		fill(rng, x, false, false)
		name := fmt.Sprintf("float32/%d-%d", in, out)
		b.Run(name+"/dx", func(b *testing.B) {
			benchmarkSpread(b, 2*batch*in*out, func(p, parts int) {
				lo, hi := Band(batch, p, parts)
				GemmSerial(false, false, hi-lo, in, out, 1, g[lo*out:], out, w, in, 0, dx[lo*in:hi*in], in)
			})
		})
		b.Run(name+"/dW", func(b *testing.B) {
			benchmarkSpread(b, 2*batch*in*out, func(p, parts int) {
				lo, hi := Band(out, p, parts)
				if hi > lo {
					GemmSerial(true, false, hi-lo, in, batch, 1, g[lo:], out, x, in, 1, dw[lo*in:hi*in], in)
				}
			})
		})
	}
}

// benchmarkSpread times Spread(fn), a pass of flops floating-point
// operations, on GOMAXPROCS threads (go test -cpu), and reports GFLOP/s.
func benchmarkSpread(b *testing.B, flops int, fn func(w, workers int)) {
	SetThreads(0)
	Spread(fn) // warm up the buffers
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		Spread(fn)
	}
	b.ReportMetric(float64(flops)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}
