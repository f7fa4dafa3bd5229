package main

import (
	"context"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
)

// received is the signal that cancelled the latest interruptible
// context, nil if none has.
var received atomic.Pointer[os.Signal]

// interruptible returns a context cancelled by Ctrl-C or SIGTERM, and
// notes which (interruptedStatus).
func interruptible() (context.Context, context.CancelFunc) {
	received.Store(nil)
	ctx, cancel := context.WithCancel(context.Background())
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	go func() {
		select {
		case s := <-ch:
			received.Store(&s)
			cancel()
		case <-ctx.Done():
		}
	}()
	return ctx, func() {
		signal.Stop(ch)
		cancel()
	}
}

// interruptedStatus returns the exit status of a command that a signal
// stopped, as shells give one that it kills: 128 + the signal's number,
// 143 for SIGTERM, 130 for Ctrl-C (SIGINT) or an interruption of another
// rank.
func interruptedStatus() int {
	if s := received.Load(); s != nil && *s == syscall.SIGTERM {
		return 143
	}
	return 130
}
