//go:build mpi && cgo

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/descentml/descent/explore"
	"github.com/descentml/descent/nn"
	"github.com/descentml/descent/run"
)

// The tests in this file start this test binary (an mpi build) as the
// descent command on several ranks:
//
//	go test -tags mpi -run Distributed ./cmd/descent
//
// They skip without mpirun, unless DESCENT_MPI_TESTS is set (as in CI).

// mpirun runs the command on np ranks (1: without mpirun), signalling as
// DESCENT_TEST_SIGNAL says, and returns its stderr and error. A job that
// hangs is killed after two minutes.
func mpirun(t *testing.T, np int, signal string, args ...string) (string, error) {
	t.Helper()
	path, err := exec.LookPath("mpirun")
	if err != nil {
		if os.Getenv("DESCENT_MPI_TESTS") != "" {
			t.Fatal("DESCENT_MPI_TESTS is set, but there is no mpirun")
		}
		t.Skip("no mpirun")
	}
	argv, _ := json.Marshal(args)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	self := []string{os.Args[0], "-test.run=^$"}
	var cmd *exec.Cmd
	if np == 1 {
		cmd = exec.CommandContext(ctx, self[0], self[1:]...)
	} else {
		cmd = exec.CommandContext(ctx, path, append(mpirunFlags(np, "-x", "DESCENT_TEST_ARGS", "-x", "DESCENT_TEST_SIGNAL"), self...)...)
	}
	cmd.Env = append(os.Environ(), "DESCENT_TEST_ARGS="+string(argv), "DESCENT_TEST_SIGNAL="+signal, "GOMAXPROCS=1")
	var e bytes.Buffer
	cmd.Stderr = &e
	err = cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("%d ranks: %v hung; killed after 2 minutes\n%s", np, args, e.String())
	}
	return e.String(), err
}

// mpirunFlags returns mpirun's flags for np ranks on this machine, then
// more.
func mpirunFlags(np int, more ...string) []string {
	flags := []string{"--oversubscribe", "-np", strconv.Itoa(np)}
	if os.Getuid() == 0 {
		flags = append(flags, "--allow-run-as-root")
	}
	return append(flags, more...)
}

// params reads the model of the run in dir, a classifier's or a language
// model's.
func params(t *testing.T, dir string) []nn.Param[float32] {
	t.Helper()
	if run.IsTextRun(dir) {
		m, _, _, err := run.LoadSeq(dir)
		if err != nil {
			t.Fatal(err)
		}
		return m.Params()
	}
	r, d, err := run.Read(dir)
	if err != nil {
		t.Fatal(err)
	}
	m, _, _, err := r.Model.Build(d.Shape, len(d.Classes), r.Seed)
	if err != nil {
		t.Fatal(err)
	}
	if err := nn.Load[float32](m, readFile(t, filepath.Join(dir, run.ModelFile))); err != nil {
		t.Fatal(err)
	}
	return m.Params()
}

// largestDiff returns the largest difference between the parameters of the
// runs in a and b, relative (absolute below 1), and where it is.
func largestDiff(t *testing.T, a, b string) (float64, string) {
	ap, bp := params(t, a), params(t, b)
	worst, at := 0.0, ""
	for i := range ap {
		for j, v := range ap[i].Value {
			d := math.Abs(float64(bp[i].Value[j]-v)) / math.Max(1, math.Abs(float64(v)))
			if !(d <= worst) {
				worst, at = d, fmt.Sprintf("%s[%d]", ap[i].Name, j)
			}
		}
	}
	return worst, at
}

// distBound is how far a run on N ranks may end from the one-process run
// with the same global batch (relative, absolute below 1), float32, after
// the 3 epochs (66 steps) of AdamW with clipping of TestDistributedTrain:
// the gradients differ in the order of their additions, by an ulp or so.
// Measured: at most 3.7e-8 on 2 ranks, 3.0e-8 for a run resumed on 3
// ranks or on 1; the bound leaves a factor of about 30.
const distBound = 1e-6

