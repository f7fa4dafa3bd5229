package comm

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// TestShareLocal checks that every rank of Local receives root's value
// itself: the same pointer, the same slice, not a copy; and that calls in
// a row, between other collective calls, each give their own root's.
func TestShareLocal(t *testing.T) {
	type payload struct{ rank int }
	for size := 1; size <= 4; size++ {
		for root := range size {
			mine := make([]*payload, size)
			bufs := make([][]float32, size)
			for r := range size {
				mine[r], bufs[r] = &payload{r}, make([]float32, 3)
			}
			got := make([]*payload, size)
			gotSlice := make([][]float32, size)
			errs := onRanks(t, size, func(c *Comm) error {
				r := c.Rank()
				got[r] = ShareLocal(c, mine[r], root)
				if err := AllReduceSum(c, make([]float64, 5)); err != nil {
					return err
				}
				gotSlice[r] = ShareLocal(c, bufs[r], root)
				if n := ShareLocal(c, 10*r, size-1-root); n != 10*(size-1-root) {
					return fmt.Errorf("ShareLocal(%d, root %d) = %d; want %d", 10*r, size-1-root, n, 10*(size-1-root))
				}
				return nil
			})
			noErrors(t, errs, fmt.Sprintf("%d ranks, root %d", size, root))
			for r := range size {
				if got[r] != mine[root] {
					t.Errorf("%d ranks: ShareLocal(rank %d's pointer, root %d) = rank %d's; want root's", size, r, root, got[r].rank)
				}
				if &gotSlice[r][0] != &bufs[root][0] {
					t.Errorf("%d ranks: ShareLocal(rank %d's slice, root %d) is not root's slice", size, r, root)
				}
			}
		}
	}
}

// TestShareLocalMismatchPanics checks that ranks that share values of
// different types, name different roots, or make another call at once
// panic on every rank, as any collective call; and that ShareLocal panics
// on ranks that are not Local's.
func TestShareLocalMismatchPanics(t *testing.T) {
	for _, c := range []struct {
		name string
		call func(c *Comm) error
	}{
		{"types", func(c *Comm) error {
			if c.Rank() == 0 {
				ShareLocal(c, int64(1), 0) // 8 bytes, as rank 1's
				return nil
			}
			ShareLocal(c, 1.0, 0)
			return nil
		}},
		{"roots", func(c *Comm) error {
			ShareLocal(c, "x", c.Rank())
			return nil
		}},
		{"calls", func(c *Comm) error {
			if c.Rank() == 0 {
				ShareLocal(c, make([]byte, 8), 0)
				return nil
			}
			return Broadcast(c, make([]byte, 8), 0)
		}},
	} {
		for r, err := range onRanks(t, 2, c.call) {
			if !errors.Is(err, errPanic) || !strings.Contains(err.Error(), "comm: ") {
				t.Errorf("%s differ between the ranks: rank %d of 2: %v; want a panic", c.name, r, err)
			}
		}
	}
	if v := ShareLocal(Single(), 7, 0); v != 7 {
		t.Errorf("ShareLocal(Single(), 7, 0) = %d; want 7", v)
	}
	mpi := &Comm{rank: 0, size: 2, mpi: true} // a rank of mpirun's, as Init makes it
	defer func() {
		if p := recover(); p == nil || !strings.Contains(fmt.Sprint(p), "comm: ") {
			t.Errorf("ShareLocal between MPI processes: %v; want a panic", p)
		}
	}()
	ShareLocal(mpi, 7, 0)
}
