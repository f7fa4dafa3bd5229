package run_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/descentml/descent/internal/lockline"
	"github.com/descentml/descent/internal/locktest"
	"github.com/descentml/descent/run"
)

// TestLockKnownInProcess checks that this process knows a lock it holds
// from LockDir to Unlock (lockline.Held), by the lock file's identity and
// with its line: that is what refuses a second LockDir of the directory
// in this process before its lock file is opened, and what serve asks
// before it opens one (where the lock is fcntl's, closing any descriptor
// of the file releases the lock).
func TestLockKnownInProcess(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, run.LockFile)
	held := func() (string, bool) {
		t.Helper()
		info, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		return lockline.Held(info)
	}
	l, err := run.LockDir(dir, "descent train")
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if line, ok := held(); !ok || line != strings.TrimSpace(string(b)) {
		t.Errorf("lockline.Held of a locked directory = %q, %v; want %q, true", line, ok, b)
	}
	if _, err := run.LockDir(dir, "descent tune"); !errors.Is(err, run.ErrLocked) || !strings.Contains(err.Error(), strings.TrimSpace(string(b))) {
		t.Errorf("a second LockDir in this process: %v; want ErrLocked naming %q", err, b)
	}
	if err := l.Unlock(); err != nil {
		t.Fatal(err)
	}
	if line, ok := held(); ok {
		t.Errorf("lockline.Held once unlocked = %q, true; want false", line)
	}
	l, err = run.LockDir(dir, "descent train")
	if err != nil {
		t.Fatalf("LockDir once unlocked: %v", err)
	}
	l.Unlock()
}

// TestLockOtherProcess has another process lock a directory: while it
// lives, LockDir here is refused, naming it from the line of its lock
// file (which the lock must leave readable: Windows locks are mandatory);
// once it is killed, which releases its lock, LockDir takes the
// directory.
func TestLockOtherProcess(t *testing.T) {
	switch runtime.GOOS {
	case "plan9", "js", "wasip1":
		t.Skip("no lock against other processes on " + runtime.GOOS)
	}
	dir := t.TempDir()
	cmd := locktest.Hold(t, "TestHoldLock", dir)
	want := fmt.Sprintf("descent train (pid %d, ", cmd.Process.Pid)
	if l, err := run.LockDir(dir, "descent tune"); !errors.Is(err, run.ErrLocked) || !strings.Contains(err.Error(), want) {
		l.Unlock()
		t.Errorf("LockDir while another process holds the directory: %v; want ErrLocked naming %q", err, want)
	}
	cmd.Process.Kill()
	cmd.Wait()
	l, err := run.LockDir(dir, "descent tune")
	if err != nil {
		t.Fatalf("LockDir once the holder is killed: %v", err)
	}
	l.Unlock()
}

// TestHoldLock is the process of TestLockOtherProcess; run on its own it
// does nothing.
func TestHoldLock(t *testing.T) { locktest.Child(t) }
