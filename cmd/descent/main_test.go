package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/descentml/descent/optim/spec"
	"github.com/descentml/descent/recipe"
	"github.com/descentml/descent/run"
	"github.com/descentml/descent/train"
)

// A test re-runs its own binary as the descent command to kill it mid-run:
// DESCENT_TEST_ARGS holds the command line (JSON), DESCENT_TEST_SIGNAL
// "KILL:n" or "INT:n" the signal the process sends itself after step n.
func TestMain(m *testing.M) {
	if args := os.Getenv("DESCENT_TEST_ARGS"); args != "" {
		var argv []string
		if err := json.Unmarshal([]byte(args), &argv); err != nil {
			panic(err)
		}
		// "KILL:n:r" signals only on MPI rank r (distributed_test.go).
		if spec := os.Getenv("DESCENT_TEST_SIGNAL"); spec != "" && onRank(spec) {
			name, at, _ := strings.Cut(spec, ":")
			at, _, _ = strings.Cut(at, ":")
			step, _ := strconv.Atoi(at)
			sig := os.Interrupt // os's signals, not syscall's: this file builds on every system
			if name == "KILL" {
				sig = os.Kill
			}
			self, _ := os.FindProcess(os.Getpid())
			signal := func() {
				if err := self.Signal(sig); err != nil { // os.Interrupt on Windows
					fmt.Fprintln(os.Stderr, "test hook: cannot send the signal:", err)
					os.Exit(3)
				}
			}
			testBatchHook = func(b train.Batch) {
				if b.Step == step {
					signal()
					time.Sleep(100 * time.Millisecond) // for the signal to arrive before the next step
				}
			}
			testStepHook = func(s train.SeqStep) { // a language model's run
				if s.Step == step {
					signal()
					time.Sleep(100 * time.Millisecond) // as testBatchHook: a short run may end first on a loaded machine
				}
			}
		}
		os.Exit(dispatch(argv, os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

func descent(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var o, e bytes.Buffer
	code = dispatch(args, &o, &e)
	return o.String(), e.String(), code
}

// subprocess runs the command in a child process that signals itself.
func subprocess(t *testing.T, signal string, args ...string) (stderr string, err error) {
	t.Helper()
	argv, _ := json.Marshal(args)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "DESCENT_TEST_ARGS="+string(argv), "DESCENT_TEST_SIGNAL="+signal)
	var e bytes.Buffer
	cmd.Stderr = &e
	err = cmd.Run()
	return e.String(), err
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestTrainDefaults(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	out, errOut, code := descent(t, "train", "--out", dir, "--epochs", "3", "--quiet")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, f := range []string{run.ConfigFile, run.DataFile, run.MetricsFile, run.SummaryFile, run.ModelFile, run.CheckpointFile} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("missing %s", f)
		}
	}
	var s run.Summary
	if err := json.Unmarshal(readFile(t, filepath.Join(dir, run.SummaryFile)), &s); err != nil {
		t.Fatal(err)
	}
	if s.BestValAccuracy == nil || *s.BestValAccuracy < 0.95 || s.TestAccuracy == nil || s.Epochs != 3 || s.Params != 64*256+256+256*256+256+256*10+10+4*256 {
		t.Errorf("summary %+v", s)
	}
	lines := strings.Split(strings.TrimSpace(string(readFile(t, filepath.Join(dir, run.MetricsFile)))), "\n")
	if len(lines) != 3 {
		t.Fatalf("metrics.jsonl has %d lines; want 3", len(lines))
	}
	var m map[string]any
	json.Unmarshal([]byte(lines[2]), &m)
	for _, k := range []string{"epoch", "step", "lr", "train_loss", "train_accuracy", "val_loss", "val_accuracy", "seconds"} {
		if _, ok := m[k]; !ok {
			t.Errorf("metrics line lacks %q: %s", k, lines[2])
		}
	}
	if !strings.Contains(out, "test accuracy") {
		t.Errorf("summary output lacks the test accuracy:\n%s", out)
	}

	evalOut, errOut, code := descent(t, "eval", "--model", dir, "--json")
	var ev struct{ Accuracy float64 }
	if code != 0 || json.Unmarshal([]byte(evalOut), &ev) != nil || ev.Accuracy != *s.TestAccuracy {
		t.Errorf("eval: exit %d, %s %s; want test accuracy %v", code, evalOut, errOut, *s.TestAccuracy)
	}
}

// TestResumeAfterSignals kills a run with SIGKILL, and interrupts another
// with SIGINT, in the middle of an epoch, resumes both, and checks that their
// final models are byte-identical to an uninterrupted run's.
func TestResumeAfterSignals(t *testing.T) {
	if testing.Short() {
		t.Skip("trains three runs")
	}
	base := t.TempDir()
	args := func(dir string) []string {
		return []string{"train", "--out", dir, "--epochs", "3", "--batch", "32", "--dropout", "0.1", "--schedule", "cosine", "--warmup", "20", "--quiet"}
	}
	whole := filepath.Join(base, "whole")
	if _, e, code := descent(t, args(whole)...); code != 0 {
		t.Fatalf("uninterrupted run: exit %d: %s", code, e)
	}
	want := readFile(t, filepath.Join(whole, run.ModelFile))
	for _, sig := range []string{"KILL:60", "INT:70"} {
		if sig == "INT:70" && runtime.GOOS == "windows" {
			t.Log("Windows cannot send a process os.Interrupt: only KILL is tried")
			continue
		}
		dir := filepath.Join(base, strings.Split(sig, ":")[0])
		stderr, err := subprocess(t, sig, args(dir)...)
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			t.Fatalf("%s: the run was not stopped: %v\n%s", sig, err, stderr)
		}
		if sig == "INT:70" && (ee.ExitCode() != 130 || !strings.Contains(stderr, "descent train --resume "+dir)) {
			t.Errorf("interrupted run: exit %d, stderr %q; want 130 and how to resume", ee.ExitCode(), stderr)
		}
		if _, err := os.Stat(filepath.Join(dir, run.ModelFile)); err == nil {
			t.Fatalf("%s: the stopped run wrote a final model", sig)
		}
		if _, e, code := descent(t, "train", "--resume", dir, "--quiet"); code != 0 {
			t.Fatalf("%s: resume: exit %d: %s", sig, code, e)
		}
		if !bytes.Equal(readFile(t, filepath.Join(dir, run.ModelFile)), want) {
			t.Errorf("%s: the resumed run's model differs from the uninterrupted run's", sig)
		}
		if a, b := readFile(t, filepath.Join(dir, run.MetricsFile)), readFile(t, filepath.Join(whole, run.MetricsFile)); bytes.Count(a, []byte("\n")) != 3 || bytes.Count(b, []byte("\n")) != 3 {
			t.Errorf("%s: metrics.jsonl has %d lines; want 3", sig, bytes.Count(a, []byte("\n")))
		}
	}
}

func TestResumeExtendsARun(t *testing.T) {
	base := t.TempDir()
	whole, part := filepath.Join(base, "whole"), filepath.Join(base, "part")
	common := []string{"--epochs", "3", "--quiet"}
	if _, e, code := descent(t, append([]string{"train", "--out", whole}, common...)...); code != 0 {
		t.Fatal(e)
	}
	if _, e, code := descent(t, "train", "--out", part, "--epochs", "2", "--quiet"); code != 0 {
		t.Fatal(e)
	}
	if _, e, code := descent(t, "train", "--resume", part, "--epochs", "3", "--quiet"); code != 0 {
		t.Fatal(e)
	}
	if !bytes.Equal(readFile(t, filepath.Join(whole, run.ModelFile)), readFile(t, filepath.Join(part, run.ModelFile))) {
		t.Error("2 epochs then 1 more differ from 3 epochs (constant learning rate)")
	}
	// A kill between the last checkpoint and the model file: resuming
	// writes the model from the checkpoint.
	want := readFile(t, filepath.Join(whole, run.ModelFile))
	os.Remove(filepath.Join(whole, run.ModelFile))
	if _, e, code := descent(t, "train", "--resume", whole, "--quiet"); code != 0 || !bytes.Equal(want, readFile(t, filepath.Join(whole, run.ModelFile))) {
		t.Errorf("resume of a finished run without its model file: exit %d, %s; want the same model written", code, e)
	}
}

// twoCosineEpochs trains a 2-epoch cosine run into dir and returns its
// saved recipe.
func twoCosineEpochs(t *testing.T, dir string) recipe.Recipe {
	t.Helper()
	if _, e, code := descent(t, "train", "--out", dir, "--epochs", "2", "--schedule", "cosine", "--quiet"); code != 0 {
		t.Fatal(e)
	}
	var r recipe.Recipe
	if err := json.Unmarshal(readFile(t, filepath.Join(dir, run.ConfigFile)), &r); err != nil {
		t.Fatal(err)
	}
	return r
}

// sameAsFresh checks that the run in dir ended with the model of a fresh
// 3-epoch run of "cosine tmax=tmax".
func sameAsFresh(t *testing.T, dir string, tmax int) {
	t.Helper()
	fresh := filepath.Join(t.TempDir(), "fresh")
	spec := fmt.Sprintf("cosine tmax=%d", tmax)
	if _, e, code := descent(t, "train", "--out", fresh, "--epochs", "3", "--schedule", spec, "--quiet"); code != 0 {
		t.Fatal(e)
	}
	if !bytes.Equal(readFile(t, filepath.Join(dir, run.ModelFile)), readFile(t, filepath.Join(fresh, run.ModelFile))) {
		t.Errorf("2 cosine epochs continued to 3 differ from 3 epochs of %q", spec)
	}
}

// TestResumeKeepsTheSchedule continues a finished cosine run for one more
// epoch: the schedule keeps the length it was saved with (it is not
// stretched over the new epochs), config.json records the new length, and
// the result equals a fresh run given that schedule explicitly.
func TestResumeKeepsTheSchedule(t *testing.T) {
	part := filepath.Join(t.TempDir(), "part")
	before := twoCosineEpochs(t, part)
	if before.Schedule.TMax == 0 {
		t.Fatalf("config.json schedule %+v: the cosine's length is not saved", before.Schedule)
	}
	_, e, code := descent(t, "train", "--resume", part, "--epochs", "3", "--quiet")
	if code != 0 {
		t.Fatal(e)
	}
	var after recipe.Recipe
	json.Unmarshal(readFile(t, filepath.Join(part, run.ConfigFile)), &after)
	if after.Epochs != 3 || after.Schedule.TMax != before.Schedule.TMax {
		t.Errorf("config.json after --resume --epochs 3: epochs %d, tmax %d; want 3 and %d", after.Epochs, after.Schedule.TMax, before.Schedule.TMax)
	}
	sameAsFresh(t, part, before.Schedule.TMax)
	// Asking for fewer epochs than done changes nothing.
	model := readFile(t, filepath.Join(part, run.ModelFile))
	_, e, code = descent(t, "train", "--resume", part, "--epochs", "2")
	if code != 0 || !strings.Contains(e, "nothing to do") || !bytes.Equal(model, readFile(t, filepath.Join(part, run.ModelFile))) {
		t.Errorf("--resume --epochs 2 after 3: exit %d, %q; want a note and the model untouched", code, e)
	}
}

// TestResumeOldConfig resumes a run whose config.json was written before
// recipes were saved resolved (a bare "cosine"): extending it keeps the
// cosine it ran with, as for a new run.
func TestResumeOldConfig(t *testing.T) {
	old := filepath.Join(t.TempDir(), "old")
	r := twoCosineEpochs(t, old)
	tmax := r.Schedule.TMax
	r.Schedule = spec.Schedule{Name: "cosine"} // as an older descent wrote it
	b, _ := json.Marshal(r)
	if err := os.WriteFile(filepath.Join(old, run.ConfigFile), b, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, e, code := descent(t, "train", "--resume", old, "--epochs", "3", "--quiet"); code != 0 {
		t.Fatal(e)
	}
	sameAsFresh(t, old, tmax)
}

// TestKillDuringExtension kills a run while it is being extended: the
// finished run's model must not be left looking current, and resuming
// again ends where an uninterrupted run does.
func TestKillDuringExtension(t *testing.T) {
	if testing.Short() {
		t.Skip("trains three runs")
	}
	base := t.TempDir()
	whole, part := filepath.Join(base, "whole"), filepath.Join(base, "part")
	if _, e, code := descent(t, "train", "--out", whole, "--epochs", "3", "--quiet"); code != 0 {
		t.Fatal(e)
	}
	if _, e, code := descent(t, "train", "--out", part, "--epochs", "2", "--quiet"); code != 0 {
		t.Fatal(e)
	}
	var m struct{ Step int }
	lines := strings.Split(strings.TrimSpace(string(readFile(t, filepath.Join(part, run.MetricsFile)))), "\n")
	json.Unmarshal([]byte(lines[len(lines)-1]), &m)
	stderr, err := subprocess(t, fmt.Sprintf("KILL:%d", m.Step+m.Step/4), "train", "--resume", part, "--epochs", "3", "--quiet")
	if err == nil {
		t.Fatalf("the extension was not killed:\n%s", stderr)
	}
	if _, err := os.Stat(filepath.Join(part, run.ModelFile)); err == nil {
		t.Fatal("after a kill mid-extension the 2-epoch model is still there, looking finished")
	}
	if _, e, code := descent(t, "train", "--resume", part, "--quiet"); code != 0 {
		t.Fatal(e)
	}
	if !bytes.Equal(readFile(t, filepath.Join(part, run.ModelFile)), readFile(t, filepath.Join(whole, run.ModelFile))) {
		t.Error("2 epochs, an extension killed in epoch 3, then resumed, differ from 3 epochs")
	}
}

// TestFirstEpochFailure makes a run diverge in its first epoch: the error
// says there is no checkpoint, and the same --out can be used again.
func TestFirstEpochFailure(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	_, e, code := descent(t, "train", "--out", dir, "--opt", "sgd", "--lr", "1e30", "--batchnorm=false", "--quiet")
	if code == 0 || !strings.Contains(e, "no epoch finished") || strings.Contains(e, "last good checkpoint") {
		t.Errorf("diverging run: exit %d, %q; want an error saying no checkpoint exists", code, e)
	}
	// A run that cannot even be built (logistic regression on 10 classes)
	// leaves the directory usable too.
	if _, e, code := descent(t, "train", "--out", dir, "--model", "logistic", "--quiet"); code == 0 || !strings.Contains(e, "2 classes") {
		t.Errorf("logistic regression on digits: exit %d, %q; want a failure", code, e)
	}
	if _, e, code := descent(t, "train", "--out", dir, "--epochs", "1", "--quiet"); code != 0 {
		t.Errorf("rerun into the failed run's directory: exit %d, %s", code, e)
	}
	if _, e, code := descent(t, "train", "--out", dir, "--epochs", "1", "--quiet"); code == 0 || !strings.Contains(e, "already holds a run") {
		t.Errorf("a third run into a directory with a checkpoint: exit %d, %s", code, e)
	}
	// A directory with a run and no checkpoint may be a run still in its
	// first epoch: it is not taken over.
	os.Remove(filepath.Join(dir, run.CheckpointFile))
	if _, e, code := descent(t, "train", "--out", dir, "--epochs", "1", "--quiet"); code == 0 || !strings.Contains(e, "no checkpoint yet") {
		t.Errorf("a run into a directory whose run has no checkpoint: exit %d, %s", code, e)
	}
}

func TestUserErrors(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"train", "--opt", "sgdd"}, `unknown optimizer "sgdd" (valid: adadelta`},
		{[]string{"train", "--opt", "adam", "--momentum", "0.9"}, `adam has no hyperparameter "momentum"`},
		{[]string{"train", "--opt", "adam", "--beta1", "1.5"}, "Beta1 = 1.5"},
		{[]string{"train", "--lr", "-1"}, "lr = -1"},
		{[]string{"train", "--model", "transformer"}, `unknown model "transformer"`},
		{[]string{"train", "--schedule", "cosin"}, `unknown schedule "cosin" (valid:`},
		{[]string{"train", "--schedule", "cosine tmax=x"}, "tmax=x"},
		{[]string{"train", "--data", "csv:" + filepath.Join(dir, "none.csv")}, "none.csv"},
		{[]string{"train", "--data", "mnist", "--data-dir", dir}, "train-images-idx3-ubyte"},
		{[]string{"train", "--resume", dir}, "cannot resume"},
		{[]string{"train", "--resume", dir, "--lr", "0.1"}, "only --epochs, --threads and --replicas"},
		{[]string{"eval", "--model", dir}, "not a training run"},
		{[]string{"frobnicate"}, `unknown command "frobnicate"`},
		{[]string{"train", "--epochs", "many"}, `invalid value "many"`},
		{[]string{"train", "--lr", "nan"}, "lr = NaN: must be a finite number"},
		{[]string{"train", "--warmup", "-5"}, "--warmup -5: must not be negative"},
		{[]string{"train", "--patience", "2", "--val-fraction", "0"}, "needs a validation fraction"},
		{[]string{"train", "--schedule", "plateau", "--val-fraction", "0"}, "needs a validation fraction"},
		{[]string{"tune", "--trials", "0", "--out", filepath.Join(dir, "tune")}, "Random.Trials = 0"},
	} {
		_, stderr, code := descent(t, tc.args...)
		if code == 0 || !strings.Contains(stderr, tc.want) {
			t.Errorf("descent %s: exit %d, stderr %q; want a failure mentioning %q", strings.Join(tc.args, " "), code, stderr, tc.want)
		}
		if strings.Contains(stderr, "goroutine") || strings.Contains(stderr, "panic") {
			t.Errorf("descent %s panicked:\n%s", strings.Join(tc.args, " "), stderr)
		}
	}
	// A NaN setting is refused naming its flag, and leaves no directory.
	for _, flag := range []string{"--dropout", "--clip-norm"} {
		out := filepath.Join(dir, "nan"+flag)
		_, stderr, code := descent(t, "train", flag, "NaN", "--out", out)
		if code == 0 || !strings.Contains(stderr, strings.TrimPrefix(flag, "--")+" NaN") {
			t.Errorf("descent train %s NaN: exit %d, stderr %q; want a failure naming the flag", flag, code, stderr)
		}
		if _, err := os.Stat(out); !os.IsNotExist(err) {
			t.Errorf("descent train %s NaN left %s behind (stat: %v)", flag, out, err)
		}
	}
	out, _, code := descent(t, "train", "--help")
	if code != 0 || !strings.Contains(out, "-clip-norm") || !strings.Contains(out, "--resume DIR") {
		t.Errorf("train --help: exit %d\n%s", code, out)
	}
	if out, _, code := descent(t, "--version"); code != 0 || !strings.HasPrefix(out, "descent ") {
		t.Errorf("--version: exit %d, %q", code, out)
	}
}

