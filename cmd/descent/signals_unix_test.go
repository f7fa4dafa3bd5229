//go:build unix

package main

import (
	"os"
	"syscall"
	"testing"
)

// TestSIGTERMStatus checks that a command stopped by SIGTERM exits with
// 143, as a shell reports a process SIGTERM kills, and by Ctrl-C with 130.
func TestSIGTERMStatus(t *testing.T) {
	defer received.Store(nil) // for the tests after
	for _, tc := range []struct {
		sig  os.Signal
		want int
	}{{syscall.SIGINT, 130}, {syscall.SIGTERM, 143}} {
		ctx, stop := interruptible()
		if err := syscall.Kill(os.Getpid(), tc.sig.(syscall.Signal)); err != nil {
			t.Fatal(err)
		}
		<-ctx.Done()
		stop()
		if got := interruptedStatus(); got != tc.want {
			t.Errorf("interruptedStatus() after %v = %d; want %d", tc.sig, got, tc.want)
		}
	}
}
