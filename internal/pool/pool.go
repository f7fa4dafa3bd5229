// Package pool runs jobs on a fixed number of goroutines: the worker pool
// that explore's comparisons and tune's searches share.
package pool

import (
	"context"
	"sync"
)

// Run calls work(ctx, i) for each i in [0, n), on at most workers
// goroutines (at least one), and done(i, r) with each result as it
// finishes, from the calling goroutine, never concurrently. When done
// returns an error or ctx is cancelled, no further job starts and the
// context the running jobs see is cancelled; Run waits for them, passes
// their results to done until it has returned an error, and returns that
// error, or else ctx's.
func Run[R any](ctx context.Context, n, workers int, work func(ctx context.Context, i int) R, done func(i int, r R) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type result struct {
		i int
		r R
	}
	jobs, results := make(chan int), make(chan result)
	var wg sync.WaitGroup
	for range max(1, min(workers, n)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				results <- result{i, work(ctx, i)}
			}
		}()
	}
	go func() {
		defer close(jobs)
		for i := range n {
			select {
			case jobs <- i:
			case <-ctx.Done():
				return
			}
		}
	}()
	go func() {
		wg.Wait()
		close(results)
	}()
	var err error
	for res := range results {
		if err != nil {
			continue // drain: the workers must not block
		}
		if err = done(res.i, res.r); err != nil {
			cancel()
		}
	}
	if err != nil {
		return err
	}
	return ctx.Err()
}