// TestRunDirDocumented checks that the README's list of a run directory's
// files, and train's help, name every file a run writes (they left out
// data.json and checkpoint.prev.safetensors).
func TestRunDirDocumented(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	if _, errOut, code := descent(t, "train", "--out", dir, "--epochs", "2", "--clip-norm", "1", "--tensorboard", "--quiet"); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	_, readme, _ := strings.Cut(string(readFile(t, filepath.Join("..", "..", "README.md"))), "\n- A run directory holds")
	readme, _, _ = strings.Cut(readme, "\n- ")
	help, _, _ := descent(t, "train", "-h")
	entries, err := os.ReadDir(dir)
	if err != nil || len(entries) < 10 {
		t.Fatalf("the run directory holds %d files (%v)", len(entries), err)
	}
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, "events.out.tfevents.") {
			name = "events.out.tfevents." // then the time and host
		}
		if !strings.Contains(readme, "`"+name) {
			t.Errorf("the README's list of a run directory's files lacks %s", name)
		}
		if !strings.Contains(help, name) {
			t.Errorf("descent train -h lacks the run directory's %s", name)
		}
	}
}

// TestHelpCommand checks that "descent help COMMAND" prints that
// command's help, as "descent COMMAND -h" does, and that an unknown
// command is an error naming the commands.
func TestHelpCommand(t *testing.T) {
	for _, name := range commandNames() {
		out, errOut, code := descent(t, "help", name)
		want, _, _ := descent(t, name, "-h")
		if code != 0 || !strings.HasPrefix(out, "Usage: descent "+name+" ") || out != want {
			t.Errorf("descent help %s: exit %d, stdout %.80q, stderr %q; want exit 0 and %.80q", name, code, out, errOut, want)
		}
	}
	out, errOut, code := descent(t, "help", "nosuch")
	if code != 2 || out != "" || !strings.Contains(errOut, `unknown command "nosuch"`) || !strings.Contains(errOut, strings.Join(commandNames(), ", ")) {
		t.Errorf("descent help nosuch: exit %d, stdout %q, stderr %q; want exit 2 and an error naming the commands", code, out, errOut)
	}
	if out, _, code := descent(t, "help"); code != 0 || !strings.Contains(out, "Commands:") {
		t.Errorf("descent help: exit %d, %q; want the list of commands", code, out)
	}
}

