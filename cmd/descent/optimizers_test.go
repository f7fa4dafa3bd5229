package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nlpodyssey/safetensors"

	"github.com/descentml/descent/landscape"
	"github.com/descentml/descent/recipe"
	"github.com/descentml/descent/run"
	"github.com/descentml/descent/train"
)

// readMetrics reads a run's metrics.jsonl.
func readMetrics(t *testing.T, dir string) []train.Epoch {
	t.Helper()
	var eps []train.Epoch
	for _, line := range bytes.Split(bytes.TrimSpace(readFile(t, filepath.Join(dir, run.MetricsFile))), []byte("\n")) {
		var e train.Epoch
		if err := json.Unmarshal(line, &e); err != nil {
			t.Fatal(err)
		}
		eps = append(eps, e)
	}
	return eps
}

// TestNewOptimizers trains each optimizer of issue 14 from the command on
// the digits: the training loss must fall, and 2 epochs resumed to 3 must
// end with the model of 3 epochs run whole (config.json round trip).
func TestNewOptimizers(t *testing.T) {
	if testing.Short() {
		t.Skip("trains 20 short runs")
	}
	for _, opt := range []string{"lion", "adopt", "ademamix", "sf-adamw", "sf-sgd", "muon", "prodigy", "soap", "lamb", "lars"} {
		t.Run(opt, func(t *testing.T) {
			base := t.TempDir()
			whole, part := filepath.Join(base, "whole"), filepath.Join(base, "part")
			common := []string{"--opt", opt, "--model", "mlp:64,64", "--quiet"}
			if _, e, code := descent(t, append([]string{"train", "--out", whole, "--epochs", "3"}, common...)...); code != 0 {
				t.Fatalf("exit %d: %s", code, e)
			}
			eps := readMetrics(t, whole)
			if first, last := eps[0].TrainLoss, eps[len(eps)-1].TrainLoss; !(last < 0.9*first) {
				t.Errorf("train loss %v after epoch 1, %v after epoch 3; want it to fall by 10%% (at the default rates)", first, last)
			}
			if d := eps[len(eps)-1].ProdigyD; (opt == "prodigy") != (d > 0) {
				t.Errorf("prodigy_d = %v in metrics.jsonl", d)
			}
			if _, e, code := descent(t, append([]string{"train", "--out", part, "--epochs", "2"}, common...)...); code != 0 {
				t.Fatal(e)
			}
			if _, e, code := descent(t, "train", "--resume", part, "--epochs", "3", "--quiet"); code != 0 {
				t.Fatal(e)
			}
			if !bytes.Equal(readFile(t, filepath.Join(whole, run.ModelFile)), readFile(t, filepath.Join(part, run.ModelFile))) {
				t.Error("2 epochs resumed to 3 differ from 3 epochs")
			}
		})
	}
}

// TestMuonRouting checks that config.json says which parameter Muon
// updates, that the routing can be changed, and that a model without a
// hidden matrix is refused before training.
func TestMuonRouting(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "muon")
	if _, e, code := descent(t, "train", "--opt", "muon", "--adamw-lr", "2e-3", "--to-adamw", "1.weight", "--model", "mlp:32,32", "--epochs", "1", "--quiet", "--out", dir); code != 0 {
		t.Fatal(e)
	}
	var r recipe.Recipe
	if err := json.Unmarshal(readFile(t, filepath.Join(dir, run.ConfigFile)), &r); err != nil {
		t.Fatal(err)
	}
	// 1, 4, 7: the Linear layers (after Flatten, BatchNorm and ReLU); 7 is
	// the output layer, 1 sent to AdamW by the flag.
	if r.Routing == nil || strings.Join(r.Routing.Muon, " ") != "4.weight" || !strings.Contains(strings.Join(r.Routing.AdamW, " "), "1.weight") || !strings.Contains(strings.Join(r.Routing.AdamW, " "), "7.weight") {
		t.Errorf("routing %+v; want 4.weight alone on Muon", r.Routing)
	}
	if lr, _ := r.Optimizer.Get("adamw-lr"); lr != "0.002" {
		t.Errorf("adamw-lr %s in config.json; want 0.002", lr)
	}
	if _, e, code := descent(t, "train", "--resume", dir, "--epochs", "2", "--quiet"); code != 0 {
		t.Errorf("resume: %s", e)
	}
	for args, want := range map[string]string{
		"--opt muon --model linear":                 "no hidden weight matrix",
		"--opt muon --to-muon 9.weight":             `no parameter is named "9.weight"`,
		"--opt adamw --to-adamw 1.weight":           "muon's",
		"--opt muon --model mlp:8 --to-muon 1.bias": "matrices only",
	} {
		_, e, code := descent(t, append([]string{"train", "--epochs", "1", "--quiet", "--out", filepath.Join(t.TempDir(), "x")}, strings.Fields(args)...)...)
		if code == 0 || !strings.Contains(e, want) {
			t.Errorf("train %s: exit %d, %q; want an error containing %q", args, code, e, want)
		}
	}
}

