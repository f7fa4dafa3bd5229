package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/descentml/descent/run"
)

// TestReplicas trains on 2 in-process replicas (--replicas 2) twice, and
// stopped by SIGINT in epoch 2 then resumed: the run writes its files and
// records its 2 ranks, the two runs give the same model, byte for byte,
// and so does the stopped one resumed with --replicas 2; resumed with
// --replicas 1 it finishes too. (That --replicas N gives mpirun -np N's
// bytes is TestDistributedReplicas, in an MPI build.)
func TestReplicas(t *testing.T) {
	base := t.TempDir()
	dir := func(name string) string { return filepath.Join(base, name) }
	args := func(dir string) []string {
		return []string{"train", "--replicas", "2", "--out", dir, "--epochs", "3", "--quiet"}
	}
	for _, name := range []string{"two", "again"} {
		if _, e, code := descent(t, args(dir(name))...); code != 0 {
			t.Fatalf("%s: exit %d: %s", name, code, e)
		}
	}
	for _, f := range []string{run.ConfigFile, run.DataFile, run.MetricsFile, run.SummaryFile, run.ModelFile, run.CheckpointFile, "loss.png"} {
		if _, err := os.Stat(filepath.Join(dir("two"), f)); err != nil {
			t.Errorf("--replicas 2: missing %s", f)
		}
	}
	var cf struct{ Ranks int }
	if err := json.Unmarshal(readFile(t, filepath.Join(dir("two"), run.ConfigFile)), &cf); err != nil || cf.Ranks != 2 {
		t.Errorf("config.json of --replicas 2: ranks %d, %v; want 2", cf.Ranks, err)
	}
	var s run.Summary
	if err := json.Unmarshal(readFile(t, filepath.Join(dir("two"), run.SummaryFile)), &s); err != nil || s.Ranks != 2 || s.Epochs != 3 {
		t.Errorf("summary.json of --replicas 2: ranks %d, epochs %d, %v; want 2 and 3", s.Ranks, s.Epochs, err)
	}
	want := readFile(t, filepath.Join(dir("two"), run.ModelFile))
	if !bytes.Equal(readFile(t, filepath.Join(dir("again"), run.ModelFile)), want) {
		t.Errorf("two runs with --replicas 2 and the same seed gave different models")
	}
	for _, replicas := range []string{"2", "1"} {
		stopped := dir("stopped" + replicas)
		e, err := subprocess(t, "INT:30", args(stopped)...)
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 130 || !strings.Contains(e, "descent train --replicas 2 --resume "+stopped) {
			t.Fatalf("--replicas 2 stopped by SIGINT: %v, stderr %q; want exit 130 and how to resume", err, e)
		}
		if n := strings.Count(e, "descent train:"); n != 1 {
			t.Errorf("--replicas 2 stopped by SIGINT: %d errors printed; want 1:\n%s", n, e)
		}
		if _, err := os.Stat(filepath.Join(stopped, run.ModelFile)); err == nil {
			t.Fatal("the stopped run wrote a final model")
		}
		if _, e, code := descent(t, "train", "--replicas", replicas, "--resume", stopped, "--quiet"); code != 0 {
			t.Fatalf("resumed with --replicas %s: exit %d: %s", replicas, code, e)
		}
		if replicas == "2" && !bytes.Equal(readFile(t, filepath.Join(stopped, run.ModelFile)), want) {
			t.Errorf("stopped and resumed with --replicas 2, the model differs from the uninterrupted run's")
		}
	}
}

// TestReplicasText trains a language model on 2 replicas, whole and
// stopped by SIGINT after step 5 then resumed: the same model, byte for
// byte.
func TestReplicasText(t *testing.T) {
	base := t.TempDir()
	args := func(dir string) []string {
		return []string{"train", "--replicas", "2", "--data", "text", "--model", "gpt:layers=1,d=16,heads=2,ctx=16", "--out", dir,
			"--steps", "12", "--batch", "7", "--eval-every", "6", "--quiet"}
	}
	whole, stopped := filepath.Join(base, "whole"), filepath.Join(base, "stopped")
	if _, e, code := descent(t, args(whole)...); code != 0 {
		t.Fatalf("exit %d: %s", code, e)
	}
	e, err := subprocess(t, "INT:5", args(stopped)...)
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 130 || !strings.Contains(e, "descent train --replicas 2 --resume "+stopped) {
		t.Fatalf("stopped by SIGINT: %v, stderr %q; want exit 130 and how to resume", err, e)
	}
	if _, e, code := descent(t, "train", "--replicas", "2", "--resume", stopped, "--quiet"); code != 0 {
		t.Fatalf("resume: exit %d: %s", code, e)
	}
	if !bytes.Equal(readFile(t, filepath.Join(stopped, run.ModelFile)), readFile(t, filepath.Join(whole, run.ModelFile))) {
		t.Errorf("a language model stopped and resumed with --replicas 2 differs from the uninterrupted run")
	}
}

// TestReplicasErrors checks the flags --replicas refuses, and that an
// error of the run on the replicas is printed once, leaving no files.
func TestReplicasErrors(t *testing.T) {
	base := t.TempDir()
	for i, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--replicas", "0"}, "--replicas 0: must be at least 1"},
		{[]string{"--replicas", "-2"}, "--replicas -2: must be at least 1"},
		{[]string{"--replicas", "2", "--threads", "2"}, "--replicas 2 --threads 2: each replica runs on one thread; leave out --threads, or give 1"},
		{[]string{"--replicas", "2", "--model", "mlp:8", "--epochs", "1", "--batch", "1"}, "at least one example for each of the 2 ranks"},
		{[]string{"--replicas", "3", "--data", "text", "--model", "gpt:layers=1,d=16,heads=2,ctx=16", "--steps", "2", "--batch", "2"}, "at least one window for each of the 3 ranks"},
	} {
		dir := filepath.Join(base, string(rune('a'+i)))
		args := append([]string{"train", "--out", dir, "--quiet"}, c.args...)
		_, e, code := descent(t, args...)
		if code != 1 || !strings.Contains(e, c.want) {
			t.Errorf("descent %s: exit %d, stderr %q; want exit 1 and %q", strings.Join(args, " "), code, e, c.want)
		}
		if n := strings.Count(e, "descent train:"); n != 1 {
			t.Errorf("descent %s: %d errors printed; want 1:\n%s", strings.Join(args, " "), n, e)
		}
		if entries, _ := os.ReadDir(dir); len(entries) > 0 {
			t.Errorf("descent %s: %s holds %d files; want none", strings.Join(args, " "), dir, len(entries))
		}
	}
}
