//go:build !unix

package serve

import "time"

// holder cannot tell whether a process holds a lock here: the run package
// takes no lock where there is no flock.
func holder(int, time.Time) lockState { return lockUnknown }
