//go:build race

package serve

// raceSlowdown scales the time bounds of tests: the race detector runs
// code 2–20 times slower, more on a loaded machine.
const raceSlowdown = 10
