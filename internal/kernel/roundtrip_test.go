package kernel

import (
	"runtime"
	"testing"
	"time"
)

// TestRoundTrip checks that the round trip between two cores is measured
// when there are two, as a time a cache line's transfer can take (between
// 10 ns and 100 µs), and is 0 on one thread.
func TestRoundTrip(t *testing.T) {
	if runtime.NumCPU() < 2 {
		t.Skip("one CPU")
	}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	rt := RoundTrip(2000)
	if rt < 10*time.Nanosecond || rt > 100*time.Microsecond {
		t.Errorf("RoundTrip = %v: want a cache line's round trip between two cores", rt)
	}
	runtime.GOMAXPROCS(1)
	if rt := RoundTrip(2000); rt != 0 {
		t.Errorf("RoundTrip on one P = %v, want 0", rt)
	}
}
