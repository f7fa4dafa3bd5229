package comm

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
	"sync"
	"unsafe"

	"github.com/descentml/descent/internal/kernel"
)

// Float is the element type of the buffers a Comm reduces.
type Float interface{ ~float32 | ~float64 }

// Comm is the set of processes of a run, MPI's MPI_COMM_WORLD: Size
// processes numbered 0 … Size−1. Its methods may be called from any
// goroutine, one at a time (they are serialized); every rank must make the
// same collective calls in the same order.
type Comm struct {
	rank, size int
	mpi        bool   // MPI was initialized (a build with the tag, under mpirun)
	local      *group // the ranks are goroutines of this process (Local)

	mu      sync.Mutex
	scratch []byte // the chunks a reduction receives
	counts  []int  // per-rank element counts and offsets of a reduction
	displs  []int
	rcounts []int
	rdispls []int
	closed  bool
}

var (
	world     *Comm
	worldErr  error
	worldOnce sync.Once
)

// Init returns the processes of this run. Under mpirun, in a build with the
// tag mpi, it initializes MPI (once per process; later calls return the
// same Comm). Otherwise it returns a single process, rank 0 of 1. A build
// without MPI started as one of several ranks is an error.
func Init() (*Comm, error) {
	worldOnce.Do(func() { world, worldErr = initWorld() })
	return world, worldErr
}

// Single returns a communicator of one process, rank 0 of 1, whatever the
// build and the environment: every operation on it is a no-op.
func Single() *Comm { return &Comm{size: 1} }

func initWorld() (*Comm, error) {
	n, rank := launchedRanks()
	if n == 0 || n == 1 {
		return Single(), nil
	}
	if !Available {
		if n < 0 {
			return nil, fmt.Errorf("comm: started as rank %d of an MPI job, but this descent was built without MPI; build it with `go build -tags mpi` (needs libopenmpi-dev)", rank)
		}
		return nil, fmt.Errorf("comm: started as one of %d MPI ranks, but this descent was built without MPI; build it with `go build -tags mpi` (needs libopenmpi-dev)", n)
	}
	rank, size, err := mpiInit()
	if err != nil {
		return nil, err
	}
	return &Comm{rank: rank, size: size, mpi: true}, nil
}

// launchedRanks returns the number of ranks the environment says this
// process is one of, and its rank: Open MPI's OMPI_COMM_WORLD_SIZE and
// OMPI_COMM_WORLD_RANK under mpirun, or PMI_SIZE, SLURM_STEP_NUM_TASKS or
// SLURM_NTASKS with PMIX_RANK under a PMIx launcher (srun); n is 0 when
// the process was not started as an MPI rank, and −1 with the rank when
// PMIx gives a rank but nothing gives the size (MPI then knows it).
// rank is −1 when unknown.
func launchedRanks() (n, rank int) {
	num := func(names ...string) (int, bool) {
		for _, name := range names {
			if s, ok := os.LookupEnv(name); ok {
				if v, err := strconv.Atoi(strings.TrimSpace(s)); err == nil {
					return v, true
				}
			}
		}
		return 0, false
	}
	rank, ok := num("OMPI_COMM_WORLD_RANK", "PMIX_RANK", "PMI_RANK")
	if !ok {
		rank = -1
	}
	if n, ok := num("OMPI_COMM_WORLD_SIZE"); ok {
		return n, rank
	}
	if _, ok := os.LookupEnv("PMIX_RANK"); !ok {
		return 0, rank
	}
	if n, ok := num("PMI_SIZE", "SLURM_STEP_NUM_TASKS", "SLURM_NTASKS"); ok {
		return n, rank
	}
	return -1, rank
}

// Rank returns this process's number, from 0 (0 for a nil Comm).
func (c *Comm) Rank() int {
	if c == nil {
		return 0
	}
	return c.rank
}

// Size returns the number of processes (1 for a nil Comm).
func (c *Comm) Size() int {
	if c == nil {
		return 1
	}
	return c.size
}

// Distributed reports whether there is more than one process; a nil Comm
// is one.
func (c *Comm) Distributed() bool { return c != nil && c.size > 1 }

// InProcess reports whether the ranks are goroutines of this process
// (Local) rather than processes under mpirun.
func (c *Comm) InProcess() bool { return c != nil && c.local != nil }

// String returns "rank r of n".
func (c *Comm) String() string { return fmt.Sprintf("rank %d of %d", c.Rank(), c.Size()) }

