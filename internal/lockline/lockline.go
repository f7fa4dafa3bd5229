// Package lockline is the line a process writes into the lock file of a
// directory it uses (run.LockDir), which a refused process shows and
// descent serve reads, without taking the lock, to tell whether the
// process still runs:
//
//	descent train (pid 1234, host gpu1, since 2006-01-02 15:04:05)
//
// The pid means something only on the machine named: a directory shared
// between machines (NFS) may be locked by a process on another, whose
// life this machine cannot see. Lines written before the host was
// recorded, "descent train (pid 1234, since 2006-01-02 15:04:05)", have
// none.
package lockline

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Line returns the line of the process pid on host (left out if "")
// that took the lock at since for what (a few words: "descent train").
func Line(what string, pid int, host string, since time.Time) string {
	if host == "" {
		return fmt.Sprintf("%s (pid %d, since %s)", what, pid, since.Format(time.DateTime))
	}
	return fmt.Sprintf("%s (pid %d, host %s, since %s)", what, pid, host, since.Format(time.DateTime))
}

// Parse returns the pid and the host ("" if none) a line names; ok is
// false if it names no pid.
func Parse(line string) (pid int, host string, ok bool) {
	_, rest, found := strings.Cut(line, "(pid ")
	if !found {
		return 0, "", false
	}
	rest, _, _ = strings.Cut(rest, ")")
	parts := strings.Split(rest, ", ")
	pid, err := strconv.Atoi(parts[0])
	if err != nil || pid <= 0 {
		return 0, "", false
	}
	for _, p := range parts[1:] {
		if h, found := strings.CutPrefix(p, "host "); found {
			host = h
		}
	}
	return pid, host, true
}

// Host returns this machine's name as a line holds it (os.Hostname, with
// anything but letters, digits, '.', '-' and '_' replaced by '_', so
// that it cannot break the line), or "" if it has none.
var Host = sync.OnceValue(func() string {
	h, err := os.Hostname()
	if err != nil {
		return ""
	}
	return strings.Map(func(r rune) rune {
		if 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || r == '.' || r == '-' || r == '_' {
			return r
		}
		return '_'
	}, h)
})
