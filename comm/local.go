package comm

import (
	"reflect"
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
// over MPI. Ranks that make different calls at once (an all-reduce
// against a broadcast, buffers of different lengths or element types,
// different roots) panic, where MPI's behaviour is undefined. Close does
// nothing and Abort exits the process. One call is theirs alone,
// ShareLocal: a value, such as a pointer to data they all read, passed
// from one rank to the others without a copy.
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
	g := &group{size: n, posts: make([]post, n)}
	g.cond = sync.NewCond(&g.mu)
	cs := make([]*Comm, n)
	for r := range cs {
		cs[r] = &Comm{rank: r, size: n, local: g}
	}
	return cs
}

// ShareLocal returns root's v on every rank of c, one of the ranks of
// Local: the value itself, not a copy of what it refers to, so that a
// pointer, slice or map that root passes is the same memory on every
// rank, which the ranks must then only read (or guard themselves). It is
// how the ranks of one process hold one copy of what they all read, such
// as a run's data. The other ranks' v is ignored. Every rank must call it
// with the same root and the same type V, as any collective call: ranks
// that differ panic. On a single process it returns v; it panics on the
// processes of an MPI run, which share no memory.
func ShareLocal[V any](c *Comm, v V, root int) V {
	if !c.Distributed() {
		return v
	}
	if c.local == nil {
		panic("comm: ShareLocal between processes: only the ranks of Local share memory")
	}
	if root < 0 || root >= c.size {
		panic("comm: ShareLocal root out of range")
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	g := c.local
	g.post(c.rank, unsafe.Pointer(&v), call{op: share, root: root, typ: reflect.TypeFor[V]()})
	if c.rank != root {
		v = *(*V)(g.posts[root].buf)
	}
	g.done(c.rank)
	return v
}

// A group is the shared state of the ranks of Local: the buffers posted
// for the collective call in progress, and a barrier.
type group struct {
	size  int
	posts []post // rank r's buffer and call in progress

	mu      sync.Mutex
	cond    *sync.Cond
	arrived int
	gen     atomic.Uint64 // barriers passed
}

// barrierSpin is how long a rank polls for the others at a barrier before
// it sleeps: longer than the ranks of a training step differ in arriving
// from the same pass, shorter than a step. Measured on 2 ranks
// (BenchmarkTrainStepLocal, far cores): 50 µs made the steps 5–17% slower
// (ranks slept, then waited to wake), 1 ms gave the same as 200 µs; a rank
// whose core another process takes makes the others spin this long
// before they give theirs up.
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
	yield := runtime.GOMAXPROCS(0) < g.size // fewer threads than ranks: let the others run
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
			if yield {
				runtime.Gosched()
			}
		}
	}
	g.mu.Lock()
	for g.gen.Load() == gen {
		g.cond.Wait()
	}
	g.mu.Unlock()
}

// A post is what a rank brings to a collective call: its buffer, and the
// call, which must be the same on every rank.
type post struct {
	buf  unsafe.Pointer
	call call
}

// A call is a collective call as the ranks must agree on it.
type call struct {
	op    op
	bytes int          // the buffer's length in bytes
	root  int          // Broadcast's and ShareLocal's root
	typ   reflect.Type // ShareLocal's type of value
}

// An op is a kind of collective call; the zero op is none.
type op uint8

const (
	noOp op = iota
	allReduce32
	allReduce64
	broadcast
	barrier
	share
)

// post publishes rank's buffer p for the call cl and waits for every
// rank's. It panics on every rank if the ranks posted different calls
// (say, buffers of different lengths): a rank would read past another's
// buffer. MPI leaves such a program undefined.
func (g *group) post(rank int, p unsafe.Pointer, cl call) {
	g.posts[rank] = post{p, cl}
	g.wait()
	for r := range g.size {
		if g.posts[r].call != cl {
			panic("comm: the ranks of Local made different collective calls, or passed buffers of different lengths or types, or different roots")
		}
	}
}

// barrier is Barrier on the ranks of Local: a call with no buffer, which
// the others' calls must match as any other.
func (g *group) barrier(rank int) {
	g.post(rank, nil, call{op: barrier})
	g.done(rank)
}

// done waits until no rank reads the posted buffers any more.
func (g *group) done(rank int) {
	g.wait()
	g.posts[rank] = post{}
}

// localAllReduceSum is AllReduceSum on the ranks of Local: every rank sums
// its own chunk of every rank's buffer, in rank order, into its buffer,
// then copies every other chunk from the rank that summed it. Ranks write
// only their own chunk of their own buffer, which no other rank reads
// between the barriers.
func localAllReduceSum[T Float](c *Comm, buf []T) {
	g, n := c.local, len(buf)
	var zero T
	cl := call{op: allReduce32, bytes: n * int(unsafe.Sizeof(zero))}
	if unsafe.Sizeof(zero) == 8 {
		cl.op = allReduce64
	}
	g.post(c.rank, unsafe.Pointer(unsafe.SliceData(buf)), cl)
	peer := func(r int) []T {
		if r == c.rank {
			return buf
		}
		return unsafe.Slice((*T)(g.posts[r].buf), n)
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
	g.post(c.rank, unsafe.Pointer(unsafe.SliceData(b)), call{op: broadcast, bytes: len(b), root: root})
	if c.rank != root {
		copy(b, unsafe.Slice((*byte)(g.posts[root].buf), len(b)))
	}
	g.done(c.rank)
}
