package serve

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func newServer(t testing.TB, dirs ...string) (*Server, *httptest.Server) {
	t.Helper()
	s, err := New(Config{Dirs: dirs})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s)
	t.Cleanup(func() {
		ts.Close()
		s.Close()
	})
	return s, ts
}

func getJSON(t testing.TB, url string, v any) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("GET %s: %v in %q", url, err, b)
	}
	return resp.StatusCode
}

func entriesByPath(t testing.TB, url string) map[string]Entry {
	t.Helper()
	var rep entriesReply
	if code := getJSON(t, url+"/api/entries", &rep); code != http.StatusOK {
		t.Fatalf("GET /api/entries: %d", code)
	}
	m := map[string]Entry{}
	for _, e := range rep.Entries {
		m[e.Path] = e
	}
	return m
}

func TestEntriesKindsAndStatus(t *testing.T) {
	dir := fixture(t)
	writeRun(t, filepath.Join(dir, "stopped"), "adam", 1e-3, 3, false)
	writeFile(t, filepath.Join(dir, "stopped", "checkpoint.safetensors"), []byte("x"))
	age(t, filepath.Join(dir, "stopped"), time.Hour)
	writeRun(t, filepath.Join(dir, "failed"), "adam", 1e-3, 0, false)
	age(t, filepath.Join(dir, "failed"), time.Hour)
	writeRun(t, filepath.Join(dir, "running"), "adam", 1e-3, 2, false)
	writeRun(t, filepath.Join(dir, "badsummary"), "adam", 1e-3, 2, true)
	writeFile(t, filepath.Join(dir, "badsummary", "summary.json"), []byte(`{"test_loss":`))
	writeRun(t, filepath.Join(dir, "badline"), "adam", 1e-3, 2, true)
	appendLine(t, filepath.Join(dir, "badline", "metrics.jsonl"), []byte("{oops\n"+string(metricsLine(3, 1e-3))))
	writeRun(t, filepath.Join(dir, "halfline"), "adam", 1e-3, 2, false)
	appendLine(t, filepath.Join(dir, "halfline", "metrics.jsonl"), []byte(`{"epoch":3,"train_lo`))
	writeFile(t, filepath.Join(dir, "badcompare", "compare.json"), []byte("[1,"))
	if err := os.Mkdir(filepath.Join(dir, "compare-2026-01-02-030405"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeRun(t, filepath.Join(dir, "project", "deep"), "sgd", 0.1, 1, true)
	writeRun(t, filepath.Join(dir, "a", "b", "c", "toodeep"), "sgd", 0.1, 1, true)
	writeRun(t, filepath.Join(dir, ".hidden"), "sgd", 0.1, 1, true)

	_, ts := newServer(t, dir)
	got := entriesByPath(t, ts.URL)
	want := map[string]struct {
		kind   Kind
		status Status
	}{
		"adam":                      {KindRun, Finished},
		"sgd":                       {KindRun, Finished},
		"compare":                   {KindCompare, Finished},
		"adamw-vs-l2":               {KindGrid, Finished},
		"landscape":                 {KindLandscape, Finished},
		"lr-find":                   {KindLRFind, Finished},
		"tune":                      {KindTune, Finished},
		"stopped":                   {KindRun, Stopped},
		"failed":                    {KindRun, Failed},
		"running":                   {KindRun, Running},
		"badsummary":                {KindRun, Malformed},
		"badline":                   {KindRun, Malformed},
		"halfline":                  {KindRun, Running},
		"badcompare":                {KindCompare, Malformed},
		"compare-2026-01-02-030405": {KindCompare, Running},
		"project/deep":              {KindRun, Finished},
	}
	for p, w := range want {
		e, ok := got[p]
		if !ok {
			t.Errorf("entry %s missing", p)
			continue
		}
		if e.Kind != w.kind || e.Status != w.status {
			t.Errorf("entry %s: kind %s, status %s (%s); want %s, %s", p, e.Kind, e.Status, e.Problem, w.kind, w.status)
		}
	}
	for p := range got {
		if _, ok := want[p]; !ok {
			t.Errorf("unexpected entry %s", p)
		}
	}
	if p := got["badline"].Problem; !strings.Contains(p, "metrics.jsonl:3") {
		t.Errorf("badline's problem = %q; want it to name metrics.jsonl:3", p)
	}

	var rep testEntry
	if code := getJSON(t, ts.URL+"/api/entry?id=0/halfline", &rep); code != http.StatusOK {
		t.Fatalf("GET /api/entry?id=0/halfline: %d", code)
	}
	if n := len(rep.Metrics.Points); n != 2 {
		t.Errorf("halfline: %d points; want 2 (the half-written line left out)", n)
	}
	if code := getJSON(t, ts.URL+"/api/entry?id=0/badline", &rep); code != http.StatusOK || len(rep.Metrics.Points) != 3 {
		t.Errorf("badline: status %d, %d points; want 200, 3 (the malformed line left out)", code, len(rep.Metrics.Points))
	}
	if code := getJSON(t, ts.URL+"/api/entry?id=0/adam", &rep); code != http.StatusOK {
		t.Fatalf("GET /api/entry?id=0/adam: %d", code)
	}
	if !slices.Contains(rep.Metrics.Keys, "grad_norm") || !slices.Contains(rep.Metrics.Keys, "val_loss") {
		t.Errorf("adam's keys = %v; want every numeric key, grad_norm among them", rep.Metrics.Keys)
	}
}

func TestRunStatus(t *testing.T) {
	now := time.Now()
	idle := 2 * time.Minute
	for _, c := range []struct {
		name string
		f    runFacts
		want Status
	}{
		{"summary", runFacts{summary: true, lastWrite: now}, Finished},
		{"summary, lock held", runFacts{summary: true, lock: lockHeld}, Finished},
		{"fresh", runFacts{lastWrite: now.Add(-time.Second)}, Running},
		{"idle, checkpoint", runFacts{checkpoint: true, lastWrite: now.Add(-time.Hour)}, Stopped},
		{"idle, nothing", runFacts{lastWrite: now.Add(-time.Hour)}, Failed},
		{"long epochs", runFacts{checkpoint: true, lastWrite: now.Add(-5 * time.Minute), longestEpoch: 200}, Running},
		{"lock held, idle", runFacts{lastWrite: now.Add(-time.Hour), lock: lockHeld}, Running},
		{"lock free, fresh", runFacts{checkpoint: true, lastWrite: now, lock: lockFree}, Stopped},
		{"lock elsewhere, fresh", runFacts{checkpoint: true, lastWrite: now, lock: lockElsewhere}, Running},
		{"lock elsewhere, idle, checkpoint", runFacts{checkpoint: true, lastWrite: now.Add(-time.Hour), lock: lockElsewhere}, Unknown},
		{"lock elsewhere, idle, nothing", runFacts{lastWrite: now.Add(-time.Hour), lock: lockElsewhere}, Unknown},
	} {
		if got, _ := c.f.status(now, idle); got != c.want {
			t.Errorf("%s: status() = %s; want %s", c.name, got, c.want)
		}
	}
}

// rawGet sends path as it is, unlike http.Get, which would clean it.
func rawGet(t testing.TB, addr, path, host string) (int, string) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", path, host)
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestNothingOutsideTheDirectories(t *testing.T) {
	base := t.TempDir()
	outside := filepath.Join(base, "outside")
	writeFile(t, filepath.Join(outside, "secret.json"), []byte(`{"secret":"SECRET"}`))
	writeRun(t, filepath.Join(outside, "run"), "adam", 1e-3, 1, true)
	writeFile(t, filepath.Join(outside, "metrics.jsonl"), []byte(`{"SECRET":1}`+"\n"))
	served := filepath.Join(base, "runs")
	writeRun(t, filepath.Join(served, "r"), "adam", 1e-3, 2, true)
	for link, target := range map[string]string{
		"r/link.json":    filepath.Join(outside, "secret.json"),
		"r/rel.json":     "../../outside/secret.json",
		"linkdir":        outside,
		"r/metrics.json": filepath.Join(outside, "metrics.jsonl"),
	} {
		if err := os.Symlink(target, filepath.Join(served, link)); err != nil {
			t.Skipf("no symbolic links here: %v", err)
		}
	}
	_, ts := newServer(t, served)
	addr := strings.TrimPrefix(ts.URL, "http://")
	abs := filepath.ToSlash(filepath.Join(outside, "secret.json"))
	for _, p := range []string{
		"/file/0/../outside/secret.json",
		"/file/0/..%2foutside%2fsecret.json",
		"/file/0/..%2Foutside%2Fsecret.json",
		"/file/0/%2e%2e/outside/secret.json",
		"/file/0/%2e%2e%2foutside%2fsecret.json",
		"/file/0/r/..%2f..%2f..%2foutside%2fsecret.json",
		"/file/0/..%5coutside%5csecret.json",
		"/file/0/" + abs,
		"/file/0//" + abs,
		"/file/0/%2f" + strings.TrimPrefix(abs, "/"),
		"/file/0/r/link.json",
		"/file/0/r/rel.json",
		"/file/0/r/metrics.json",
		"/file/0/linkdir/secret.json",
		"/file/0/linkdir/run/config.json",
		"/file/1/secret.json",
		"/file/-1/secret.json",
		"/file/00/r/config.json",
		"/api/entry?id=0/..",
		"/api/entry?id=0/../outside/run",
		"/api/entry?id=0/%2e%2e%2foutside%2frun",
		"/api/entry?id=0/" + filepath.ToSlash(filepath.Join(outside, "run")),
		"/api/entry?id=0/linkdir/run",
		"/api/entry?id=0/linkdir",
		"/api/entry?id=1/run",
		"/static/../../outside/secret.json",
		"/static/%2e%2e/%2e%2e/outside/secret.json",
		"/r/config.json",
	} {
		code, body := rawGet(t, addr, p, "127.0.0.1")
		if strings.Contains(body, "SECRET") {
			t.Errorf("GET %s: %d, served something from outside: %.200q", p, code, body)
		}
		if code == http.StatusOK {
			t.Errorf("GET %s: 200; want a refusal", p)
		}
	}
	// The listing names nothing outside either.
	for p, e := range entriesByPath(t, ts.URL) {
		if p != "r" {
			t.Errorf("listed %s (%s): only r lies inside", p, e.Name)
		}
	}
	// What is inside is served.
	if code, body := rawGet(t, addr, "/file/0/r/config.json", "127.0.0.1"); code != http.StatusOK || !strings.Contains(body, "adam") {
		t.Errorf("GET /file/0/r/config.json: %d %.100q; want 200 and the config", code, body)
	}
}

func TestRefusals(t *testing.T) {
	dir := fixture(t)
	writeRun(t, filepath.Join(dir, ".hidden"), "adam", 1e-3, 1, true)
	writeFile(t, filepath.Join(dir, "adam", ".config.json"), []byte("{}"))
	_, ts := newServer(t, dir)
	addr := strings.TrimPrefix(ts.URL, "http://")
	for _, c := range []struct {
		method, path, host string
		want               int
	}{
		{"GET", "/", "127.0.0.1", 200},
		{"GET", "/", "localhost:6006", 200},
		{"GET", "/", "[::1]:6006", 200},
		{"GET", "/", "evil.example", 403},
		{"GET", "/", "evil.example:6006", 403},
		{"POST", "/", "127.0.0.1", 405},
		{"PUT", "/file/0/adam/config.json", "127.0.0.1", 405},
		{"DELETE", "/api/entries", "127.0.0.1", 405},
		{"GET", "/api/entry?id=0/missing", "127.0.0.1", 404},
		{"GET", "/api/entry?id=zz", "127.0.0.1", 404},
		{"GET", "/file/0/missing/config.json", "127.0.0.1", 404},
		{"GET", "/file/0/adam/checkpoint.safetensors", "127.0.0.1", 404},
		{"GET", "/file/0/adam", "127.0.0.1", 404},
		{"GET", "/file/0/.hidden/config.json", "127.0.0.1", 404},
		{"GET", "/file/0/adam/.config.json", "127.0.0.1", 404},
		{"GET", "/api/entry?id=0/.hidden", "127.0.0.1", 404},
		{"GET", "/api/entry?id=0/adam", "127.0.0.1", 200},
		{"GET", "/no/such/page", "127.0.0.1", 404},
		{"GET", "/static/uplot/LICENSE", "127.0.0.1", 200},
		{"GET", "/static/app.js", "127.0.0.1", 200},
		{"GET", "/file/0/landscape/landscape.gif", "127.0.0.1", 200},
	} {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(conn, "%s %s HTTP/1.1\r\nHost: %s\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", c.method, c.path, c.host)
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		conn.Close()
		if resp.StatusCode != c.want {
			t.Errorf("%s %s (Host %s) = %d; want %d", c.method, c.path, c.host, resp.StatusCode, c.want)
		}
	}
}

func TestNewErrors(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "f")
	writeFile(t, file, []byte("x"))
	for _, c := range []struct {
		dirs []string
		want string
	}{
		{nil, "no directory"},
		{[]string{filepath.Join(dir, "missing")}, "does not exist"},
		{[]string{file}, "not a directory"},
	} {
		s, err := New(Config{Dirs: c.dirs})
		if err == nil {
			s.Close()
			t.Errorf("New(%v) succeeded; want an error", c.dirs)
			continue
		}
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("New(%v) = %v; want %q in it", c.dirs, err, c.want)
		}
	}
}

