package kernel

import (
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestParallelNested checks that a Parallel call from inside a task runs (on
// the calling goroutine) instead of deadlocking, at every depth and from every
// worker at once.
func TestParallelNested(t *testing.T) {
	defer SetThreads(0)
	for _, threads := range []int{2, 3} {
		SetThreads(threads)
		var inner atomic.Int64
		Parallel(8, func(w, i int) {
			Parallel(5, func(w2, j int) {
				if w2 != 0 {
					t.Errorf("nested call ran task %d as worker %d; want 0", j, w2)
				}
				Parallel(3, func(_, _ int) { inner.Add(1) })
			})
		})
		if got := inner.Load(); got != 8*5*3 {
			t.Fatalf("threads=%d: nested tasks ran %d times; want %d", threads, got, 8*5*3)
		}
	}
}

// TestParallelConcurrentCallers checks that calls from several goroutines at
// once each run every one of their tasks exactly once.
func TestParallelConcurrentCallers(t *testing.T) {
	defer SetThreads(0)
	SetThreads(2)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range 200 {
				n := 1 + (g*7+r)%13
				hits := make([]atomic.Int32, n)
				Parallel(n, func(_, i int) { hits[i].Add(1) })
				for i := range hits {
					if h := hits[i].Load(); h != 1 {
						t.Errorf("goroutine %d round %d: task %d of %d ran %d times", g, r, i, n, h)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
}

// TestParallelAfterPanic checks that a task's panic reaches the caller and
// leaves the pool usable.
func TestParallelAfterPanic(t *testing.T) {
	defer SetThreads(0)
	SetThreads(2)
	func() {
		defer func() {
			if recover() == nil {
				t.Fatal("Parallel did not pass on the task's panic")
			}
		}()
		Parallel(64, func(w, i int) {
			if w == 0 {
				panic("kernel test: boom")
			}
			time.Sleep(time.Microsecond)
		})
	}()
	var seen [2]atomic.Bool
	for range 1000 {
		Parallel(64, func(w, _ int) {
			seen[w].Store(true)
			time.Sleep(time.Microsecond)
		})
		if seen[1].Load() {
			break
		}
	}
	if !seen[0].Load() || !seen[1].Load() {
		t.Fatalf("after a panic, workers that ran tasks: %v, %v; want both", seen[0].Load(), seen[1].Load())
	}
}

// TestParallelWakesParkedWorkers checks that workers that have parked (after
// spinning for spinTime) come back for later calls.
func TestParallelWakesParkedWorkers(t *testing.T) {
	if testing.Short() {
		t.Skip("sleeps")
	}
	defer SetThreads(0)
	SetThreads(2)
	for round := range 3 {
		time.Sleep(2 * spinTime)
		var helped atomic.Bool
		for range 1000 {
			Parallel(64, func(w, _ int) {
				if w == 1 {
					helped.Store(true)
				}
				time.Sleep(time.Microsecond)
			})
			if helped.Load() {
				break
			}
		}
		if !helped.Load() {
			t.Fatalf("round %d: the parked worker never took a task", round)
		}
	}
}

func BenchmarkParallel(b *testing.B) {
	var sink [64]int
	fn := func(w, i int) { sink[w]++ }
	b.ReportAllocs()
	for range b.N {
		Parallel(2, fn)
	}
}

// TestSpread checks that Spread runs its function once for every worker,
// each on its own goroutine (worker w is the same one in every call, and a
// worker parked between calls is woken), that a call from inside a task,
// or with one thread, runs the whole pass as fn(0, 1), and that calls from
// several goroutines at once each run completely.
func TestSpread(t *testing.T) {
	defer SetThreads(0)
	// Spread uses at most GOMAXPROCS workers.
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(max(3, runtime.GOMAXPROCS(0))))
	for _, threads := range []int{1, 2, 3} {
		SetThreads(threads)
		for r := range 50 {
			if r%10 == 9 {
				time.Sleep(2 * spinTime) // let the workers park
			}
			hits := make([]atomic.Int32, threads)
			var nested atomic.Int32
			Spread(func(w, workers int) {
				if workers != threads {
					t.Errorf("threads=%d: workers=%d", threads, workers)
					return
				}
				hits[w].Add(1)
				Spread(func(w2, n2 int) {
					if w2 != 0 || n2 != 1 {
						t.Errorf("nested Spread ran (%d, %d); want (0, 1)", w2, n2)
					}
					nested.Add(1)
				})
			})
			for w := range hits {
				if h := hits[w].Load(); h != 1 {
					t.Fatalf("threads=%d round %d: worker %d ran %d times", threads, r, w, h)
				}
			}
			if n := nested.Load(); int(n) != threads {
				t.Fatalf("threads=%d: nested calls ran %d times; want %d", threads, n, threads)
			}
		}
	}
	SetThreads(2)
	var wg sync.WaitGroup
	var total atomic.Int64
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 200 {
				var parts atomic.Int64
				Spread(func(w, workers int) {
					// Each call's parts together cover 0..5 once, whatever
					// the number of workers it got.
					for i := w; i < 6; i += workers {
						parts.Add(1)
					}
				})
				if p := parts.Load(); p != 6 {
					t.Errorf("a call ran %d of 6 parts", p)
					return
				}
				total.Add(1)
			}
		}()
	}
	wg.Wait()
	if total.Load() != 800 {
		t.Fatalf("%d of 800 calls completed", total.Load())
	}
	if a := testing.AllocsPerRun(100, func() { Spread(func(w, workers int) {}) }); a != 0 {
		t.Errorf("Spread allocates %v times a call", a)
	}
	// With fewer Ps than threads, the caller runs the whole pass.
	runtime.GOMAXPROCS(1)
	Spread(func(w, workers int) {
		if w != 0 || workers != 1 {
			t.Errorf("with GOMAXPROCS 1 and 2 threads, Spread ran (%d, %d); want (0, 1)", w, workers)
		}
	})
}

// TestBand checks that Band's parts cover [0, n) in order, once, with
// lengths that differ by at most one.
func TestBand(t *testing.T) {
	for n := range 40 {
		for workers := 1; workers <= 5; workers++ {
			next, least, most := 0, n, 0
			for w := range workers {
				lo, hi := Band(n, w, workers)
				if lo != next || hi < lo {
					t.Fatalf("Band(%d, %d, %d) = %d, %d; want it to start at %d", n, w, workers, lo, hi, next)
				}
				next, least, most = hi, min(least, hi-lo), max(most, hi-lo)
			}
			if next != n || most-least > 1 {
				t.Errorf("Band(%d, ·, %d): parts end at %d, lengths %d to %d; want end %d, lengths within 1", n, workers, next, least, most, n)
			}
		}
	}
}

// BenchmarkSpreadBands measures a pass that writes a 128×256 float32
// matrix, a batch norm's output y = max(x·a + b, 0), on Spread's workers,
// each taking a band of its rows ("rows") or of its columns ("cols"), and
// (at "cols/gap256") columns with 256 floats of padding between the bands
// in every row; "1pass" is AffineReLURows, "2passes" AffineRows and then
// ReLU row by row on each band, as batch norm did before. On two cores
// whose caches are far apart (a round trip of 450–490 ns for a cache
// line, bench/c/pingpong.c), the column bands ran 4× slower than the
// rows in one pass (11.5–11.9 µs against 2.6–2.7 µs) and 9–10× in two
// (36.5–36.9 µs against 3.8–3.9 µs), slower than one core doing the whole
// (2.3 and 3.6 µs), and with the padding 6.2 and 20–23 µs: the cores'
// prefetchers pull each other's lines of the same pages. Passes that write an [N, C] array therefore cut it by rows;
// reductions over columns, which only read, may cut it by columns.
func BenchmarkSpreadBands(b *testing.B) {
	const n, c = 128, 256
	for _, passes := range []int{1, 2} {
		for _, gap := range []int{-1, 0, 256} {
			prefix := "1pass"
			if passes == 2 {
				prefix = "2passes"
			}
			name := prefix + "/rows"
			if gap >= 0 {
				name = fmt.Sprintf("%s/cols/gap%d", prefix, gap)
			}
			b.Run(name, func(b *testing.B) {
				SetThreads(runtime.GOMAXPROCS(0))
				ld := c + max(gap, 0)
				x, y := make([]float32, n*ld), make([]float32, n*ld)
				for i := range x {
					x[i] = float32(i%7) - 3
				}
				a, sh := make([]float32, c), make([]float32, c)
				for i := range a {
					a[i], sh[i] = 1.5, 0.25
				}
				// pass writes rows m of columns cols of y, from offset off.
				pass := func(m, cols, off int, a, sh []float32) {
					if passes == 1 {
						AffineReLURows(m, cols, x[off:], ld, a, sh, y[off:], ld)
						return
					}
					AffineRows(m, cols, x[off:], ld, a, sh, y[off:], ld)
					for o := off; o < off+m*ld; o += ld {
						ReLU(y[o:o+cols], y[o:o+cols])
					}
				}
				fn := func(w, workers int) {
					if gap < 0 {
						lo, hi := Band(n, w, workers)
						pass(hi-lo, c, lo*ld, a, sh)
						return
					}
					lo, hi := Band(c, w, workers)
					pass(n, hi-lo, lo+min(w, 1)*gap, a[lo:hi], sh[lo:hi])
				}
				b.ReportAllocs()
				for b.Loop() {
					Spread(fn)
				}
			})
		}
	}
}

// BenchmarkSpreadHandshake measures what a Spread call costs beyond its
// parts: each part spins (reading the clock, no memory traffic) until work
// has passed since it began, so ns/op minus work is the cost of handing
// the parts out and waiting for them, the later start of a worker's part
// included. A training step makes a Spread call for each pass, a dozen or
// more. Run it with -cpu 2.
func BenchmarkSpreadHandshake(b *testing.B) {
	for _, work := range []time.Duration{time.Microsecond, 20 * time.Microsecond} {
		b.Run(fmt.Sprintf("work%dns", work.Nanoseconds()), func(b *testing.B) {
			defer SetThreads(Threads())
			SetThreads(runtime.GOMAXPROCS(0))
			if SpreadWorkers() < 2 {
				b.Skip("one worker: Spread runs its pass on the caller")
			}
			b.ReportAllocs()
			fn := func(w, _ int) {
				for t0 := time.Now(); time.Since(t0) < work; {
				}
			}
			Spread(fn)
			b.ResetTimer()
			t0 := time.Now()
			for range b.N {
				Spread(fn)
			}
			b.ReportMetric(float64(time.Since(t0).Nanoseconds())/float64(b.N)-float64(work.Nanoseconds()), "overhead-ns")
		})
	}
}
