package comm

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// rankTimeout bounds a test's ranks: a barrier that deadlocks fails the
// test instead of hanging it.
const rankTimeout = time.Minute

// onRanks runs f on every rank of Local(n), each in its goroutine, and
// returns their errors; a rank that panics returns the panic as an error
// matching errPanic. It fails the test, without waiting for them, if the
// ranks have not all returned within rankTimeout.
func onRanks(t *testing.T, n int, f func(c *Comm) error) []error {
	t.Helper()
	return onComms(t, Local(n), f)
}

// errPanic is matched by the error of a rank of onComms that panicked.
var errPanic = errors.New("panic")

// onComms is onRanks on the ranks cs.
func onComms(t *testing.T, cs []*Comm, f func(c *Comm) error) []error {
	t.Helper()
	errs := make([]error, len(cs))
	left := make(chan struct{}, len(cs))
	for r, c := range cs {
		go func() {
			defer func() { left <- struct{}{} }()
			defer func() {
				if p := recover(); p != nil {
					errs[r] = fmt.Errorf("%w: %v", errPanic, p)
				}
			}()
			errs[r] = f(c)
		}()
	}
	timeout := time.After(rankTimeout)
	for range cs {
		select {
		case <-left:
		case <-timeout:
			t.Fatalf("%d ranks: not all returned within %v (deadlock?)", len(cs), rankTimeout)
		}
	}
	return errs
}

// noErrors fails the test for every rank's error.
func noErrors(t *testing.T, errs []error, what string) {
	t.Helper()
	for r, err := range errs {
		if err != nil {
			t.Errorf("%s: rank %d of %d: %v", what, r, len(errs), err)
		}
	}
}

// addend is rank r's i-th element: values of many magnitudes and both
// signs, so that the order of the additions shows in the sum.
func addend(r, i int) float64 {
	v := math.Ldexp(1/float64(3+7*r+i%11), (i*(r+1))%40-20)
	if (i+r)%3 == 0 {
		v = -v
	}
	return v
}

// rankOrderSum returns the sum of every rank's addend i in the element type,
// ((x₀ + x₁) + x₂) + ….
func rankOrderSum[T Float](size, i int) T {
	s := T(addend(0, i))
	for r := 1; r < size; r++ {
		s += T(addend(r, i))
	}
	return s
}

// checkAllReduce runs AllReduceSum of n elements of T on every rank of cs
// and checks each rank's bits against the sum in rank order.
func checkAllReduce[T Float](t *testing.T, cs []*Comm, n int) {
	t.Helper()
	size := len(cs)
	bufs := make([][]T, size)
	for r := range bufs {
		bufs[r] = make([]T, n)
		for i := range bufs[r] {
			bufs[r][i] = T(addend(r, i))
		}
	}
	noErrors(t, onComms(t, cs, func(c *Comm) error { return AllReduceSum(c, bufs[c.Rank()]) }), "AllReduceSum")
	for i := range n {
		want := rankOrderSum[T](size, i)
		for r := range size {
			if got := bufs[r][i]; math.Float64bits(float64(got)) != math.Float64bits(float64(want)) {
				t.Fatalf("AllReduceSum[%T] of %d elements on %d ranks: rank %d [%d] = %v; want %v (the sum in rank order)", got, n, size, r, i, got, want)
			}
		}
	}
}

// TestLocalAllReduceSum checks that the ranks of Local all get the sum of
// their buffers added in rank order, bit for bit, in float32 and float64,
// for chunks that differ in length, buffers shorter than the number of
// ranks, chunks around the block a rank sums at a time, and one set of
// ranks reused for every length and both types.
func TestLocalAllReduceSum(t *testing.T) {
	for _, size := range []int{1, 2, 3, 4} {
		cs := Local(size)
		for _, n := range []int{0, 1, 2, 3, 5, 1023, 1024, 1025, 2049, 4099, 3*1024 + 1} {
			checkAllReduce[float32](t, cs, n)
			checkAllReduce[float64](t, cs, n)
		}
	}
}

