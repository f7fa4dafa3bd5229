package main

import (
	"bufio"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestServeBadInput(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"serve", "--addr", busy.Addr().String(), dir}, 1, "cannot listen on " + busy.Addr().String()},
		{[]string{"serve", "--addr", "127.0.0.1:0", filepath.Join(dir, "missing")}, 1, "missing does not exist"},
		{[]string{"serve", "--addr", "127.0.0.1:0", file}, 1, "not a directory"},
		{[]string{"serve", "--addr", "6006", dir}, 1, "--addr"},
		{[]string{"serve", "--addr", "192.0.2.1:6006", dir}, 1, "cannot listen"},
		{[]string{"serve", "--no-such-flag"}, 2, "flag provided but not defined"},
		{[]string{"serve", dir, "--addr", "127.0.0.1:0"}, 1, "flags go before directories"},
		{[]string{"serve", "--idle", "0", dir}, 1, "--idle 0s: must be positive"},
		{[]string{"serve", "--idle", "-1m", dir}, 1, "--idle -1m0s: must be positive"},
	} {
		_, stderr, code := descent(t, c.args...)
		if code != c.code || !strings.Contains(stderr, c.want) {
			t.Errorf("descent %s: exit %d, %q; want exit %d and %q", strings.Join(c.args, " "), code, stderr, c.code, c.want)
		}
	}
	if out, _, code := descent(t, "serve", "-h"); code != 0 || !strings.Contains(out, "127.0.0.1:6006") {
		t.Errorf("descent serve -h: exit %d, %q; want 0 and the default address", code, out)
	}
}

// TestServeServes starts descent serve in a child process, reads the page
// from the address it prints, and stops it with Ctrl-C.
func TestServeServes(t *testing.T) {
	dir := t.TempDir()
	argv, _ := json.Marshal([]string{"serve", "--addr", "127.0.0.1:0", dir})
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "DESCENT_TEST_ARGS="+string(argv))
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("reading what descent serve prints: %v", err)
	}
	i := strings.Index(line, "http://")
	if i < 0 {
		t.Fatalf("descent serve printed %q; want its address", line)
	}
	url := strings.Fields(line[i:])[0]
	if !strings.HasPrefix(url, "http://127.0.0.1:") {
		t.Errorf("descent serve listens at %s; want loopback", url)
	}
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(b), filepath.ToSlash(dir)) {
		t.Errorf("GET %s: %s; want 200 and a page naming %s", url, resp.Status, dir)
	}
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("descent serve after Ctrl-C: %v; want exit 0", err)
		}
	case <-time.After(10 * time.Second):
		t.Error("descent serve still runs 10 s after Ctrl-C")
	}
}
