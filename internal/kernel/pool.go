package kernel

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// The pool is a fixed set of worker goroutines, started on first use. One
// Parallel or Spread call at a time owns it: the call hands its job to the
// caller and to the workers it needs. Parallel's tasks are taken from a
// shared counter, so an uneven split balances itself; Spread's parts are
// static, one per worker, taken by another participant only when their
// worker has not started.
//
// Workers spin for a short while after their last job before they park, and
// the caller spins while the workers finish their last tasks: waking a parked
// thread costs 6–10 µs on the machines descent targets, the whole run time of
// a small matrix multiply, and a training step calls Parallel hundreds of
// times with only short serial stretches in between. The spinning does not
// yield to the Go scheduler, which would let it put caller and worker on one
// P, where they would take turns.
var pool struct {
	mu      sync.Mutex
	threads atomic.Int32 // participants per call, including the caller; 0 before first use
	slots   []*slot      // slots[w] feeds worker w (slots[0], the caller's, is unused)
	busy    atomic.Bool  // a Parallel call owns the workers
	job     job          // the job of the call that owns the workers
}

// spinTime is how long an idle worker polls for the next job before it parks.
const spinTime = 200 * time.Microsecond

// A slot hands jobs to one worker.
type slot struct {
	job      atomic.Pointer[job]
	quit     atomic.Bool
	sleeping atomic.Bool   // the worker is parked on wake, or about to be
	wake     chan struct{} // capacity 1: at most one wake-up is outstanding
	_        [64]byte      // keeps neighbouring slots off each other's cache line
}

type job struct {
	fn      func(worker, i int)
	n       int64
	static  bool                 // Spread's job: part w is spread(w, n), worker w's unless another takes it first
	spread  func(w, workers int) // Spread's function
	claimed []atomic.Bool        // Spread's parts taken, one per thread (made by startLocked)
	next    atomic.Int64
	pending atomic.Int32  // helpers that have not finished (or been withdrawn from)
	waiting atomic.Bool   // the caller is parked on done, or about to be
	done    chan struct{} // capacity 1: wakes the parked caller
}

// waitSpin is how long the caller spins for helpers still running their
// last task before it parks: a task takes microseconds, unless the helper's
// thread has lost its core to another process.
const waitSpin = 50 * time.Microsecond

// Threads returns the number of goroutines that Parallel spreads work over.
// It defaults to GOMAXPROCS.
func Threads() int {
	if t := pool.threads.Load(); t > 0 {
		return int(t)
	}
	pool.mu.Lock()
	defer pool.mu.Unlock()
	if pool.threads.Load() == 0 {
		startLocked(runtime.GOMAXPROCS(0))
	}
	return int(pool.threads.Load())
}

// SetThreads sets the number of goroutines that Parallel uses, including the
// caller; n < 1 means GOMAXPROCS. It must not be called while a Parallel or
// Spread call is running.
func SetThreads(n int) {
	if n < 1 {
		n = runtime.GOMAXPROCS(0)
	}
	pool.mu.Lock()
	defer pool.mu.Unlock()
	if int(pool.threads.Load()) == n {
		return
	}
	for _, s := range pool.slots[min(1, len(pool.slots)):] {
		s.quit.Store(true)
		s.notify()
	}
	startLocked(n)
}

func startLocked(n int) {
	if pool.job.done == nil {
		pool.job.done = make(chan struct{}, 1)
	}
	pool.slots = make([]*slot, n)
	pool.job.claimed = make([]atomic.Bool, n)
	for w := 1; w < n; w++ {
		s := &slot{wake: make(chan struct{}, 1)}
		pool.slots[w] = s
		go s.serve(w)
	}
	pool.threads.Store(int32(n))
}

// notify wakes the worker if it is parked. Its caller has just published a job
// or the quit flag; the worker sets sleeping before its last look at both, so
// one of the two sides always sees the other's store.
func (s *slot) notify() {
	if s.sleeping.Swap(false) {
		s.wake <- struct{}{}
	}
}

func (s *slot) serve(w int) {
	for {
		j := s.await()
		if j == nil {
			return
		}
		j.run(w)
		j.finish()
	}
}

