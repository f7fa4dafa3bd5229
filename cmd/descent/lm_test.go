package main

import (
	"bytes"
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

	"github.com/descentml/descent/data"
	"github.com/descentml/descent/run"
	"github.com/descentml/descent/train"
)

// tinyGPT is a transformer small enough to train in a fraction of a
// second, with dropout so that resuming must restore its random source.
var tinyGPT = []string{"--data", "text", "--model", "gpt:layers=1,d=16,heads=2,ctx=16,dropout=0.1", "--batch", "4", "--quiet"}

func TestTrainTextRun(t *testing.T) {
	base := t.TempDir()
	dir := filepath.Join(base, "gpt")
	out, e, code := descent(t, append([]string{"train", "--out", dir, "--steps", "30", "--eval-every", "10", "--schedule", "cosine", "--warmup", "5", "--clip-norm", "1"}, tinyGPT...)...)
	if code != 0 {
		t.Fatalf("train: exit %d: %s", code, e)
	}
	if !strings.Contains(out, "bits/char") {
		t.Errorf("train printed %q; want bits/char", out)
	}
	for _, f := range []string{run.ConfigFile, run.VocabFile, run.MetricsFile, run.SummaryFile, run.ModelFile, run.CheckpointFile, "loss.png", "bpc.png", "lr.png"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("the run wrote no %s: %v", f, err)
		}
	}
	lines := strings.Split(strings.TrimSpace(string(readFile(t, filepath.Join(dir, run.MetricsFile)))), "\n")
	if len(lines) != 3 {
		t.Fatalf("metrics.jsonl has %d lines; want 3 (every 10 of 30 steps)", len(lines))
	}
	var m train.SeqMetrics
	if err := json.Unmarshal([]byte(lines[2]), &m); err != nil {
		t.Fatal(err)
	}
	if m.Step != 30 || m.Tokens != 30*4*16 || !(m.ValBPC > 0 && m.ValBPC < 7) || m.ValPerplexity <= 1 {
		t.Errorf("last metrics %+v; want step 30, %d tokens, bits/char in (0, 7)", m, 30*4*16)
	}

	// The vocabulary saved is the corpus's.
	f, err := os.Open(filepath.Join(dir, run.VocabFile))
	if err != nil {
		t.Fatal(err)
	}
	v, err := data.ReadVocab(f)
	f.Close()
	want, _ := data.CharVocab(data.DefaultCorpus())
	if err != nil || v.Len() != want.Len() {
		t.Fatalf("vocab.json holds %v (%v); want the corpus's %d characters", v, err, want.Len())
	}
	ids, _ := want.Encode(nil, "Opticks")
	if s, err := v.Decode(ids); s != "Opticks" || err != nil {
		t.Errorf("vocab.json decodes the corpus's ids of %q as %q, %v", "Opticks", s, err)
	}

	out, e, code = descent(t, "eval", "--model", dir, "--json")
	var ev run.Evaluation
	if code != 0 || json.Unmarshal([]byte(out), &ev) != nil || ev.BitsPerChar == nil || ev.Split != "test" {
		t.Fatalf("eval: exit %d, %q, %s; want the test split's bits/char", code, out, e)
	}
	var s run.TextSummary
	if err := json.Unmarshal(readFile(t, filepath.Join(dir, run.SummaryFile)), &s); err != nil || s.TestBPC == nil || math.Abs(*s.TestBPC-*ev.BitsPerChar) > 1e-5 {
		t.Errorf("summary.json's test bits/char %v; eval says %v", *s.TestBPC, *ev.BitsPerChar)
	}

	sample := func(seed string) string {
		out, e, code := descent(t, "sample", "--model", dir, "--prompt", "Light ", "--tokens", "40", "--temperature", "0.8", "--top-k", "10", "--seed", seed)
		if code != 0 || !strings.HasPrefix(out, "Light ") {
			t.Fatalf("sample --seed %s: exit %d, %q, %s", seed, code, out, e)
		}
		return out
	}
	if a, b, c := sample("1"), sample("1"), sample("2"); a != b || a == c {
		t.Errorf("samples with seeds 1, 1, 2: %q, %q, %q; want the first two equal, the third not", a, b, c)
	}
	if _, e, code := descent(t, "sample", "--model", dir, "--prompt", "Ω"); code == 0 || !strings.Contains(e, "not in the vocabulary") {
		t.Errorf("sample with a character out of the vocabulary: exit %d, %q", code, e)
	}
}

