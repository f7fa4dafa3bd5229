//go:build unix

package serve

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestFIFO checks that a FIFO in a served directory, where a file or a
// directory is looked for, is refused rather than opened: opening one to
// read would wait for a writer, with the request and the file left open.
func TestFIFO(t *testing.T) {
	dir := t.TempDir()
	writeRun(t, filepath.Join(dir, "fifo"), "adam", 1e-3, 2, false)
	writeRun(t, filepath.Join(dir, "done"), "adam", 1e-3, 2, true)
	writeFile(t, filepath.Join(dir, "tune", "tune-journal.jsonl"), []byte(`{"header":1}`+"\n"))
	var fifos []string
	for _, name := range []string{"fifo/metrics.jsonl", "fifo/" + lockFile, "done/summary.json", "done/pipe.json", "pipe", "tune/tune.json"} {
		p := filepath.Join(dir, name)
		os.Remove(p)
		if err := unix.Mkfifo(p, 0o644); err != nil { // x/sys: syscall has none on AIX
			t.Skipf("no FIFOs here: %v", err)
		}
		fifos = append(fifos, p)
	}
	_, ts := newServer(t, dir)
	// Should a request wait on a FIFO after all, a writer lets it go, so
	// that the server can close.
	t.Cleanup(func() {
		for _, p := range fifos {
			if f, err := os.OpenFile(p, os.O_RDWR|syscall.O_NONBLOCK, 0); err == nil {
				f.Close()
			}
		}
	})
	// The client gives up long before the test's own deadline: a request
	// that waits on a FIFO fails rather than hangs the test.
	client := &http.Client{Timeout: 10 * time.Second}
	for _, c := range []struct {
		path string
		want int
	}{
		{"/api/entries", 200},
		{"/api/entry?id=0/fifo", 200},
		{"/api/entry?id=0/done", 200},
		{"/api/entry?id=0/tune", 200},
		{"/api/entry?id=0/pipe", 404},
		{"/file/0/fifo/metrics.jsonl", 404},
		{"/file/0/done/summary.json", 404},
		{"/file/0/done/pipe.json", 404},
	} {
		resp, err := client.Get(ts.URL + c.path)
		if err != nil {
			t.Errorf("GET %s: %v", c.path, err)
			continue
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != c.want {
			t.Errorf("GET %s: %d; want %d", c.path, resp.StatusCode, c.want)
		}
	}
	resp, err := client.Get(ts.URL + "/api/entry?id=0/fifo")
	if err != nil {
		t.Fatalf("GET /api/entry?id=0/fifo: %v", err)
	}
	defer resp.Body.Close()
	var rep testEntry
	if err := json.NewDecoder(resp.Body).Decode(&rep); err != nil || rep.Metrics == nil || len(rep.Metrics.Points) != 0 {
		t.Errorf("a run whose metrics.jsonl is a FIFO: metrics %+v, %v; want none", rep.Metrics, err)
	}
}
