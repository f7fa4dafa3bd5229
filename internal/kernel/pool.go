package kernel

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// The pool is a fixed set of worker goroutines, started on first use. A call
// to Parallel hands its tasks to the caller and to every worker; tasks are
// taken from a shared counter, so an uneven split balances itself.
var pool struct {
	mu      sync.Mutex
	threads int           // participants per call, including the caller
	work    chan *job     // one send per helper per call
	stop    chan struct{} // closed to retire the current workers
}

type job struct {
	fn   func(worker, i int)
	n    int64
	next atomic.Int64
	wg   sync.WaitGroup
}

var jobs = sync.Pool{New: func() any { return new(job) }}

// Threads returns the number of goroutines that Parallel spreads work over.
// It defaults to GOMAXPROCS.
func Threads() int {
	pool.mu.Lock()
	defer pool.mu.Unlock()
	if pool.threads == 0 {
		startLocked(runtime.GOMAXPROCS(0))
	}
	return pool.threads
}

// SetThreads sets the number of goroutines that Parallel uses, including the
// caller; n < 1 means GOMAXPROCS. It must not be called while a Parallel call
// is running.
func SetThreads(n int) {
	if n < 1 {
		n = runtime.GOMAXPROCS(0)
	}
	pool.mu.Lock()
	defer pool.mu.Unlock()
	if n == pool.threads {
		return
	}
	if pool.stop != nil {
		close(pool.stop)
	}
	startLocked(n)
}

func startLocked(n int) {
	pool.threads = n
	pool.work = make(chan *job, n)
	pool.stop = make(chan struct{})
	for w := 1; w < n; w++ {
		go worker(w, pool.work, pool.stop)
	}
}

func worker(w int, work <-chan *job, stop <-chan struct{}) {
	for {
		select {
		case j := <-work:
			j.run(w)
			j.wg.Done()
		case <-stop:
			return
		}
	}
}

func (j *job) run(w int) {
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
// it, so it can index per-worker scratch space. fn must not call Parallel.
//
// Parallel allocates nothing when fn does not: pass a function value made
// once, not a new closure per call, on paths that must not allocate.
func Parallel(n int, fn func(worker, i int)) {
	if n <= 0 {
		return
	}
	threads := Threads()
	if n == 1 || threads == 1 {
		for i := 0; i < n; i++ {
			fn(0, i)
		}
		return
	}
	j := jobs.Get().(*job)
	j.fn, j.n = fn, int64(n)
	j.next.Store(0)
	helpers := min(threads, n) - 1
	j.wg.Add(helpers)
	pool.mu.Lock()
	work := pool.work
	pool.mu.Unlock()
	for range helpers {
		work <- j
	}
	j.run(0)
	j.wg.Wait()
	j.fn = nil
	jobs.Put(j)
}
