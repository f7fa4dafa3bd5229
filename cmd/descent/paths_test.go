package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/descentml/descent/run"
)

// writeCSV writes a small CSV of two classes into dir/name.
func writeCSV(t *testing.T, dir, name string) {
	t.Helper()
	var b strings.Builder
	b.WriteString("a,b,y\n")
	for i := range 60 {
		fmt.Fprintf(&b, "%d,%d,%d\n", i%7, (i*3)%5, i%2)
	}
	if err := os.WriteFile(filepath.Join(dir, name), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestRelativeDataPath checks that a run on csv: with a relative path can
// be evaluated and resumed from another working directory: config.json
// holds the path absolute, and one written relative by an older version
// is found relative to the run directory, with a note saying so.
func TestRelativeDataPath(t *testing.T) {
	base := t.TempDir()
	writeCSV(t, base, "d.csv")
	t.Chdir(base)
	if _, e, code := descent(t, "train", "--data", "csv:d.csv", "--model", "mlp:8", "--epochs", "1", "--out", "run", "--quiet"); code != 0 {
		t.Fatalf("train: exit %d: %s", code, e)
	}
	r, _, err := run.Read(filepath.Join(base, "run"))
	if err != nil {
		t.Fatal(err)
	}
	if want := "csv:" + filepath.Join(base, "d.csv"); r.Data != want {
		t.Errorf("config.json data = %q; want %q", r.Data, want)
	}
	// As an older version wrote it: the path as typed.
	cfg := filepath.Join(base, "run", run.ConfigFile)
	var m map[string]any
	if err := json.Unmarshal(readFile(t, cfg), &m); err != nil {
		t.Fatal(err)
	}
	m["data"] = "csv:d.csv"
	b, _ := json.Marshal(m)
	if err := os.WriteFile(cfg, b, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Chdir(t.TempDir())
	dir := filepath.Join(base, "run")
	if _, e, code := descent(t, "eval", "--model", dir); code != 0 || !strings.Contains(e, "using "+filepath.Join(base, "d.csv")) {
		t.Errorf("eval from another directory: exit %d, %q; want success and a note of the file used", code, e)
	}
	if _, e, code := descent(t, "train", "--resume", dir, "--epochs", "2", "--quiet"); code != 0 || !strings.Contains(e, "using "+filepath.Join(base, "d.csv")) {
		t.Errorf("train --resume from another directory: exit %d, %q; want success and a note of the file used", code, e)
	}
}

// TestEvalUnfinished checks that eval of a run that has no model yet says
// so, for a classifier as for a language model, before reading any data.
func TestEvalUnfinished(t *testing.T) {
	base := t.TempDir()
	for _, args := range [][]string{
		{"--model", "mlp:8", "--epochs", "2"},
		{"--data", "text", "--model", "lstm:8", "--steps", "4", "--eval-every", "2"},
	} {
		dir := filepath.Join(base, args[1])
		if _, e, code := descent(t, append([]string{"train", "--out", dir, "--quiet"}, args...)...); code != 0 {
			t.Fatalf("train %v: exit %d: %s", args, code, e)
		}
		if err := os.Remove(filepath.Join(dir, run.ModelFile)); err != nil {
			t.Fatal(err)
		}
		if _, e, code := descent(t, "eval", "--model", dir, "--data", "csv:"+filepath.Join(base, "none.csv")); code == 0 || !strings.Contains(e, dir+" has no trained model yet") || !strings.Contains(e, "finish the run first") {
			t.Errorf("eval of the unfinished run %v: exit %d, %q; want one saying it has no trained model yet", args, code, e)
		}
	}
}
