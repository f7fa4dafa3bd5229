package kernel

import "golang.org/x/sys/unix"

// firstCPUs returns up to n of the CPUs the calling thread may run on, in
// order.
func firstCPUs(n int) []int {
	var set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &set); err != nil {
		return nil
	}
	var cpus []int
	for c := 0; c < 1024 && len(cpus) < n; c++ {
		if set.IsSet(c) {
			cpus = append(cpus, c)
		}
	}
	return cpus
}

// setAffinity restricts the calling thread, which must be locked to its
// goroutine, to cpu, and returns a function that restores its mask and
// reports whether it could.
func setAffinity(cpu int) (restore func() bool) {
	var old, set unix.CPUSet
	if unix.SchedGetaffinity(0, &old) != nil {
		return func() bool { return true }
	}
	set.Set(cpu)
	if unix.SchedSetaffinity(0, &set) != nil {
		return func() bool { return true }
	}
	return func() bool { return unix.SchedSetaffinity(0, &old) == nil }
}
