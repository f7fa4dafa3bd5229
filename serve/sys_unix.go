//go:build unix

package serve

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// nonBlock is the flag that keeps an open from waiting (see dirFS).
const nonBlock = syscall.O_NONBLOCK

// holder reports whether process pid, which a lock file written at
// lockedAt names, still holds the lock. A process that does not exist, or
// that has exited and not been reaped, holds nothing; nor does one that
// started after the lock was taken, a process given the same pid after the
// holder died, or on a machine booted since the lock was written. The
// process is asked without touching its files: listing
// them in /proc/PID/fd would hold each open file for an instant, and a
// lock file's lock with it, past the holder's own close.
func holder(pid int, lockedAt time.Time) lockState {
	if pid <= 0 {
		return lockUnknown
	}
	switch err := syscall.Kill(pid, 0); err { // signal 0: only asks
	case nil, syscall.EPERM:
	case syscall.ESRCH:
		return lockFree
	default:
		return lockUnknown
	}
	if runtime.GOOS != "linux" {
		return lockHeld
	}
	boot, err := bootTime()
	if err != nil {
		return lockHeld
	}
	if boot.After(lockedAt) {
		return lockFree // the machine restarted since: pid is another process
	}
	sinceBoot, zombie, ok := procStat(pid)
	switch {
	case !ok:
		return lockHeld
	case zombie:
		return lockFree
	case boot.Add(sinceBoot).After(lockedAt.Add(reuseSlack)):
		return lockFree
	}
	return lockHeld
}

// lockedBeforeBoot reports whether a lock file written at lockedAt was
// written before this machine last booted, as far as it can tell
// (Linux's boot time; false where it is not known).
func lockedBeforeBoot(lockedAt time.Time) bool {
	if runtime.GOOS != "linux" {
		return false
	}
	boot, err := bootTime()
	return err == nil && boot.After(lockedAt)
}

// reuseSlack is how much later than its lock file a process may seem to
// have started and still be taken for the process that wrote it: the two
// times come from the wall clock read years apart, at boot and at the
// lock, and a clock set forward in between (by NTP, or a virtual machine
// resumed) makes the start seem later. A pid reused sooner after the lock
// was taken goes unnoticed.
const reuseSlack = time.Hour

// What holder asks of the machine, variables so that tests can stand in
// for it.
var (
	bootTime = sync.OnceValues(readBootTime)
	procStat = readProcStat
)

// readProcStat returns how long after the machine booted process pid
// started and whether it is a zombie, from Linux's /proc/PID/stat: its
// start in clock ticks since boot (USER_HZ, 100 a second).
func readProcStat(pid int) (sinceBoot time.Duration, zombie, ok bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, false, false
	}
	// "PID (COMM) STATE PPID ...": COMM may hold spaces and parentheses.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, false, false
	}
	f := bytes.Fields(b[i+1:]) // f[0] is field 3, STATE; field 22 is STARTTIME
	if len(f) < 20 {
		return 0, false, false
	}
	ticks, err := strconv.ParseInt(string(f[19]), 10, 64)
	if err != nil {
		return 0, false, false
	}
	state := string(f[0])
	return time.Duration(ticks) * (time.Second / 100), state == "Z" || state == "X", true
}

// readBootTime returns when the machine booted, from /proc/stat's btime.
func readBootTime() (time.Time, error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return time.Time{}, err
	}
	for line := range bytes.Lines(b) {
		if v, ok := bytes.CutPrefix(line, []byte("btime ")); ok {
			s, err := strconv.ParseInt(string(bytes.TrimSpace(v)), 10, 64)
			return time.Unix(s, 0), err
		}
	}
	return time.Time{}, errors.New("/proc/stat: no btime")
}