// Close ends MPI (MPI_Finalize). Every rank must call it, after its last
// collective call; nothing can be sent afterwards, and MPI cannot start
// again in the same process. It does nothing on a single process.
func (c *Comm) Close() error {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.mpi || c.closed {
		return nil
	}
	c.closed = true
	return mpiFinalize()
}

// Abort stops every rank of the job with the exit code (MPI_Abort), for an
// error that other ranks may not have seen: they could be waiting in a
// collective call forever. On a single process it exits the process.
func (c *Comm) Abort(code int) {
	if c != nil && c.mpi {
		mpiAbort(code)
	}
	os.Exit(code)
}

// Barrier returns when every rank has called it.
func (c *Comm) Barrier() error {
	if !c.Distributed() {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.usable(); err != nil {
		return err
	}
	if c.local != nil {
		c.local.barrier(c.rank)
		return nil
	}
	return mpiBarrier()
}

// usable reports a closed communicator. The caller holds c.mu.
func (c *Comm) usable() error {
	if c.closed {
		return errors.New("comm: communicator used after Close")
	}
	return nil
}

// chunk returns the bounds of rank r's chunk of n elements split N ways:
// ⌊n·r/N⌋ … ⌊n·(r+1)/N⌋, sizes that differ by at most one.
func chunk(n, r, size int) (lo, hi int) {
	return int(int64(n) * int64(r) / int64(size)), int(int64(n) * int64(r+1) / int64(size))
}

// AllReduceSum replaces buf on every rank by the element-wise sum of every
// rank's buf, added in rank order, ((x₀ + x₁) + x₂) + …, in the element
// type: every rank receives the same bytes, and two runs with the same
// number of ranks the same bytes too (see the package doc for the
// algorithm). Every rank must pass a buffer of the same length; a
// mismatch is an error on some ranks and may leave the others waiting.
func AllReduceSum[T Float](c *Comm, buf []T) error {
	if !c.Distributed() || len(buf) == 0 && c.local == nil { // Local's ranks check each other's calls, empty or not
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.usable(); err != nil {
		return err
	}
	if c.local != nil {
		localAllReduceSum(c, buf)
		return nil
	}
	n, size := len(buf), c.size
	if n > math.MaxInt32 {
		return fmt.Errorf("comm: all-reduce of %d elements: MPI counts and offsets stop at 2³¹−1", n)
	}
	lo, hi := chunk(n, c.rank, size)
	own := hi - lo
	var zero T
	esize := int(unsafe.Sizeof(zero))
	if need := size * own * esize; cap(c.scratch) < need {
		c.scratch = make([]byte, need)
	}
	c.counts, c.displs = resize(c.counts, size), resize(c.displs, size)
	c.rcounts, c.rdispls = resize(c.rcounts, size), resize(c.rdispls, size)
	for r := range size {
		a, b := chunk(n, r, size)
		c.counts[r], c.displs[r] = b-a, a
		c.rcounts[r], c.rdispls[r] = own, r*own
	}
	var recv []T
	if own > 0 {
		recv = unsafe.Slice((*T)(unsafe.Pointer(unsafe.SliceData(c.scratch))), size*own)
	}
	dt := dtypeOf[T]()
	if err := mpiAlltoallv(unsafe.Pointer(unsafe.SliceData(buf)), c.counts, c.displs,
		unsafe.Pointer(unsafe.SliceData(c.scratch)), c.rcounts, c.rdispls, dt); err != nil {
		return fmt.Errorf("comm: all-reduce of %d elements: %w", n, err)
	}
	if own > 0 {
		sumChunks(buf[lo:hi], recv, size)
	}
	if err := mpiAllgatherv(unsafe.Pointer(unsafe.SliceData(buf)), c.counts, c.displs, dt); err != nil {
		return fmt.Errorf("comm: all-reduce of %d elements: %w", n, err)
	}
	return nil
}

// sumChunks sets dst to the sum of the k chunks of len(dst) elements in
// src, in order:
//
//	dst[i] = ((src[0·m+i] + src[1·m+i]) + src[2·m+i]) + …
func sumChunks[T Float](dst, src []T, k int) {
	m := len(dst)
	copy(dst, src[:m])
	for j := 1; j < k; j++ {
		kernel.AddRows(1, m, src[j*m:(j+1)*m], m, dst, m)
	}
}

// AllReduceMean replaces buf on every rank by the element-wise mean of
// every rank's buf: AllReduceSum, then division by Size (exact when Size
// is a power of two).
func AllReduceMean[T Float](c *Comm, buf []T) error {
	if err := AllReduceSum(c, buf); err != nil || !c.Distributed() {
		return err
	}
	n := T(c.size)
	for i := range buf {
		buf[i] /= n
	}
	return nil
}

// Broadcast copies root's buf into buf on every other rank. Every rank must
// pass a buffer of the same length.
func Broadcast[T Float | ~byte | ~int64](c *Comm, buf []T, root int) error {
	if !c.Distributed() || len(buf) == 0 && c.local == nil {
		return nil
	}
	if root < 0 || root >= c.size {
		panic("comm: broadcast root out of range")
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.usable(); err != nil {
		return err
	}
	var zero T
	b := unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(buf))), len(buf)*int(unsafe.Sizeof(zero)))
	if c.local != nil {
		localBroadcast(c, b, root)
		return nil
	}
	const piece = 1 << 30 // MPI counts are C ints
	for lo := 0; lo < len(b); lo += piece {
		p := b[lo:min(lo+piece, len(b))]
		if err := mpiBcast(unsafe.Pointer(unsafe.SliceData(p)), len(p), root); err != nil {
			return fmt.Errorf("comm: broadcast of %d bytes from rank %d: %w", len(b), root, err)
		}
	}
	return nil
}