// TestLocalAllReduceSumIsInRankOrder checks a sum whose value depends on
// the order: 1 + 1e-16 + (−1) is 0 only if added in rank order, also on
// rank 0, which adds the others into its own buffer.
func TestLocalAllReduceSumIsInRankOrder(t *testing.T) {
	in := []float64{1, 1e-16, -1}
	out := make([][]float64, 3)
	for r := range out {
		out[r] = []float64{in[r], in[r], in[r], in[r]} // a chunk on every rank
	}
	noErrors(t, onRanks(t, 3, func(c *Comm) error { return AllReduceSum(c, out[c.Rank()]) }), "AllReduceSum")
	for r := range out {
		for i, v := range out[r] {
			if v != 0 {
				t.Errorf("AllReduceSum(1, 1e-16, −1) on rank %d of 3: [%d] = %v; want 0 (rank order)", r, i, v)
			}
		}
	}
}

// TestLocalAllReduceMean checks the mean of the ranks' numbers.
func TestLocalAllReduceMean(t *testing.T) {
	got := make([]float64, 4)
	noErrors(t, onRanks(t, 4, func(c *Comm) error {
		buf := []float64{float64(c.Rank())}
		err := AllReduceMean(c, buf)
		got[c.Rank()] = buf[0]
		return err
	}), "AllReduceMean")
	for r, v := range got {
		if v != 1.5 {
			t.Errorf("AllReduceMean(rank) on rank %d of 4 = %v; want 1.5", r, v)
		}
	}
}

// TestLocalManyCalls makes thousands of collective calls back to back on
// small buffers, all-reduces of 1 to 5 elements with broadcasts and
// barriers among them, so that a rank that leaves a barrier early, or
// reuses a buffer another rank still reads, changes a result. (On two
// cores that other processes load, a call takes up to 60 µs;
// TestLocalFewerThreadsThanRanks makes 10,000 on one thread.)
func TestLocalManyCalls(t *testing.T) {
	calls := 3000
	if testing.Short() {
		calls = 1000
	}
	for _, size := range []int{2, 3} {
		noErrors(t, onRanks(t, size, func(c *Comm) error { return manyCalls(c, calls) }), fmt.Sprintf("%d calls on %d ranks", calls, size))
	}
}

// manyCalls makes n collective calls on c and checks every result.
func manyCalls(c *Comm, n int) error {
	size, rank := c.Size(), c.Rank()
	buf := make([]float32, 5)
	word := make([]int64, 2)
	for k := range n {
		m := 1 + k%len(buf)
		for i := range m {
			buf[i] = float32(k + i*rank)
		}
		if err := AllReduceSum(c, buf[:m]); err != nil {
			return err
		}
		for i := range m {
			// Small integers: exact in float32, whatever the order.
			if want := float32(size*k + i*size*(size-1)/2); buf[i] != want {
				return fmt.Errorf("call %d: AllReduceSum [%d] = %v; want %v", k, i, buf[i], want)
			}
		}
		switch k % 3 {
		case 1:
			root := k % size
			word[0], word[1] = int64(rank), int64(k)
			if err := Broadcast(c, word, root); err != nil {
				return err
			}
			if word[0] != int64(root) || word[1] != int64(k) {
				return fmt.Errorf("call %d: Broadcast from rank %d = %v; want [%d %d]", k, root, word, root, k)
			}
		case 2:
			if err := c.Barrier(); err != nil {
				return err
			}
		}
	}
	return nil
}

// TestLocalBroadcast broadcasts bytes, int64 and float64 values from every
// root on 1 to 4 ranks, and checks every rank's copy and that the root's
// buffer is left alone.
func TestLocalBroadcast(t *testing.T) {
	for size := 1; size <= 4; size++ {
		for root := range size {
			for _, n := range []int{1, 7, 5000} {
				testBroadcast(t, size, root, n, func(r, i int) byte { return byte(31*r + i) })
				testBroadcast(t, size, root, n, func(r, i int) int64 { return int64(r)<<40 - int64(i) })
				testBroadcast(t, size, root, n, func(r, i int) float64 { return addend(r, i) })
			}
		}
	}
}

