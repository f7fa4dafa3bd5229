//go:build spreadprobe

package kernel

import (
	"runtime"
	"testing"
	"time"
)

// TestProbe checks that the probe lines up the Spread calls of each
// sequence by their place and names them: three places, the second
// labelled and its parts spinning for 100 and 200 µs; the calls of
// parallel work (Parallel) and those before the first mark left out.
func TestProbe(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(max(2, runtime.GOMAXPROCS(0))))
	defer SetThreads(0)
	SetThreads(2)
	spin := func(d time.Duration) {
		for t0 := time.Now(); time.Since(t0) < d; {
		}
	}
	ProbeReport()             // start afresh
	Spread(func(w, _ int) {}) // before the first mark: not recorded
	const seqs = 20
	for range seqs {
		ProbeMark()
		Spread(func(w, _ int) {})
		Parallel(4, func(int, int) {})
		ProbeLabel("spin", 3)
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
		for w := range 2 {
			if c.Ends[w] == 0 || c.Starts[w] > c.Ends[w] || c.Ends[w] > c.Total {
				t.Errorf("place %d: part %d from %v to %v, call %v", i, w, c.Starts[w], c.Ends[w], c.Total)
			}
		}
		if want := map[int]string{1: "spin"}[i]; c.Name != want {
			t.Errorf("place %d named %q; want %q", i, c.Name, want)
		}
	}
	if c := calls[1]; c.Phase != 3 || c.Ends[0]-c.Starts[0] < 100*time.Microsecond || c.Ends[1]-c.Starts[1] < 200*time.Microsecond || c.Total > 10*time.Millisecond {
		t.Errorf("spinning call: phase %d, parts %v to %v, total %v; want phase 3, parts ≥ 100 and 200 µs", c.Phase, c.Starts, c.Ends, c.Total)
	}
	if again := ProbeReport(); len(again) != 0 {
		t.Errorf("a second report has %d places; want none", len(again))
	}
}
