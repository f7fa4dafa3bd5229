package data

import (
	"fmt"
	"slices"
	"testing"

	"github.com/descentml/descent/internal/kernel"
)

func TestPermGolden(t *testing.T) {
	// Pinned so that a change of the shuffle, which would stop runs from
	// resuming where they left off, is caught.
	for _, c := range []struct {
		seed  uint64
		epoch int
		want  []int
	}{
		{1, 0, []int{6, 5, 9, 7, 8, 2, 0, 3, 4, 1}},
		{1, 1, []int{6, 0, 3, 7, 2, 8, 9, 4, 1, 5}},
		{2, 0, []int{7, 6, 0, 9, 2, 1, 8, 3, 4, 5}},
	} {
		if got := Perm(10, c.seed, c.epoch); !slices.Equal(got, c.want) {
			t.Errorf("Perm(10, %d, %d) = %v; want %v", c.seed, c.epoch, got, c.want)
		}
	}
}

func TestPermute(t *testing.T) {
	for _, n := range []int{0, 1, 2, 3, 100, 1797} {
		a := Perm(n, 42, 3)
		if !isPerm(a) {
			t.Fatalf("Perm(%d, 42, 3) = %v; not a permutation", n, a)
		}
		b := make([]int, n)
		for i := range b {
			b[i] = -5 * i // Permute ignores what order held
		}
		Permute(b, 42, 3)
		if !slices.Equal(a, b) {
			t.Errorf("Permute(n=%d, 42, 3) after garbage = %v; want %v as Perm", n, b, a)
		}
		if n < 10 {
			continue
		}
		if slices.Equal(a, Perm(n, 42, 4)) {
			t.Errorf("Perm(%d, 42, 3) = Perm(%d, 42, 4); want epochs to differ", n, n)
		}
		if slices.Equal(a, Perm(n, 43, 3)) {
			t.Errorf("Perm(%d, 42, 3) = Perm(%d, 43, 3); want seeds to differ", n, n)
		}
	}
}

func isPerm(p []int) bool {
	seen := make([]bool, len(p))
	for _, i := range p {
		if i < 0 || i >= len(p) || seen[i] {
			return false
		}
		seen[i] = true
	}
	return true
}

func TestPermuteUniform(t *testing.T) {
	// Over 24000 epochs each of the 24 orders of 4 should come up about
	// 1000 times (standard deviation about 31).
	counts := map[[4]int]int{}
	order := make([]int, 4)
	for epoch := range 24000 {
		Permute(order, 9, epoch)
		counts[[4]int(order)]++
	}
	if len(counts) != 24 {
		t.Fatalf("%d distinct orders of 4; want 24", len(counts))
	}
	for p, n := range counts {
		if n < 850 || n > 1150 {
			t.Errorf("order %v came up %d times in 24000; want about 1000", p, n)
		}
	}
}

func TestBatchesCoverEveryIndexOnce(t *testing.T) {
	for _, n := range []int{0, 1, 5, 64, 65, 100} {
		for _, size := range []int{1, 7, 64, 200} {
			for _, drop := range []bool{false, true} {
				b := Batches{Order: Perm(n, 1, 0), Size: size, DropLast: drop}
				wantLen := (n + size - 1) / size
				if drop {
					wantLen = n / size
				}
				if b.Len() != wantLen {
					t.Errorf("n=%d size=%d drop=%v: Len() = %d; want %d", n, size, drop, b.Len(), wantLen)
				}
				seen := make([]int, n)
				k := 0
				for i, idx := range b.All() {
					if i != k {
						t.Fatalf("n=%d size=%d drop=%v: batch %d numbered %d", n, size, drop, k, i)
					}
					if len(idx) != size && (drop || i != b.Len()-1) {
						t.Errorf("n=%d size=%d drop=%v: batch %d has %d examples; want %d", n, size, drop, i, len(idx), size)
					}
					for _, j := range idx {
						seen[j]++
					}
					k++
				}
				covered := 0
				for j, c := range seen {
					if c > 1 {
						t.Fatalf("n=%d size=%d drop=%v: index %d in %d batches", n, size, drop, j, c)
					}
					covered += c
				}
				if want := min(n, wantLen*size); covered != want {
					t.Errorf("n=%d size=%d drop=%v: %d indices covered; want %d", n, size, drop, covered, want)
				}
			}
		}
	}
}

