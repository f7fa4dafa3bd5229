package kernel

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// TestPrefetch checks that Prefetch changes nothing, in the slice or around
// it, at every length and alignment, also for an empty or nil slice and
// for one that ends on the last byte of its buffer.
func TestPrefetch(t *testing.T) {
	forEachType(t, testPrefetch[float32], testPrefetch[float64])
}

func testPrefetch[T Float](t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	Prefetch[T](nil)
	forEachShape(func(n, j int, specials bool) {
		g := newGuarded[T](n, offsets[j])
		fill(rng, g.s, false, specials)
		want := slices.Clone(g.s)
		Prefetch(g.s)
		g.check(t, "Prefetch")
		for i := range want {
			if !sameBits(g.s[i], want[i]) {
				t.Fatalf("Prefetch(%d elements at offset %d): x[%d] = %v; want %v", n, offsets[j], i, g.s[i], want[i])
			}
		}
		end := make([]T, n)
		Prefetch(end[len(end)/2:])
	})
}

// TestPrefetchAllocs checks that Prefetch allocates nothing.
func TestPrefetchAllocs(t *testing.T) {
	x := make([]float32, 1000)
	if a := testing.AllocsPerRun(100, func() { Prefetch(x) }); a != 0 {
		t.Errorf("Prefetch allocates %v times; want 0", a)
	}
}
