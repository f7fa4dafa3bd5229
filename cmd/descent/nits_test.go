package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/descentml/descent/run"
)

// TestFlagRefusals checks flags that were taken silently, or refused for
// the wrong reason.
func TestFlagRefusals(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	out, e, code := descent(t, "train", "--model", "mlp:8", "--epochs", "1", "--out", dir, "--quiet")
	if code != 0 || !strings.Contains(out, ": 1 epoch, ") {
		t.Fatalf("train 1 epoch: exit %d, %q, %s; want the summary to say 1 epoch", code, out, e)
	}
	for _, tc := range []struct {
		want string
		args []string
	}{
		{`invalid value "-1" for flag -threads: must not be negative`, []string{"train", "--threads", "-1"}},
		{`invalid value "-1" for flag -workers: must not be negative`, []string{"compare", "--workers", "-1"}},
		{`invalid value "-2" for flag -workers: must not be negative`, []string{"tune", "--workers", "-2"}},
		{"--resume '': give the directory of the run to continue", []string{"train", "--resume", ""}},
		{`--opt "sgd lr=1" sets lr: lr-find sets the rate`, []string{"lr-find", "--opt", "sgd lr=1"}},
		{"clip-norm NaN: want a number ≥ 0", []string{"train", "--clip-norm", "NaN"}},
		{"only --epochs, --threads and --replicas may be given with it, not --data", []string{"train", "--resume", dir, "--data", "text"}},
		{`--opt "adam" and --opt "adam lr=1e-3" are the same optimizer`, []string{"compare", "--opt", "adam", "--opt", "adam lr=1e-3"}},
		{`invalid value "-1" for flag -tokens: must not be negative`, []string{"sample", "--model", dir, "--tokens", "-1"}},
		{"--max-memory is 1 kB", []string{"eval", "--model", dir, "--max-memory", "1kB"}},
	} {
		commandFailsWith(t, tc.want, tc.args...)
	}
	for _, f := range []string{run.CheckpointFile, run.PrevCheckpointFile} {
		if err := os.Remove(filepath.Join(dir, f)); err != nil && !os.IsNotExist(err) { // a 1-epoch run has no previous one
			t.Fatal(err)
		}
	}
	commandFailsWith(t, "its checkpoints (checkpoint.safetensors, checkpoint.prev.safetensors) have been removed; its finished model is", "train", "--resume", dir, "--epochs", "2")
	text := filepath.Join(t.TempDir(), "bytes")
	if out, e, code := descent(t, "train", "--data", "text", "--bytes", "--model", "lstm:8,ctx=8", "--steps", "4", "--batch", "2", "--out", text, "--quiet"); code != 0 || !strings.Contains(out, "bits/byte") || strings.Contains(out, "bits/char") {
		t.Errorf("train --bytes: exit %d, %q, %s; want bits/byte", code, out, e)
	}
}