// testBroadcast broadcasts from root the n values value(r, i) of every
// rank r and checks that every rank holds root's.
func testBroadcast[T Float | ~byte | ~int64](t *testing.T, size, root, n int, value func(r, i int) T) {
	t.Helper()
	bufs := make([][]T, size)
	for r := range bufs {
		bufs[r] = make([]T, n)
		for i := range n {
			bufs[r][i] = value(r, i)
		}
	}
	noErrors(t, onRanks(t, size, func(c *Comm) error { return Broadcast(c, bufs[c.Rank()], root) }), "Broadcast")
	for r := range size {
		for i := range n {
			if got, want := bufs[r][i], value(root, i); got != want {
				t.Fatalf("Broadcast[%T] of %d from rank %d on %d ranks: rank %d [%d] = %v; want %v", got, n, root, size, r, i, got, want)
			}
		}
	}
}

// TestLocalBroadcastBytes sends byte strings of several lengths, the empty
// one too, from every root to ranks that pass nil.
func TestLocalBroadcastBytes(t *testing.T) {
	const size = 3
	for root := range size {
		for _, n := range []int{0, 1, 7000} {
			want := bytes.Repeat([]byte{byte(root + 1)}, n)
			got := make([][]byte, size)
			noErrors(t, onRanks(t, size, func(c *Comm) error {
				var b []byte
				if c.Rank() == root {
					b = bytes.Clone(want)
				}
				var err error
				got[c.Rank()], err = BroadcastBytes(c, b, root)
				return err
			}), "BroadcastBytes")
			for r, b := range got {
				if !bytes.Equal(b, want) {
					t.Errorf("BroadcastBytes(%d bytes from rank %d) on rank %d of %d = %d bytes; want root's", n, root, r, size, len(b))
				}
			}
		}
	}
}

// TestLocalBarrier checks, round after round, that no rank leaves a
// barrier before every rank has arrived at it: each rank counts itself in
// before the barrier and reads the count after it. The ranks arrive in an
// order that changes from round to round.
func TestLocalBarrier(t *testing.T) {
	const size, rounds = 3, 300
	var arrived [rounds]atomic.Int32
	noErrors(t, onRanks(t, size, func(c *Comm) error {
		for k := range rounds {
			if (k+c.Rank())%size == 0 {
				time.Sleep(time.Duration(k%4) * 50 * time.Microsecond) // a late rank
			}
			arrived[k].Add(1)
			if err := c.Barrier(); err != nil {
				return err
			}
			if got := arrived[k].Load(); got != size {
				return fmt.Errorf("round %d: left the barrier when %d of %d ranks had arrived", k, got, size)
			}
		}
		return nil
	}), "Barrier")
}

// TestLocalAgree checks that Agree is nil on every rank when the ranks
// agree, and otherwise an error on every rank that names those that
// differ from rank 0.
func TestLocalAgree(t *testing.T) {
	for _, c := range []struct {
		size   int
		differ func(r int) bool
		want   string
	}{
		{3, func(int) bool { return false }, ""},
		{3, func(r int) bool { return r == 2 }, "the ranks disagree on the recipe: rank 2 differs from rank 0"},
		{4, func(r int) bool { return r%2 == 1 }, "the ranks disagree on the recipe: ranks 1, 3 differ from rank 0"},
		{2, func(r int) bool { return r == 0 }, "the ranks disagree on the recipe: rank 1 differs from rank 0"},
	} {
		errs := onRanks(t, c.size, func(cm *Comm) error {
			b := []byte("recipe")
			if c.differ(cm.Rank()) {
				b = []byte("recipe, another")
			}
			return Agree(cm, b, "the recipe")
		})
		for r, err := range errs {
			switch {
			case c.want == "" && err != nil:
				t.Errorf("Agree(same bytes) on rank %d of %d = %v; want nil", r, c.size, err)
			case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
				t.Errorf("Agree on rank %d of %d = %v; want an error saying %q", r, c.size, err, c.want)
			}
		}
	}
}

