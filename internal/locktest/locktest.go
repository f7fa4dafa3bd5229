// Package locktest lets a test have another process hold run directories'
// locks: the test binary started again, running one test, which takes
// them (run.LockDir) and waits.
package locktest

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/descentml/descent/run"
)

// env passes the directories to lock to the process Hold starts.
const env = "DESCENT_TEST_HOLD_LOCKS"

// Hold starts this test binary again, running only the test named test
// (which must call Child), as a process that locks dirs for "descent
// train" and waits, and returns once they are locked. The process is
// killed at the end of t, if not before.
func Hold(t testing.TB, test string, dirs ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^"+test+"$")
	cmd.Env = append(os.Environ(), env+"="+strings.Join(dirs, string(filepath.ListSeparator)))
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stdin.Close()
		cmd.Process.Kill()
		cmd.Wait()
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || line != "locked\n" {
		t.Fatalf("the process holding the locks said %q, %v", line, err)
	}
	return cmd
}

// Child is the body of the test Hold runs: in the process Hold started,
// it locks the directories and waits until killed or told; run on its own
// it skips the test.
func Child(t *testing.T) {
	dirs := filepath.SplitList(os.Getenv(env))
	if len(dirs) == 0 {
		t.Skip("only as the process of locktest.Hold")
	}
	for _, d := range dirs {
		if _, err := run.LockDir(d, "descent train"); err != nil {
			t.Fatal(err)
		}
	}
	os.Stdout.WriteString("locked\n")
	bufio.NewReader(os.Stdin).ReadString('\n')
}
