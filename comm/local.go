package comm

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/descentml/descent/internal/kernel"
)

// Local returns the n ranks of a run inside this process, one for each of
// n goroutines: the same collective operations as over MPI, on shared
// memory, with the same results to the bit (AllReduceSum adds the ranks'
// chunks in rank order, as the package doc says). Each goroutine must use
// its own Comm, and every rank must make the same collective calls in the
// same order; a rank that stops making them leaves the others waiting, as
// over MPI. Close does nothing and Abort exits the process.
//
// A data-parallel run on n goroutines (package train, Config.Comm) is one
// way to use several cores: each rank runs its replica on one core, with
// kernel.SetThreads(1), and only the gradients and the batch-norm sums
// cross between the cores, where a run on one rank with n threads splits
// every product and every pass of the step over them.
func Local(n int) []*Comm {
	if n < 1 {
		panic("comm: Local needs at least one rank")
	}
	g := &group{size: n, bufs: make([]unsafe.Pointer, n)}
	g.cond = sync.NewCond(&g.mu)
	cs := make([]*Comm, n)
	for r := range cs {
		cs[r] = &Comm{rank: r, size: n, local: g}
	}
	return cs
}

// A group is the shared state of the ranks of Local: the buffers posted
// for the collective call in progress, and a barrier.
type group struct {
	size int
	bufs []unsafe.Pointer // rank r's buffer in the call in progress

	mu      sync.Mutex
	cond    *sync.Cond
	arrived int
	gen     atomic.Uint64 // barriers passed
}

// barrierSpin is how long a rank polls for the others at a barrier before
// it sleeps: longer than the ranks of a training step differ in arriving
// from the same pass, shorter than a step.
const barrierSpin = 200 * time.Microsecond

// wait returns when every rank has called it.
func (g *group) wait() {
	g.mu.Lock()
	gen := g.gen.Load()
	g.arrived++
	if g.arrived == g.size {
		g.arrived = 0
		g.gen.Add(1)
		g.mu.Unlock()
		g.cond.Broadcast()
		return
	}
	g.mu.Unlock()
	var start time.Time
	for i := 0; ; i++ {
		if g.gen.Load() != gen {
			return
		}
		if i&255 == 255 {
			if start.IsZero() {
				start = time.Now()
			} else if time.Since(start) > barrierSpin {
				break
			}
			if runtime.GOMAXPROCS(0) < g.size {
				runtime.Gosched() // fewer threads than ranks: let the others run
			}
		}
	}
	g.mu.Lock()
	for g.gen.Load() == gen {
		g.cond.Wait()
	}
	g.mu.Unlock()
}

// post publishes rank's buffer and waits for every rank's.
func (g *group) post(rank int, p unsafe.Pointer) {
	g.bufs[rank] = p
	g.wait()
}

// done waits until no rank reads the posted buffers any more.
func (g *group) done(rank int) {
	g.wait()
	g.bufs[rank] = nil
}

// localAllReduceSum is AllReduceSum on the ranks of Local: every rank sums
// its own chunk of every rank's buffer, in rank order, into its buffer,
// then copies every other chunk from the rank that summed it. Ranks write
// only their own chunk of their own buffer, which no other rank reads
// between the barriers.
func localAllReduceSum[T Float](c *Comm, buf []T) {
	g, n := c.local, len(buf)
	g.post(c.rank, unsafe.Pointer(unsafe.SliceData(buf)))
	peer := func(r int) []T {
		if r == c.rank {
			return buf
		}
		return unsafe.Slice((*T)(g.bufs[r]), n)
	}
	lo, hi := chunk(n, c.rank, c.size)
	if c.rank == 0 { // its own chunk comes first: add the others to it
		for r := 1; r < c.size && hi > lo; r++ {
			kernel.AddRows(1, hi-lo, peer(r)[lo:hi], hi-lo, buf[lo:hi], hi-lo)
		}
		finishAllReduce(c, buf, peer)
		return
	}
	const block = 1 << 10
	var zero T
	if need := block * int(unsafe.Sizeof(zero)); cap(c.scratch) < need {
		c.scratch = make([]byte, need)
	}
	acc := unsafe.Slice((*T)(unsafe.Pointer(unsafe.SliceData(c.scratch))), block)
	for b := lo; b < hi; b += block {
		e := min(b+block, hi)
		a := acc[:e-b]
		copy(a, peer(0)[b:e])
		for r := 1; r < c.size; r++ {
			kernel.AddRows(1, e-b, peer(r)[b:e], e-b, a, e-b)
		}
		copy(buf[b:e], a)
	}
	finishAllReduce(c, buf, peer)
}

// finishAllReduce copies every other rank's summed chunk into buf, once
// all are summed.
func finishAllReduce[T Float](c *Comm, buf []T, peer func(int) []T) {
	n, g := len(buf), c.local
	g.wait()
	for r := range c.size {
		if r != c.rank {
			lo, hi := chunk(n, r, c.size)
			copy(buf[lo:hi], peer(r)[lo:hi])
		}
	}
	g.done(c.rank)
}

// localBroadcast is Broadcast on the ranks of Local, of b's bytes.
func localBroadcast(c *Comm, b []byte, root int) {
	g := c.local
	g.post(c.rank, unsafe.Pointer(unsafe.SliceData(b)))
	if c.rank != root {
		copy(b, unsafe.Slice((*byte)(g.bufs[root]), len(b)))
	}
	g.done(c.rank)
}
