package main

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/descentml/descent/explore"
	"github.com/descentml/descent/optim/spec"
	"github.com/descentml/descent/recipe"
)

// shellSplit splits a command line as a POSIX shell does, for the quoting
// shellQuote writes: words separated by spaces, single quotes, and \'
// outside them.
func shellSplit(t *testing.T, line string) []string {
	t.Helper()
	var words []string
	var w strings.Builder
	inWord, quoted, escaped := false, false, false
	for _, r := range line {
		switch {
		case escaped:
			w.WriteRune(r)
			escaped = false
		case r == '\\' && !quoted:
			escaped, inWord = true, true
		case r == '\'':
			quoted, inWord = !quoted, true
		case r == ' ' && !quoted:
			if inWord {
				words = append(words, w.String())
				w.Reset()
			}
			inWord = false
		default:
			w.WriteRune(r)
			inWord = true
		}
	}
	if quoted {
		t.Fatalf("unbalanced quotes in %s", line)
	}
	if inWord {
		words = append(words, w.String())
	}
	return words
}

// trainRecipe returns the recipe that "descent train" builds from args.
func trainRecipe(t *testing.T, args []string) recipe.Recipe {
	t.Helper()
	fs := flag.NewFlagSet("train", flag.ContinueOnError)
	f := recipe.AddFlags(fs, recipe.Default(), true)
	if err := fs.Parse(args); err != nil {
		t.Fatalf("train %s: %v", strings.Join(args, " "), err)
	}
	r, err := f.Recipe()
	if err != nil {
		t.Fatalf("train %s: %v", strings.Join(args, " "), err)
	}
	return r
}

// The printed command trains the recipe it came from, whatever its
// settings, through train's own flags.
func TestTrainCommand(t *testing.T) {
	base := recipe.Default()
	for _, edit := range []func(*recipe.Recipe){
		func(r *recipe.Recipe) {},
		func(r *recipe.Recipe) {
			r.Optimizer, _ = spec.ParseOptimizer("rmsprop lr=0.003 centered=true eps-in-sqrt=true momentum=0.5")
			r.Schedule, _ = spec.ParseSchedule("cosine min=1e-5 warmup=20 unit=epoch")
			r.Model = recipe.Model{Kind: "mlp", Hidden: []int{64, 32}, Dropout: 0.25}
			r.ClipNorm, r.DecayWeightsOnly, r.Patience, r.Seed, r.Batch, r.Epochs = 1, true, 3, 42, 17, 9
			r.Data, r.Label = "csv:/tmp/it's here.csv", "y"
		},
		func(r *recipe.Recipe) {
			r.Optimizer, _ = spec.ParseOptimizer("sgd lr=0.1 nesterov=true momentum=0.9 wd=1e-4")
			r.Model = recipe.Model{Kind: "linear"}
			r.ClipValue, r.DataDir = 0.5, "/data/x y"
		},
	} {
		r := base
		edit(&r)
		line := r.Command()
		words := shellSplit(t, line)
		if len(words) < 3 || words[0] != "descent" || words[1] != "train" {
			t.Fatalf("Command() = %s", line)
		}
		if got := trainRecipe(t, words[2:]); !reflect.DeepEqual(got, r) {
			t.Errorf("Command() = %s\nwhich trains %+v\nnot %+v", line, got, r)
		}
	}
}

// With no flags, tune runs a small random search on digits and prints
// the best trial as a train command that reproduces it.
func TestTuneNoFlags(t *testing.T) {
	t.Chdir(t.TempDir())
	out, errOut, code := descent(t, "tune", "--quiet")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	dir := onlyDir(t, ".")
	checkPNG(t, filepath.Join(dir, "tune.png"))
	var res struct {
		explore.Tuning
		TrainCommand string `json:"train_command"`
	}
	if err := json.Unmarshal(readFile(t, filepath.Join(dir, "tune.json")), &res); err != nil {
		t.Fatal(err)
	}
	if len(res.Report.Trials) != 8 || res.Best == nil || res.Best.Epochs != 3 || res.Metric != explore.ValLoss {
		t.Fatalf("tune.json: %d trials, best %+v", len(res.Report.Trials), res.Best)
	}
	i := strings.Index(out, "descent train ")
	if i < 0 || !strings.Contains(out, res.TrainCommand) {
		t.Fatalf("output lacks the train command:\n%s", out)
	}
	if got := trainRecipe(t, shellSplit(t, res.TrainCommand)[2:]); !reflect.DeepEqual(got, *res.Best) {
		t.Errorf("the command trains %+v; want the best trial's %+v", got, *res.Best)
	}
	// The table is sorted by validation loss.
	lines := strings.Split(out, "\n")
	if !strings.HasPrefix(lines[2], "rank") || !strings.HasPrefix(lines[3], "1 ") || !strings.HasPrefix(lines[10], "8 ") {
		t.Errorf("table:\n%s", out)
	}
}