// TestLocalAnyOfTogether checks AnyOf and Together on every rank when no
// rank, one rank and every rank passes true (an error).
func TestLocalAnyOfTogether(t *testing.T) {
	const size = 3
	bad := errors.New("bad batch")
	for _, set := range []func(r int) bool{
		func(int) bool { return false },
		func(r int) bool { return r == 1 },
		func(int) bool { return true },
	} {
		anyWant := set(0) || set(1) || set(2)
		errs := onRanks(t, size, func(c *Comm) error {
			v := set(c.Rank())
			got, err := AnyOf(c, v)
			if err != nil || got != anyWant {
				return fmt.Errorf("AnyOf(%v) = %v, %v; want %v", v, got, err, anyWant)
			}
			var mine error
			if v {
				mine = bad
			}
			err = Together(c, mine, "the batch")
			switch {
			case v && err != bad:
				return fmt.Errorf("Together(its error) = %v; want it", err)
			case !v && anyWant && (!errors.Is(err, ErrOtherRank) || !strings.Contains(err.Error(), "the batch")):
				return fmt.Errorf("Together(nil) when another rank failed = %v; want ErrOtherRank naming the batch", err)
			case !anyWant && err != nil:
				return fmt.Errorf("Together(nil) on every rank = %v; want nil", err)
			}
			return nil
		})
		noErrors(t, errs, "AnyOf and Together")
	}
}

// TestLocalFewerThreadsThanRanks runs the ranks with GOMAXPROCS 1: every
// barrier must then let the rank it waits for run, rather than spin on the
// only thread.
func TestLocalFewerThreadsThanRanks(t *testing.T) {
	calls := 10000
	if testing.Short() {
		calls = 2000 // 3 s under the race detector with all 10,000
	}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	for _, size := range []int{2, 3, 4} {
		noErrors(t, onRanks(t, size, func(c *Comm) error { return manyCalls(c, calls) }), fmt.Sprintf("GOMAXPROCS 1, %d ranks", size))
		checkAllReduce[float32](t, Local(size), 4099)
	}
}

// TestLocalMismatchPanics checks that ranks that make different collective
// calls, or pass buffers of different lengths or types, or name different
// roots, panic on every rank instead of reading past another rank's buffer
// or returning wrong bytes.
func TestLocalMismatchPanics(t *testing.T) {
	for _, c := range []struct {
		name string
		call func(c *Comm) error
	}{
		{"lengths", func(c *Comm) error { return AllReduceSum(c, make([]float32, 4+4*c.Rank())) }},
		{"types", func(c *Comm) error {
			if c.Rank() == 0 {
				return AllReduceSum(c, make([]float32, 16)) // 64 bytes, as rank 1's
			}
			return AllReduceSum(c, make([]float64, 8))
		}},
		{"barrier", func(c *Comm) error {
			if c.Rank() == 0 {
				return c.Barrier()
			}
			return AllReduceSum(c, make([]float32, 8))
		}},
		{"empty", func(c *Comm) error { return AllReduceSum(c, make([]float64, c.Rank())) }},
		{"empty broadcast", func(c *Comm) error { return Broadcast(c, make([]byte, c.Rank()), 0) }},
		{"broadcast lengths", func(c *Comm) error { return Broadcast(c, make([]byte, 3+c.Rank()), 0) }},
		{"roots", func(c *Comm) error { return Broadcast(c, make([]byte, 8), c.Rank()) }},
		{"calls", func(c *Comm) error {
			if c.Rank() == 0 {
				return Broadcast(c, make([]float32, 8), 0)
			}
			return AllReduceSum(c, make([]float32, 8))
		}},
	} {
		for r, err := range onRanks(t, 2, c.call) {
			if !errors.Is(err, errPanic) || !strings.Contains(err.Error(), "comm: ") {
				t.Errorf("%s differ between the ranks: rank %d of 2: %v; want a panic", c.name, r, err)
			}
		}
	}
}
