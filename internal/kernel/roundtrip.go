package kernel

import (
	"runtime"
	"slices"
	"sync/atomic"
	"time"
)

// RoundTrip returns how long a cache line takes to go from one core to
// another and back: two goroutines, each locked to its thread and (on
// Linux) pinned to one of the first two CPUs the process may run on, pass
// a flag back and forth trips times in each of five rounds, and the
// median round's time per trip is returned. It is 0 when the process has
// fewer than two CPUs or GOMAXPROCS is 1.
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
// Spread calls: their workers would compete with it for the cores.
func RoundTrip(trips int) time.Duration {
	cpus := firstCPUs(2)
	if len(cpus) < 2 || runtime.GOMAXPROCS(0) < 2 || trips < 1 {
		return 0
	}
	const rounds = 5
	var flag struct {
		_ [64]byte
		v atomic.Int32
		_ [64]byte
	}
	ready := make(chan struct{})
	done := make(chan struct{})
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		restore := pin(cpus[1])
		defer restore()
		close(ready)
		for range rounds * trips {
			for flag.v.Load() != 1 {
			}
			flag.v.Store(0)
		}
		close(done)
	}()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	restore := pin(cpus[0])
	defer restore()
	<-ready
	times := make([]time.Duration, rounds)
	for r := range times {
		t0 := time.Now()
		for range trips {
			flag.v.Store(1)
			for flag.v.Load() != 0 {
			}
		}
		times[r] = time.Since(t0) / time.Duration(trips)
	}
	<-done
	slices.Sort(times)
	return times[rounds/2]
}
