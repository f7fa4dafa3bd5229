package main

import (
	"encoding/json"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/descentml/descent/explore"
)

// commandFailsWith runs descent with args and checks that it fails with a
// message holding want, and does not panic.
func commandFailsWith(t *testing.T, want string, args ...string) {
	t.Helper()
	_, stderr, code := descent(t, args...)
	if code == 0 || !strings.Contains(stderr, want) {
		t.Errorf("descent %s: exit %d, stderr %q; want a failure mentioning %q", strings.Join(args, " "), code, stderr, want)
	}
	if strings.Contains(stderr, "goroutine") || strings.Contains(stderr, "panic") {
		t.Errorf("descent %s panicked:\n%s", strings.Join(args, " "), stderr)
	}
}

// onlyDir returns the one directory below dir/runs, where a command
// without --out writes.
func onlyDir(t *testing.T, dir string) string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(dir, "runs"))
	if err != nil || len(entries) != 1 {
		t.Fatalf("runs/ holds %v (%v); want one directory", entries, err)
	}
	return filepath.Join(dir, "runs", entries[0].Name())
}

func checkPNG(t *testing.T, path string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Error(err)
		return
	}
	defer f.Close()
	if _, err := png.Decode(f); err != nil {
		t.Errorf("%s: %v", path, err)
	}
}

func readComparison(t *testing.T, dir string) explore.Comparison {
	t.Helper()
	var c explore.Comparison
	if err := json.Unmarshal(readFile(t, filepath.Join(dir, "compare.json")), &c); err != nil {
		t.Fatal(err)
	}
	return c
}

// With no flags, compare runs five optimizers for three seeds on digits.
func TestCompareNoFlags(t *testing.T) {
	if testing.Short() {
		t.Skip("trains 15 runs of 5 epochs")
	}
	t.Chdir(t.TempDir())
	out, errOut, code := descent(t, "compare")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	dir := onlyDir(t, ".")
	if !strings.HasPrefix(filepath.Base(dir), "compare-") {
		t.Errorf("output directory %s; want runs/compare-<date>-<time>", dir)
	}
	c := readComparison(t, dir)
	if len(c.Optimizers) != 5 || len(c.Seeds) != 3 || c.Recipe.Epochs != 5 {
		t.Errorf("%d optimizers, seeds %v, %d epochs; want 5, 3 seeds, 5 epochs", len(c.Optimizers), c.Seeds, c.Recipe.Epochs)
	}
	for _, spec := range defaultCompareOpts {
		name, _, _ := strings.Cut(spec, " ")
		if !strings.Contains(out, name+" lr=") {
			t.Errorf("the table lacks %s:\n%s", name, out)
		}
	}
	if !strings.Contains(out, " ± ") {
		t.Errorf("the table has no mean ± std:\n%s", out)
	}
}

func TestCompare(t *testing.T) {
	base := t.TempDir()
	args := func(dir string, more ...string) []string {
		return append([]string{"compare", "--out", dir, "--epochs", "2", "--seeds", "2", "--model", "mlp:64", "--quiet",
			"--opt", "sgd lr=0.1", "--opt", "adamw lr=3e-3 wd=0.05", "--opt", "momentum lr=0.05 beta=0.9"}, more...)
	}
	one := filepath.Join(base, "one")
	out, errOut, code := descent(t, args(one, "--workers", "1", "--threads", "1")...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, f := range []string{"compare.json", "train-loss.png", "val-loss.png", "train-accuracy.png", "val-accuracy.png", "lr.png"} {
		if f != "compare.json" {
			checkPNG(t, filepath.Join(one, f))
		} else if _, err := os.Stat(filepath.Join(one, f)); err != nil {
			t.Error(err)
		}
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 8 || !strings.HasPrefix(lines[2], "optimizer") || !strings.HasPrefix(lines[3], "sgd lr=0.1 ") || !strings.HasPrefix(lines[5], "momentum lr=0.05 ") {
		t.Errorf("table:\n%s", out)
	}
	c1 := readComparison(t, one)
	if len(c1.Optimizers) != 3 || c1.Seeds[0] != 1 || c1.Seeds[1] != 2 || len(c1.Optimizers[1].Runs[1].History) != 2 {
		t.Errorf("compare.json: %+v", c1)
	}

	// The numbers do not depend on the parallelism.
	two := filepath.Join(base, "two")
	if _, errOut, code := descent(t, args(two, "--workers", "2", "--threads", "2")...); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	c2 := readComparison(t, two)
	for i, k := range c1.Optimizers {
		for j, o := range k.Runs {
			p := c2.Optimizers[i].Runs[j]
			if o.Final != p.Final {
				t.Errorf("%s, seed %d: 1 worker ends at %+v, 2 workers at %+v", k.Spec, o.Seed, o.Final, p.Final)
			}
			for e := range o.History {
				a, b := o.History[e], p.History[e]
				a.Seconds, b.Seconds = 0, 0
				// As metrics.jsonl writes them: an epoch holds maps, and NaN
				// (the clip fraction of a run without clipping) as null.
				ja, _ := json.Marshal(a)
				jb, _ := json.Marshal(b)
				if string(ja) != string(jb) {
					t.Errorf("%s, seed %d, epoch %d: %+v and %+v", k.Spec, o.Seed, e+1, a, b)
				}
			}
		}
	}
	// Results are never overwritten.
	commandFailsWith(t, "already holds", args(one)...)
}

func TestCompareErrors(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		want string
		args []string
	}{
		{`--opt "shampoo lr=1": spec: unknown optimizer "shampoo" (valid: adadelta, adagrad, adam`, []string{"compare", "--opt", "adam", "--opt", "shampoo lr=1"}},
		{`adam has no hyperparameter "beta" (valid: lr, beta1`, []string{"compare", "--opt", "adam beta=0.9"}},
		{`"lr" is not key=value`, []string{"compare", "--opt", "adam lr"}},
		{"--seeds 0: want at least 1", []string{"compare", "--seeds", "0", "--out", dir}},
		{`unknown preset "adamw" (valid: adamw-vs-l2)`, []string{"compare", "--preset", "adamw"}},
		{"--lrs and --wds set the grid of --preset adamw-vs-l2", []string{"compare", "--lrs", "1e-3"}},
		{`"x" is not a number: want numbers separated by commas`, []string{"compare", "--preset", "adamw-vs-l2", "--lrs", "1e-3,x"}},
		{"want finite values ≥ 0 in ascending order", []string{"compare", "--preset", "adamw-vs-l2", "--data", "digits", "--lrs", "1e-2,1e-3", "--out", dir}},
		{"--seeds does not apply", []string{"compare", "--preset", "adamw-vs-l2", "--seeds", "3"}},
		{"-lr", []string{"compare", "--lr", "0.1"}}, // the optimizer's flags are in --opt
		{`unknown model "resnet"`, []string{"compare", "--model", "resnet"}},
		{"is a language model: it trains on text", []string{"compare", "--model", "rnn"}},
	} {
		commandFailsWith(t, tc.want, tc.args...)
	}
	out, _, code := descent(t, "compare", "--help")
	if code != 0 || !strings.Contains(out, "-preset") || !strings.Contains(out, "adamw-vs-l2") || strings.Contains(out, "-beta1") {
		t.Errorf("compare --help: exit %d\n%s", code, out)
	}
}

// TestCompareAllFailed checks that a comparison in which every run failed
// exits non-zero, naming the file that holds the errors.
func TestCompareAllFailed(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "c")
	commandFailsWith(t, "every run failed (2 of 2)", "compare", "--out", dir, "--epochs", "1", "--seeds", "2",
		"--model", "mlp:16", "--quiet", "--opt", "sgd lr=1e30")
	if _, err := os.Stat(filepath.Join(dir, "compare.json")); err != nil {
		t.Errorf("the failed runs were not saved: %v", err)
	}
}

