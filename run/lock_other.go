//go:build !unix

package run

import (
	"errors"
	"os"
)

var errWouldBlock = errors.New("run: locked")

// lockFile does nothing where flock is not available: directories are not
// locked there.
func lockFile(*os.File) error { return nil }

// unlockFile does nothing: nothing was locked.
func unlockFile(*os.File) error { return nil }
