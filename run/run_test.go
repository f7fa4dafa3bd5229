package run_test

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/descentml/descent/nn"
	"github.com/descentml/descent/optim/spec"
	"github.com/descentml/descent/recipe"
	"github.com/descentml/descent/run"
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
	if err := rn.Train(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := rn.Finish(false); err != nil {
		t.Fatal(err)
	}
	// The weights v0 wrote after the same extension, loaded into a model
	// of the recipe (the file's metadata may differ between versions).
	b, err := os.ReadFile("testdata/v0-adamw-schedule-decay-epoch3.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	v0, _, _, err := rn.Recipe.Model.Build(rn.Data.Shape, rn.Splits.Train.Classes(), rn.Recipe.Seed)
	if err != nil {
		t.Fatal(err)
	}
	if err := nn.Load[float32](v0, b); err != nil {
		t.Fatal(err)
	}
	// Bit for bit with the kernels that wrote it (AVX-512 here); other
	// kernels (noasm, AVX2) sum in another order, and one epoch moves the
	// weights by a few parts in ten thousand. A hyperparameter misread
	// (schedule-decay alone decays by λ·η_t instead of α_t·λ, a thousand
	// times more) moves them by far more than the tolerance.
	got, want := rn.Built.Model.Params(), v0.Params()
	worst, exact := 0.0, true
	for i := range want {
		for j := range want[i].Value {
			g, w := got[i].Value[j], want[i].Value[j]
			exact = exact && math.Float32bits(g) == math.Float32bits(w)
			worst = max(worst, math.Abs(float64(g-w)))
		}
	}
	t.Logf("after extending the v0 run: largest difference from v0's weights %g (bit for bit: %v)", worst, exact)
	if worst > 1e-3 {
		t.Errorf("after extending the v0 run, the weights differ from v0's by up to %g; want ≤ 1e-3", worst)
	}
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