// BroadcastBytes returns root's b on every rank; the other ranks' b is
// ignored (pass nil). Its length travels first, so the ranks need not
// know it.
func BroadcastBytes(c *Comm, b []byte, root int) ([]byte, error) {
	if !c.Distributed() {
		return b, nil
	}
	n := []int64{int64(len(b))}
	if err := Broadcast(c, n, root); err != nil {
		return nil, err
	}
	if c.rank != root {
		b = make([]byte, n[0])
	}
	if err := Broadcast(c, b, root); err != nil {
		return nil, err
	}
	return b, nil
}

// Agree checks that every rank passed the same bytes (say, a hash of its
// configuration): it returns nil on every rank if so, and on every rank
// an error naming those that differ from rank 0 if not. what names the
// bytes in the error.
func Agree(c *Comm, b []byte, what string) error {
	if !c.Distributed() {
		return nil
	}
	sum := sha256.Sum256(b)
	root := sum
	if err := Broadcast(c, root[:], 0); err != nil {
		return err
	}
	differs := make([]float64, c.size)
	if !bytes.Equal(sum[:], root[:]) {
		differs[c.rank] = 1
	}
	if err := AllReduceSum(c, differs); err != nil {
		return err
	}
	var bad []string
	for r, d := range differs {
		if d != 0 {
			bad = append(bad, strconv.Itoa(r))
		}
	}
	switch {
	case len(bad) == 1:
		return fmt.Errorf("comm: the ranks disagree on %s: rank %s differs from rank 0", what, bad[0])
	case len(bad) > 1:
		return fmt.Errorf("comm: the ranks disagree on %s: ranks %s differ from rank 0", what, strings.Join(bad, ", "))
	}
	return nil
}

// AnyOf reports on every rank whether any rank passed true, for decisions
// all ranks must take together (stop, skip, fail).
func AnyOf(c *Comm, v bool) (bool, error) {
	if !c.Distributed() {
		return v, nil
	}
	f := []float64{0}
	if v {
		f[0] = 1
	}
	err := AllReduceSum(c, f)
	return f[0] != 0, err
}

// ErrOtherRank is matched by errors.Is for the error [Together] returns
// on a rank that did not fail when another did.
var ErrOtherRank = errors.New("another rank failed")

// Together returns err on the ranks that have one and, if any rank has
// one, on every other rank an error matching ErrOtherRank that says what
// failed: a step that every rank must take or abandon together, so that no
// rank goes on to a collective call the others will never make. Every rank
// must call it. On a single process it returns err.
func Together(c *Comm, err error, what string) error {
	failed, cerr := AnyOf(c, err != nil)
	switch {
	case cerr != nil:
		return errors.Join(err, cerr)
	case err != nil:
		return err
	case failed:
		return fmt.Errorf("%w: %s", ErrOtherRank, what)
	}
	return nil
}

func resize(s []int, n int) []int {
	if cap(s) < n {
		return make([]int, n)
	}
	return s[:n]
}

// dtype is an element type as MPI knows it.
type dtype int

const (
	float32Type dtype = iota
	float64Type
)

func dtypeOf[T Float]() dtype {
	var zero T
	if unsafe.Sizeof(zero) == 4 {
		return float32Type
	}
	return float64Type
}