func TestDistributedTrain(t *testing.T) {
	if testing.Short() {
		t.Skip("trains several runs on several ranks")
	}
	base := t.TempDir()
	args := func(dir string, more ...string) []string {
		return append([]string{"train", "--out", dir, "--model", "mlp:32", "--batchnorm=false",
			"--epochs", "3", "--batch", "62", "--clip-norm", "1", "--quiet"}, more...)
	}
	dir := func(name string) string { return filepath.Join(base, name) }
	train := func(np int, name string) {
		t.Helper()
		if e, err := mpirun(t, np, "", args(dir(name))...); err != nil {
			t.Fatalf("%d ranks: %v\n%s", np, err, e)
		}
	}
	train(2, "two")
	train(2, "two-again")
	train(1, "one")
	if !bytes.Equal(readFile(t, filepath.Join(dir("two"), run.ModelFile)), readFile(t, filepath.Join(dir("two-again"), run.ModelFile))) {
		t.Errorf("two runs on 2 ranks with the same seed gave different models")
	}
	var cf struct{ Ranks int }
	if err := json.Unmarshal(readFile(t, filepath.Join(dir("two"), run.ConfigFile)), &cf); err != nil || cf.Ranks != 2 {
		t.Errorf("config.json of a 2-rank run: ranks %d, %v; want 2", cf.Ranks, err)
	}
	var s run.Summary
	if err := json.Unmarshal(readFile(t, filepath.Join(dir("two"), run.SummaryFile)), &s); err != nil || s.Ranks != 2 {
		t.Errorf("summary.json of a 2-rank run: ranks %d, %v; want 2", s.Ranks, err)
	}
	worst, at := largestDiff(t, dir("one"), dir("two"))
	t.Logf("2 ranks against 1 process: largest difference %.3g at %s", worst, at)
	if !(worst <= distBound) {
		t.Errorf("2 ranks: parameter %s differs from the one-process run's by %.3g; want at most %g", at, worst, distBound)
	}

	// Stopped on every rank by SIGINT in the middle of epoch 2 (step 30),
	// or on rank 1 alone by SIGKILL (the job ends, the checkpoint is epoch
	// 1's); resumed on 2 ranks the model is the uninterrupted run's, byte
	// for byte; on 3 ranks, within the bound.
	for _, c := range []struct {
		signal string
		np     int
	}{{"INT:30", 2}, {"KILL:30:1", 2}, {"INT:30", 3}, {"KILL:30:1", 1}} {
		name := strings.ReplaceAll(c.signal, ":", "-") + "-np" + strconv.Itoa(c.np)
		stopAndResume(t, c.signal, c.np, args(dir(name)), dir(name), dir("two"), distBound)
	}
}

// stopAndResume runs args, which train into dir, on 2 ranks stopped by
// signal (as DESCENT_TEST_SIGNAL says), resumes the run on np ranks, and
// checks its model against the uninterrupted run's in whole: the same
// bytes when resumed on 2 ranks, within bound on others.
func stopAndResume(t *testing.T, signal string, np int, args []string, dir, whole string, bound float64) {
	t.Helper()
	name := filepath.Base(dir)
	e, err := mpirun(t, 2, signal, args...)
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		t.Fatalf("%s: the run was not stopped: %v\n%s", name, err, e)
	}
	if strings.HasPrefix(signal, "INT") && (ee.ExitCode() != 130 || !strings.Contains(e, "mpirun -np 2 descent train --resume "+dir)) {
		t.Errorf("%s: exit %d, stderr %q; want 130 and how to resume", name, ee.ExitCode(), e)
	}
	if _, err := os.Stat(filepath.Join(dir, run.ModelFile)); err == nil {
		t.Fatalf("%s: the stopped run wrote a final model", name)
	}
	if e, err := mpirun(t, np, "", "train", "--resume", dir, "--quiet"); err != nil {
		t.Fatalf("%s: resume on %d ranks: %v\n%s", name, np, err, e)
	}
	if np == 2 {
		if !bytes.Equal(readFile(t, filepath.Join(dir, run.ModelFile)), readFile(t, filepath.Join(whole, run.ModelFile))) {
			t.Errorf("%s: resumed on 2 ranks, the model differs from the uninterrupted run's", name)
		}
		return
	}
	worst, at := largestDiff(t, whole, dir)
	t.Logf("%s: resumed on %d ranks: largest difference %.3g at %s", name, np, worst, at)
	if !(worst <= bound) {
		t.Errorf("%s: resumed on %d ranks: parameter %s differs from the uninterrupted run's by %.3g; want at most %g", name, np, at, worst, bound)
	}
}

