package serve

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// TestMetricsIncremental checks that a metrics.jsonl that grows is parsed
// only where it grew, and one rewritten is parsed again whole.
func TestMetricsIncremental(t *testing.T) {
	dir := t.TempDir()
	writeRun(t, filepath.Join(dir, "r"), "adam", 1e-3, 3, false)
	s, err := New(Config{Dirs: []string{dir}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	name := filepath.Join(dir, "r", "metrics.jsonl")
	read := func() (Metrics, *metricsReader) {
		info, err := os.Stat(name)
		if err != nil {
			t.Fatal(err)
		}
		m, b := s.readMetrics(s.roots[0].fsys, "r/metrics.jsonl", info, true)
		var back Metrics
		if err := json.Unmarshal(b, &back); err != nil || len(back.Points) != len(m.Points) || len(back.Keys) != len(m.Keys) || back.Problem != m.Problem {
			t.Errorf("the metrics' JSON reads back as %d points, %d keys, problem %q (%v); want %d, %d, %q", len(back.Points), len(back.Keys), back.Problem, err, len(m.Points), len(m.Keys), m.Problem)
		}
		return m, s.cache.metrics[fsKey(s.roots[0].fsys, "r/metrics.jsonl")]
	}
	m, r := read()
	if len(m.Points) != 3 || r.line != 3 {
		t.Fatalf("%d points, %d lines read; want 3, 3", len(m.Points), r.line)
	}
	first := m
	appendLine(t, name, metricsLine(4, 1e-3))
	appendLine(t, name, []byte(`{"epoch":5,`))
	m, r = read()
	if len(m.Points) != 4 || r.line != 4 {
		t.Errorf("after an append: %d points, %d lines read; want 4, 4 (the lines parsed once)", len(m.Points), r.line)
	}
	if len(first.Points) != 3 {
		t.Errorf("the Metrics returned before changed: %d points", len(first.Points))
	}
	appendLine(t, name, []byte(`"train_loss":0.5}`+"\n"))
	m, r = read()
	if len(m.Points) != 5 || r.line != 5 {
		t.Errorf("after the half line was finished: %d points, %d lines read; want 5, 5", len(m.Points), r.line)
	}
	// A rewrite, as --resume makes when it drops epochs: parsed again.
	writeRun(t, filepath.Join(dir, "r"), "sgd", 0.1, 2, false)
	m, r = read()
	if len(m.Points) != 2 || r.line != 2 {
		t.Errorf("after a rewrite: %d points, %d lines read; want 2, 2", len(m.Points), r.line)
	}
}

// TestCacheForgets checks that the cache drops the files of a run whose
// directory is removed, at the next scan.
func TestCacheForgets(t *testing.T) {
	dir := t.TempDir()
	writeRun(t, filepath.Join(dir, "a"), "adam", 1e-3, 3, true)
	writeRun(t, filepath.Join(dir, "b"), "sgd", 1e-2, 3, false)
	s, err := New(Config{Dirs: []string{dir}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.scan()
	full := s.cache.size()
	if full == 0 {
		t.Fatal("a scan of two runs cached nothing")
	}
	if err := os.RemoveAll(filepath.Join(dir, "b")); err != nil {
		t.Fatal(err)
	}
	if n := len(s.scan()); n != 1 {
		t.Fatalf("scan after removing a run = %d entries; want 1", n)
	}
	if n := s.cache.size(); n == 0 || n >= full {
		t.Errorf("after removing one of two runs the cache holds %d files; want fewer than %d, more than 0", n, full)
	}
	if err := os.RemoveAll(filepath.Join(dir, "a")); err != nil {
		t.Fatal(err)
	}
	s.scan()
	if n := s.cache.size(); n != 0 {
		t.Errorf("after removing every run the cache holds %d files; want 0", n)
	}
}
