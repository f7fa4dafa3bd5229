// Package lockline is the line a process writes into the lock file of a
// directory it uses (run.LockDir), which a refused process shows and
// descent serve reads, without taking the lock, to tell whether the
// process still runs:
//
//	descent train (pid 1234, host gpu1, boot 6e5a0b1c-…-9d2f, since 2006-01-02 15:04:05)
//
// The pid means something only where it was taken: on the machine named,
// since it last booted, and, on Linux, in the same PID namespace (not in
// a container that has its own). A directory shared between machines
// (NFS) may be locked by a process on another, whose life this machine
// cannot see; a process of a machine that has booted since is gone. The
// host is the machine's name (os.Hostname), which may change under a
// running process (a laptop given another by DHCP); the boot is what
// tells this machine's processes whatever its name, an identity that its
// kernel draws anew at every boot ([Boot]: Linux's
// /proc/sys/kernel/random/boot_id, macOS's kern.bootsessionuuid; none
// elsewhere). A process in a PID namespace other than the machine's first
// adds it, "pid namespace 4026532201", after the boot: its pid means
// nothing outside it.
//
// Older lines have less, and each part that is missing is unknown: lines
// written before the boot was recorded, "descent train (pid 1234, host
// gpu1, since 2006-01-02 15:04:05)", and before the host was, "descent
// train (pid 1234, since 2006-01-02 15:04:05)".
//
// The package also keeps which lock files this process holds (Hold,
// Held), so that serve, in the process of a lock, need not open its file:
// where the lock is fcntl's (AIX, Solaris), closing any descriptor of the
// file releases the lock of the whole process.
package lockline

import (
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Holder is what a lock line says of the process that took the lock.
type Holder struct {
	What  string    // a few words: "descent train"
	PID   int       // > 0
	Host  string    // the machine's name; "" if the line has none
	Boot  string    // the machine's boot (see Boot); "" if the line has none
	PIDNS string    // the PID namespace (see PIDNamespace); "" if the machine's first, or unknown
	Since time.Time // when the lock was taken, to the second, in local time; zero if the line has none
}

// This returns this process's Holder, taking a lock for what now.
func This(what string) Holder {
	return Holder{What: what, PID: os.Getpid(), Host: Host(), Boot: Boot(), PIDNS: PIDNamespace(), Since: time.Now()}
}

// String returns the line of h, leaving out the parts that are "" (and
// the time, if zero).
func (h Holder) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s (pid %d", h.What, h.PID)
	for _, p := range [...]struct{ key, value string }{{"host", h.Host}, {"boot", h.Boot}, {"pid namespace", h.PIDNS}} {
		if p.value != "" {
			fmt.Fprintf(&b, ", %s %s", p.key, p.value)
		}
	}
	if !h.Since.IsZero() {
		fmt.Fprintf(&b, ", since %s", h.Since.Format(time.DateTime))
	}
	b.WriteString(")")
	return b.String()
}

// Line returns the line of the process pid on host (left out if "")
// that took the lock at since for what (a few words: "descent train"),
// with no boot: Holder.String for the lines of older descents.
func Line(what string, pid int, host string, since time.Time) string {
	return Holder{What: what, PID: pid, Host: host, Since: since}.String()
}

// Parse returns the holder a line names; ok is false if it names no pid.
// A part it does not know is skipped, and one it cannot read (a time
// that is not one) left zero.
func Parse(line string) (h Holder, ok bool) {
	what, rest, found := strings.Cut(line, "(pid ")
	if !found {
		return Holder{}, false
	}
	rest, _, _ = strings.Cut(rest, ")")
	parts := strings.Split(rest, ", ")
	pid, err := strconv.Atoi(parts[0])
	if err != nil || pid <= 0 {
		return Holder{}, false
	}
	h = Holder{What: strings.TrimSpace(what), PID: pid}
	for _, p := range parts[1:] {
		if v, found := strings.CutPrefix(p, "host "); found {
			h.Host = v
		} else if v, found := strings.CutPrefix(p, "boot "); found {
			h.Boot = v
		} else if v, found := strings.CutPrefix(p, "pid namespace "); found {
			h.PIDNS = v
		} else if v, found := strings.CutPrefix(p, "since "); found {
			h.Since, _ = time.ParseInLocation(time.DateTime, v, time.Local)
		}
	}
	return h, true
}

// Host returns this machine's name as a line holds it (os.Hostname, with
// anything but letters, digits, '.', '-' and '_' replaced by '_', so
// that it cannot break the line), or "" if it has none. It is read once:
// a name changed under a process is not seen by it.
var Host = sync.OnceValue(func() string {
	h, err := os.Hostname()
	if err != nil {
		return ""
	}
	return clean(h)
})

// Boot returns the identity of this machine's boot as a line holds it,
// drawn anew by the kernel at every boot, or "" where there is none:
// Linux's /proc/sys/kernel/random/boot_id and macOS's kern.bootsessionuuid,
// both a random UUID. The BSDs' kern.boottime is not used: it is the
// clock's time less the time since boot, and moves with the clock (set
// by hand or by NTP, or from the hardware clock on resuming from sleep),
// so that a process on this machine would come to seem one of a previous
// boot.
var Boot = sync.OnceValue(func() string { return clean(readBoot()) })

// PIDNamespace returns the PID namespace of this process as a line holds
// it, on Linux the number of /proc/self/ns/pid, or "" if it is the
// machine's first (the one its init runs in, whose number Linux fixes
// since 3.8) or cannot be read, or where there are none.
var PIDNamespace = sync.OnceValue(func() string { return clean(readPIDNamespace()) })

// clean replaces anything but letters, digits, '.', '-' and '_' with '_'.
func clean(s string) string {
	return strings.Map(func(r rune) rune {
		if 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || r == '.' || r == '-' || r == '_' {
			return r
		}
		return '_'
	}, strings.TrimSpace(s))
}

// The lock files this process holds, with their lines.
var held struct {
	sync.Mutex
	files []*heldFile
}

type heldFile struct {
	info fs.FileInfo
	line string
}

// Hold records that this process holds the lock of the file that info
// describes (os.Stat's, or os.File.Stat's), whose line is line, until
// release is called.
func Hold(info fs.FileInfo, line string) (release func()) {
	f := &heldFile{info, line}
	held.Lock()
	held.files = append(held.files, f)
	held.Unlock()
	return func() {
		held.Lock()
		held.files = slices.DeleteFunc(held.files, func(g *heldFile) bool { return g == f })
		held.Unlock()
	}
}

// Held returns the line of the lock that this process holds, by Hold, on
// the file that info describes (an os.FileInfo: os.Stat's, os.Root's, an
// os.DirFS's), and whether it holds one. On unix asking opens no file
// (on Windows, os.SameFile may open one to read its identity, which
// releases no lock there).
func Held(info fs.FileInfo) (line string, ok bool) {
	held.Lock()
	defer held.Unlock()
	for _, f := range held.files {
		if os.SameFile(f.info, info) {
			return f.line, true
		}
	}
	return "", false
}
