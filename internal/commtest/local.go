package commtest

import (
	"fmt"
	"testing"
	"time"

	"github.com/descentml/descent/comm"
)

// Timeout bounds the ranks of OnLocal: ranks that deadlock fail the test
// instead of hanging it.
const Timeout = 2 * time.Minute

// OnLocal calls f on every rank of comm.Local(n), each in its goroutine,
// and returns what each returned; a rank that panics returns the panic as
// its error. f must not fail the test (only the test's goroutine may).
// OnLocal fails the test, without waiting for the ranks, if they have not
// all returned within Timeout.
func OnLocal[V any](t testing.TB, n int, f func(c *comm.Comm) (V, error)) ([]V, []error) {
	t.Helper()
	vs, errs := make([]V, n), make([]error, n)
	left := make(chan struct{}, n)
	for r, c := range comm.Local(n) {
		go func() {
			defer func() { left <- struct{}{} }()
			defer func() {
				if p := recover(); p != nil {
					errs[r] = fmt.Errorf("panic: %v", p)
				}
			}()
			vs[r], errs[r] = f(c)
		}()
	}
	deadline := time.After(Timeout)
	for range n {
		select {
		case <-left:
		case <-deadline:
			t.Fatalf("%d local ranks: not all returned within %v (deadlock?)", n, Timeout)
		}
	}
	return vs, errs
}
