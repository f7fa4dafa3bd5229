package kernel

import "unsafe"

// Prefetch asks the calling core's caches for x, which it is to read soon,
// and returns without waiting for the data: every cache line of x is
// requested with PREFETCHT0, into all levels. A pass that reads x a while
// later finds it in cache instead of waiting for memory. It reads nothing a
// program can observe and never faults, so it cannot change a result.
// Without the assembly (another GOARCH, or the noasm tag) it does nothing.
//
// The requests are not free: a core has a few tens of misses in flight at
// most, so a long x keeps the call busy for about as long as memory takes
// to deliver it (some 20 µs for 400 KB), though with all of them in flight
// at once rather than one row's at a time.
func Prefetch[T Float](x []T) {
	if len(x) == 0 {
		return
	}
	prefetch(unsafe.Pointer(unsafe.SliceData(x)), len(x)*int(unsafe.Sizeof(x[0])))
}
