//go:build unix

package benchmodels

import (
	"runtime"
	"syscall"
)

// PeakRSSMB returns the most memory this process has held resident, in
// MiB (getrusage's ru_maxrss: kilobytes, but bytes on macOS), or -1 if
// the system does not say.
func PeakRSSMB() int64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return -1
	}
	if runtime.GOOS == "darwin" || runtime.GOOS == "ios" {
		return int64(ru.Maxrss) >> 20
	}
	return int64(ru.Maxrss) >> 10
}
