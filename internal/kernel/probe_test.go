//go:build spreadprobe

package kernel

import (
	"runtime"
	"testing"
	"time"
)

// TestProbe checks that the probe lines up the Spread calls of each
// sequence by their place: three places, the second's parts spinning for
// 200 µs, part 1 longer than part 0, and the calls of parallel work
// (Parallel) left out.
func TestProbe(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(max(2, runtime.GOMAXPROCS(0))))
	defer SetThreads(0)
	SetThreads(2)
	spin := func(d time.Duration) {
		for t0 := time.Now(); time.Since(t0) < d; {
		}
	}
	ProbeReport() // start afresh
	const seqs = 20
	for range seqs {
		ProbeMark()
		Spread(func(w, _ int) {})
		Parallel(4, func(int, int) {})
		Spread(func(w, _ int) { spin(time.Duration(100*(w+1)) * time.Microsecond) })
		Spread(func(w, _ int) {})
	}
	calls := ProbeReport()
	if len(calls) != 3 {
		t.Fatalf("%d places; want 3", len(calls))
	}
	for i, c := range calls {
		if c.N != seqs {
			t.Errorf("place %d: %d sequences; want %d", i, c.N, seqs)
		}
		if c.Total < c.Ends[0] || c.Total < c.Ends[1] {
			t.Errorf("place %d: total %v before a part's end %v", i, c.Total, c.Ends)
		}
	}
	if c := calls[1]; c.Ends[0] < 100*time.Microsecond || c.Ends[1] < 200*time.Microsecond || c.Total > 10*time.Millisecond {
		t.Errorf("spinning call: ends %v, total %v; want ≥ 100 and 200 µs", c.Ends, c.Total)
	}
	if again := ProbeReport(); len(again) != 0 {
		t.Errorf("a second report has %d places; want none", len(again))
	}
}
