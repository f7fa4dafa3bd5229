package kernel

import (
	"runtime"
	"slices"
	"sync/atomic"
	"time"
)

// RoundTrip returns how long a cache line takes to go from one core to
// another and back: two goroutines, each locked to its thread and (on
// Linux) pinned to one of the first two CPUs the calling thread may run
// on, pass a flag back and forth trips times in each of five rounds, and
// the median round's time per trip is returned. It is 0 when there are
// fewer than two such CPUs or GOMAXPROCS is 1.
//
// On the virtual machines descent is measured on, the two vCPUs are
// sometimes near each other (about 110 ns) and sometimes far apart
// (about 450 ns), moving between the two within minutes; every pass of a
// training step hands its output to the next across the cores, so a
// step's speed on two cores follows this number. The training
// benchmarks report it beside their fractions of the sgemm rate
// (bench/c/pingpong.c measures the same between CPU 0 and CPU 1).
//
// It spins both threads for the whole measurement (trips of 2,000 take
// about a millisecond a round), and must not run beside Parallel or
// Spread calls: their workers would compete with it for the cores. It
// first waits for the pool's workers to park after the last call.
func RoundTrip(trips int) time.Duration {
	cpus := firstCPUs(2)
	if len(cpus) < 2 || runtime.GOMAXPROCS(0) < 2 || trips < 1 {
		return 0
	}
	const rounds = 5
	time.Sleep(2 * spinTime) // the pool's workers poll this long after their last task
	var flag struct {
		_ [64]byte
		v atomic.Int32
		_ [64]byte
	}
	ready := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer unpin(pin(cpus[1]))
		close(ready)
		for range rounds * trips {
			await(&flag.v, 1)
			flag.v.Store(0)
		}
	}()
	defer unpin(pin(cpus[0]))
	<-ready
	times := make([]time.Duration, rounds)
	for r := range times {
		t0 := time.Now()
		for range trips {
			flag.v.Store(1)
			await(&flag.v, 0)
		}
		times[r] = time.Since(t0) / time.Duration(trips)
	}
	<-done
	slices.Sort(times)
	return times[rounds/2]
}

// await spins until v holds want. A round trip takes well under a
// microsecond; a wait of thousands of polls means the other thread has
// lost its core or its P, and the waiter then yields its own P, so that
// the measurement cannot hold up the Go scheduler (with asynchronous
// preemption off, say) for long.
func await(v *atomic.Int32, want int32) {
	for i := 1; v.Load() != want; i++ {
		if i%(1<<14) == 0 {
			runtime.Gosched()
		}
	}
}

// pin locks the calling goroutine to its thread and restricts the thread
// to cpu (setAffinity); unpin(pin(cpu)) undoes both. A thread whose
// affinity could not be restored stays locked to its goroutine, so that
// the runtime ends it with the goroutine rather than run other goroutines
// on it, pinned.
func pin(cpu int) (restored func() bool) {
	runtime.LockOSThread()
	return setAffinity(cpu)
}

func unpin(restore func() bool) {
	if restore() {
		runtime.UnlockOSThread()
	}
}
