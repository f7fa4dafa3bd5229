//go:build !unix

package serve

import "time"

// nonBlock is the flag that keeps an open from waiting (see dirFS): none
// here, where no FIFO lies in a directory.
const nonBlock = 0

// holder cannot tell whether a process holds a lock here: on Plan 9 and
// WebAssembly the run package takes no lock, and on Windows, where it
// does, nothing here asks after a process (a lock of this process is
// known without: lockline.Held).
func holder(int, time.Time) lockState { return lockUnknown }

// lockedBeforeBoot cannot tell when this machine booted here: false.
func lockedBeforeBoot(time.Time) bool { return false }
