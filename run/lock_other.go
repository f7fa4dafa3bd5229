//go:build !unix && !windows

package run

import (
	"errors"
	"os"
)

var errWouldBlock = errors.New("run: locked")

// lockFile does nothing where there is neither flock, fcntl nor
// LockFileEx (Plan 9, WebAssembly): directories are not locked against
// other processes there, only, by LockDir's record, against a second
// LockDir in this one.
func lockFile(*os.File) error { return nil }

// unlockFile does nothing: nothing was locked.
func unlockFile(*os.File) error { return nil }

// openFilesRemovable says whether a file can be removed while it is open.
const openFilesRemovable = true
