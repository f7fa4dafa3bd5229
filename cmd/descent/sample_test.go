package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// countWriter counts the writes to it.
type countWriter struct {
	strings.Builder
	writes int
}

func (w *countWriter) Write(p []byte) (int, error) {
	w.writes++
	return w.Builder.Write(p)
}

// TestSampleOneLine checks that a model trained on a text without a
// newline samples with no --prompt (from a space), and that the text is
// printed as it is drawn, in many writes.
func TestSampleOneLine(t *testing.T) {
	base := t.TempDir()
	path := filepath.Join(base, "line.txt")
	if err := os.WriteFile(path, []byte(strings.Repeat("the cat sat on the mat. ", 40)), 0o644); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(base, "run")
	if _, e, code := descent(t, "train", "--data", "text:"+path, "--model", "lstm:8,ctx=8", "--steps", "4", "--batch", "2", "--out", dir, "--quiet"); code != 0 {
		t.Fatalf("train: exit %d: %s", code, e)
	}
	var out countWriter
	var e strings.Builder
	if code := dispatch([]string{"sample", "--model", dir, "--tokens", "20"}, &out, &e); code != 0 || len([]rune(out.String())) != 21 || out.writes < 20 {
		t.Errorf("sample with no --prompt: exit %d, %q in %d writes, %s; want 20 characters and a newline, written as drawn", code, out.String(), out.writes, e.String())
	}
}
