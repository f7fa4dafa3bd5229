//go:build !unix

package serve

import "time"

// nonBlock is the flag that keeps an open from waiting (see dirFS): none
// here, where no FIFO lies in a directory.
const nonBlock = 0

// holder cannot tell whether a process holds a lock here: the run package
// takes no lock where there is no flock.
func holder(int, time.Time) lockState { return lockUnknown }
