package data

import (
	"iter"
	"math/bits"
	"math/rand/v2"
	"sync"
	"unsafe"

	"github.com/descentml/descent/internal/kernel"
)

// Streams separate the random numbers drawn for different purposes from one
// seed, so that the validation split, the test split and the epochs' orders
// are independent of one another.
const (
	streamEpoch uint64 = 0x9e3779b97f4a7c15 + iota
	streamSplit
	streamVal
	streamTest
)

// newRand returns a PCG generator for (seed, stream, k): k is the epoch, or
// 0 where there is none. The inputs are mixed
// with SplitMix64 so that neighbouring seeds or epochs give unrelated
// sequences.
func newRand(seed, stream, k uint64) rand.PCG {
	var r rand.PCG // a value, not rand.NewPCG's pointer, so it stays on the stack
	r.Seed(mix(seed^mix(stream)), mix(mix(stream)^k))
	return r
}

// mix is SplitMix64's finaliser (Steele, Lea & Flood 2014).
func mix(z uint64) uint64 {
	z += 0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// permute fills order with a uniformly random permutation of 0..len(order)-1
// drawn from r: a Fisher–Yates shuffle with Lemire's unbiased bounded
// integers. It is written out here, rather than using rand.Shuffle, so that
// the order stays the same across Go releases and a run resumes exactly.
func permute(order []int, r *rand.PCG) {
	for i := range order {
		order[i] = i
	}
	for i := len(order) - 1; i > 0; i-- {
		j := bounded(r, uint64(i)+1)
		order[i], order[j] = order[j], order[i]
	}
}

// bounded returns a uniform integer in [0, n) (Lemire 2019).
func bounded(r *rand.PCG, n uint64) uint64 {
	hi, lo := bits.Mul64(r.Uint64(), n)
	if lo < n {
		for thresh := -n % n; lo < thresh; {
			hi, lo = bits.Mul64(r.Uint64(), n)
		}
	}
	return hi
}

// Permute fills order with the order in which epoch visits len(order)
// examples: a random permutation of 0..len(order)-1 that is a pure function
// of (len(order), seed, epoch), whatever order held before. A run that
// stopped at (epoch, batch) resumes exactly by calling Permute again with the
// same arguments; no generator state needs saving. It allocates nothing.
func Permute(order []int, seed uint64, epoch int) {
	r := newRand(seed, streamEpoch, uint64(epoch))
	permute(order, &r)
}

// Perm returns a new slice holding the order of n examples in epoch, as
// [Permute].
func Perm(n int, seed uint64, epoch int) []int {
	order := make([]int, n)
	Permute(order, seed, epoch)
	return order
}

// Batches cuts an order of examples into batches of Size: batch k is
// Order[k·Size : (k+1)·Size], and the last batch is shorter if Size does not
// divide len(Order), unless DropLast is set. Fill Order with [Permute] for a
// shuffled epoch, or with 0..n-1 to visit a set in order (evaluation).
//
//	b := data.Batches{Order: make([]int, train.Len()), Size: 64}
//	for epoch := range epochs {
//		data.Permute(b.Order, seed, epoch)
//		for _, idx := range b.All() {
//			data.Gather(train, idx, x[:len(idx)*train.Dim()], y[:len(idx)])
//			...
//		}
//	}
type Batches struct {
	// Order is the order in which examples are visited.
	Order []int
	// Size is the number of examples in a batch; it must be positive.
	Size int
	// DropLast drops the last batch when it has fewer than Size examples
	// (PyTorch's drop_last). By default it is kept.
	DropLast bool
}

// Len returns the number of batches. It panics if Size is not positive.
func (b Batches) Len() int {
	if b.Size <= 0 {
		panic("data: Batches.Size not positive")
	}
	if b.DropLast {
		return len(b.Order) / b.Size
	}
	return (len(b.Order) + b.Size - 1) / b.Size
}

// Batch returns the indices of batch k, 0 ≤ k < Len(): a slice of Order.
func (b Batches) Batch(k int) []int {
	if k < 0 || k >= b.Len() {
		panic("data: batch index out of range")
	}
	lo := k * b.Size
	return b.Order[lo:min(lo+b.Size, len(b.Order)):min(lo+b.Size, len(b.Order))]
}

// All returns an iterator over the batches: their numbers k and indices
// Batch(k). To resume inside an epoch, loop over Batch(k) from the saved k.
func (b Batches) All() iter.Seq2[int, []int] {
	return func(yield func(int, []int) bool) {
		for k := range b.Len() {
			if !yield(k, b.Batch(k)) {
				return
			}
		}
	}
}

// Gather copies the examples at idx (a batch) from d into x, row-major, and
// their labels into labels, converting the features to T. It panics if
// len(labels) is not len(idx) or len(x) is not len(idx) times the product of
// d's shape.
//
// Gather allocates nothing after its first call when d is a [*Set] (a
// spread call's state is kept for reuse), or when T is float32; for
// another Dataset and float64 it allocates one example's worth of scratch
// per call.
func Gather[T float32 | float64](d Dataset, idx []int, x []T, labels []int) {
	dim := 1
	for _, n := range d.Shape() {
		dim *= n
	}
	if len(labels) != len(idx) {
		panic("data: Gather labels length is not len(idx)")
	}
	if len(x) != len(idx)*dim {
		panic("data: Gather buffer length is not len(idx) × example size")
	}
	x32, is32 := any(x).([]float32)
	if s, ok := d.(*Set); ok {
		if len(x) >= spreadAt && kernel.Threads() > 1 {
			spreadGather(s, idx, x, labels)
			return
		}
		gatherSet(s, idx, x, labels)
		return
	}
	if is32 {
		for k, i := range idx {
			labels[k] = d.Example(i, x32[k*dim:(k+1)*dim])
		}
		return
	}
	tmp := make([]float32, dim)
	for k, i := range idx {
		labels[k] = d.Example(i, tmp)
		convert(x[k*dim:(k+1)*dim], tmp)
	}
}

// gatherSet is Gather from a Set. Before it copies a row it asks for the
// next (kernel.Prefetch): the rows of a batch drawn at random from a set
// larger than the cache come from memory, and copied one after another
// each would wait for its first lines to arrive; so all the lines of the
// next row are in flight while this one is copied.
func gatherSet[T float32 | float64](s *Set, idx []int, x []T, labels []int) {
	x32, is32 := any(x).([]float32)
	for k, i := range idx {
		if k+1 < len(idx) {
			kernel.Prefetch(s.Row(idx[k+1]))
		}
		if is32 {
			copy(x32[k*s.dim:(k+1)*s.dim], s.Row(i))
		} else {
			convert(x[k*s.dim:(k+1)*s.dim], s.Row(i))
		}
		labels[k] = s.Y[i]
	}
}

// spreadAt is the least number of elements of a batch that Gather spreads
// over the cores.
const spreadAt = 1 << 15

// A gatherCall is a Gather from a Set in progress, spread over the cores
// by rows of the batch (kernel.Band): each core copies the rows that a
// first layer cut the same way (a narrow Linear layer, an elementwise
// pass) reads on that core; a wide Linear layer cuts by output units and
// reads every row on every core. Calls are kept for reuse in gatherFree, so that a
// Gather allocates nothing after the first.
type gatherCall[T float32 | float64] struct {
	s      *Set
	idx    []int
	x      []T
	labels []int
	fn     func(w, workers int) // the method value of band, made once
}

// gatherFree holds the idle calls of each element type.
var gatherFree [2]struct {
	sync.Mutex
	calls []any
}

func spreadGather[T float32 | float64](s *Set, idx []int, x []T, labels []int) {
	f := &gatherFree[unsafe.Sizeof(T(0))/8]
	f.Lock()
	var gc *gatherCall[T]
	if n := len(f.calls); n > 0 {
		gc = f.calls[n-1].(*gatherCall[T])
		f.calls = f.calls[:n-1]
	} else {
		gc = new(gatherCall[T])
		gc.fn = gc.band
	}
	f.Unlock()
	gc.s, gc.idx, gc.x, gc.labels = s, idx, x, labels
	if kernel.ProbeOn {
		kernel.ProbeLabel("gather", 0)
	}
	kernel.Spread(gc.fn)
	gc.s, gc.idx, gc.x, gc.labels = nil, nil, nil, nil
	f.Lock()
	f.calls = append(f.calls, gc)
	f.Unlock()
}

// band gathers part w of workers of the batch's rows.
func (gc *gatherCall[T]) band(w, workers int) {
	lo, hi := kernel.Band(len(gc.idx), w, workers)
	dim := gc.s.dim
	gatherSet(gc.s, gc.idx[lo:hi], gc.x[lo*dim:hi*dim], gc.labels[lo:hi])
}

// convert sets dst[j] = T(src[j]) for every j.
func convert[T float32 | float64](dst []T, src []float32) {
	for j, v := range src {
		dst[j] = T(v)
	}
}
