//go:build !linux

package kernel

import "runtime"

// firstCPUs returns n CPU numbers when the machine has as many; without
// Linux's affinity calls they only count the CPUs.
func firstCPUs(n int) []int {
	cpus := make([]int, min(n, runtime.NumCPU()))
	for i := range cpus {
		cpus[i] = i
	}
	return cpus
}

// setAffinity does nothing: the threads run where the system puts them.
func setAffinity(int) (restore func() bool) { return func() bool { return true } }
