//go:build unix

package serve

import (
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/descentml/descent/internal/lockline"
	"github.com/descentml/descent/internal/locktest"
	"github.com/descentml/descent/run"
)

// TestLockFileName keeps the name serve probes the same as the run
// package's.
func TestLockFileName(t *testing.T) {
	if lockFile != run.LockFile {
		t.Errorf("serve probes %q; the run package locks %q", lockFile, run.LockFile)
	}
}

// unfinished writes a run without a summary into dir, with a checkpoint if
// checkpoint is set, last written long ago.
func unfinished(t *testing.T, dir string, checkpoint bool) {
	t.Helper()
	writeRun(t, dir, "adam", 1e-3, 2, false)
	if checkpoint {
		writeFile(t, filepath.Join(dir, "checkpoint.safetensors"), []byte("stand-in"))
	}
	age(t, dir, time.Hour)
}

// TestLockHeld checks that a run whose lock a process holds is running
// however long ago it last wrote, and that once the lock is released it is
// stopped or failed at once, however recently it wrote.
func TestLockHeld(t *testing.T) {
	dir := t.TempDir()
	unfinished(t, filepath.Join(dir, "ckpt"), true)
	unfinished(t, filepath.Join(dir, "nockpt"), false)
	writeRun(t, filepath.Join(dir, "fresh"), "adam", 1e-3, 2, false)
	var locks []*run.Lock
	for _, d := range []string{"ckpt", "nockpt", "fresh"} {
		l, err := run.LockDir(filepath.Join(dir, d), "descent train")
		if err != nil {
			t.Fatal(err)
		}
		locks = append(locks, l)
	}
	age(t, filepath.Join(dir, "ckpt"), time.Hour) // the lock file too
	_, ts := newServer(t, dir)
	wantStatus(t, ts.URL, "held", map[string]Status{"ckpt": Running, "nockpt": Running, "fresh": Running})
	for _, l := range locks {
		if err := l.Unlock(); err != nil {
			t.Fatal(err)
		}
	}
	wantStatus(t, ts.URL, "released", map[string]Status{"ckpt": Stopped, "nockpt": Failed, "fresh": Failed})
}

func wantStatus(t *testing.T, url, when string, want map[string]Status) {
	t.Helper()
	got := entriesByPath(t, url)
	for p, w := range want {
		if e := got[p]; e.Status != w {
			t.Errorf("%s: %s is %s (%s); want %s", when, p, e.Status, e.Problem, w)
		}
	}
}

// TestLockOfAnotherProcess has another process take a run's lock as descent
// train does: the run is running while it lives, and stopped or failed
// once it is killed, which leaves its lock file behind, naming it.
func TestLockOfAnotherProcess(t *testing.T) {
	dir := t.TempDir()
	unfinished(t, filepath.Join(dir, "ckpt"), true)
	unfinished(t, filepath.Join(dir, "nockpt"), false)
	holder := locktest.Hold(t, "TestHoldLocks", filepath.Join(dir, "ckpt"), filepath.Join(dir, "nockpt"))
	_, ts := newServer(t, dir)
	wantStatus(t, ts.URL, "held by a live process", map[string]Status{"ckpt": Running, "nockpt": Running})
	if err := holder.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	holder.Wait()
	if b, err := os.ReadFile(filepath.Join(dir, "ckpt", lockFile)); err != nil || len(b) == 0 {
		t.Fatalf("the killed process's lock file: %q, %v; want its line left behind", b, err)
	}
	wantStatus(t, ts.URL, "held by a dead process", map[string]Status{"ckpt": Stopped, "nockpt": Failed})
}

// TestHoldLocks is the process locktest.Hold starts; run on its own it does
// nothing.
func TestHoldLocks(t *testing.T) { locktest.Child(t) }

