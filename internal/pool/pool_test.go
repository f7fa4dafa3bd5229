package pool_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"

	"github.com/descentml/descent/internal/pool"
)

func TestRun(t *testing.T) {
	for _, workers := range []int{0, 1, 3, 100} {
		var running, most atomic.Int32
		sum := 0
		err := pool.Run(context.Background(), 50, workers, func(_ context.Context, i int) int {
			n := running.Add(1)
			for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
			}
			defer running.Add(-1)
			return i * i
		}, func(i, r int) error {
			if r != i*i {
				t.Errorf("done(%d, %d); want %d", i, r, i*i)
			}
			sum += r
			return nil
		})
		if err != nil || sum != 40425 {
			t.Errorf("workers %d: sum %d, %v; want 40425", workers, sum, err)
		}
		if m := most.Load(); m > int32(max(workers, 1)) {
			t.Errorf("workers %d: %d jobs ran at once", workers, m)
		}
	}
}

func TestRunStops(t *testing.T) {
	stop := errors.New("stop")
	var started atomic.Int32
	err := pool.Run(context.Background(), 1000, 2, func(ctx context.Context, i int) error {
		started.Add(1)
		return ctx.Err()
	}, func(i int, _ error) error {
		if i == 3 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || started.Load() > 100 {
		t.Errorf("Run = %v after %d jobs started; want stop, soon", err, started.Load())
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := pool.Run(ctx, 10, 2, func(context.Context, int) int { return 0 }, func(int, int) error { return nil }); !errors.Is(err, context.Canceled) {
		t.Errorf("Run with a cancelled context = %v", err)
	}
}
