//go:build aix || (solaris && !illumos)

package run

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

var errWouldBlock = errors.New("run: locked")

// lockFile takes an exclusive fcntl (POSIX) lock on all of f without
// waiting, where there is no flock (AIX, Solaris). Another process is
// refused as with flock, but the lock is weaker within this process: it
// belongs to the process, not to the open file, so that a second lock of
// the file in this process is granted, and closing any descriptor of the
// lock file in this process, not only the Lock's, releases it. LockDir
// therefore refuses a directory this process holds before it opens its
// lock file, as flock would refuse it, and serve asks lockline.Held
// before it opens one; anything else in this process that opened the
// lock file of a directory it holds would release the lock.
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

// unlockFile releases the lock of f, which closing f would also do.
func unlockFile(f *os.File) error {
	lk := unix.Flock_t{Type: unix.F_UNLCK}
	return unix.FcntlFlock(f.Fd(), unix.F_SETLK, &lk)
}

// openFilesRemovable says whether a file can be removed while it is open.
const openFilesRemovable = true