// TestProbeLeavesLockAlone checks that the probe neither makes a lock file
// nor ever holds the lock: descent train, which does not wait for a lock,
// must never find its directory locked because a page is open.
func TestProbeLeavesLockAlone(t *testing.T) {
	dir := t.TempDir()
	writeRun(t, filepath.Join(dir, "r"), "adam", 1e-3, 2, false)
	s, err := New(Config{Dirs: []string{dir}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got, _ := probeLock(s.roots[0].fsys, "r"); got != lockUnknown {
		t.Errorf("probeLock of a run without a lock file = %v; want lockUnknown", got)
	}
	if _, err := os.Lstat(filepath.Join(dir, "r", lockFile)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("after a probe, the lock file: %v; want none", err)
	}
	// Lock and unlock over and over while the probe runs: a probe that
	// took the lock, even shared and for an instant, would make some
	// LockDir fail (one that did failed within 2000 tries 7 times in 8).
	l, err := run.LockDir(filepath.Join(dir, "r"), "descent train")
	if err != nil {
		t.Fatal(err)
	}
	l.Unlock()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
				probeLock(s.roots[0].fsys, "r")
			}
		}
	}()
	for i := 0; i < 10000; i++ {
		l, err := run.LockDir(filepath.Join(dir, "r"), "descent train")
		if err != nil {
			t.Errorf("LockDir while the probe runs, try %d: %v", i, err)
			break
		}
		l.Unlock()
	}
	close(stop)
	wg.Wait()
}

// TestHolder checks how a lock file's pid is judged: this process holds a
// lock taken after it started, but not, on Linux, one taken long before
// (its pid then was another process's); a process that has ended holds
// none.
func TestHolder(t *testing.T) {
	now := time.Now()
	reused := lockHeld
	if runtime.GOOS == "linux" {
		reused = lockFree
	}
	ended := exec.Command(os.Args[0], "-test.run=^$")
	if err := ended.Run(); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name     string
		pid      int
		lockedAt time.Time
		want     lockState
	}{
		{"this process", os.Getpid(), now, lockHeld},
		{"this process, a lock from before it started", os.Getpid(), now.Add(-2 * reuseSlack), reused},
		{"a process that ended", ended.Process.Pid, now, lockFree},
		{"pid 0", 0, now, lockUnknown},
	} {
		if got := holder(c.pid, c.lockedAt); got != c.want {
			t.Errorf("%s: holder(%d, %v) = %v; want %v", c.name, c.pid, c.lockedAt, got, c.want)
		}
	}
}

// TestLockElsewhere checks the runs, tunes and empty output directories
// whose lock file names a process on another machine: its pid means
// nothing here, so they are running while their files are fresh and of
// unknown status after, never stopped or failed. A lock line of this
// machine, or of none (written before the host was), naming a process
// that has ended, still makes them stopped or failed at once.
func TestLockElsewhere(t *testing.T) {
	dir := t.TempDir()
	ended := exec.Command(os.Args[0], "-test.run=^$")
	if err := ended.Run(); err != nil {
		t.Fatal(err)
	}
	other := "not-" + lockline.Host()
	since := time.Now().Add(-2 * time.Hour)
	lines := map[string]string{
		"elsewhere":     lockline.Line("descent train", ended.Process.Pid, other, since),
		"here":          lockline.Line("descent train", ended.Process.Pid, lockline.Host(), since),
		"no host":       lockline.Line("descent train", ended.Process.Pid, "", since),
		"fresh":         lockline.Line("descent train", ended.Process.Pid, other, since),
		"tune":          lockline.Line("descent tune", ended.Process.Pid, other, since),
		"compare-empty": lockline.Line("descent compare", ended.Process.Pid, other, since),
	}
	for _, d := range []string{"elsewhere", "here", "no host"} {
		unfinished(t, filepath.Join(dir, d), true)
	}
	writeRun(t, filepath.Join(dir, "fresh"), "adam", 1e-3, 2, false)
	writeFile(t, filepath.Join(dir, "tune", "tune-journal.jsonl"), []byte(`{"header":{}}`+"\n"))
	if err := os.MkdirAll(filepath.Join(dir, "compare-empty"), 0o755); err != nil {
		t.Fatal(err)
	}
	for d, line := range lines {
		writeFile(t, filepath.Join(dir, d, lockFile), []byte(line+"\n"))
		if d != "fresh" {
			age(t, filepath.Join(dir, d), time.Hour)
		}
	}
	_, ts := newServer(t, dir)
	wantStatus(t, ts.URL, "locked", map[string]Status{
		"elsewhere": Unknown, "fresh": Running, "tune": Unknown, "compare-empty": Unknown,
		"here": Stopped, "no host": Stopped,
	})
	if e := entriesByPath(t, ts.URL)["elsewhere"]; !strings.Contains(e.Problem, "host "+other) {
		t.Errorf("the problem of a run locked elsewhere is %q; want it to name the host", e.Problem)
	}
}