func TestBatchesResume(t *testing.T) {
	// A run that stops after batch 3 of epoch 2 and starts again from
	// (seed, epoch, 4) sees the batches it would have seen.
	const n, size, seed = 50, 8, 5
	var whole [][]int
	for epoch := range 3 {
		b := Batches{Order: Perm(n, seed, epoch), Size: size}
		for _, idx := range b.All() {
			whole = append(whole, slices.Clone(idx))
		}
	}
	var resumed [][]int
	for epoch := range 3 {
		b := Batches{Order: Perm(n, seed, epoch), Size: size}
		for k, idx := range b.All() {
			resumed = append(resumed, slices.Clone(idx))
			if epoch == 2 && k == 3 {
				break
			}
		}
	}
	b := Batches{Order: make([]int, n), Size: size}
	Permute(b.Order, seed, 2) // a new process
	for k := 4; k < b.Len(); k++ {
		resumed = append(resumed, slices.Clone(b.Batch(k)))
	}
	if len(resumed) != len(whole) {
		t.Fatalf("%d batches resumed; want %d", len(resumed), len(whole))
	}
	for i := range whole {
		if !slices.Equal(resumed[i], whole[i]) {
			t.Errorf("batch %d resumed = %v; want %v", i, resumed[i], whole[i])
		}
	}
}

// wrapped hides a *Set behind the Dataset interface, to test Gather's
// general path.
type wrapped struct{ s *Set }

func (w wrapped) Len() int                       { return w.s.Len() }
func (w wrapped) Shape() []int                   { return w.s.Shape() }
func (w wrapped) Classes() int                   { return w.s.Classes() }
func (w wrapped) Example(i int, x []float32) int { return w.s.Example(i, x) }