// TestLockedRunDir checks that a run directory in use is refused, naming
// who uses it, by train, --resume and tune.
func TestLockedRunDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "busy")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	lock, err := run.LockDir(dir, "a test")
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Unlock()
	for _, args := range [][]string{
		{"train", "--out", dir, "--epochs", "1", "--quiet"},
		{"train", "--resume", dir},
		{"tune", "--out", dir, "--trials", "1", "--epochs", "1", "--quiet"},
		{"compare", "--out", dir, "--seeds", "1", "--epochs", "1", "--quiet"},
	} {
		if _, e, code := descent(t, args...); code == 0 || !strings.Contains(e, "in use by a test (pid") {
			t.Errorf("descent %s while %s is locked: exit %d, %q; want a refusal naming the holder", strings.Join(args, " "), dir, code, e)
		}
	}
}

// TestResumeAfterCorruptCheckpoint flips a byte in a run's latest
// checkpoint: --resume says so, continues from the previous one, and ends
// with the model of a run that never stopped. The run also writes a
// TensorBoard event file, asked for with --tensorboard.
func TestResumeAfterCorruptCheckpoint(t *testing.T) {
	base := t.TempDir()
	whole, part := filepath.Join(base, "whole"), filepath.Join(base, "part")
	if _, e, code := descent(t, "train", "--out", whole, "--epochs", "3", "--quiet"); code != 0 {
		t.Fatal(e)
	}
	if _, e, code := descent(t, "train", "--out", part, "--epochs", "2", "--quiet", "--tensorboard"); code != 0 {
		t.Fatal(e)
	}
	if files, _ := filepath.Glob(filepath.Join(part, "events.out.tfevents.*")); len(files) != 1 {
		t.Errorf("--tensorboard wrote the event files %v; want one", files)
	}
	latest := flipLatest(t, part)
	_, e, code := descent(t, "train", "--resume", part, "--epochs", "3", "--quiet")
	if code != 0 || !strings.Contains(e, "warning: train: "+latest+": corrupt file") || !strings.Contains(e, "continuing from the previous checkpoint, after epoch 1") {
		t.Fatalf("resume after a flipped byte: exit %d, stderr %q; want a warning and epoch 1", code, e)
	}
	if !bytes.Equal(readFile(t, filepath.Join(whole, run.ModelFile)), readFile(t, filepath.Join(part, run.ModelFile))) {
		t.Error("the run resumed from the previous checkpoint differs from the run that never stopped")
	}
}

