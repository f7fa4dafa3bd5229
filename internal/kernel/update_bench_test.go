package kernel

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"
	"unsafe"
)

// Update kernels are measured in cache (a block of 4096 elements, as the
// optimizers use them; GB/s counts the bytes each call reads and writes) and
// from memory (10M and 64M elements, one core). Each iteration first copies a fixed
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

// An updateBench measures one kernel on n elements of T.
type updateBench[T Float] func(b *testing.B, n int)

func updateBenches[T Float]() map[string]updateBench[T] {
	size := int(unsafe.Sizeof(T(0)))
	update := func(k, bytes int, f func(s [][]T)) updateBench[T] {
		return func(b *testing.B, n int) { benchmarkUpdate(b, n, k, bytes*size, f) }
	}
	reduce := func(f func(x []T)) updateBench[T] {
		return func(b *testing.B, n int) { benchmarkReduction(b, n, f) }
	}
	return map[string]updateBench[T]{
		"Copy":       update(1, 2, func(s [][]T) {}),
		"Axpy":       update(2, 3, func(s [][]T) { Axpy(0.5, s[0], s[1]) }),
		"Scale":      update(1, 2, func(s [][]T) { Scale(0.999, s[0]) }),
		"Momentum":   update(2, 4, func(s [][]T) { Momentum(s[0], s[1], 0.9, 1, true) }),
		"Adam":       update(3, 6, func(s [][]T) { Adam(s[0], s[1], s[2], nil, 0.9, 0.999, 1.1, 1.2, 1e-8) }),
		"AMSGrad":    update(4, 8, func(s [][]T) { Adam(s[0], s[1], s[2], s[3], 0.9, 0.999, 1.1, 1.2, 1e-8) }),
		"RMSprop":    update(3, 6, func(s [][]T) { RMSprop(s[0], s[1], s[2], 0.99, 1e-8, false) }),
		"SumSquares": reduce(func(x []T) { SumSquares(x) }),
		// Prodigy's gather: reads p, g, p0, m, v, s; writes m, v, s.
		"ProdigyGather": update(6, 9, func(s [][]T) {
			ProdigyGatherStep(s[0], s[1], s[2], s[3], s[4], s[5], 1, 0, 0.9, 1e-7, 0.999, 1e-15, 0.95, 3e-4)
		}),
		"ProdigyGatherGo": update(6, 9, func(s [][]T) {
			prodigyGatherRef(s[0], s[1], s[2], s[3], s[4], s[5], 1, 0, 0.9, 1e-7, 0.999, 1e-15, 0.95, 3e-4)
		}),
		// LAMB's gather: reads p, g, m, v; writes m, v, u.
		"LAMBGather": update(5, 7, func(s [][]T) {
			LAMBGather(s[1], s[0], s[2], s[3], s[4], 1, 0, 0.9, 0.999, 1.1, 1.2, 1e-6, 0.01)
		}),
		"MaxAbs":    reduce(func(x []T) { MaxAbs(x) }),
		"AllFinite": reduce(func(x []T) { AllFinite(x) }),
	}
}

// benchUpdate runs the benchmark of the named kernel as name/type/size:
// 4096 elements (in L1, as the optimizers call the kernels), 10M and 64M
// (from memory; 64M floats are 8 times the L3 cache, as in stream.c).
func benchUpdate(b *testing.B, name string) {
	for _, n := range []int{4096, tenM, 64 << 20} {
		label := map[int]string{4096: "4096", tenM: "10M", 64 << 20: "64M"}[n]
		b.Run("float32/"+label, func(b *testing.B) { updateBenches[float32]()[name](b, n) })
		b.Run("float64/"+label, func(b *testing.B) { updateBenches[float64]()[name](b, n) })
	}
}

func BenchmarkCopy(b *testing.B)       { benchUpdate(b, "Copy") }
func BenchmarkAxpy(b *testing.B)       { benchUpdate(b, "Axpy") }
func BenchmarkScale(b *testing.B)      { benchUpdate(b, "Scale") }
func BenchmarkMomentum(b *testing.B)   { benchUpdate(b, "Momentum") }
func BenchmarkAdam(b *testing.B)       { benchUpdate(b, "Adam") }
func BenchmarkAMSGrad(b *testing.B)    { benchUpdate(b, "AMSGrad") }
func BenchmarkRMSprop(b *testing.B)    { benchUpdate(b, "RMSprop") }
func BenchmarkSumSquares(b *testing.B) { benchUpdate(b, "SumSquares") }

// BenchmarkProdigyGather measures Prodigy's gather pass, and its Go
// reference loop beside it (ProdigyGatherGo).
func BenchmarkProdigyGather(b *testing.B)   { benchUpdate(b, "ProdigyGather") }
func BenchmarkProdigyGatherGo(b *testing.B) { benchUpdate(b, "ProdigyGatherGo") }

// BenchmarkLAMBGather measures LAMB's gather pass (its step is TrustStep).
func BenchmarkLAMBGather(b *testing.B) { benchUpdate(b, "LAMBGather") }

func BenchmarkMaxAbs(b *testing.B)    { benchUpdate(b, "MaxAbs") }
func BenchmarkAllFinite(b *testing.B) { benchUpdate(b, "AllFinite") }