func TestTrainRecurrentText(t *testing.T) {
	for _, model := range []string{"lstm:16,ctx=8", "gru:8x2,ctx=8", "rnn:8,ctx=8,tied"} {
		dir := filepath.Join(t.TempDir(), "run")
		_, e, code := descent(t, "train", "--data", "text", "--model", model, "--steps", "6", "--batch", "2", "--bytes", "--out", dir, "--quiet")
		if code != 0 {
			t.Fatalf("%s: exit %d: %s", model, code, e)
		}
		if b := readFile(t, filepath.Join(dir, run.VocabFile)); !bytes.Contains(b, []byte(`"byte"`)) {
			t.Errorf("%s --bytes: vocab.json %s; want a byte-level vocabulary", model, b)
		}
		if out, e, code := descent(t, "sample", "--model", dir, "--tokens", "5"); code != 0 || out == "" {
			t.Errorf("%s: sample: exit %d, %q, %s", model, code, out, e)
		}
	}
}

// TestTextResumeExact interrupts language models' runs (SIGKILL, and
// SIGINT between evaluations), resumes them, and checks that the final
// models are byte-identical to an uninterrupted run's; and that a run
// continued with more --steps matches one made that long (constant rate).
func TestTextResumeExact(t *testing.T) {
	if testing.Short() {
		t.Skip("trains four runs")
	}
	base := t.TempDir()
	args := func(dir string, steps int) []string {
		return append([]string{"train", "--out", dir, "--steps", strconv.Itoa(steps), "--eval-every", "10", "--schedule", "cosine", "--warmup", "5"}, tinyGPT...)
	}
	whole := filepath.Join(base, "whole")
	if _, e, code := descent(t, args(whole, 40)...); code != 0 {
		t.Fatalf("uninterrupted run: exit %d: %s", code, e)
	}
	want := readFile(t, filepath.Join(whole, run.ModelFile))
	for _, sig := range []string{"KILL:25", "INT:17"} {
		dir := filepath.Join(base, strings.Split(sig, ":")[0])
		stderr, err := subprocess(t, sig, args(dir, 40)...)
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			t.Fatalf("%s: the run was not stopped: %v\n%s", sig, err, stderr)
		}
		if sig == "INT:17" && (ee.ExitCode() != 130 || !strings.Contains(stderr, "descent train --resume "+dir)) {
			t.Errorf("interrupted run: exit %d, stderr %q; want 130 and how to resume", ee.ExitCode(), stderr)
		}
		if _, e, code := descent(t, "train", "--resume", dir, "--quiet"); code != 0 {
			t.Fatalf("%s: resume: exit %d: %s", sig, code, e)
		}
		if !bytes.Equal(readFile(t, filepath.Join(dir, run.ModelFile)), want) {
			t.Errorf("%s: the resumed run's model differs from the uninterrupted run's", sig)
		}
		if n := bytes.Count(readFile(t, filepath.Join(dir, run.MetricsFile)), []byte("\n")); n != 4 {
			t.Errorf("%s: metrics.jsonl has %d lines; want 4", sig, n)
		}
	}

	short, long := filepath.Join(base, "short"), filepath.Join(base, "long")
	constant := func(dir string, steps int) []string {
		return append([]string{"train", "--out", dir, "--steps", strconv.Itoa(steps), "--eval-every", "10"}, tinyGPT...)
	}
	for _, a := range [][]string{constant(short, 20), {"train", "--resume", short, "--steps", "30", "--quiet"}, constant(long, 30)} {
		if _, e, code := descent(t, a...); code != 0 {
			t.Fatalf("%v: exit %d: %s", a, code, e)
		}
	}
	if !bytes.Equal(readFile(t, filepath.Join(short, run.ModelFile)), readFile(t, filepath.Join(long, run.ModelFile))) {
		t.Error("20 steps continued to 30 differ from 30 steps (constant learning rate)")
	}
}