// TestOptSpecEverywhere checks that train, tune and lr-find take --opt as
// a whole spec, as compare and landscape do, and refuse a hyperparameter
// given both in the spec and as a flag.
func TestOptSpecEverywhere(t *testing.T) {
	dir := t.TempDir()
	for _, args := range [][]string{
		{"train", "--epochs", "1", "--model", "mlp:16", "--out", filepath.Join(dir, "train")},
		{"tune", "--trials", "2", "--epochs", "1", "--model", "mlp:16", "--space", "beta1=uniform(0.8,0.95)", "--quiet", "--out", filepath.Join(dir, "tune")},
		{"lr-find", "--model", "mlp:16", "--steps", "20", "--out", filepath.Join(dir, "lr-find")},
	} {
		opt := "adam lr=1e-3 beta2=0.99"
		if args[0] == "lr-find" {
			opt = "adam beta2=0.99" // it sets the rate: lr= is refused (TestFlagRefusals)
		}
		args = append(args, "--opt", opt)
		if _, stderr, code := descent(t, args...); code != 0 {
			t.Errorf("descent %s: exit %d, %s", strings.Join(args, " "), code, stderr)
		}
	}
	commandFailsWith(t, `--opt "adam lr=1e-3" sets lr and --lr sets it again`, "train", "--opt", "adam lr=1e-3", "--lr", "1e-2", "--out", filepath.Join(dir, "both"))
}

