//go:build aix || (solaris && !illumos)

package run

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

var errWouldBlock = errors.New("run: locked")

// locksInProcess says whether a second lock of a directory in this process
// is refused: an fcntl lock is the process's, so it is not.
const locksInProcess = false

// lockFile takes an exclusive fcntl (POSIX) lock on all of f without
// waiting, where there is no flock (AIX, Solaris). Another process is
// refused as with flock, but the lock is weaker within this process: it
// belongs to the process, not to the open file, so a second LockDir of the
// same directory in this process is not refused, and closing any
// descriptor of the lock file in this process, not only the Lock's,
// releases it.
func lockFile(f *os.File) error {
	lk := unix.Flock_t{Type: unix.F_WRLCK, Whence: 0, Start: 0, Len: 0} // Len 0: to the end, however it grows
	for {
		err := unix.FcntlFlock(f.Fd(), unix.F_SETLK, &lk)
		switch {
		case err == unix.EINTR:
			continue
		case err == unix.EAGAIN || err == unix.EACCES:
			return errWouldBlock
		}
		return err
	}
}