// TestEvalPointSaved checks that a run whose evaluated model differs from
// the trained one — Schedule-Free's x, an EMA or SWA of the weights —
// saves the evaluated one: the model file is the checkpoint's "model",
// which differs from the trained weights ("train_model"), and eval of it
// gives the summary's test loss; and that such a run killed mid-epoch,
// with batch norm and dropout, or interrupted, resumes to the same bytes.
func TestEvalPointSaved(t *testing.T) {
	if testing.Short() {
		t.Skip("trains three runs a case")
	}
	for name, extra := range map[string][]string{
		"sf-adamw": {"--opt", "sf-adamw"},
		"ema":      {"--average", "ema decay=0.99"},
		"swa":      {"--average", "swa start=30"},
		// SWALR's rate from step 50: KILL resumes from the end of
		// epoch 1 (step 43) across the start, INT after it.
		"swalr": {"--average", "swa start=50 lr=0.0003 anneal=8 strategy=linear"},
	} {
		t.Run(name, func(t *testing.T) {
			base := t.TempDir()
			args := func(dir string) []string {
				return append([]string{"train", "--out", dir, "--epochs", "3", "--batch", "32", "--dropout", "0.1", "--quiet"}, extra...)
			}
			whole := filepath.Join(base, "whole")
			if _, e, code := descent(t, args(whole)...); code != 0 {
				t.Fatal(e)
			}
			model := readFile(t, filepath.Join(whole, run.ModelFile))
			st, err := safetensors.Deserialize(readFile(t, filepath.Join(whole, run.CheckpointFile)))
			if err != nil {
				t.Fatal(err)
			}
			x, ok1 := st.Tensor("model")
			y, ok2 := st.Tensor("train_model")
			if !ok1 || !ok2 || !bytes.Equal(x.Data(), model) || bytes.Equal(y.Data(), model) {
				t.Errorf("checkpoint: model %v, train_model %v; want model = model.safetensors ≠ train_model", ok1, ok2)
			}
			var sum run.Summary
			if err := json.Unmarshal(readFile(t, filepath.Join(whole, run.SummaryFile)), &sum); err != nil || sum.TestLoss == nil {
				t.Fatalf("summary: %v", err)
			}
			if out, e, code := descent(t, "eval", "--model", whole); code != 0 || !strings.Contains(out, fmt.Sprintf("loss %.4f", *sum.TestLoss)) {
				t.Errorf("eval: %s%s; want the summary's test loss %.4f", out, e, *sum.TestLoss)
			}
			// KILL resumes from the end of epoch 1; INT writes a
			// checkpoint mid-epoch, at the evaluation point.
			resumesTo(t, model, args, base, "KILL:70", "INT:60")
		})
	}
}

