package serve

import (
	"io"
	"io/fs"
	"path"
	"strconv"
	"strings"
)

// lockFile is the file in a directory on which the process that writes
// the directory (descent train, tune, compare, ...) holds an exclusive
// flock, and into which it writes who it is, "descent train (pid 1234,
// since 2006-01-02 15:04:05)"; it empties the file when it releases the
// lock (run.LockFile, run.LockDir).
const lockFile = ".lock"

// lockState is what a directory's lock says of the process writing it.
type lockState int

const (
	lockUnknown lockState = iota // no lock file, or one that cannot tell: decide by the files' times
	lockHeld                     // a process is writing the directory, whatever the times of its files
	lockFree                     // none is: the work stopped, at once rather than after the idle time
)

// live reports whether the work in a directory goes on: while its lock is
// held or, with no lock to tell, while its files are fresh.
func (l lockState) live(fresh bool) bool { return l == lockHeld || l == lockUnknown && fresh }

// probeLock reports the state of the lock of dir in fsys without taking
// it. Even a shared lock held for an instant would make a descent train
// that starts in that instant fail, since run.LockDir does not wait: the
// probe only reads the lock file (it never creates one) and asks whether
// the process it names lives (see holder). A lock file that is empty was
// released.
//
// The process is looked for among this machine's: a run trained on
// another machine, or in another PID namespace (a container), and served
// from a shared directory, reads as not held, so it shows as stopped or
// failed while it trains.
func probeLock(fsys fs.FS, dir string) lockState {
	f, err := fsys.Open(path.Join(dir, lockFile))
	if err != nil {
		return lockUnknown
	}
	info, err := f.Stat()
	if err != nil || !info.Mode().IsRegular() {
		f.Close()
		return lockUnknown
	}
	b, err := io.ReadAll(io.LimitReader(f, 1024))
	f.Close()
	if err != nil {
		return lockUnknown
	}
	line := strings.TrimSpace(string(b))
	if line == "" {
		return lockFree
	}
	pid, ok := lockPID(line)
	if !ok {
		return lockUnknown
	}
	return holder(pid, info.ModTime())
}

// lockPID returns the pid a lock file's line names.
func lockPID(line string) (int, bool) {
	_, rest, ok := strings.Cut(line, "(pid ")
	if !ok {
		return 0, false
	}
	digits, _, _ := strings.Cut(rest, ",")
	pid, err := strconv.Atoi(strings.TrimSuffix(digits, ")"))
	return pid, err == nil && pid > 0
}
