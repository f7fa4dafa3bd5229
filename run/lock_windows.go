package run

import (
	"os"

	"golang.org/x/sys/windows"
)

var errWouldBlock error = windows.ERROR_LOCK_VIOLATION

// lockOffset is where the byte that the lock covers lies, far past
// anything the lock file holds: a Windows lock is mandatory, so that no
// other handle, in this process or another, may read or write the bytes
// it covers, and the line must stay readable to a refused process and to
// serve. Windows allows a lock past the end of the file.
const lockOffset = 1 << 62

// lockFile takes an exclusive LockFileEx lock of f without waiting.
// Windows locks belong to the handle, as flock's to the open file, so a
// second open of the same file, in this process or another, is refused
// with ERROR_LOCK_VIOLATION; a process that exits, killed or not, leaves
// none (Windows releases it, though not always at once). This is untested
// on a real Windows: only its build is checked, and the logic it shares
// with unix (lock.go) is tested there.
func lockFile(f *os.File) error {
	return windows.LockFileEx(windows.Handle(f.Fd()), windows.LOCKFILE_EXCLUSIVE_LOCK|windows.LOCKFILE_FAIL_IMMEDIATELY, 0, 1, 0, lockRange())
}

// unlockFile releases the lock of f at once: closing f would too, but
// perhaps later.
func unlockFile(f *os.File) error {
	return windows.UnlockFileEx(windows.Handle(f.Fd()), 0, 1, 0, lockRange())
}

// lockRange is the place of the locked byte as LockFileEx takes it.
func lockRange() *windows.Overlapped {
	return &windows.Overlapped{Offset: uint32(lockOffset & 0xffffffff), OffsetHigh: uint32(lockOffset >> 32)}
}

// openFilesRemovable says whether a file can be removed while it is open:
// not on Windows, where Go opens files without FILE_SHARE_DELETE.
const openFilesRemovable = false