// TestLandscapeNewOptimizers runs every new optimizer on the ravine, its
// parameter a 1×2 matrix so that Muon and SOAP run too: each must lower
// f from the start f(−9, 1) = 90 without an error.
func TestLandscapeNewOptimizers(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "ls")
	args := []string{"landscape", "--fn", "ravine", "--steps", "200", "--frames", "2", "--width", "160", "--height", "120", "--out", dir}
	for _, o := range []string{"lion lr=0.1", "adopt lr=0.1", "ademamix lr=0.1", "sf-adamw lr=0.5", "sf-sgd lr=0.01", "muon lr=0.5", "prodigy", "soap lr=0.5", "lamb lr=0.1", "lars lr=10"} {
		args = append(args, "--opt", o)
	}
	if _, e, code := descent(t, args...); code != 0 {
		t.Fatalf("exit %d: %s", code, e)
	}
	var res landscape.Result
	if err := json.Unmarshal(readFile(t, filepath.Join(dir, "landscape.json")), &res); err != nil {
		t.Fatal(err)
	}
	for _, r := range res.Runs {
		if r.Error != "" || !(r.Metrics.FinalF < 10) {
			t.Errorf("%s: final f %v, error %q; want f < 10 from 90", r.Description, r.Metrics.FinalF, r.Error)
		}
	}
}

// TestAccumulate checks that 3 accumulated batches of 17 train as one batch
// of 51 (no batch norm or dropout; up to rounding, and the same number of
// steps), that an accumulating run stopped and resumed ends with the
// same model as one that was not, and that epochs of batches that are not
// a multiple of 3 end in a step on the batches left.
func TestAccumulate(t *testing.T) {
	if testing.Short() {
		t.Skip("trains five runs")
	}
	base := t.TempDir()
	acc, big := filepath.Join(base, "acc"), filepath.Join(base, "big")
	common := []string{"train", "--batchnorm=false", "--epochs", "3", "--quiet"}
	if _, e, code := descent(t, append(common, "--batch", "17", "--accumulate", "3", "--out", acc)...); code != 0 {
		t.Fatal(e)
	}
	if _, e, code := descent(t, append(common, "--batch", "51", "--out", big)...); code != 0 {
		t.Fatal(e)
	}
	a, b := readMetrics(t, acc), readMetrics(t, big)
	for i := range a {
		if a[i].Step != b[i].Step || math.Abs(a[i].ValLoss-b[i].ValLoss) > 1e-2*b[i].ValLoss {
			t.Errorf("epoch %d: step %d, val loss %v accumulating; step %d, val loss %v with the large batch", i+1, a[i].Step, a[i].ValLoss, b[i].Step, b[i].ValLoss)
		}
	}
	want := readFile(t, filepath.Join(acc, run.ModelFile))
	resumesTo(t, want, func(dir string) []string {
		return append(common, "--batch", "17", "--accumulate", "3", "--out", dir)
	}, base, "KILL:40", "INT:50")
	// 22 batches an epoch by 3: 8 steps, the last on the last batch alone.
	odd := filepath.Join(base, "odd")
	if _, e, code := descent(t, append(common, "--batch", "64", "--accumulate", "3", "--out", odd)...); code != 0 {
		t.Fatalf("22 batches an epoch accumulated by 3: exit %d, %q", code, e)
	}
	for i, m := range readMetrics(t, odd) {
		if m.Step != 8*(i+1) {
			t.Errorf("22 batches an epoch accumulated by 3: epoch %d ends at step %d; want %d", i+1, m.Step, 8*(i+1))
		}
	}
}

// resumesTo runs the command args(dir) in a child process stopped by each
// signal ("KILL:70": at step 70), resumes it, and checks that the model
// written is want.
func resumesTo(t *testing.T, want []byte, args func(dir string) []string, base string, signals ...string) {
	t.Helper()
	for _, sig := range signals {
		dir := filepath.Join(base, sig[:3])
		stderr, err := subprocess(t, sig, args(dir)...)
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			t.Fatalf("%s: the run was not stopped: %v\n%s", sig, err, stderr)
		}
		if _, e, code := descent(t, "train", "--resume", dir, "--quiet"); code != 0 {
			t.Fatal(e)
		}
		if !bytes.Equal(readFile(t, filepath.Join(dir, run.ModelFile)), want) {
			t.Errorf("%s: the resumed run's model differs from the uninterrupted run's", sig)
		}
	}
}