// distTextBound is distBound for the language models of
// TestDistributedText: 12 steps of AdamW with clipping, float32.
// Measured (relative, absolute below 1): 1.3e-8 for the transformer and
// 1.3e-7 for the LSTM on 2 ranks, 1.1e-8 for the transformer resumed on 3
// ranks or on 1; the bound leaves a factor of about 7.
const distTextBound = 1e-6

// TestDistributedText trains a transformer and an LSTM language model on 2
// ranks, twice, and on one process with the same global batch of 7 windows
// (a multiple of neither 2 nor 3): the 2-rank runs give the same bytes, and
// end within float32 rounding of the one-process run. The transformer's run
// is then stopped and resumed as TestDistributedTrain's is, on 2, 3 and 1
// ranks; with dropout, each rank draws its own masks, and a run stopped
// and resumed on 2 ranks is the uninterrupted one byte for byte.
func TestDistributedText(t *testing.T) {
	if testing.Short() {
		t.Skip("trains several runs on several ranks")
	}
	base := t.TempDir()
	dir := func(name string) string { return filepath.Join(base, name) }
	args := func(model, dir string) []string {
		return []string{"train", "--data", "text", "--model", model, "--out", dir, "--steps", "12", "--batch", "7",
			"--eval-every", "6", "--clip-norm", "1", "--quiet"}
	}
	train := func(np int, model, name string) {
		t.Helper()
		if e, err := mpirun(t, np, "", args(model, dir(name))...); err != nil {
			t.Fatalf("%s on %d ranks: %v\n%s", name, np, err, e)
		}
	}
	gpt, gptDropout := "gpt:layers=1,d=16,heads=2,ctx=16", "gpt:layers=1,d=16,heads=2,ctx=16,dropout=0.1"
	for _, m := range []struct{ name, model string }{{"gpt", gpt}, {"lstm", "lstm:layers=1,d=16,ctx=16"}} {
		train(2, m.model, m.name+"-two")
		train(2, m.model, m.name+"-two-again")
		train(1, m.model, m.name+"-one")
		if !bytes.Equal(readFile(t, filepath.Join(dir(m.name+"-two"), run.ModelFile)), readFile(t, filepath.Join(dir(m.name+"-two-again"), run.ModelFile))) {
			t.Errorf("%s: two runs on 2 ranks with the same seed gave different models", m.name)
		}
		worst, at := largestDiff(t, dir(m.name+"-one"), dir(m.name+"-two"))
		t.Logf("%s: 2 ranks against 1 process: largest difference %.3g at %s", m.name, worst, at)
		if !(worst <= distTextBound) {
			t.Errorf("%s: 2 ranks: parameter %s differs from the one-process run's by %.3g; want at most %g", m.name, at, worst, distTextBound)
		}
	}
	var cf struct{ Ranks int }
	if err := json.Unmarshal(readFile(t, filepath.Join(dir("gpt-two"), run.ConfigFile)), &cf); err != nil || cf.Ranks != 2 {
		t.Errorf("config.json of a 2-rank run: ranks %d, %v; want 2", cf.Ranks, err)
	}
	var s run.TextSummary
	if err := json.Unmarshal(readFile(t, filepath.Join(dir("gpt-two"), run.SummaryFile)), &s); err != nil || s.Ranks != 2 {
		t.Errorf("summary.json of a 2-rank run: ranks %d, %v; want 2", s.Ranks, err)
	}
	train(2, gptDropout, "dropout-two")

	// Stopped on every rank by SIGINT after step 5 (before the first
	// evaluation: the checkpoint is the interrupted step's), or on rank 1
	// alone by SIGKILL after step 8 (the job ends; the checkpoint is the
	// evaluation's, step 6's); resumed on 2 ranks the model is the
	// uninterrupted run's, byte for byte, on 3 or 1 within the bound.
	for _, c := range []struct {
		signal string
		np     int
		model  string
		whole  string // the uninterrupted run
	}{{"INT:5", 2, gpt, "gpt-two"}, {"KILL:8:1", 2, gpt, "gpt-two"}, {"INT:5", 3, gpt, "gpt-two"}, {"KILL:8:1", 1, gpt, "gpt-two"}, {"INT:5", 2, gptDropout, "dropout-two"}} {
		name := c.whole + "-" + strings.ReplaceAll(c.signal, ":", "-") + "-np" + strconv.Itoa(c.np)
		stopAndResume(t, c.signal, c.np, args(c.model, dir(name)), dir(name), dir(c.whole), distTextBound)
	}
}

