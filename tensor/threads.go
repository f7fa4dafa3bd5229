package tensor

import "github.com/descentml/descent/internal/kernel"

// SetThreads sets how many goroutines descent's kernels — matrix
// multiplies, convolutions, optimizer steps — spread their work over; n < 1
// means one per CPU (GOMAXPROCS), the default. Results do not depend on it.
// It must not be called while a computation is running.
func SetThreads(n int) { kernel.SetThreads(n) }

// Threads returns the number of goroutines descent's kernels use.
func Threads() int { return kernel.Threads() }