// TestNoDataDir checks that --data mnist with no data directory names the
// command's flag, not the library's field.
func TestNoDataDir(t *testing.T) {
	t.Setenv("DESCENT_DATA", "")
	_, stderr, code := descent(t, "train", "--data", "mnist", "--out", filepath.Join(t.TempDir(), "run"))
	if code == 0 || !strings.Contains(stderr, "--data mnist: no data directory to look in: give --data-dir or set $DESCENT_DATA") || strings.Contains(stderr, "Options.Dir") {
		t.Errorf("train --data mnist with no data directory: exit %d, stderr %q; want it to name --data-dir and not Options.Dir", code, stderr)
	}
}

// TestWarnings checks what the command says on stderr, exiting 0, when a
// run finishes with a figure it could not draw (lr 0: every update ratio
// is 0, and its figure's y axis is logarithmic) and when a language
// model's run resumes past its damaged latest checkpoint.
func TestWarnings(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "lr0")
	if _, e, code := descent(t, "train", "--out", dir, "--epochs", "1", "--lr", "0", "--quiet"); code != 0 || !strings.Contains(e, "warning: update_ratio.png left out") {
		t.Errorf("train --lr 0: exit %d, stderr %q; want a warning that update_ratio.png was left out", code, e)
	}
	lm := filepath.Join(t.TempDir(), "lm")
	args := []string{"train", "--data", "text", "--model", "gpt:layers=1,d=16,heads=2,ctx=16", "--batch", "4", "--eval-every", "2", "--quiet", "--out", lm}
	if _, e, code := descent(t, append(args, "--steps", "4")...); code != 0 {
		t.Fatal(e)
	}
	latest := flipLatest(t, lm)
	_, e, code := descent(t, "train", "--resume", lm, "--steps", "6", "--quiet")
	if code != 0 || !strings.Contains(e, "warning: train: "+latest) || !strings.Contains(e, "continuing from the previous checkpoint, at step 2") {
		t.Errorf("resume of a language model after a flipped byte: exit %d, stderr %q; want a warning and step 2", code, e)
	}
}

// flipLatest flips a byte of the latest checkpoint in the run directory
// dir, in its last tensor, and returns its path.
func flipLatest(t *testing.T, dir string) string {
	t.Helper()
	latest := filepath.Join(dir, run.CheckpointFile)
	b := readFile(t, latest)
	b[len(b)-100] ^= 1
	if err := os.WriteFile(latest, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return latest
}