// TestDistributedSyncBatchNorm trains a model with batch norm on 2 and 3
// ranks with --sync-bn, and on 2 without. Synchronised, the runs normalize
// with the statistics of the whole batch however it is split, and end
// within the distributed bound of each other; per-rank batch norm ends far
// from them. (That synchronised batch norm is one process's batch norm is
// tested in float64 in package train, to 1e-11; here, in float32, one
// process's sums differ from the ranks' float64 sums by rounding, which 2
// epochs of training with batch norm amplify to about 1e-3.) config.json
// records the setting.
func TestDistributedSyncBatchNorm(t *testing.T) {
	if testing.Short() {
		t.Skip("trains three runs")
	}
	base := t.TempDir()
	dir := func(name string) string { return filepath.Join(base, name) }
	for _, c := range []struct {
		name string
		np   int
		more []string
	}{{"sync2", 2, []string{"--sync-bn"}}, {"sync3", 3, []string{"--sync-bn"}}, {"local2", 2, nil}} {
		args := append([]string{"train", "--out", dir(c.name), "--model", "mlp:32", "--batchnorm", "--opt", "sgd lr=0.05 momentum=0.9",
			"--epochs", "2", "--batch", "62", "--quiet"}, c.more...)
		if e, err := mpirun(t, c.np, "", args...); err != nil {
			t.Fatalf("%s on %d ranks: %v\n%s", c.name, c.np, err, e)
		}
	}
	var cf struct {
		SyncBatchNorm bool `json:"sync_batchnorm"`
	}
	if err := json.Unmarshal(readFile(t, filepath.Join(dir("sync2"), run.ConfigFile)), &cf); err != nil || !cf.SyncBatchNorm {
		t.Errorf("config.json of a --sync-bn run: sync_batchnorm %v, %v; want true", cf.SyncBatchNorm, err)
	}
	sync, at := largestDiff(t, dir("sync2"), dir("sync3"))
	local, lat := largestDiff(t, dir("sync2"), dir("local2"))
	t.Logf("--sync-bn on 2 against 3 ranks: largest difference %.3g at %s; per-rank batch norm on 2 ranks against --sync-bn: %.3g at %s", sync, at, local, lat)
	if !(sync <= distBound) {
		t.Errorf("--sync-bn: parameter %s differs between 2 and 3 ranks by %.3g; want at most %g", at, sync, distBound)
	}
	if !(local > 1000*distBound) {
		t.Errorf("per-rank batch norm on 2 ranks ends %.3g from --sync-bn: the test cannot tell them apart", local)
	}
}

