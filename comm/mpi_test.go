//go:build mpi && cgo

package comm

import (
	"fmt"
	"math"
	"os"
	"strings"
	"testing"
)

// The tests in this file run on every rank of
//
//	go test -tags mpi -c -o comm.test ./comm
//	mpirun --oversubscribe -np 3 ./comm.test
//
// (and on one process under plain go test -tags mpi).

var procs *Comm

func TestMain(m *testing.M) {
	c, err := Init()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	procs = c
	code := m.Run()
	if code != 0 {
		c.Abort(code)
	}
	if err := c.Close(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	os.Exit(code)
}

// contribution is rank r's i-th element: values of many magnitudes, so that
// the order of the additions shows in the result.
func contribution(r, i int) float64 {
	return math.Ldexp(1/float64(3+7*r+i%11), (i*(r+1))%40-20)
}

func testAllReduce[T Float](t *testing.T, n int) {
	c := procs
	buf := make([]T, n)
	want := make([]T, n)
	for i := range buf {
		buf[i] = T(contribution(c.Rank(), i))
		for r := range c.Size() {
			if r == 0 {
				want[i] = T(contribution(r, i))
			} else {
				want[i] += T(contribution(r, i))
			}
		}
	}
	if err := AllReduceSum(c, buf); err != nil {
		t.Fatal(err)
	}
	for i := range buf {
		if math.Float64bits(float64(buf[i])) != math.Float64bits(float64(want[i])) {
			t.Fatalf("AllReduceSum(n=%d) on %v: [%d] = %v; want %v (the sum in rank order)", n, c, i, buf[i], want[i])
		}
	}
}

func TestAllReduceSumIsInRankOrder(t *testing.T) {
	for _, n := range []int{1, 2, 3, 5, 1000, 100003} {
		t.Run(fmt.Sprint("float32/", n), func(t *testing.T) { testAllReduce[float32](t, n) })
		t.Run(fmt.Sprint("float64/", n), func(t *testing.T) { testAllReduce[float64](t, n) })
	}
}

func TestAllReduceMean(t *testing.T) {
	buf := []float64{float64(procs.Rank())}
	if err := AllReduceMean(procs, buf); err != nil {
		t.Fatal(err)
	}
	n := procs.Size()
	if want := float64(n*(n-1)/2) / float64(n); buf[0] != want {
		t.Errorf("AllReduceMean(rank) on %v = %v; want %v", procs, buf[0], want)
	}
}

func TestBroadcast(t *testing.T) {
	root := procs.Size() - 1
	buf := []float32{float32(procs.Rank()), -1}
	if err := Broadcast(procs, buf, root); err != nil {
		t.Fatal(err)
	}
	if buf[0] != float32(root) {
		t.Errorf("Broadcast from rank %d on %v = %v; want [%d -1]", root, procs, buf, root)
	}
	var b []byte
	if procs.Rank() == 0 {
		b = []byte(strings.Repeat("descent", 1000))
	}
	b, err := BroadcastBytes(procs, b, 0)
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != strings.Repeat("descent", 1000) {
		t.Errorf("BroadcastBytes on %v = %d bytes; want rank 0's 7000", procs, len(b))
	}
}

func TestAgree(t *testing.T) {
	if err := Agree(procs, []byte("same"), "the recipe"); err != nil {
		t.Errorf("Agree(same bytes) on %v = %v; want nil", procs, err)
	}
	if procs.Size() == 1 {
		return
	}
	err := Agree(procs, []byte{byte(procs.Rank() % 2)}, "the recipe")
	if err == nil || !strings.Contains(err.Error(), "the recipe: rank") || !strings.Contains(err.Error(), " 1") {
		t.Errorf("Agree(rank %% 2) on %v = %v; want an error naming rank 1 on every rank", procs, err)
	}
}

func TestAnyOf(t *testing.T) {
	got, err := AnyOf(procs, procs.Rank() == procs.Size()-1)
	if err != nil || !got {
		t.Errorf("AnyOf(last rank) on %v = %v, %v; want true", procs, got, err)
	}
	got, err = AnyOf(procs, false)
	if err != nil || got {
		t.Errorf("AnyOf(false) on %v = %v, %v; want false", procs, got, err)
	}
}

func TestBarrier(t *testing.T) {
	if err := procs.Barrier(); err != nil {
		t.Fatal(err)
	}
}

// BenchmarkAllReduce measures AllReduceSum of float32 buffers; MB/s is the
// buffer's size over the time. Every rank must run the same number of
// iterations: pass -test.benchtime=20x.
func BenchmarkAllReduce(b *testing.B) {
	for _, mb := range []int{1, 4, 16, 40, 64} {
		b.Run(fmt.Sprintf("%dMB", mb), func(b *testing.B) {
			buf := make([]float32, mb<<20/4)
			if mb == 40 {
				buf = make([]float32, 10_000_000) // the 10M-element buffer
			}
			for i := range buf {
				buf[i] = float32(i % 7)
			}
			b.SetBytes(int64(4 * len(buf)))
			b.ReportAllocs()
			procs.Barrier()
			b.ResetTimer()
			for range b.N {
				if err := AllReduceSum(procs, buf); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
