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
// host gpu1, boot 6e5a0b1c-…, since 2006-01-02 15:04:05)" (package
// lockline); it empties
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
// (or in another PID namespace of this one) took, holder, and whose files
// are no longer fresh: it may train on (an epoch longer than the idle
// time), or have been killed there and left its lock file behind, and
// neither can be told from here.
func elsewhere(holder string) (Status, string) {
	where := "on another machine"
	if h, _ := lockline.Parse(holder); h.Boot != "" && h.Boot == lockline.Boot() {
		where = "in another PID namespace of this machine (a container)"
	}
	return Unknown, "locked by " + holder + " " + where + ", and not written to lately: it may still run there, or have stopped without releasing its lock; this machine cannot tell"
}

// place is where the process a lock line names ran, seen from this one.
type place int

const (
	here         place = iota // this machine, as far as can be told, where its pid means what it meant: ask holder
	previousBoot              // this machine before it last booted: the process is gone
	away                      // another machine, or another PID namespace of this one: its pid means nothing here
)

// locate tells where h ran, for a process on host, booted as boot, in PID
// namespace pidns (lockline.Host, Boot and PIDNamespace: "" for unknown).
// A line of this boot is this machine's whatever its host, which may have
// been renamed since (a laptop on DHCP), but its pid means something only
// in the same PID namespace. A line of another boot is of a previous boot
// if its host is this one's, and of another machine if not. A line
// without a boot (an older descent's, or a machine that has none), or
// read where there is none, is judged by its host alone: another host is
// another machine, and the same or none (a line written before the host
// was) this one.
func locate(h lockline.Holder, host, boot, pidns string) place {
	otherHost := h.Host != "" && host != "" && h.Host != host
	switch {
	case h.Boot == "" || boot == "":
		if otherHost {
			return away
		}
		return here
	case h.Boot == boot:
		if h.PIDNS != pidns {
			return away
		}
		return here
	case h.Host != "" && h.Host == host:
		return previousBoot
	}
	return away
}

// probeLock reports the state of the lock of dir in fsys without taking
// it, and the line of its lock file. Even a shared lock held for an
// instant would make a descent train that starts in that instant fail,
// since run.LockDir does not wait: the probe only reads the lock file (it
// never creates one) and asks whether the process it names lives (see
// holder). A lock file that is empty was released. A lock this process
// holds (a Go program that trains and serves) is known without opening
// its file (lockline.Held), since, where the lock is fcntl's (AIX,
// Solaris), closing any descriptor of the file releases it.
//
// Where the line's process ran decides (locate): on another machine, or
// in another PID namespace, it is lockElsewhere, since its pid means
// nothing here; on this machine before it last booted, lockFree, but
// only if the lock file was written before that boot (a machine of
// another boot under the same host name that wrote it since, one of two
// cloned machines sharing the directory, is lockElsewhere); here,
// holder asks after its pid. A line without a host or a boot (an older
// descent's) is taken for this machine's, so that a run trained on
// another machine, or in another PID namespace (a container) that shares
// this one's host name, by a descent that wrote neither, reads as not
// held.
func probeLock(fsys fs.FS, dir string) (lockState, string) {
	name := path.Join(dir, lockFile)
	info, err := fs.Stat(fsys, name)
	if err != nil || !info.Mode().IsRegular() {
		return lockUnknown, ""
	}
	if line, ok := lockline.Held(info); ok {
		return lockHeld, line
	}
	f, err := fsys.Open(name)
	if err != nil {
		return lockUnknown, ""
	}
	info, err = f.Stat()
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
	if !ok {
		return lockUnknown, line
	}
	switch locate(h, lockline.Host(), lockline.Boot(), lockline.PIDNamespace()) {
	case away:
		return lockElsewhere, line
	case previousBoot:
		if lockedBeforeBoot(info.ModTime()) {
			return lockFree, line
		}
		// Written since this machine booted, so by another machine
		// under the same name (cloned VMs, a container's fixed host
		// name) that shares the directory.
		return lockElsewhere, line
	}
	return holder(h.PID, info.ModTime()), line
}
