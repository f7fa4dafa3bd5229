package main

import (
	"encoding/json"
	"image/gif"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/descentml/descent/landscape"
)

func TestLandscapeNoFlags(t *testing.T) {
	t.Chdir(t.TempDir())
	out, errOut, code := descent(t, "landscape")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	dir := onlyDir(t, ".")
	checkPNG(t, filepath.Join(dir, "landscape.png"))
	f, err := os.Open(filepath.Join(dir, "landscape.gif"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if g, err := gif.DecodeAll(f); err != nil || len(g.Image) < 2 {
		t.Errorf("landscape.gif is no animation: %v", err)
	}
	var res landscape.Result
	if err := json.Unmarshal(readFile(t, filepath.Join(dir, "landscape.json")), &res); err != nil {
		t.Fatal(err)
	}
	if res.Function != "ravine" || len(res.Runs) != len(landscape.DefaultOptimizers(landscape.Ravine())) || res.Steps != landscape.DefaultSteps {
		t.Errorf("landscape.json: %s, %d runs of %d steps", res.Function, len(res.Runs), res.Steps)
	}
	for _, want := range []string{"reached", "steep travel", "flips", "momentum lr=0.02 beta=0.9", "never"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

// TestLandscapeHelp checks that -h names the optimizers that run with no
// --opt, as many as run (it said five while six ran).
func TestLandscapeHelp(t *testing.T) {
	out, _, code := descent(t, "landscape", "-h")
	defaults := landscape.DefaultOptimizers(landscape.Ravine())
	var names []string
	for _, o := range defaults {
		names = append(names, o.Name)
	}
	if want := strings.Join(names, ", "); code != 0 || !strings.Contains(strings.Join(strings.Fields(out), " "), want) {
		t.Errorf("landscape -h: exit %d; want the %d defaults named (%s):\n%s", code, len(defaults), want, out)
	}
	for _, wrong := range []string{"five", "seven"} {
		if strings.Contains(out, "function's "+wrong) {
			t.Errorf("landscape -h counts the defaults as %s; %d run", wrong, len(defaults))
		}
	}
}

// The example of the issue: the table shows momentum reaching the minimum
// of the ravine, where gradient descent at the same rate bounces across it.
func TestLandscapeRavine(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "ravine")
	out, errOut, code := descent(t, "landscape", "--fn", "ravine", "--opt", "sgd lr=0.02", "--opt", "momentum lr=0.02 beta=0.9",
		"--steps", "200", "--frames", "10", "--width", "320", "--height", "240", "--out", dir)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var sgd, momentum string
	for _, l := range strings.Split(out, "\n") {
		switch {
		case strings.Contains(l, "sgd lr=0.02"):
			sgd = l
		case strings.Contains(l, "momentum lr=0.02"):
			momentum = l
		}
	}
	if !strings.Contains(sgd, "never") || !strings.Contains(sgd, "199") || strings.Contains(momentum, "never") {
		t.Errorf("table:\n%s", out)
	}
	// A path that leaves the box is reported, not fatal.
	dir = filepath.Join(t.TempDir(), "diverges")
	out, errOut, code = descent(t, "landscape", "--opt", "sgd lr=0.03", "--steps", "100", "--frames", "5", "--out", dir)
	if code != 0 || !strings.Contains(out, "stopped at step") || !strings.Contains(out, "diverged") {
		t.Errorf("a diverging run: exit %d, %s\n%s", code, errOut, out)
	}
}

func TestLandscapeErrors(t *testing.T) {
	for _, tc := range []struct {
		want string
		args []string
	}{
		{`unknown function "booth": valid names are ravine, rosenbrock, beale, himmelblau, saddle, rastrigin`, []string{"landscape", "--fn", "booth"}},
		{`--opt "shampoo lr=1": spec: unknown optimizer "shampoo" (valid: adadelta`, []string{"landscape", "--opt", "shampoo lr=1"}},
		{`momentum has no hyperparameter "beta1"`, []string{"landscape", "--opt", "momentum beta1=0.9"}},
		{"want two numbers x,y", []string{"landscape", "--start", "1"}},
		{"--steps -1: want 1 to 1000000", []string{"landscape", "--steps", "-1"}},
		{"--frames 0", []string{"landscape", "--frames", "0"}},
	} {
		commandFailsWith(t, tc.want, tc.args...)
	}
}

// TestLandscapeTooLarge checks that a landscape too long for the machine
// is refused up front, with the estimate, and writes nothing.
func TestLandscapeTooLarge(t *testing.T) {
	t.Chdir(t.TempDir())
	commandFailsWith(t, "--steps 100000000: want 1 to 1000000", "landscape", "--steps", "100000000")
	commandFailsWith(t, "need about 2.4 GB of memory for their paths, and would write about 600 MB of landscape.json; --max-memory is 1 GB",
		"landscape", "--steps", "1000000", "--max-memory", "1GB")
	if _, err := os.Stat("runs"); err == nil {
		t.Error("a refused landscape made runs/")
	}
}