// await returns the next job, or nil when the worker is to quit.
func (s *slot) await() *job {
	for {
		deadline := time.Now().Add(spinTime)
		for i := 1; ; i++ {
			if s.job.Load() != nil {
				if j := s.job.Swap(nil); j != nil {
					return j
				}
			}
			if s.quit.Load() {
				return nil
			}
			if i%1024 == 0 {
				if time.Now().After(deadline) {
					break
				}
				if i%(64*1024) == 0 {
					runtime.Gosched() // let anything else queued on this P run
				}
			}
		}
		s.sleeping.Store(true)
		if s.job.Load() != nil || s.quit.Load() {
			if !s.sleeping.Swap(false) {
				<-s.wake // notify saw sleeping set and sends a wake-up: take it
			}
			continue
		}
		<-s.wake
	}
}

// finish records that a helper is done with j, and wakes the caller if it
// parked waiting for the last one.
func (j *job) finish() {
	if j.pending.Add(-1) == 0 && j.waiting.Swap(false) {
		j.done <- struct{}{}
	}
}

func (j *job) run(w int) {
	if j.static {
		// Its own part first, then any part whose worker has not come
		// (its thread descheduled, or parked and slow to wake): on a
		// loaded machine a pass must not wait for a thread that does
		// not run.
		n := int(j.n)
		for i := range n {
			p := (w + i) % n
			if !j.claimed[p].Load() && !j.claimed[p].Swap(true) {
				probePartStart(p)
				j.spread(p, n)
				probePart(p)
			}
		}
		return
	}
	for {
		i := j.next.Add(1) - 1
		if i >= j.n {
			return
		}
		j.fn(w, int(i))
	}
}

// Parallel calls fn(worker, i) for every i in [0, n), spread over Threads()
// goroutines, and returns when all calls have returned. worker is in
// [0, Threads()) and no two concurrent calls within one Parallel call share
// it, so it can index per-worker scratch space.
//
// One Parallel call at a time runs on the pool. A call made while another is
// running — from inside fn, or from another goroutine — runs its tasks in
// order on the calling goroutine, all as worker 0; so nesting is safe (it
// cannot deadlock) but does not add parallelism, and per-worker scratch space
// of an enclosing call must not be reused by the nested one.
//
// Parallel allocates nothing when fn does not: pass a function value made
// once, not a new closure per call, on paths that must not allocate. A call
// costs about 0.2 µs when the workers are busy-waiting, as they do for
// 200 µs after each call (keeping their cores busy), and 1–15 µs after they
// have parked.
func Parallel(n int, fn func(worker, i int)) {
	if n <= 0 {
		return
	}
	threads := Threads()
	if n == 1 || threads == 1 || !pool.busy.CompareAndSwap(false, true) {
		for i := 0; i < n; i++ {
			fn(0, i)
		}
		return
	}
	pool.mu.Lock() // against a concurrent SetThreads; uncontended otherwise
	slots := pool.slots
	pool.mu.Unlock()
	helpers := min(len(slots), n) - 1
	j := &pool.job
	j.fn, j.n, j.static = fn, int64(n), false
	j.next.Store(0)
	j.pending.Store(int32(helpers))
	for _, s := range slots[1 : helpers+1] {
		s.job.Store(j)
		s.notify()
	}
	defer release(j, slots[1:helpers+1]) // also when fn panics: the helpers still hold j
	j.run(0)
}