// TestRunAppears checks that a run made while the server serves is listed
// and its new points returned.
func TestRunAppears(t *testing.T) {
	dir := t.TempDir()
	_, ts := newServer(t, dir)
	if n := len(entriesByPath(t, ts.URL)); n != 0 {
		t.Fatalf("%d entries in an empty directory", n)
	}
	writeRun(t, filepath.Join(dir, "new"), "adam", 1e-3, 1, false)
	if e, ok := entriesByPath(t, ts.URL)["new"]; !ok || e.Status != Running {
		t.Fatalf("new run: listed %v, %+v; want listed and running", ok, e)
	}
	for want := 2; want <= 3; want++ {
		appendLine(t, filepath.Join(dir, "new", "metrics.jsonl"), metricsLine(want, 1e-3))
		var rep testEntry
		getJSON(t, ts.URL+"/api/entry?id=0/new", &rep)
		if n := len(rep.Metrics.Points); n != want {
			t.Errorf("after appending epoch %d: %d points; want %d", want, n, want)
		}
	}
}

// testEntry is /api/entry as a test reads it.
type testEntry struct {
	Entry   Entry    `json:"entry"`
	Metrics *Metrics `json:"metrics"`
}

// TestRunDirAsRoot checks that a run directory given itself is listed.
func TestRunDirAsRoot(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "myrun")
	writeRun(t, dir, "adam", 1e-3, 2, true)
	_, ts := newServer(t, dir)
	e, ok := entriesByPath(t, ts.URL)["."]
	if !ok || e.Kind != KindRun || e.Status != Finished || e.ID != "0/." {
		t.Fatalf("the run given as the directory: listed %v as %+v; want a finished run 0/.", ok, e)
	}
	var rep testEntry
	if code := getJSON(t, ts.URL+"/api/entry?id=0/.", &rep); code != http.StatusOK || len(rep.Metrics.Points) != 2 {
		t.Errorf("GET /api/entry?id=0/.: %d, %+v; want 200 and 2 points", code, rep.Metrics)
	}
	if code, _ := rawGet(t, strings.TrimPrefix(ts.URL, "http://"), "/file/0/config.json", "127.0.0.1"); code != http.StatusOK {
		t.Errorf("GET /file/0/config.json: %d; want 200", code)
	}
}