// TestLockLineHost checks that the line run.LockDir writes names this
// machine, which the probe then asks about its process.
func TestLockLineHost(t *testing.T) {
	dir := t.TempDir()
	l, err := run.LockDir(dir, "descent train")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Unlock()
	b, err := os.ReadFile(filepath.Join(dir, lockFile))
	if err != nil {
		t.Fatal(err)
	}
	h, ok := lockline.Parse(string(b))
	if !ok || h.PID != os.Getpid() || h.Host != lockline.Host() || h.Host == "" || h.Boot != lockline.Boot() {
		t.Errorf("lockline.Parse(%q) = %+v, %v; want pid %d, host %q, boot %q", b, h, ok, os.Getpid(), lockline.Host(), lockline.Boot())
	}
	if got, _ := probeLock(os.DirFS(dir), "."); got != lockHeld {
		t.Errorf("probeLock of a directory this process locked = %v; want lockHeld", got)
	}
}

// TestHolderBoot checks the probe's judgement of a lock's pid on Linux
// against a machine it is told of: a lock taken before the machine last
// booted is free whenever the process of that pid started (it cannot be
// the holder), as is one whose process started long after the lock, or
// is a zombie; a process that started before its lock holds it.
func TestHolderBoot(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("holder reads the boot time and process starts on Linux only")
	}
	oldBoot, oldProc := bootTime, procStat
	t.Cleanup(func() { bootTime, procStat = oldBoot, oldProc })
	lockedAt := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		name      string
		boot      time.Time
		sinceBoot time.Duration // when the process of the pid started
		zombie    bool
		want      lockState
	}{
		{"booted after the lock, process started after boot", lockedAt.Add(time.Minute), time.Second, false, lockFree},
		{"booted before, process started before the lock", lockedAt.Add(-time.Hour), time.Minute, false, lockHeld},
		{"booted before, process started just after the lock", lockedAt.Add(-time.Hour), time.Hour + time.Minute, false, lockHeld},
		{"booted before, process started long after the lock", lockedAt.Add(-time.Hour), time.Hour + 2*reuseSlack, false, lockFree},
		{"booted before, zombie", lockedAt.Add(-time.Hour), time.Minute, true, lockFree},
	} {
		bootTime = func() (time.Time, error) { return c.boot, nil }
		procStat = func(int) (time.Duration, bool, bool) { return c.sinceBoot, c.zombie, true }
		if got := holder(os.Getpid(), lockedAt); got != c.want { // this process: alive
			t.Errorf("%s: holder = %v; want %v", c.name, got, c.want)
		}
	}
}

// TestProbeOwnLock checks that the probe of a directory this process has
// locked tells it held without opening its lock file: where the lock is
// fcntl's (AIX, Solaris), closing the file would release it.
func TestProbeOwnLock(t *testing.T) {
	dir := t.TempDir()
	l, err := run.LockDir(dir, "descent train")
	if err != nil {
		t.Fatal(err)
	}
	fsys := &openSpy{FS: os.DirFS(dir)}
	if got, line := probeLock(fsys, "."); got != lockHeld || !strings.HasPrefix(line, "descent train (pid ") {
		t.Errorf("probeLock of a directory this process locked = %v, %q; want lockHeld and its line", got, line)
	}
	if len(fsys.opened) != 0 {
		t.Errorf("probeLock of a directory this process locked opened %q; want nothing", fsys.opened)
	}
	l.Unlock()
	if got, _ := probeLock(fsys, "."); got != lockFree || len(fsys.opened) != 1 {
		t.Errorf("probeLock once unlocked = %v, opening %q; want lockFree, opening the lock file", got, fsys.opened)
	}
}

// openSpy is an fs.FS that records what it opens.
type openSpy struct {
	fs.FS
	opened []string
}

func (s *openSpy) Open(name string) (fs.File, error) {
	s.opened = append(s.opened, name)
	return s.FS.Open(name)
}

func (s *openSpy) Stat(name string) (fs.FileInfo, error) { return fs.Stat(s.FS, name) }
