//go:build race

package kernel

// raceEnabled is set when the race detector runs: it makes sync.Pool drop
// items at random, so allocation counts mean nothing.
const raceEnabled = true