func TestTextBadInput(t *testing.T) {
	dir := t.TempDir()
	short := filepath.Join(dir, "short.txt")
	empty := filepath.Join(dir, "empty.txt")
	os.WriteFile(short, []byte("a short text, shorter than one window of the context"), 0o644)
	os.WriteFile(empty, nil, 0o644)
	smallVal := filepath.Join(dir, "small-val.txt") // 300 characters: a validation part of 30, fewer than ctx = 64
	os.WriteFile(smallVal, bytes.Repeat([]byte("a b c d e "), 30), 0o644)
	for _, tc := range []struct {
		want string
		args []string
	}{
		{"3 heads do not divide d = 16", []string{"--model", "gpt:d=16,heads=3"}},
		{`unknown key "depth"`, []string{"--model", "gpt:depth=2"}},
		{`unknown key "heads"`, []string{"--model", "lstm:64,heads=2"}},
		{"want a positive whole number", []string{"--model", "lstm:-4"}},
		{"fewer than one window of ctx = 128", []string{"--data", "text:" + short, "--model", "lstm:8"}},
		{"text is empty", []string{"--data", "text:" + empty}},
		{"the validation part of text:" + smallVal + " (val-fraction 0.1) holds 30 tokens: fewer than one window of ctx = 64 and its next token (give --val-fraction 0 for none",
			[]string{"--data", "text:" + smallVal, "--model", "lstm:8,ctx=64"}},
		{"counts steps: give --steps", []string{"--epochs", "3"}},
		{"it needs a language model", []string{"--model", "mlp:32"}},
		{"no such file", []string{"--data", "text:" + filepath.Join(dir, "missing.txt")}},
		{"a language model has no batch normalization", []string{"--batchnorm=true"}},
	} {
		args := append([]string{"train", "--data", "text", "--steps", "2", "--out", filepath.Join(dir, "run")}, tc.args...)
		commandFailsWith(t, tc.want, args...)
	}
}

// TestTextAverageAccumulateTensorBoard trains a language model that
// accumulates 2 batches a step and keeps an EMA of its weights, with
// TensorBoard events: 12 steps, and 6 continued to 12 with --resume, end
// with byte-identical models (a constant rate); config.json records no
// batch normalization.
func TestTextAverageAccumulateTensorBoard(t *testing.T) {
	base := t.TempDir()
	args := func(dir string, steps int) []string {
		return append([]string{"train", "--out", dir, "--steps", strconv.Itoa(steps), "--eval-every", "3",
			"--average", "ema decay=0.9", "--accumulate", "2", "--tensorboard"}, tinyGPT...)
	}
	whole, part := filepath.Join(base, "whole"), filepath.Join(base, "part")
	for _, a := range [][]string{args(whole, 12), args(part, 6), {"train", "--resume", part, "--steps", "12", "--quiet", "--tensorboard"}} {
		if _, e, code := descent(t, a...); code != 0 {
			t.Fatalf("%v: exit %d: %s", a, code, e)
		}
	}
	if !bytes.Equal(readFile(t, filepath.Join(whole, run.ModelFile)), readFile(t, filepath.Join(part, run.ModelFile))) {
		t.Error("6 steps continued to 12 differ from 12 steps, with --average and --accumulate")
	}
	var m train.SeqMetrics
	lines := strings.Split(strings.TrimSpace(string(readFile(t, filepath.Join(whole, run.MetricsFile)))), "\n")
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &m); err != nil || m.Tokens != 12*2*4*16 {
		t.Errorf("last metrics %+v (%v); want %d tokens (12 steps of 2×4 windows of 16)", m, err, 12*2*4*16)
	}
	events, _ := filepath.Glob(filepath.Join(part, "events.out.tfevents.*"))
	if len(events) != 2 {
		t.Errorf("the resumed run has %d event files; want 2 (one a part)", len(events))
	}
	if cfg := string(readFile(t, filepath.Join(whole, run.ConfigFile))); strings.Contains(cfg, "batchnorm") || !strings.Contains(cfg, `"accumulate": 2`) {
		t.Errorf("config.json of a language model records batch norm, or not the accumulation:\n%s", cfg)
	}
}

