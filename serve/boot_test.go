//go:build unix

package serve

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/descentml/descent/internal/lockline"
)

// TestLockBoot checks the lock lines that name this machine's boot: one of
// this boot is this machine's whatever its host name (renamed since, as a
// laptop by DHCP), so that its run, killed, is stopped or failed, not
// unknown; one of another boot under this host name is of a previous
// boot, whose pid, live here, is another process's, if its lock file is
// older than this boot (written since, it is another machine's of the
// same name, sharing the directory); one of this boot in
// another PID namespace (a container) names a pid that means nothing
// here. A line without a boot under another host name is still unknown.
func TestLockBoot(t *testing.T) {
	host, boot := lockline.Host(), lockline.Boot()
	if boot == "" || host == "" {
		t.Skip("this machine has no boot identity or no host name")
	}
	ended := exec.Command(os.Args[0], "-test.run=^$")
	if err := ended.Run(); err != nil {
		t.Fatal(err)
	}
	otherNS := "4026532201"
	if lockline.PIDNamespace() == otherNS {
		otherNS = ""
	}
	dead, alive := ended.Process.Pid, os.Getpid()
	since := time.Now()
	holders := map[string]lockline.Holder{
		"renamed":           {What: "descent train", PID: dead, Host: "not-" + host, Boot: boot, PIDNS: lockline.PIDNamespace(), Since: since},
		"previous boot":     {What: "descent train", PID: alive, Host: host, Boot: "not-" + boot, Since: since},
		"same host, now":    {What: "descent train", PID: alive, Host: host, Boot: "not-" + boot, Since: since},
		"container":         {What: "descent train", PID: dead, Host: host, Boot: boot, PIDNS: otherNS, Since: since},
		"old line, renamed": {What: "descent train", PID: dead, Host: "not-" + host, Since: since},
	}
	want := map[string]Status{
		"renamed": Stopped, "previous boot": Stopped, "same host, now": Running, "container": Unknown, "old line, renamed": Unknown,
	}
	booted, err := bootTime()
	if runtime.GOOS != "linux" || err != nil {
		delete(holders, "previous boot") // a lock file older than the boot is told only on Linux
		delete(want, "previous boot")
	}
	dir := t.TempDir()
	for d, h := range holders {
		if d == "same host, now" { // another machine of this name, training now: all fresh
			writeRun(t, filepath.Join(dir, d), "adam", 1e-3, 2, false)
		} else {
			unfinished(t, filepath.Join(dir, d), true)
		}
		lock := filepath.Join(dir, d, lockFile)
		writeFile(t, lock, []byte(h.String()+"\n"))
		switch d {
		case "previous boot": // its lock file written before this boot, the rest fresh
			if err := os.Chtimes(lock, booted.Add(-time.Hour), booted.Add(-time.Hour)); err != nil {
				t.Fatal(err)
			}
		case "same host, now":
		default:
			age(t, filepath.Join(dir, d), time.Hour)
		}
	}
	_, ts := newServer(t, dir)
	wantStatus(t, ts.URL, "locked", want)
	if e := entriesByPath(t, ts.URL)["container"]; !strings.Contains(e.Problem, "PID namespace") {
		t.Errorf("the problem of a run locked in a container is %q; want it to say so", e.Problem)
	}
}

// TestLocate checks where a lock line's process ran, against every kind
// of line and of machine reading it.
func TestLocate(t *testing.T) {
	for _, c := range []struct {
		name              string
		line              lockline.Holder
		host, boot, pidns string
		want              place
	}{
		{"this boot", lockline.Holder{Host: "h", Boot: "b"}, "h", "b", "", here},
		{"this boot, renamed", lockline.Holder{Host: "old", Boot: "b"}, "h", "b", "", here},
		{"this boot, its container", lockline.Holder{Host: "c", Boot: "b", PIDNS: "9"}, "h", "b", "", away},
		{"this boot, from a container", lockline.Holder{Host: "h", Boot: "b"}, "c", "b", "9", away},
		{"this boot, in this container", lockline.Holder{Host: "c", Boot: "b", PIDNS: "9"}, "c", "b", "9", here},
		{"previous boot", lockline.Holder{Host: "h", Boot: "a"}, "h", "b", "", previousBoot},
		{"previous boot, container", lockline.Holder{Host: "h", Boot: "a", PIDNS: "9"}, "h", "b", "", previousBoot},
		{"another machine", lockline.Holder{Host: "g", Boot: "a"}, "h", "b", "", away},
		{"another boot, no host", lockline.Holder{Boot: "a"}, "h", "b", "", away},
		{"another boot, this machine has no host", lockline.Holder{Host: "h", Boot: "a"}, "", "b", "", away},
		{"no boot, this host", lockline.Holder{Host: "h"}, "h", "b", "", here},
		{"no boot, another host", lockline.Holder{Host: "g"}, "h", "b", "", away},
		{"no host, no boot", lockline.Holder{}, "h", "b", "", here},
		{"read without a boot, this host", lockline.Holder{Host: "h", Boot: "a"}, "h", "", "", here},
		{"read without a boot, another host", lockline.Holder{Host: "g", Boot: "a"}, "h", "", "", away},
	} {
		if got := locate(c.line, c.host, c.boot, c.pidns); got != c.want {
			t.Errorf("%s: locate(%+v, %q, %q, %q) = %v; want %v", c.name, c.line, c.host, c.boot, c.pidns, got, c.want)
		}
	}
}
