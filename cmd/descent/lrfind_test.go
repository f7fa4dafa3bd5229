package main

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/descentml/descent/explore"
)

// With no flags, lr-find tests descent train's recipe on digits: AdamW's
// suggested rate lands between 3e-4 and 3e-2, and the test stops when the
// loss explodes, before its 100 batches.
func TestLRFindNoFlags(t *testing.T) {
	t.Chdir(t.TempDir())
	out, errOut, code := descent(t, "lr-find")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	dir := onlyDir(t, ".")
	checkPNG(t, filepath.Join(dir, "lr-find.png"))
	var f explore.LRFind
	if err := json.Unmarshal(readFile(t, filepath.Join(dir, "lr-find.json")), &f); err != nil {
		t.Fatal(err)
	}
	if !(f.Suggested >= 3e-4 && f.Suggested <= 3e-2) {
		t.Errorf("suggested rate %v; want 3e-4 to 3e-2", f.Suggested)
	}
	if f.Stopped == "" || len(f.LRs) >= 100 {
		t.Errorf("%d batches, stopped %q; want an early stop", len(f.LRs), f.Stopped)
	}
	if f.Recipe.Optimizer.Name != "adamw" || f.Recipe.Schedule.Name != "exponential" {
		t.Errorf("recipe %+v", f.Recipe)
	}
	for _, want := range []string{"suggested learning rate", "a tenth of that", "stopped: the smoothed loss"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

// With --accumulate, --steps counts optimizer steps, the rate moving once
// a step: the test sweeps from --min-lr to --max-lr in --steps points.
func TestLRFindAccumulate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "acc")
	out, errOut, code := descent(t, "lr-find", "--accumulate", "3", "--max-lr", "1e-2", "--steps", "20", "--explode", "1e300", "--out", dir)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var f explore.LRFind
	if err := json.Unmarshal(readFile(t, filepath.Join(dir, "lr-find.json")), &f); err != nil {
		t.Fatal(err)
	}
	if n := len(f.LRs); n != 20 || f.LRs[0] != 1e-7 || math.Abs(f.LRs[n-1]-1e-2) > 1e-12 {
		t.Errorf("%d rates, %v to %v; want 20, 1e-7 to 1e-2", n, f.LRs[0], f.LRs[n-1])
	}
	if !strings.Contains(out, "20 steps, rates 1e-07 to 0.01") {
		t.Errorf("output:\n%s", out)
	}
}

// A loss that becomes NaN ends the test; it is no error.
func TestLRFindNaN(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "nan")
	out, errOut, code := descent(t, "lr-find", "--opt", "sgd", "--batchnorm=false", "--model", "mlp:32", "--max-lr", "1e30", "--explode", "1e300", "--steps", "60", "--out", dir)
	if code != 0 || !strings.Contains(out, "NaN") {
		t.Errorf("exit %d, %s\n%s", code, errOut, out)
	}
}

// TestLRFindDataOutOfRange gives lr-find a CSV whose values, standardised,
// leave float32's range (±3.4e38 about a mean of 1e38): the data is
// refused as it loads, naming the example and the feature, and no
// lr-find.json is written (it was a test whose every loss was -Inf). A
// test with no finite loss is a result with no suggestion
// (explore.TestFindLRNoFiniteLoss).
func TestLRFindDataOutOfRange(t *testing.T) {
	dir := t.TempDir()
	lines := []string{"a,label", "0,0"}
	for i := 1; i < 30; i++ {
		v := "3.4e38"
		if i%3 == 0 {
			v = "-3.4e38"
		}
		lines = append(lines, fmt.Sprintf("%s,%d", v, i%2))
	}
	csv := filepath.Join(dir, "huge.csv")
	if err := os.WriteFile(csv, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "lr")
	commandFailsWith(t, "beyond float32's range", "lr-find", "--data", "csv:"+csv, "--val-fraction", "0", "--out", out)
	if _, err := os.Stat(filepath.Join(out, "lr-find.json")); err == nil {
		t.Error("lr-find wrote lr-find.json for data it refused")
	}
}

func TestLRFindErrors(t *testing.T) {
	for _, tc := range []struct {
		want string
		args []string
	}{
		{"learning rates from 0 to 10: want 0 < min < max", []string{"lr-find", "--min-lr", "0"}},
		{"a range test of 1 steps", []string{"lr-find", "--steps", "1"}},
		{"--lr does not apply", []string{"lr-find", "--lr", "0.1"}},
		{"--epochs does not apply", []string{"lr-find", "--epochs", "3"}},
		{`unknown optimizer "shampoo"`, []string{"lr-find", "--opt", "shampoo"}},
		{"explode factor 1: want more than 1", []string{"lr-find", "--explode", "1"}},
	} {
		commandFailsWith(t, tc.want, tc.args...)
	}
}