// TestTextCompareTuneLRFind runs compare, tune and lr-find on a language
// model: compare's table gives bits per character and its figures are
// drawn against the steps, tune's best trial trains for the steps, and
// the range test runs.
func TestTextCompareTuneLRFind(t *testing.T) {
	base := t.TempDir()
	model := []string{"--data", "text", "--model", "gpt:layers=1,d=16,heads=2,ctx=16", "--batch", "8", "--quiet"}
	dir := filepath.Join(base, "compare")
	out, e, code := descent(t, append([]string{"compare", "--out", dir, "--steps", "6", "--eval-every", "3", "--seeds", "1",
		"--opt", "adamw lr=3e-3", "--opt", "lion lr=3e-4"}, model...)...)
	if code != 0 {
		t.Fatalf("compare: exit %d: %s", code, e)
	}
	if !strings.Contains(out, "val bits/char") || !strings.Contains(out, "6 steps") || strings.Contains(out, "acc") {
		t.Errorf("compare printed:\n%s\nwant bits per character over 6 steps, no accuracy", out)
	}
	checkPNG(t, filepath.Join(dir, "val-loss.png"))
	if _, err := os.Stat(filepath.Join(dir, "val-accuracy.png")); err == nil {
		t.Error("compare drew the validation accuracy of language models")
	}

	dir = filepath.Join(base, "tune")
	out, e, code = descent(t, append([]string{"tune", "--out", dir, "--steps", "6", "--eval-every", "3", "--trials", "2",
		"--space", "lr=log(1e-3,1e-2)"}, model...)...)
	if code != 0 {
		t.Fatalf("tune: exit %d: %s", code, e)
	}
	if !strings.Contains(out, "--data text") || !strings.Contains(out, "--steps 6") {
		t.Errorf("tune printed:\n%s\nwant the best as a train command of 6 steps on text", out)
	}
	// The best trial's command trains it again, to the same validation loss.
	_, after, _ := strings.Cut(out, "train it with\n  ")
	line, _, _ := strings.Cut(after, "\n")
	var value float64
	if _, err := fmt.Sscanf(out[strings.Index(out, "\nbest: "):], "\nbest: trial %d, val_loss %g", new(int), &value); err != nil {
		t.Fatalf("tune printed:\n%s\n(%v)", out, err)
	}
	words := shellSplit(t, line)
	again, e, code := descent(t, append(words[1:], "--out", filepath.Join(base, "again"), "--quiet")...)
	var got float64
	if i := strings.Index(again, "validation loss "); code != 0 || i < 0 {
		t.Errorf("the best trial's command %q: exit %d: %s\n%s", line, code, e, again)
	} else if fmt.Sscanf(again[i:], "validation loss %g", &got); math.Abs(got-value) > 5e-4 { // tune prints 4 digits
		t.Errorf("the best trial's command %q trains to validation loss %v; the trial's was %v", line, got, value)
	}
	commandFailsWith(t, "validation loss (val_loss), not an accuracy", append([]string{"tune", "--out", filepath.Join(base, "acc"),
		"--steps", "6", "--metric", "val_accuracy"}, model...)...)

	out, e, code = descent(t, append([]string{"lr-find", "--out", filepath.Join(base, "lr"), "--steps", "20", "--accumulate", "2"}, model[:len(model)-1]...)...)
	if code != 0 || !strings.Contains(out, "range test of gpt:") {
		t.Errorf("lr-find: exit %d: %s\n%s", code, e, out)
	}
}