// TestDistributedAverageAccumulate trains with an average of the weights
// (SWA from epoch 1, with its learning rate) and 3 batches a step on 2
// ranks, twice, and on one process: the 2-rank runs give the same bytes and
// end within distBound of one process, and so do their validation and
// test losses, evaluated on shards of the sets. Stopped by SIGINT after
// step 10, in epoch 2 (the ranks stop one batch later, with a micro-batch
// pending), the run resumes on 2 ranks to the same bytes and on 3 within
// the bound.
func TestDistributedAverageAccumulate(t *testing.T) {
	if testing.Short() {
		t.Skip("trains several runs on several ranks")
	}
	base := t.TempDir()
	dir := func(name string) string { return filepath.Join(base, name) }
	args := func(dir string) []string {
		return []string{"train", "--out", dir, "--model", "mlp:32", "--batchnorm=false", "--epochs", "3", "--batch", "62",
			"--clip-norm", "1", "--average", "swa start=1 lr=0.01", "--accumulate", "3", "--quiet"}
	}
	for _, c := range []struct {
		name string
		np   int
	}{{"two", 2}, {"two-again", 2}, {"one", 1}} {
		if e, err := mpirun(t, c.np, "", args(dir(c.name))...); err != nil {
			t.Fatalf("%s on %d ranks: %v\n%s", c.name, c.np, err, e)
		}
	}
	if !bytes.Equal(readFile(t, filepath.Join(dir("two"), run.ModelFile)), readFile(t, filepath.Join(dir("two-again"), run.ModelFile))) {
		t.Errorf("two runs on 2 ranks with the same seed gave different models")
	}
	worst, at := largestDiff(t, dir("one"), dir("two"))
	t.Logf("2 ranks against 1 process: largest difference %.3g at %s", worst, at)
	if !(worst <= distBound) {
		t.Errorf("2 ranks: parameter %s of the average differs from the one-process run's by %.3g; want at most %g", at, worst, distBound)
	}
	var one, two run.Summary
	if err := errors.Join(json.Unmarshal(readFile(t, filepath.Join(dir("one"), run.SummaryFile)), &one),
		json.Unmarshal(readFile(t, filepath.Join(dir("two"), run.SummaryFile)), &two)); err != nil {
		t.Fatal(err)
	}
	if one.FinalValLoss == nil || one.TestLoss == nil || two.FinalValLoss == nil || two.TestLoss == nil ||
		!(math.Abs(*one.FinalValLoss-*two.FinalValLoss) <= distBound) || !(math.Abs(*one.TestLoss-*two.TestLoss) <= distBound) || one.Steps != two.Steps {
		t.Errorf("summary on 2 ranks: validation loss %v, test loss %v, %d steps; one process %v, %v, %d",
			ptrVal(two.FinalValLoss), ptrVal(two.TestLoss), two.Steps, ptrVal(one.FinalValLoss), ptrVal(one.TestLoss), one.Steps)
	}
	for _, np := range []int{2, 3} {
		name := "int-np" + strconv.Itoa(np)
		stopAndResume(t, "INT:10", np, args(dir(name)), dir(name), dir("two"), distBound)
	}
}

// ptrVal is *p, or NaN for nil.
func ptrVal(p *float64) float64 {
	if p == nil {
		return math.NaN()
	}
	return *p
}

// TestDistributedBadInput checks the errors every rank must give before
// anything is written.
func TestDistributedBadInput(t *testing.T) {
	base := t.TempDir()
	for i, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--model", "mlp:8", "--epochs", "1", "--batch", "1"}, "at least one example for each of the 2 ranks"},
		{[]string{"--data", "text", "--model", "gpt:layers=1,d=16,heads=2,ctx=16", "--steps", "2", "--batch", "1"}, "at least one window for each of the 2 ranks"},
	} {
		dir := filepath.Join(base, strconv.Itoa(i))
		e, err := mpirun(t, 2, "", append([]string{"train", "--out", dir, "--quiet"}, c.args...)...)
		if err == nil || !strings.Contains(e, c.want) {
			t.Errorf("%v on 2 ranks: %v, stderr %q; want an error with %q", c.args, err, e, c.want)
		}
		if n := strings.Count(e, "descent train:"); n != 1 {
			t.Errorf("%v on 2 ranks: %d errors printed; want 1:\n%s", c.args, n, e)
		}
		if c.args[0] == "--data" {
			if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("%v on 2 ranks: %s was made (%v); want nothing written", c.args, dir, err)
			}
		}
	}
}