// BenchmarkAllFiniteParallel checks float32 on all cores, chunked as the
// optimizer does before each step.
func BenchmarkAllFiniteParallel(b *testing.B) {
	for _, n := range []int{tenM, 64 << 20} {
		b.Run(map[int]string{tenM: "float32/10M", 64 << 20: "float32/64M"}[n], func(b *testing.B) {
			x := randomSlices[float32](1, n)[0]
			const chunk = 1 << 16
			var bad [64]bool
			check := func(w, i int) {
				if !AllFinite(x[i*chunk : min(len(x), (i+1)*chunk)]) {
					bad[w] = true
				}
			}
			b.SetBytes(4 * int64(n))
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				Parallel((n+chunk-1)/chunk, check)
			}
		})
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

// staggeredSlices returns k slices of n elements cut from one allocation,
// each starting 4096+16 elements after the end of the one before, as
// shared/bench/stream.c lays out its arrays: separately allocated large
// slices start at the same offset within a page, and the loads and stores
// of one loop iteration then alias in the caches.
func staggeredSlices[T Float](k, n int) [][]T {
	const gap = 4096 + 16
	rng := rand.New(rand.NewPCG(1, uint64(n)))
	slab := make([]T, k*(n+gap))
	s := make([][]T, k)
	for i := range s {
		s[i] = slab[i*(n+gap) : i*(n+gap)+n : i*(n+gap)+n]
		fill(rng, s[i], true, false)
	}
	return s
}

// benchmarkParallelStep runs step over n = 10M float32 elements of k slices
// (laid out by alloc) the way the optimizer does: chunks over the cores with
// Parallel, blocks of 4096 elements within a chunk. bytes is the traffic per
// element. step gets the worker's index, for scratch space. ms/step is the
// median time of a step, as stream.c reports the median of its runs; ns/op
// is the mean.
func benchmarkParallelStep(b *testing.B, k, bytes int, alloc func(k, n int) [][]float32, step func(w int, s [][]float32, lo, hi int)) {
	const block = 4096
	s := alloc(k, tenM)
	chunk := (tenM/(4*Threads()) + block - 1) / block * block
	run := func(w, c int) {
		for lo := c * chunk; lo < min(tenM, (c+1)*chunk); lo += block {
			step(w, s, lo, min(tenM, lo+block))
		}
	}
	b.SetBytes(int64(bytes) * tenM)
	b.ReportAllocs()
	times := make([]time.Duration, b.N)
	b.ResetTimer()
	for i := range b.N {
		t0 := time.Now()
		Parallel((tenM+chunk-1)/chunk, run)
		times[i] = time.Since(t0)
	}
	b.StopTimer()
	slices.Sort(times)
	b.ReportMetric(float64(times[b.N/2].Nanoseconds())/1e6, "ms/step")
}

// BenchmarkFusedStep runs the fused steps over 10M float32 parameters on all
// cores, with their slices in one staggered slab (as stream.c's) and as
// separate allocations. AdamW moves 28 bytes per parameter (p, m, v read and
// written, g read), as the fused loop of stream.c does; compare its ms/step
// with the "ms per 10M params" stream.c prints (built with N = 10M, or as
// is: the time per parameter is the same at 64M). AdamW/chain is the
// composition of block kernels that AdamStep replaces, for reference.
func BenchmarkFusedStep(b *testing.B) {
	layouts := []struct {
		name  string
		alloc func(k, n int) [][]float32
	}{{"staggered", staggeredSlices[float32]}, {"separate", randomSlices[float32]}}
	u := make([][]float32, Threads())
	for i := range u {
		u[i] = make([]float32, 4096)
	}
	for _, l := range layouts {
		b.Run("AdamW/"+l.name, func(b *testing.B) {
			benchmarkParallelStep(b, 4, 28, l.alloc, func(_ int, s [][]float32, lo, hi int) {
				AdamStep(s[0][lo:hi], s[1][lo:hi], s[2][lo:hi], s[3][lo:hi], nil, 1, 0, 0.9, 0.999, 10, 31.6, 1e-8, 0.01, -1e-3)
			})
		})
		b.Run("AdamW/chain/"+l.name, func(b *testing.B) {
			benchmarkParallelStep(b, 4, 28, l.alloc, func(w int, s [][]float32, lo, hi int) {
				p, v := s[0][lo:hi], u[w][:hi-lo]
				copy(v, s[1][lo:hi])
				Adam(v, s[2][lo:hi], s[3][lo:hi], nil, 0.9, 0.999, 10, 31.6, 1e-8)
				Axpy(0.01, p, v)
				Axpy(-1e-3, v, p)
			})
		})
		b.Run("Momentum/"+l.name, func(b *testing.B) {
			benchmarkParallelStep(b, 3, 20, l.alloc, func(_ int, s [][]float32, lo, hi int) {
				MomentumStep(s[0][lo:hi], s[1][lo:hi], s[2][lo:hi], 1, 1e-4, 0.9, 1, -0.1, true)
			})
		})
		b.Run("RMSprop/"+l.name, func(b *testing.B) {
			benchmarkParallelStep(b, 3, 20, l.alloc, func(_ int, s [][]float32, lo, hi int) {
				RMSpropStep(s[0][lo:hi], s[1][lo:hi], s[2][lo:hi], nil, nil, 1, 0, 0.99, 1e-8, 0, -1e-2, false)
			})
		})
	}
}