// An interrupted search continues with the same command and --out: no
// finished trial runs again, and the table is an uninterrupted search's.
func TestTuneResumes(t *testing.T) {
	base := t.TempDir()
	args := func(dir string) []string {
		return []string{"tune", "--out", dir, "--space", "lr=log(1e-3,1e-1) batch=choice(32,64) beta1=uniform(0.8,0.95)",
			"--trials", "6", "--epochs", "2", "--model", "mlp:32", "--workers", "2", "--quiet"}
	}
	table := func(out string) string { // the lines from the table to the command
		i, j := strings.Index(out, "rank"), strings.Index(out, "wrote ")
		if i < 0 || j < i {
			t.Fatalf("no table in\n%s", out)
		}
		return out[i:j]
	}
	defer func() { testTuneStop = nil }()
	ran := 0
	testTuneStop = func(int) bool { ran++; return false }
	whole, errOut, code := descent(t, args(filepath.Join(base, "whole"))...)
	if code != 0 || ran != 6 {
		t.Fatalf("exit %d after %d trials: %s", code, ran, errOut)
	}

	dir := filepath.Join(base, "part")
	testTuneStop = func(done int) bool { return done == 2 }
	_, errOut, code = descent(t, args(dir)...)
	if code != 130 || !strings.Contains(errOut, "run the same command with --out "+dir) {
		t.Fatalf("interrupted search: exit %d, %s", code, errOut)
	}
	if _, err := os.Stat(filepath.Join(dir, "tune.json")); err == nil {
		t.Error("an interrupted search wrote tune.json")
	}
	recorded := strings.Count(string(readFile(t, filepath.Join(dir, explore.TuneJournal))), "\n") - 1
	if recorded < 2 || recorded >= 6 {
		t.Fatalf("the journal records %d trials; want 2 to 5", recorded)
	}
	ran = 0
	testTuneStop = func(int) bool { ran++; return false }
	rest, errOut, code := descent(t, args(dir)...)
	if code != 0 {
		t.Fatalf("resumed search: exit %d: %s", code, errOut)
	}
	if ran != 6-recorded {
		t.Errorf("the resumed search ran %d trials; want the %d not recorded", ran, 6-recorded)
	}
	if a, b := table(whole), table(rest); a != b {
		t.Errorf("resumed:\n%s\nuninterrupted:\n%s", b, a)
	}
	// Once finished, the same command runs nothing and prints the same.
	ran = 0
	again, _, code := descent(t, args(dir)...)
	if code != 0 || ran != 0 || table(again) != table(whole) {
		t.Errorf("a finished search ran %d trials again (exit %d)", ran, code)
	}
	// Another recipe in the same directory is refused.
	commandFailsWith(t, "another recipe (there → here): seed 1 → 2", append(args(dir), "--seed", "2")...)
	commandFailsWith(t, "different search", append(args(dir)[:len(args(dir))-1], "--trials", "7")...)
}

func TestTuneHalving(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "halving")
	out, errOut, code := descent(t, "tune", "--method", "halving", "--trials", "3", "--epochs", "3", "--model", "mlp:32",
		"--space", "lr=log(1e-3,1e-1) opt=choice(adam,sgd) momentum=0.9", "--metric", "val_accuracy", "--out", dir, "--quiet")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if !strings.Contains(out, "halving(configs=3,min=1,max=3,eta=3)") || !strings.Contains(out, "val_accuracy") || !strings.Contains(out, "--epochs 3") {
		t.Errorf("output:\n%s", out)
	}
}

func TestTuneErrors(t *testing.T) {
	for _, tc := range []struct {
		want string
		args []string
	}{
		{"log takes 2 bounds, got 1 in \"log(1e-4)\": want name=log(low,high) with 0 < low < high", []string{"tune", "--space", "lr=log(1e-4)"}},
		{"want name=log(low,high), name=uniform(low,high), name=int(low,high), name=choice(v1,v2,…) or name=value", []string{"tune", "--space", "lr"}},
		{`"gamma" is not a name the search can set (valid: adamw_lr, adamw_wd, alpha, alpha_warmup, amsgrad, batch, beta1`, []string{"tune", "--space", "gamma=log(0.1,1)"}},
		{`adamw has no hyperparameter "momentum"`, []string{"tune", "--space", "momentum=uniform(0,0.9)"}},
		{`unknown optimizer "shampoo"`, []string{"tune", "--space", "opt=choice(adam,shampoo)"}},
		{"epochs cannot be searched with it", []string{"tune", "--method", "halving", "--space", "epochs=int(1,3)"}},
		{`--method "bayes": want random, grid or halving`, []string{"tune", "--method", "bayes"}},
		{`--metric "test_accuracy": want val_loss or val_accuracy`, []string{"tune", "--metric", "test_accuracy"}},
		{"Random.Trials = 0", []string{"tune", "--trials", "0", "--out", t.TempDir()}},
	} {
		commandFailsWith(t, tc.want, tc.args...)
	}
}

// TestTuneRefusesBeforeOutput checks that a search that cannot run is
// refused before its output directory is made.
func TestTuneRefusesBeforeOutput(t *testing.T) {
	base := t.TempDir()
	for _, tc := range []struct {
		want string
		args []string
	}{
		{"the data has none", []string{"--val-fraction", "0", "--epochs", "1"}},
		{"scored by its validation loss (val_loss), not an accuracy", []string{"--data", "text", "--model", "lstm:8", "--steps", "4", "--metric", "val_accuracy"}},
	} {
		dir := filepath.Join(base, "out")
		commandFailsWith(t, tc.want, append([]string{"tune", "--trials", "1", "--quiet", "--out", dir}, tc.args...)...)
		if _, err := os.Stat(dir); err == nil {
			t.Errorf("descent tune %v made %s", tc.args, dir)
		}
	}
}
