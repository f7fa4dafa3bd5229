package run_test

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/descentml/descent/optim/spec"
	"github.com/descentml/descent/recipe"
	"github.com/descentml/descent/run"
)

func ptr(v float64) *float64 { return &v }

// TestJSONNotFinite writes summaries and evaluations that hold numbers
// JSON has no literal for (a perplexity beyond 1.8e308, a NaN loss): each
// is null, as in metrics.jsonl, and reads back as NaN; an absent result
// stays absent, and finite ones are written as encoding/json writes them.
func TestJSONNotFinite(t *testing.T) {
	inf, nan := math.Inf(1), math.NaN()
	for _, c := range []struct {
		name  string
		v     any // the value, to write
		back  any // a pointer to a zero value of its type, to read it into
		want  []string
		nulls []string // the fields that must read back as NaN
	}{
		{"summary", run.Summary{TestLoss: ptr(nan), TestAccuracy: ptr(0.5), Epochs: 2, Seconds: inf}, &run.Summary{},
			[]string{`"test_loss":null`, `"test_accuracy":0.5`, `"epochs":2`, `"seconds":null`, `"steps":0`}, []string{"TestLoss", "Seconds"}},
		{"text summary", run.TextSummary{TestLoss: ptr(800), TestBPC: ptr(800 / math.Ln2), TestPerplexity: ptr(math.Exp(800)), TokensPerSecond: -inf}, &run.TextSummary{},
			[]string{`"test_loss":800,`, `"test_perplexity":null`, `"tokens_per_second":null`}, []string{"TestPerplexity", "TokensPerSecond"}},
		{"evaluation", run.Evaluation{Loss: nan, Accuracy: 0.25, Perplexity: ptr(inf), BitsPerChar: ptr(1.5)}, &run.Evaluation{},
			[]string{`"accuracy":0.25`, `"loss":null`, `"bits_per_char":1.5`, `"perplexity":null`}, []string{"Loss", "Perplexity"}},
	} {
		b, err := json.Marshal(c.v)
		if err != nil {
			t.Errorf("%s: json.Marshal(%+v): %v", c.name, c.v, err)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(string(b), w) {
				t.Errorf("%s: json.Marshal = %s; want it to hold %s", c.name, b, w)
			}
		}
		if strings.Contains(string(b), "best_val_accuracy") || strings.Contains(string(b), "final_val") {
			t.Errorf("%s: json.Marshal = %s; want results that are absent left out", c.name, b)
		}
		if _, err := json.MarshalIndent(c.v, "", "  "); err != nil { // as summary.json is written
			t.Errorf("%s: json.MarshalIndent: %v", c.name, err)
		}
		if err := json.Unmarshal(b, c.back); err != nil {
			t.Errorf("%s: json.Unmarshal(%s): %v", c.name, b, err)
			continue
		}
		back := reflect.ValueOf(c.back).Elem()
		for _, f := range c.nulls {
			v := back.FieldByName(f)
			if v.Kind() == reflect.Pointer {
				if v.IsNil() {
					t.Errorf("%s: %s of %s reads as nil; want NaN", c.name, f, b)
					continue
				}
				v = v.Elem()
			}
			if !math.IsNaN(v.Float()) {
				t.Errorf("%s: %s of %s reads as %v; want NaN", c.name, f, b, v.Float())
			}
		}
		if again, err := json.Marshal(back.Interface()); err != nil || string(again) != string(b) {
			t.Errorf("%s: %s read and written again: %s, %v", c.name, b, again, err)
		}
	}

	// Finite numbers: as encoding/json writes the same fields.
	type plain run.TextSummary
	s := run.TextSummary{TestLoss: ptr(1.25), TestBPC: ptr(1.8), TestPerplexity: ptr(3.5), FinalValLoss: ptr(1.5), FinalValBPC: ptr(2.1),
		Steps: 10, Tokens: 1 << 40, Seconds: 0.5, TokensPerSecond: 2e12, Params: 1000, Vocab: 91, Ranks: 2}
	got, err1 := json.Marshal(s)
	want, err2 := json.Marshal(plain(s))
	if err1 != nil || err2 != nil || string(got) != string(want) {
		t.Errorf("json.Marshal(%+v) = %s, %v; want %s, %v", s, got, err1, want, err2)
	}
}

// TestTextRunPerplexityOverflows trains a language model so far off
// (plain SGD at lr 1e6) that its test loss, finite, is above 709 nats:
// its perplexity e^loss is +Inf. The run finishes all the same, and its
// summary.json and its evaluation as JSON hold null for it.
func TestTextRunPerplexityOverflows(t *testing.T) {
	r := smallText(t)
	r.Steps, r.EvalEvery = 5, 5
	var err error
	if r.Model, err = recipe.ParseModel("lstm:32,ctx=32"); err != nil {
		t.Fatal(err)
	}
	if r.Optimizer, err = spec.ParseOptimizer("sgd lr=1e6"); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "div")
	rn, err := run.NewText(r, dir, run.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer rn.Close()
	if err := rn.Train(context.Background()); err != nil {
		t.Fatal(err)
	}
	s, err := rn.Finish()
	if err != nil {
		t.Fatalf("Finish of a run whose perplexity overflows: %v", err)
	}
	if s.TestLoss == nil || !(*s.TestLoss > 709 && !math.IsInf(*s.TestLoss, 0)) {
		t.Fatalf("test loss %v; want a finite loss above 709 nats, for e^loss to overflow", s.TestLoss)
	}
	b, err := os.ReadFile(filepath.Join(dir, run.SummaryFile))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"test_perplexity": null`) {
		t.Errorf("summary.json = %s; want test_perplexity null", b)
	}
	ev, err := run.Evaluate(dir, run.Eval{})
	if err != nil {
		t.Fatal(err)
	}
	if j, err := json.Marshal(ev); err != nil || !strings.Contains(string(j), `"perplexity":null`) {
		t.Errorf("json.Marshal(Evaluate(%s)) = %s, %v; want perplexity null", dir, j, err)
	}
}