func testSet(t testing.TB, n int, shape []int) *Set {
	t.Helper()
	d := 1
	for _, k := range shape {
		d *= k
	}
	x := make([]float32, n*d)
	for i := range x {
		x[i] = float32(i) / 8
	}
	y := make([]int, n)
	for i := range y {
		y[i] = (3 * i) % 5
	}
	s, err := NewSet(x, y, shape, 5)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestGather(t *testing.T) {
	s := testSet(t, 20, []int{2, 3})
	idx := []int{19, 0, 7, 7}
	check := func(name string, x func(int) float64, labels []int) {
		t.Helper()
		for k, i := range idx {
			if labels[k] != s.Y[i] {
				t.Errorf("%s: labels[%d] = %d; want %d", name, k, labels[k], s.Y[i])
			}
			for j, v := range s.Row(i) {
				if got := x(k*6 + j); got != float64(v) {
					t.Fatalf("%s: x[%d] = %g; want %g", name, k*6+j, got, v)
				}
			}
		}
	}
	for _, d := range []Dataset{s, wrapped{s}} {
		x32, x64, labels := make([]float32, 24), make([]float64, 24), make([]int, 4)
		Gather(d, idx, x32, labels)
		check("float32", func(i int) float64 { return float64(x32[i]) }, labels)
		clear(labels)
		Gather(d, idx, x64, labels)
		check("float64", func(i int) float64 { return x64[i] }, labels)
	}
}

// TestGatherSpread checks Gather of a batch large enough to be spread over
// the cores, cut into bands of rows, with 1, 2 and 3 threads, and that it
// allocates nothing after the first call.
func TestGatherSpread(t *testing.T) {
	defer kernel.SetThreads(0)
	s := testSet(t, 300, []int{128})
	idx := make([]int, 257) // spreadAt elements and more, in bands of unequal rows
	for k := range idx {
		idx[k] = (k * 7) % s.Len()
	}
	x, labels := make([]float32, len(idx)*128), make([]int, len(idx))
	for _, threads := range []int{1, 2, 3} {
		kernel.SetThreads(threads)
		clear(x)
		clear(labels)
		Gather(s, idx, x, labels)
		for k, i := range idx {
			if labels[k] != s.Y[i] || !slices.Equal(x[k*128:(k+1)*128], s.Row(i)) {
				t.Fatalf("threads %d: Gather row %d (example %d) = %v, label %d; want %v, %d", threads, k, i, x[k*128:(k+1)*128], labels[k], s.Row(i), s.Y[i])
			}
		}
		if a := testing.AllocsPerRun(20, func() { Gather(s, idx, x, labels) }); a != 0 {
			t.Errorf("threads %d: Gather made %g allocations; want 0", threads, a)
		}
	}
}

func TestGatherAllocatesNothing(t *testing.T) {
	s := testSet(t, 100, []int{1, 4, 4})
	b := Batches{Order: make([]int, s.Len()), Size: 32}
	x32, x64, labels := make([]float32, 32*16), make([]float64, 32*16), make([]int, 32)
	epoch := 0
	for _, c := range []struct {
		name string
		f    func()
	}{
		{"Permute", func() { Permute(b.Order, 1, epoch); epoch++ }},
		{"Gather float32 *Set", func() { Gather(s, b.Batch(0), x32, labels) }},
		{"Gather float64 *Set", func() { Gather(s, b.Batch(0), x64, labels) }},
		{"Gather float32 Dataset", func() { Gather(wrapped{s}, b.Batch(0), x32, labels) }},
		{"an epoch of batches", func() {
			for _, idx := range b.All() {
				Gather(s, idx, x32[:len(idx)*16], labels[:len(idx)])
			}
		}},
	} {
		if a := testing.AllocsPerRun(20, c.f); a != 0 {
			t.Errorf("%s: %g allocations; want 0", c.name, a)
		}
	}
}

func TestGatherPanics(t *testing.T) {
	s := testSet(t, 10, []int{3})
	for _, c := range []struct {
		name string
		f    func()
		want string
	}{
		{"short x", func() { Gather(s, []int{1, 2}, make([]float32, 5), make([]int, 2)) }, "data: Gather buffer length is not len(idx) × example size"},
		{"long labels", func() { Gather(s, []int{1, 2}, make([]float32, 6), make([]int, 3)) }, "data: Gather labels length is not len(idx)"},
		{"Example", func() { s.Example(0, make([]float32, 2)) }, "data: Example buffer length is not Dim()"},
		{"Batches.Size", func() { Batches{Order: []int{1}}.Len() }, "data: Batches.Size not positive"},
		{"Batch(Len())", func() { Batches{Order: []int{1}, Size: 1}.Batch(1) }, "data: batch index out of range"},
		{"Split(2)", func() { s.Split(2, 0) }, "data: Split fraction not in [0, 1]"},
	} {
		func() {
			defer func() {
				if r := recover(); r != c.want {
					t.Errorf("%s: panic %v; want %q", c.name, r, c.want)
				}
			}()
			c.f()
		}()
	}
}

func BenchmarkGather(b *testing.B) {
	for _, bs := range []int{64, 256} {
		b.Run(fmt.Sprint(bs), func(b *testing.B) { benchmarkGather(b, bs) })
	}
}

func itoa(n int) string {
	return string(rune('0'+n/100%10)) + string(rune('0'+n/10%10)) + string(rune('0'+n%10))
}

func benchmarkGather(b *testing.B, batch int) {
	s := testSet(b, 10000, []int{1, 28, 28})
	bt := Batches{Order: Perm(s.Len(), 1, 0), Size: batch}
	x, labels := make([]float32, batch*s.Dim()), make([]int, batch)
	b.SetBytes(int64(4 * batch * s.Dim()))
	b.ReportAllocs()
	k := 0
	for b.Loop() {
		Gather(s, bt.Batch(k%(s.Len()/batch)), x, labels)
		k++
	}
}