// TestDistributedCtrlC interrupts mpirun itself, as Ctrl-C does (mpirun
// sends SIGTERM to every rank), once the first epoch's checkpoint is
// written, and checks that the run resumes on 2 ranks to the model of the
// run that was never stopped, byte for byte, whether rank 0 had the time
// to write the checkpoint of the step it stopped at or not.
func TestDistributedCtrlC(t *testing.T) {
	if testing.Short() {
		t.Skip("trains two runs on 2 ranks")
	}
	path, err := exec.LookPath("mpirun")
	if err != nil {
		t.Skip("no mpirun")
	}
	base := t.TempDir()
	args := func(dir string) []string {
		return []string{"train", "--out", dir, "--model", "mlp:128,128", "--epochs", "6", "--batch", "16", "--quiet"}
	}
	whole, stopped := filepath.Join(base, "whole"), filepath.Join(base, "stopped")
	if e, err := mpirun(t, 2, "", args(whole)...); err != nil {
		t.Fatalf("uninterrupted: %v\n%s", err, e)
	}
	argv, _ := json.Marshal(args(stopped))
	cmd := exec.Command(path, append(mpirunFlags(2, "-x", "DESCENT_TEST_ARGS"), os.Args[0], "-test.run=^$")...)
	cmd.Env = append(os.Environ(), "DESCENT_TEST_ARGS="+string(argv), "GOMAXPROCS=1")
	var e bytes.Buffer
	cmd.Stderr = &e
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(2 * time.Minute)
wait:
	for {
		select {
		case err := <-done:
			t.Fatalf("the run ended before it could be interrupted: %v\n%s", err, e.String())
		case <-deadline:
			cmd.Process.Kill()
			t.Fatal("no checkpoint after 2 minutes")
		case <-tick.C:
			if _, err := os.Stat(filepath.Join(stopped, run.CheckpointFile)); err == nil {
				break wait
			}
		}
	}
	cmd.Process.Signal(os.Interrupt)
	select {
	case err := <-done:
		if err == nil {
			t.Fatalf("the interrupted run ended well\n%s", e.String())
		}
		t.Logf("interrupted: %v\n%s", err, e.String())
	case <-time.After(time.Minute):
		cmd.Process.Kill()
		t.Fatalf("mpirun did not stop within a minute of SIGINT\n%s", e.String())
	}
	if e, err := mpirun(t, 2, "", "train", "--resume", stopped, "--quiet"); err != nil {
		t.Fatalf("resume: %v\n%s", err, e)
	}
	if !bytes.Equal(readFile(t, filepath.Join(stopped, run.ModelFile)), readFile(t, filepath.Join(whole, run.ModelFile))) {
		t.Errorf("interrupted by Ctrl-C and resumed, the model differs from the uninterrupted run's")
	}
}

// TestDistributedWithoutMPIBuild starts descent built without the tag mpi
// on 2 ranks: each must refuse, saying how to build it.
func TestDistributedWithoutMPIBuild(t *testing.T) {
	if testing.Short() {
		t.Skip("builds descent")
	}
	path, err := exec.LookPath("mpirun")
	if err != nil {
		t.Skip("no mpirun")
	}
	bin := filepath.Join(t.TempDir(), "descent")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out, err := exec.Command(path, append(mpirunFlags(2), bin, "train", "--out", filepath.Join(t.TempDir(), "x"))...).CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 2 || !strings.Contains(string(out), "built without MPI; build it with `go build -tags mpi`") {
		t.Errorf("descent without MPI on 2 ranks: %v\n%s\nwant exit 2 and how to build with MPI", err, out)
	}
}

// TestDistributedTune runs a successive-halving search on 2 ranks and on
// one process: the same trials, promoted the same way, with the same
// values; rank 0 alone writes the output.
func TestDistributedTune(t *testing.T) {
	if testing.Short() {
		t.Skip("runs two searches")
	}
	base := t.TempDir()
	args := func(dir string) []string {
		return []string{"tune", "--out", dir, "--model", "mlp:16", "--epochs", "3", "--method", "halving", "--trials", "4", "--min-epochs", "1", "--eta", "2", "--workers", "1", "--quiet"}
	}
	type report struct {
		Report struct {
			Trials []struct {
				ID, Rung, Budget int
				Value            float64
			}
		}
	}
	var reports [2]report
	for i, np := range []int{1, 2} {
		dir := filepath.Join(base, strconv.Itoa(np))
		if e, err := mpirun(t, np, "", args(dir)...); err != nil {
			t.Fatalf("%d ranks: %v\n%s", np, err, e)
		}
		if err := json.Unmarshal(readFile(t, filepath.Join(dir, "tune.json")), &reports[i]); err != nil {
			t.Fatal(err)
		}
		if lines := bytes.Count(readFile(t, filepath.Join(dir, explore.TuneJournal)), []byte("\n")); lines != 8 {
			t.Errorf("%d ranks: the journal has %d lines; want the header and 7 trials", np, lines)
		}
	}
	one, two := reports[0].Report.Trials, reports[1].Report.Trials
	if len(one) != 7 || len(two) != len(one) {
		t.Fatalf("trials: %d on one process, %d on 2 ranks; want 7", len(one), len(two))
	}
	for i := range one {
		a, b := one[i], two[i]
		if a.ID != b.ID || a.Rung != b.Rung || a.Budget != b.Budget || math.Abs(a.Value-b.Value) > 1e-6*math.Max(1, math.Abs(a.Value)) {
			t.Errorf("trial %d: %+v on 2 ranks; %+v on one process", i, b, a)
		}
	}
}

