package serve

import (
	"io"
	"io/fs"
	"path"
	"strings"

	"github.com/descentml/descent/internal/lockline"
)

// lockFile is the file in a directory on which the process that writes
// the directory (descent train, tune, compare, ...) holds an exclusive
// lock, and into which it writes who it is, "descent train (pid 1234,
// host gpu1, since 2006-01-02 15:04:05)" (package lockline); it empties
// the file when it releases the lock (run.LockFile, run.LockDir).
const lockFile = ".lock"

// lockState is what a directory's lock says of the process writing it.
type lockState int

const (
	lockUnknown   lockState = iota // no lock file, or one that cannot tell: decide by the files' times
	lockHeld                       // a process is writing the directory, whatever the times of its files
	lockFree                       // none is: the work stopped, at once rather than after the idle time
	lockElsewhere                  // a process on another machine took it, whose life this one cannot see
)

// live reports whether the work in a directory goes on: while its lock is
// held or, with no lock to tell (or one taken on another machine), while
// its files are fresh.
func (l lockState) live(fresh bool) bool {
	return l == lockHeld || (l == lockUnknown || l == lockElsewhere) && fresh
}

// elsewhere is the status of work whose lock a process on another machine
// took, holder, and whose files are no longer fresh: it may train on
// (an epoch longer than the idle time), or have been killed there and
// left its lock file behind, and neither can be told from here.
func elsewhere(holder string) (Status, string) {
	return Unknown, "locked by " + holder + " on another machine, and not written to lately: it may still run there, or have stopped without releasing its lock; this machine cannot tell"
}

// probeLock reports the state of the lock of dir in fsys without taking
// it, and the line of its lock file. Even a shared lock held for an
// instant would make a descent train that starts in that instant fail,
// since run.LockDir does not wait: the probe only reads the lock file (it
// never creates one) and asks whether the process it names lives (see
// holder). A lock file that is empty was released.
//
// A line that names another host than this machine's is lockElsewhere:
// its pid means nothing here. A line without a host (written before the
// host was) is taken for this machine's, so that a run trained on another
// machine, or in another PID namespace (a container) that shares this
// one's host name, by a descent that wrote no host, reads as not held.
func probeLock(fsys fs.FS, dir string) (lockState, string) {
	f, err := fsys.Open(path.Join(dir, lockFile))
	if err != nil {
		return lockUnknown, ""
	}
	info, err := f.Stat()
	if err != nil || !info.Mode().IsRegular() {
		f.Close()
		return lockUnknown, ""
	}
	b, err := io.ReadAll(io.LimitReader(f, 1024))
	f.Close()
	if err != nil {
		return lockUnknown, ""
	}
	line := strings.TrimSpace(string(b))
	if line == "" {
		return lockFree, ""
	}
	h, ok := lockline.Parse(line)
	switch {
	case !ok:
		return lockUnknown, line
	case h.Host != "" && lockline.Host() != "" && h.Host != lockline.Host():
		return lockElsewhere, line
	}
	return holder(h.PID, info.ModTime()), line
}