// The adamw-vs-l2 preset on a small grid.
func TestCompareAdamWvsL2(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "grid")
	out, errOut, code := descent(t, "compare", "--preset", "adamw-vs-l2", "--data", "digits", "--train-size", "0", "--model", "mlp:32",
		"--epochs", "1", "--lrs", "1e-3,1e-2", "--wds", "1e-4,1", "--out", dir, "--quiet")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	checkPNG(t, filepath.Join(dir, "adamw-vs-l2.png"))
	var g explore.DecayGrid
	if err := json.Unmarshal(readFile(t, filepath.Join(dir, "adamw-vs-l2.json")), &g); err != nil {
		t.Fatal(err)
	}
	if len(g.Panels) != 2 || len(g.Panels[0].Cells) != 2 || len(g.Panels[0].Cells[0]) != 2 || g.Recipe.Schedule.Name != "cosine" || g.Recipe.Model.BatchNorm {
		t.Errorf("adamw-vs-l2.json: %+v", g)
	}
	if c := g.Panels[0].Cells[1][0]; c.Spec != "adam lr=0.01 wd=0.0001" {
		t.Errorf("adam cell [1][0]: %q", c.Spec)
	}
	for _, want := range []string{"Adam + L2", "AdamW (decoupled", "best val error", "cosine"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

// TestCompareRunFlags checks that compare's --accumulate and --average
// reach every run, as train's do, and that --max-memory refuses a
// comparison whose runs at once need more.
func TestCompareRunFlags(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "c")
	args := []string{"compare", "--epochs", "1", "--seeds", "1", "--model", "mlp:32", "--quiet", "--workers", "2",
		"--opt", "sgd lr=0.1", "--opt", "adam", "--accumulate", "3", "--average", "ema decay=0.9", "--max-memory", "1GB"}
	if _, errOut, code := descent(t, append(args, "--out", dir)...); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	c := readComparison(t, dir)
	if c.Recipe.Accumulate != 3 || c.Recipe.Average != "ema decay=0.9" {
		t.Errorf("compare.json's recipe: accumulate %d, average %q; want 3 and ema decay=0.9", c.Recipe.Accumulate, c.Recipe.Average)
	}
	// 1 epoch of 1437 examples in batches of 64: 23 batches, 8 steps of 3.
	for _, k := range c.Optimizers {
		if h := k.Runs[0].History; len(h) != 1 || h[0].Step != 8 {
			t.Errorf("%s: history %+v; want 1 epoch of 8 optimizer steps", k.Spec, h)
		}
	}
	commandFailsWith(t, "--max-memory is 1 kB", append(args[:len(args)-1], "1kB", "--out", filepath.Join(t.TempDir(), "small"))...)
	commandFailsWith(t, "--max-memory", append(args[:len(args)-1], "lots", "--out", filepath.Join(t.TempDir(), "bad"))...)
}