// TestDistributedReplicas checks that --replicas 2 is mpirun -np 2 to the
// byte: a classifier with (per-rank) batch norm and a language model end
// with the same model either way, and a run stopped under mpirun resumes
// with --replicas 2 to the model of the run that never stopped. Under
// mpirun, --replicas 2 is refused, once.
func TestDistributedReplicas(t *testing.T) {
	if testing.Short() {
		t.Skip("trains several runs on 2 ranks")
	}
	base := t.TempDir()
	dir := func(name string) string { return filepath.Join(base, name) }
	mlp := func(more ...string) []string {
		return append([]string{"train", "--model", "mlp:32", "--epochs", "3", "--batch", "62", "--clip-norm", "1", "--quiet"}, more...)
	}
	gpt := func(more ...string) []string {
		return append([]string{"train", "--data", "text", "--model", "gpt:layers=1,d=16,heads=2,ctx=16", "--steps", "12", "--batch", "7",
			"--eval-every", "6", "--clip-norm", "1", "--quiet"}, more...)
	}
	for _, c := range []struct {
		name string
		args func(more ...string) []string
	}{{"mlp", mlp}, {"gpt", gpt}} {
		if e, err := mpirun(t, 2, "", c.args("--out", dir(c.name+"-mpirun"))...); err != nil {
			t.Fatalf("%s on 2 ranks: %v\n%s", c.name, err, e)
		}
		if _, e, code := descent(t, c.args("--out", dir(c.name+"-replicas"), "--replicas", "2")...); code != 0 {
			t.Fatalf("%s on 2 replicas: exit %d: %s", c.name, code, e)
		}
		if !bytes.Equal(readFile(t, filepath.Join(dir(c.name+"-mpirun"), run.ModelFile)), readFile(t, filepath.Join(dir(c.name+"-replicas"), run.ModelFile))) {
			t.Errorf("%s: --replicas 2 and mpirun -np 2 gave different models", c.name)
		}
	}

	stopped := dir("stopped")
	e, err := mpirun(t, 2, "INT:30", mlp("--out", stopped)...)
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 130 {
		t.Fatalf("stopped on 2 ranks: %v; want exit 130\n%s", err, e)
	}
	if _, e, code := descent(t, "train", "--replicas", "2", "--resume", stopped, "--quiet"); code != 0 {
		t.Fatalf("resumed with --replicas 2: exit %d: %s", code, e)
	}
	if !bytes.Equal(readFile(t, filepath.Join(stopped, run.ModelFile)), readFile(t, filepath.Join(dir("mlp-mpirun"), run.ModelFile))) {
		t.Errorf("stopped under mpirun -np 2 and resumed with --replicas 2, the model differs from the uninterrupted run's")
	}

	e, err = mpirun(t, 2, "", mlp("--out", dir("both"), "--replicas", "2")...)
	if want := "--replicas 2 under mpirun (2 ranks): run either N processes under mpirun or N replicas in one process, not both"; err == nil || !strings.Contains(e, want) {
		t.Errorf("--replicas 2 on 2 ranks: %v, stderr %q; want an error with %q", err, e, want)
	}
	if n := strings.Count(e, "descent train:"); n != 1 {
		t.Errorf("--replicas 2 on 2 ranks: %d errors printed; want 1:\n%s", n, e)
	}
}
