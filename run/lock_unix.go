//go:build unix && !aix && !(solaris && !illumos)

package run

import (
	"os"
	"syscall"
)

var errWouldBlock error = syscall.EWOULDBLOCK

// lockFile takes an exclusive flock on f without waiting. flock locks
// belong to the open file, so a second open of the same file, in this
// process or another, is refused. AIX and Solaris have no flock
// (lock_fcntl.go).
func lockFile(f *os.File) error {
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err != syscall.EINTR {
			return err
		}
	}
}

// unlockFile releases the lock of f, which closing f would also do.
func unlockFile(f *os.File) error { return syscall.Flock(int(f.Fd()), syscall.LOCK_UN) }

// openFilesRemovable says whether a file can be removed while it is open.
const openFilesRemovable = true
