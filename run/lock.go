package run

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/descentml/descent/internal/lockline"
)

// LockFile is the file in a directory whose OS lock says a process is
// using it.
const LockFile = ".lock"

// Lock is an exclusive lock on a directory, held by this process until
// Unlock or its exit (kill -9 included: the operating system drops it, so
// no stale lock is ever left). It is flock's (lock_unix.go), fcntl's
// where there is no flock (AIX, Solaris: lock_fcntl.go), LockFileEx's on
// Windows (lock_windows.go, untested on a real Windows), and none on
// Plan 9 and WebAssembly (lock_other.go).
type Lock struct {
	f       *os.File
	path    string
	release func() // forgets the lock in lockline's record of this process's
}

// ErrLocked is matched by errors.Is for the error of a directory another
// process holds.
var ErrLocked = errors.New("run: directory in use")

// lockMu makes one step of each LockDir and each Unlock, so that a
// directory is never locked twice in this process (see LockDir).
var lockMu sync.Mutex

// LockDir takes the lock on dir, which must exist, for what (a few words
// that a refused process shows: "descent train"). A directory another
// process holds is an error matching ErrLocked that says who holds it;
// so is one this process holds, which is refused before its lock file is
// opened: where the lock is fcntl's (lock_fcntl.go), closing any
// descriptor of the file would release it. The lock file holds who this
// process is while it holds the lock, as "descent train (pid 1234, host
// gpu1, boot 6e5a0b1c-…, since 2006-01-02 15:04:05)": the host and the
// boot tell a process on another machine that shares the directory, or on
// this one before it last booted, from one on this one (package
// lockline); Unlock empties it. Until then lockline.Held knows the file
// for this process's, so that serve need not open it either.
func LockDir(dir, what string) (*Lock, error) {
	path := filepath.Join(dir, LockFile)
	lockMu.Lock()
	defer lockMu.Unlock()
	if info, err := os.Stat(path); err == nil {
		if line, held := lockline.Held(info); held {
			return nil, inUse(dir, line)
		}
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	if err := lockFile(f); err != nil {
		holder, _ := os.ReadFile(path)
		f.Close()
		if errors.Is(err, errWouldBlock) {
			return nil, inUse(dir, string(holder))
		}
		return nil, fmt.Errorf("run: locking %s: %w", dir, err)
	}
	line := lockline.This(what).String()
	f.Truncate(0)
	fmt.Fprintln(f, line)
	info, err := f.Stat()
	if err != nil {
		unlockFile(f)
		f.Close()
		return nil, fmt.Errorf("run: locking %s: %w", dir, err)
	}
	return &Lock{f: f, path: path, release: lockline.Hold(info, line)}, nil
}

// inUse is the error of dir, which the process of line holds.
func inUse(dir, line string) error {
	h := strings.TrimSpace(line)
	if h == "" {
		h = "another process"
	}
	return fmt.Errorf("%w: %s is in use by %s", ErrLocked, dir, h)
}

// Unlock releases the lock; a nil Lock is none.
func (l *Lock) Unlock() error {
	if l == nil {
		return nil
	}
	lockMu.Lock()
	defer lockMu.Unlock()
	if l.f == nil {
		return nil
	}
	f := l.f
	l.f = nil
	l.release()
	f.Truncate(0)
	unlockFile(f)
	return f.Close()
}

// Output is the locked output directory of a command that writes results
// (compare, lr-find, tune, landscape).
type Output struct {
	Dir  string
	lock *Lock
	made string // by OpenOutput: the highest directory it made (mkdirs)
}

// OpenOutput returns the output directory of command name, which writes
// file: OutputDir(name, dir, file), made if need be and locked (LockDir)
// until Close, so that two commands never write the same results. A
// directory that holds results, of name or of another command, is refused.
func OpenOutput(name, dir, file string) (*Output, error) {
	dir, err := OutputDir(name, dir, file)
	if err != nil {
		return nil, err
	}
	made, err := mkdirs(dir)
	if err != nil {
		return nil, err
	}
	o := &Output{Dir: dir, made: made}
	if o.lock, err = LockDir(dir, "descent "+name); err != nil {
		o.Close()
		return nil, err
	}
	if err := checkOutput(name, dir, file); err != nil { // written while we were not holding it
		o.Close()
		return nil, err
	}
	return o, nil
}

// Close releases the directory and removes its lock file, and the
// directory itself, and the parents OpenOutput made with it, if nothing
// was written into them:
// a command that fails leaves none behind.
func (o *Output) Close() error {
	if o.lock != nil {
		o.lock.unlockRemove()
		o.lock = nil
	}
	unmake(o.Dir, o.made)
	return nil
}

// unlockRemove releases l and removes its lock file: before the release
// where an open file can be removed, so that no other process locks a
// file about to go; after it where not (Windows), and then not if another
// process has opened it since, which Windows refuses.
func (l *Lock) unlockRemove() {
	if openFilesRemovable {
		os.Remove(l.path)
	}
	l.Unlock()
	if !openFilesRemovable {
		os.Remove(l.path)
	}
}
