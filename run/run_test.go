package run_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/descentml/descent/comm"
	"github.com/descentml/descent/internal/commtest"
	"github.com/descentml/descent/optim/spec"
	"github.com/descentml/descent/recipe"
	"github.com/descentml/descent/run"
	"github.com/descentml/descent/tensorboard"
	"github.com/descentml/descent/train"
)

// copyDir copies the files of src into a new temporary directory.
func copyDir(t *testing.T, src string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), filepath.Base(src))
	if err := os.MkdirAll(dst, 0o755); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

// small is a recipe that trains in a moment: one epoch of an MLP of 8 units.
func small() recipe.Recipe {
	r := recipe.Default()
	r.Model.Hidden, r.Epochs = []int{8}, 1
	return r
}

// TestResumeV0 continues a run that descent wrote before the vocabulary
// moved to optim/spec (testdata/v0-adamw-schedule-decay: two epochs of
// "adamw wd=0.05 schedule-decay=true", "cosine min=1e-5", mlp:16, whose
// config.json leaves zero values out) to a third epoch. The weights must
// be bit for bit those that version wrote when it extended the same run
// (testdata/v0-adamw-schedule-decay-epoch3.safetensors).
func TestResumeV0(t *testing.T) {
	dir := copyDir(t, "testdata/v0-adamw-schedule-decay")
	r, _, err := run.Read(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := r.Optimizer.String(); got != "adamw lr=0.001 wd=0.05 schedule-decay=true" {
		t.Errorf("the v0 optimizer reads as %q", got)
	}
	rn, err := run.Resume(dir, 3, run.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if rn.State != run.Ready || !rn.Extended || rn.Trainer().Epochs() != 2 {
		t.Fatalf("Resume: state %v, extended %v, %d epochs done; want Ready, extended, 2", rn.State, rn.Extended, rn.Trainer().Epochs())
	}
	// Bit for bit with the kernels that wrote it (AVX-512 here); other
	// kernels (noasm, AVX2) sum in another order, and one epoch moves the
	// weights by a few parts in ten thousand. A hyperparameter misread
	// (schedule-decay alone decays by λ·η_t instead of α_t·λ, a thousand
	// times more) moves them by far more than the tolerance.
	trainAndCompare(t, rn, "testdata/v0-adamw-schedule-decay-epoch3.safetensors", 1e-3)
	rn.Close()
	again, err := run.Resume(dir, 0, run.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	if again.State != run.Done {
		t.Errorf("Resume of the finished run: state %v; want Done", again.State)
	}
}

// TestNew starts a run, refuses a second in the same directory, and
// leaves the directory usable when the run cannot be built.
func TestNew(t *testing.T) {
	dir, r := filepath.Join(t.TempDir(), "r"), small()
	rn, err := run.New(r, dir, run.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if rn.Recipe.Schedule.Name != "constant" || rn.State != run.Ready || rn.Resumed {
		t.Errorf("New: %+v", rn)
	}
	if err := rn.Train(context.Background()); err != nil {
		t.Fatal(err)
	}
	if s, err := rn.Finish(false); err != nil || s.Epochs != 1 {
		t.Fatalf("Finish = %+v, %v", s, err)
	}
	rn.Close() // the lock is the run's until then (it held only while the garbage collector had not collected rn)
	if _, err := run.New(r, dir, run.Options{}); err == nil || !strings.Contains(err.Error(), "already holds a run") {
		t.Errorf("a second New in %s: %v", dir, err)
	}

	bad := filepath.Join(t.TempDir(), "bad")
	r.Model, _ = recipe.ParseModel("cnn")
	r.Data = "csv:testdata/v0-adamw-schedule-decay/data.json" // no CSV at all
	if _, err := run.New(r, bad, run.Options{}); err == nil {
		t.Error("New of a run on a file that is no CSV succeeded")
	}
	r = recipe.Default()
	r.Optimizer, _ = spec.ParseOptimizer("sgd")
	r.Model, _ = recipe.ParseModel("logistic") // 10 classes: cannot be built
	if _, err := run.New(r, bad, run.Options{}); err == nil {
		t.Fatal("New of a logistic model on 10 classes succeeded")
	}
	if entries, _ := os.ReadDir(bad); len(entries) != 0 {
		t.Errorf("a run that could not be built left %d files in its directory", len(entries))
	}
}

// TestLock checks that a run directory has one user at a time: a second
// New or a Resume while a run holds it is refused, naming the holder, and
// the directory is free again once the run is closed.
func TestLock(t *testing.T) {
	dir, r := filepath.Join(t.TempDir(), "r"), small()
	rn, err := run.New(r, dir, run.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := rn.Train(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := run.New(r, dir, run.Options{}); !errors.Is(err, run.ErrLocked) || !strings.Contains(err.Error(), "descent train (pid") {
		t.Errorf("New while the run holds %s: %v; want ErrLocked naming the holder", dir, err)
	}
	if _, err := run.Resume(dir, 2, run.Options{}); !errors.Is(err, run.ErrLocked) {
		t.Errorf("Resume while the run holds %s: %v; want ErrLocked", dir, err)
	}
	if err := rn.Close(); err != nil {
		t.Fatal(err)
	}
	again, err := run.Resume(dir, 2, run.Options{})
	if err != nil {
		t.Fatalf("Resume after Close: %v", err)
	}
	again.Close()
	if _, err := run.LockDir(filepath.Join(dir, "missing"), "x"); err == nil {
		t.Error("LockDir of a missing directory succeeded")
	}
}

// TestLockBeforeData checks that New and NewText take the directory before
// they load the data: while another process holds it, a run whose data
// cannot be read is refused for the lock, naming the holder, not for its
// data; and a run whose data cannot be read leaves no directory behind.
func TestLockBeforeData(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "r")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	lock, err := run.LockDir(dir, "an earlier run")
	if err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(t.TempDir(), "missing")
	r := small()
	r.Data = "csv:" + missing + ".csv"
	if _, err := run.New(r, dir, run.Options{}); !errors.Is(err, run.ErrLocked) || !strings.Contains(err.Error(), "an earlier run (pid") {
		t.Errorf("New of missing data in a held directory: %v; want ErrLocked naming the holder", err)
	}
	tr := recipe.Default()
	tr.Data, tr.Steps = "text:"+missing+".txt", 10
	tr.Model, _ = recipe.ParseModel("lstm:8")
	if _, err := run.NewText(tr, dir, run.Options{}); !errors.Is(err, run.ErrLocked) {
		t.Errorf("NewText of missing text in a held directory: %v; want ErrLocked", err)
	}
	lock.Unlock()
	base := t.TempDir()
	fresh := filepath.Join(base, "new", "sub", "fresh") // its parents made for it too
	if _, err := run.New(r, fresh, run.Options{}); err == nil || !strings.Contains(err.Error(), "missing.csv") {
		t.Errorf("New of missing data: %v; want the data's error", err)
	}
	if _, err := os.Stat(filepath.Join(base, "new")); err == nil {
		t.Errorf("a run whose data could not be read left %s", filepath.Join(base, "new"))
	}
	if _, err := os.Stat(base); err != nil {
		t.Errorf("a run whose data could not be read removed %s, which it did not make: %v", base, err)
	}
}

// TestNewRefusesOtherFiles checks that a run is not started in a directory
// that holds files but no run, and that the error names them.
func TestNewRefusesOtherFiles(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"model.safetensors", "metrics.jsonl"} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte("mine"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	_, err := run.New(small(), dir, run.Options{})
	if err == nil || !strings.Contains(err.Error(), "holds no descent run (it has metrics.jsonl, model.safetensors)") {
		t.Errorf("New in a directory of other files: %v", err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "model.safetensors")); string(b) != "mine" {
		t.Error("the file was overwritten")
	}
}

// TestMemory checks that a run too large for MaxMemory is refused before
// anything is written, with the estimate in the error, and ParseSize.
func TestMemory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "big")
	r := recipe.Default()
	r.Model, _ = recipe.ParseModel("mlp:100000,100000")
	_, err := run.New(r, dir, run.Options{MaxMemory: 1 << 30})
	if err == nil || !strings.Contains(err.Error(), "needs about 241 GB") {
		t.Errorf("New of mlp:100000,100000 within 1 GiB: %v", err)
	}
	if _, err := os.Stat(dir); err == nil {
		t.Errorf("a run that never started made %s", dir)
	}
	// Two replicas in one process hold two models: 241 GB each (481 in all), within
	// 300 GB alone, refused together.
	replicasDir := filepath.Join(t.TempDir(), "replicas")
	_, errs := commtest.OnLocal(t, 2, func(c *comm.Comm) (*run.Run, error) {
		return run.New(r, replicasDir, run.Options{MaxMemory: 300e9, Comm: c})
	})
	if err := errs[0]; err == nil || !strings.Contains(err.Error(), "needs about 481 GB") || !strings.Contains(err.Error(), "(2 replicas)") {
		t.Errorf("New of mlp:100000,100000 on 2 replicas within 300 GB: %v", err)
	}
	if errs[1] == nil {
		t.Error("New on replica 1 of 2 succeeded where replica 0 was refused")
	}
	small := recipe.Default()
	if a, b := small.Memory([]int{1, 8, 8}, 10), r.Memory([]int{1, 8, 8}, 10); !(a > 0 && a < 1e8 && b > 1e11) {
		t.Errorf("Memory: default recipe %g, mlp:100000,100000 %g", a, b)
	}
	for s, want := range map[string]int64{"4096": 4096, "512MB": 512e6, "8 GB": 8e9, "1.5GiB": 3 << 29, "2kib": 2048} {
		if got, err := run.ParseSize(s); err != nil || got != want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", s, got, err, want)
		}
	}
	for _, s := range []string{"", "x", "-1GB", "1e30"} {
		if _, err := run.ParseSize(s); err == nil {
			t.Errorf("ParseSize(%q) succeeded", s)
		}
	}
}

// TestResumeAfterCorruptCheckpoint stops a run after its second epoch,
// flips a byte in its latest checkpoint and resumes it: the run goes on
// from the previous checkpoint, says so, and ends with the model of a run
// that never stopped, byte for byte.
func TestResumeAfterCorruptCheckpoint(t *testing.T) {
	r := small()
	r.Epochs = 3
	whole := filepath.Join(t.TempDir(), "whole")
	rn, err := run.New(r, whole, run.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := rn.Train(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := rn.Finish(false); err != nil {
		t.Fatal(err)
	}
	rn.Close()

	dir := filepath.Join(t.TempDir(), "stopped")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	opts := run.Options{OnEpoch: func(e train.Epoch) {
		if e.Epoch == 2 {
			cancel()
		}
	}}
	if rn, err = run.New(r, dir, opts); err != nil {
		t.Fatal(err)
	}
	if err := rn.Train(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Train with a cancel after epoch 2 = %v; want context.Canceled", err)
	}
	rn.Close()
	latest := damageLatest(t, dir)

	if rn, err = run.Resume(dir, 0, run.Options{}); err != nil {
		t.Fatalf("Resume after a flipped byte in the latest checkpoint: %v", err)
	}
	defer rn.Close()
	if err := rn.SkippedCheckpoint; err == nil || !strings.Contains(err.Error(), latest) {
		t.Errorf("Resume: SkippedCheckpoint = %v; want why %s was passed over", err, latest)
	}
	t.Logf("resumed after epoch %d, passing over the latest: %v", rn.Trainer().Epochs(), rn.SkippedCheckpoint)
	if err := rn.Train(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := rn.Finish(false); err != nil {
		t.Fatal(err)
	}
	sameModel(t, dir, whole)
}

// TestTensorBoard trains a run that also writes TensorBoard event files
// and reads them back, CRCs checked: one event per epoch, at its step,
// holding the metrics of metrics.jsonl.
func TestTensorBoard(t *testing.T) {
	r := small()
	r.Epochs = 2
	dir := filepath.Join(t.TempDir(), "r")
	rn, err := run.New(r, dir, run.Options{TensorBoard: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := rn.Train(context.Background()); err != nil {
		t.Fatal(err)
	}
	hist := rn.Trainer().History()
	if err := rn.Close(); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "events.out.tfevents.*"))
	if len(files) != 1 {
		t.Fatalf("event files in the run directory: %v; want one", files)
	}
	f, err := os.Open(files[0])
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	events, err := tensorboard.Read(f)
	if err != nil {
		t.Fatal(err)
	}
	if len(events) != 1+len(hist) || events[0].FileVersion != tensorboard.FileVersion {
		t.Fatalf("%d events, the first %+v; want the file version and %d epochs", len(events), events[0], len(hist))
	}
	for i, e := range hist {
		got := map[string]float32{}
		for _, s := range events[i+1].Scalars {
			got[s.Tag] = s.Value
		}
		if events[i+1].Step != int64(e.Step) || got["train/loss"] != float32(e.TrainLoss) || got["val/accuracy"] != float32(e.ValAccuracy) || got["lr"] != float32(e.LR) {
			t.Errorf("event of epoch %d = %+v; want step %d and the metrics %+v", e.Epoch, events[i+1], e.Step, e)
		}
	}
}

// TestFirstCheckpointFails checks what a new run's error says when its
// first checkpoint cannot be written (its directory is gone, as a full
// disk would fail the write): that the checkpoint could not be written
// and there is none before it, not that no epoch finished.
func TestFirstCheckpointFails(t *testing.T) {
	for _, c := range []struct {
		name  string
		train func(dir string) error
	}{
		{"epochs", func(dir string) error {
			rn, err := run.New(small(), dir, run.Options{})
			if err != nil {
				return err
			}
			defer rn.Close()
			os.RemoveAll(dir)
			return rn.Train(context.Background())
		}},
		{"steps", func(dir string) error {
			rn, err := run.NewText(smallText(t), dir, run.Options{})
			if err != nil {
				return err
			}
			defer rn.Close()
			os.RemoveAll(dir)
			return rn.Train(context.Background())
		}},
	} {
		dir := filepath.Join(t.TempDir(), c.name)
		err := c.train(dir)
		if !errors.Is(err, train.ErrCheckpoint) || !strings.Contains(err.Error(), "it was the run's first checkpoint, so there is none to resume from") {
			t.Errorf("%s: Train whose first checkpoint cannot be written = %v; want the failed write, and that there is no earlier checkpoint", c.name, err)
		}
	}
}

// TestResumeTextAfterCorruptCheckpoint is TestResumeAfterCorruptCheckpoint
// for a language model: stopped after its second evaluation, its latest
// checkpoint damaged, it goes on from the previous one, says so, and ends
// with the model of a run that never stopped, byte for byte.
func TestResumeTextAfterCorruptCheckpoint(t *testing.T) {
	r := smallText(t)
	r.Steps, r.EvalEvery = 6, 2
	whole := filepath.Join(t.TempDir(), "whole")
	rn, err := run.NewText(r, whole, run.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := rn.Train(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := rn.Finish(); err != nil {
		t.Fatal(err)
	}
	rn.Close()

	dir := filepath.Join(t.TempDir(), "stopped")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	opts := run.Options{OnEval: func(m train.SeqMetrics) {
		if m.Step == 4 {
			cancel()
		}
	}}
	if rn, err = run.NewText(r, dir, opts); err != nil {
		t.Fatal(err)
	}
	if err := rn.Train(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Train with a cancel after step 4 = %v; want context.Canceled", err)
	}
	rn.Close()
	latest := damageLatest(t, dir)

	if rn, err = run.ResumeText(dir, 0, run.Options{}); err != nil {
		t.Fatalf("ResumeText after a flipped byte in the latest checkpoint: %v", err)
	}
	defer rn.Close()
	if err := rn.SkippedCheckpoint; err == nil || !strings.Contains(err.Error(), latest) {
		t.Errorf("ResumeText: SkippedCheckpoint = %v; want why %s was passed over", err, latest)
	}
	if err := rn.Train(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := rn.Finish(); err != nil {
		t.Fatal(err)
	}
	sameModel(t, dir, whole)
}

// TestResumeTextPrevOnly resumes a language model's run whose latest
// checkpoint was removed (as a user might, told it is damaged): it goes on
// from the previous one, as a classifier's run does.
func TestResumeTextPrevOnly(t *testing.T) {
	r := smallText(t)
	r.Steps, r.EvalEvery = 4, 2
	dir := filepath.Join(t.TempDir(), "lm")
	rn, err := run.NewText(r, dir, run.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := rn.Train(context.Background()); err != nil {
		t.Fatal(err)
	}
	rn.Close()
	if err := os.Remove(filepath.Join(dir, run.CheckpointFile)); err != nil {
		t.Fatal(err)
	}
	if rn, err = run.ResumeText(dir, 6, run.Options{}); err != nil {
		t.Fatalf("ResumeText with only the previous checkpoint: %v", err)
	}
	defer rn.Close()
	if rn.SkippedCheckpoint == nil || rn.Trainer().Step() != 2 {
		t.Errorf("resumed at step %d, skipped %v; want step 2 and why the latest was passed over", rn.Trainer().Step(), rn.SkippedCheckpoint)
	}
}

// TestTextCheckpointFailsNamesLast makes a language model's second
// checkpoint fail (a directory stands where the previous one is kept):
// the error names the step of the last good one, 2, not that of the
// evaluation whose checkpoint failed.
func TestTextCheckpointFailsNamesLast(t *testing.T) {
	r := smallText(t)
	r.Steps, r.EvalEvery = 6, 2
	dir := filepath.Join(t.TempDir(), "lm")
	block := func(m train.SeqMetrics) {
		if m.Step == 2 {
			if err := os.MkdirAll(filepath.Join(dir, run.PrevCheckpointFile, "x"), 0o755); err != nil {
				t.Error(err)
			}
		}
	}
	rn, err := run.NewText(r, dir, run.Options{OnEval: block})
	if err != nil {
		t.Fatal(err)
	}
	defer rn.Close()
	err = rn.Train(context.Background())
	if !errors.Is(err, train.ErrCheckpoint) || !strings.Contains(err.Error(), "the last good checkpoint, after step 2,") {
		t.Errorf("Train with its second checkpoint failing = %v; want ErrCheckpoint and the last good one after step 2", err)
	}
}

// damageLatest flips a byte of the latest checkpoint in dir, in its last
// tensor, and returns its path; the run must have kept a previous one.
func damageLatest(t *testing.T, dir string) string {
	t.Helper()
	latest := filepath.Join(dir, run.CheckpointFile)
	if _, err := os.Stat(filepath.Join(dir, run.PrevCheckpointFile)); err != nil {
		t.Fatalf("no previous checkpoint: %v", err)
	}
	b, err := os.ReadFile(latest)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)-100] ^= 1
	if err := os.WriteFile(latest, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return latest
}

// sameModel fails the test unless the runs in dir and whole wrote the same
// model file, byte for byte.
func sameModel(t *testing.T, dir, whole string) {
	t.Helper()
	got, err1 := os.ReadFile(filepath.Join(dir, run.ModelFile))
	want, err2 := os.ReadFile(filepath.Join(whole, run.ModelFile))
	if err := errors.Join(err1, err2); err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Errorf("the model resumed from the previous checkpoint differs from the model of a run that never stopped")
	}
}