// Spread runs fn(w, workers) once for each part w < workers =
// min(Threads(), GOMAXPROCS), at the same time: part 0 on the calling
// goroutine and part w on the pool's worker w, normally the same
// goroutine in every call. A pass that cuts its data into static parts by
// w (rows of a batch, ranges of a tensor) and follows another that cut it
// the same way finds its part in the cache of the core that last wrote
// it, instead of pulling half of it across from the other core's: on two
// cores that transfer costs about three times a read from the core's own
// cache.
//
// A pass that writes a row-major matrix should cut it by rows, not by
// columns: two cores writing column bands of the same rows pull each
// other's lines (their prefetchers run across the bands), and an
// elementwise pass so cut has run 4–10× slower than by rows, slower than
// on one core (BenchmarkSpreadBands). Passes that only read may cut by
// columns. A matrix product is the exception: it writes each element
// once after many multiply-adds, and by column bands (a Linear layer's
// units) it ran faster than by rows (128×784×256 on two cores: 367
// against 324 GFLOP/s, each core reading half the weight instead of all
// of it). The pass of bias and ReLU after such a product of 128×256×256
// cost 6–8 µs by column bands and 4–5 µs by rows on two cores (12 rounds,
// medians and minima), against about 2 µs on one core.
//
// The caller runs part 0 first, then any part not yet started in
// ascending order; worker w runs part w first, then any not yet started
// among w+1, …, then 0, …, w−1. So a part may wait for a part numbered
// below it to reach some point (as autograd's Linear layer does, to add
// its rows to a batch norm's sums in row order): the lowest unfinished
// part is then running, every part below it done, and does not wait. A
// part must not wait for one numbered above it.
//
// A participant done with its own part runs the parts of workers that have
// not started theirs yet (their thread descheduled by a busy system, or
// parked and slow to wake), so that a pass never waits for a thread that
// does not run. Each part runs once, on one goroutine, so w can still
// index per-part scratch space. Since any part may so run on a worker, a
// panic in fn is not recovered by the caller of Spread: it ends the
// program, as a panic in a worker's Parallel task does.
//
// When the pool cannot be used (threads 1, or a call from inside a
// Parallel or Spread task) fn(0, 1) runs alone on the caller: fn must then
// do the whole pass. Results must not depend on workers. Like Parallel,
// Spread allocates nothing.
func Spread(fn func(w, workers int)) {
	threads := SpreadWorkers()
	if threads == 1 || !pool.busy.CompareAndSwap(false, true) {
		fn(0, 1)
		return
	}
	pool.mu.Lock()
	slots := pool.slots[:min(threads, len(pool.slots))]
	pool.mu.Unlock()
	probeStart()
	j := &pool.job
	j.spread, j.n, j.static = fn, int64(len(slots)), true
	for i := range slots {
		j.claimed[i].Store(false)
	}
	j.pending.Store(int32(len(slots) - 1))
	for _, s := range slots[1:] {
		s.job.Store(j)
		s.notify()
	}
	defer release(j, slots[1:]) // also when part 0 panics on the caller: the helpers still hold j
	j.run(0)
}

// SpreadWorkers returns the number of parts Spread cuts a pass into when
// the pool is free: Threads(), but no more than GOMAXPROCS, since every
// worker must run its part while the caller waits, and with fewer Ps
// than threads one would wait for a goroutine that needs its P. (A call
// that finds the pool busy runs as one part.)
func SpreadWorkers() int {
	return min(Threads(), runtime.GOMAXPROCS(0))
}

// Band returns part w of workers of the range [0, n): [lo, hi), the
// parts in order of w, their lengths differing by at most one. Passes run
// by Spread cut their rows (of a batch, of a weight matrix) with it, so
// that consecutive passes over the same data cut it the same way and each
// core finds its part where it left it.
func Band(n, w, workers int) (lo, hi int) {
	return n * w / workers, n * (w + 1) / workers
}

// poolAwake reports whether the pool's workers are polling for work rather
// than parked, so that a Parallel call costs a fraction of a microsecond:
// they poll for spinTime after each job.
func poolAwake() bool {
	if pool.threads.Load() <= 1 {
		return false
	}
	pool.mu.Lock()
	slots := pool.slots
	pool.mu.Unlock()
	for _, s := range slots[1:] {
		if s.sleeping.Load() {
			return false
		}
	}
	return true
}

// release waits until no helper holds j and frees the pool for the next call.
func release(j *job, helpers []*slot) {
	// Withdraw the job from helpers that have not taken it yet (parked, or
	// slow to wake): every task has been claimed, so they have nothing to add.
	for _, s := range helpers {
		if s.job.CompareAndSwap(j, nil) {
			j.pending.Add(-1)
		}
	}
	// The others are running their last task. Spin a while, then park
	// (with the same handshake as a worker's) so that a helper whose thread
	// was descheduled does not have to share its core with a spinning
	// caller.
	deadline := time.Now().Add(waitSpin)
	for i := 1; j.pending.Load() != 0; i++ {
		if i%256 == 0 && time.Now().After(deadline) {
			j.waiting.Store(true)
			if j.pending.Load() != 0 {
				<-j.done
			} else if !j.waiting.CompareAndSwap(true, false) {
				<-j.done // finish saw waiting set and sends a wake-up: take it
			}
			break
		}
	}
	if j.static {
		probeEnd()
	}
	j.fn, j.spread = nil, nil
	pool.busy.Store(false)
}
