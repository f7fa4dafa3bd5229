package kernel

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"unsafe"
)

// Update kernels are measured in cache (a block of 4096 elements, as the
// optimizers use them; GB/s counts the bytes each call reads and writes) and
// from memory (10M elements, one core). Each iteration first copies a fixed
// gradient into u, as the optimizers do: run in place over and over, a kernel
// like Adagrad drives u into subnormal numbers, which the FPU handles ten
// times slower. BenchmarkAdamWStep runs the AdamW chain the optimizer runs, on
// all cores, for comparison with the fused loop of shared/bench/stream.c.

const tenM = 10_000_000

func randomSlices[T Float](k, n int) [][]T {
	rng := rand.New(rand.NewPCG(1, uint64(n)))
	s := make([][]T, k)
	for i := range s {
		s[i] = make([]T, n)
		fill(rng, s[i], true, false)
	}
	return s
}

// benchmarkUpdate measures f on k slices of n elements, counting bytes bytes
// of traffic per element. Before each call s[0] is reset to the same values.
func benchmarkUpdate[T Float](b *testing.B, n, k, bytes int, f func(s [][]T)) {
	s := randomSlices[T](k+1, n)
	g := s[k]
	b.SetBytes(int64(n * bytes))
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		copy(s[0], g)
		f(s)
	}
}

func benchmarkReduction[T Float](b *testing.B, n int, f func(x []T)) {
	x := randomSlices[T](1, n)[0]
	b.SetBytes(int64(n) * int64(unsafe.Sizeof(x[0])))
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		f(x)
	}
}

func benchUpdates[T Float](b *testing.B) {
	var z T
	size := int(unsafe.Sizeof(z))
	for _, n := range []int{4096, tenM} {
		name := fmt.Sprint(n)
		if n == tenM {
			name = "10M"
		}
		b.Run("Copy/"+typeName[T]()+"/"+name, func(b *testing.B) {
			benchmarkUpdate(b, n, 1, 2*size, func(s [][]T) {})
		})
		b.Run("Axpy/"+typeName[T]()+"/"+name, func(b *testing.B) {
			benchmarkUpdate(b, n, 2, 3*size, func(s [][]T) { Axpy(0.5, s[0], s[1]) })
		})
		b.Run("Scale/"+typeName[T]()+"/"+name, func(b *testing.B) {
			benchmarkUpdate(b, n, 1, 2*size, func(s [][]T) { Scale(0.999, s[0]) })
		})
		b.Run("Momentum/"+typeName[T]()+"/"+name, func(b *testing.B) {
			benchmarkUpdate(b, n, 2, 4*size, func(s [][]T) { Momentum(s[0], s[1], 0.9, 1, true) })
		})
		b.Run("Adam/"+typeName[T]()+"/"+name, func(b *testing.B) {
			benchmarkUpdate(b, n, 3, 6*size, func(s [][]T) { Adam(s[0], s[1], s[2], nil, 0.9, 0.999, 1.1, 1.2, 1e-8) })
		})
		b.Run("AMSGrad/"+typeName[T]()+"/"+name, func(b *testing.B) {
			benchmarkUpdate(b, n, 4, 8*size, func(s [][]T) { Adam(s[0], s[1], s[2], s[3], 0.9, 0.999, 1.1, 1.2, 1e-8) })
		})
		b.Run("RMSprop/"+typeName[T]()+"/"+name, func(b *testing.B) {
			benchmarkUpdate(b, n, 3, 6*size, func(s [][]T) { RMSprop(s[0], s[1], s[2], 0.99, 1e-8, false) })
		})
		b.Run("SumSquares/"+typeName[T]()+"/"+name, func(b *testing.B) {
			benchmarkReduction(b, n, func(x []T) { SumSquares(x) })
		})
		b.Run("MaxAbs/"+typeName[T]()+"/"+name, func(b *testing.B) {
			benchmarkReduction(b, n, func(x []T) { MaxAbs(x) })
		})
		b.Run("AllFinite/"+typeName[T]()+"/"+name, func(b *testing.B) {
			benchmarkReduction(b, n, func(x []T) { AllFinite(x) })
		})
	}
}

func BenchmarkUpdate(b *testing.B) {
	benchUpdates[float32](b)
	benchUpdates[float64](b)
}

// BenchmarkAllFinite checks 10M float32 on all cores, chunked as the
// optimizer does before each step.
func BenchmarkAllFinite(b *testing.B) {
	x := randomSlices[float32](1, tenM)[0]
	const chunk = 1 << 16
	var bad [64]bool
	check := func(w, i int) {
		if !AllFinite(x[i*chunk : min(len(x), (i+1)*chunk)]) {
			bad[w] = true
		}
	}
	b.SetBytes(4 * tenM)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		Parallel((tenM+chunk-1)/chunk, check)
	}
}

// BenchmarkAdamWStep runs one AdamW step over 10M float32 parameters the way
// the optim package does: chunks of the parameter over the cores with
// Parallel, and within a chunk blocks of 4096 elements copied to an
// L1-resident scratch slice and sent through Adam → Axpy(wd, p) → Scale(lr) →
// Axpy(−1, u, p). It moves 28 bytes per parameter (p, m, v read and written,
// g read), as the fused loop of stream.c does.
func BenchmarkAdamWStep(b *testing.B) {
	const block = 4096
	s := randomSlices[float32](4, tenM)
	p, g, m, v := s[0], s[1], s[2], s[3]
	threads := Threads()
	scratch := make([][]float32, threads)
	for w := range scratch {
		scratch[w] = make([]float32, block)
	}
	chunk := (tenM/(4*threads) + block - 1) / block * block
	step := func(w, c int) {
		u := scratch[w]
		for lo := c * chunk; lo < min(tenM, (c+1)*chunk); lo += block {
			hi := min(tenM, lo+block)
			u := u[:hi-lo]
			copy(u, g[lo:hi])
			Adam(u, m[lo:hi], v[lo:hi], nil, 0.9, 0.999, 10, 31.6, 1e-8)
			Axpy(0.01, p[lo:hi], u)
			Scale(1e-3, u)
			Axpy(-1, u, p[lo:hi])
		}
	}
	b.SetBytes(28 * tenM)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		Parallel((tenM+chunk-1)/chunk, step)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/1e6/float64(b.N), "ms/step")
}
