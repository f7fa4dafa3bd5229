package explore

import (
	"context"
	"math"
	"strings"
	"testing"

	"github.com/descentml/descent/recipe"
	"github.com/descentml/descent/tune"
)

// tinyLM is a language model's recipe that trains in a fraction of a
// second on the embedded corpus: a one-layer GPT of width 16, 12 steps.
func tinyLM(t *testing.T) (recipe.Recipe, Data) {
	t.Helper()
	r := recipe.Default()
	r.Data, r.Epochs, r.Steps, r.EvalEvery, r.Batch = "text", 0, 12, 4, 4
	r.Model.BatchNorm = false
	m, err := recipe.ParseModel("gpt:layers=1,d=16,heads=2,ctx=16")
	if err != nil {
		t.Fatal(err)
	}
	r.Model = m
	d, err := Load(r, 0)
	if err != nil {
		t.Fatal(err)
	}
	return r, d
}

// TestCompareText compares two optimizers on a language model over two
// seeds: the history holds one record an evaluation, at its step; the
// figures are drawn against the steps and have no accuracy; the table
// gives bits per character.
func TestCompareText(t *testing.T) {
	r, d := tinyLM(t)
	c, err := Compare(context.Background(), d, CompareConfig{Recipe: r, Optimizers: opts(t, "adamw lr=3e-3", "sgd lr=0.1"), Seeds: 2})
	if err != nil {
		t.Fatal(err)
	}
	if c.TrainExamples != len(d.Text.Train) {
		t.Errorf("TrainExamples = %d; want the %d training tokens", c.TrainExamples, len(d.Text.Train))
	}
	for _, k := range c.Optimizers {
		for _, o := range k.Runs {
			if o.Failed() || len(o.History) != 3 || o.History[2].Step != 12 || math.IsNaN(o.Final.ValLoss) || math.IsNaN(o.Final.TestLoss) {
				t.Fatalf("%s seed %d: %+v; want 3 evaluations up to step 12 and finite validation and test losses", k.Spec, o.Seed, o)
			}
		}
	}
	if s := c.Optimizers[0].Runs[0].String(); !strings.Contains(s, "bits/char") || strings.Contains(s, "acc") {
		t.Errorf("Outcome.String() = %q; want bits per character, no accuracy", s)
	}
	if a, b := c.Optimizers[0].Runs[0].Final.ValLoss, c.Optimizers[1].Runs[0].Final.ValLoss; a == b {
		t.Errorf("adamw and sgd end at the same validation loss %v", a)
	}
	var files []string
	for _, f := range c.Figures() {
		files = append(files, f.File)
		if f.Spec.XLabel != "step" || f.Spec.X[0] != 4 || f.Spec.X[2] != 12 {
			t.Errorf("%s: x %q %v; want the steps 4, 8, 12", f.File, f.Spec.XLabel, f.Spec.X)
		}
	}
	if got := strings.Join(files, " "); got != "train-loss.png val-loss.png lr.png" {
		t.Errorf("figures %s; want train-loss.png val-loss.png lr.png", got)
	}
	var b strings.Builder
	if err := c.WriteTable(&b); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "val bits/char") || strings.Contains(b.String(), "acc") {
		t.Errorf("table:\n%s\nwant bits per character and no accuracy", b.String())
	}
	if _, err := Compare(context.Background(), Data{Splits: digits(t)}, CompareConfig{Recipe: r, Optimizers: opts(t, "adam")}); err == nil || !strings.Contains(err.Error(), "no text") {
		t.Errorf("Compare of a language model on digits = %v; want an error saying the data holds no text", err)
	}
}

// TestTuneText searches a language model's learning rate by successive
// halving, whose budgets are steps, and refuses an accuracy objective.
func TestTuneText(t *testing.T) {
	r, d := tinyLM(t)
	cfg := TuneConfig{Recipe: r, Space: space(t, "lr=log(1e-3,1e-1)"), Seed: 1,
		Method: tune.Halving{Configs: 3, MinBudget: 4, MaxBudget: 12, Eta: 3}}
	res, err := Tune(context.Background(), d, cfg)
	if err != nil {
		t.Fatal(err)
	}
	best, ok := res.Report.Best()
	if !ok || res.Best == nil || res.Best.Steps != 12 || best.Budget != 12 || res.Best.Epochs != 0 {
		t.Fatalf("best %+v, recipe %+v; want a trial of the full 12 steps", best, res.Best)
	}
	if v := best.Metrics["val_bits_per_char"]; math.Abs(v-best.Value/math.Ln2) > 1e-12 {
		t.Errorf("the best trial's val_bits_per_char %v; want its val_loss over ln 2, %v", v, best.Value/math.Ln2)
	}
	if p := res.Plot(); len(p.Series) != 2 || p.Series[0].Name != "4 steps" {
		t.Errorf("plot series %v; want one a round, named by its steps", p.Series)
	}
	cfg.Metric = ValAccuracy
	if _, err := Tune(context.Background(), d, cfg); err == nil || !strings.Contains(err.Error(), "validation loss") {
		t.Errorf("Tune of a language model on val_accuracy = %v; want an error", err)
	}
	cfg.Metric, cfg.Method = ValLoss, tune.Random{Trials: 1}
	cfg.Space = space(t, "epochs=int(1,3)")
	if _, err := Tune(context.Background(), d, cfg); err == nil || !strings.Contains(err.Error(), "steps") {
		t.Errorf("Tune of a language model over epochs = %v; want an error naming steps", err)
	}
}

// TestFindLRText runs the range test on a language model: one loss a
// step, the rate growing from MinLR, and a suggestion inside the range.
func TestFindLRText(t *testing.T) {
	r, d := tinyLM(t)
	cfg := DefaultFindLR()
	cfg.Steps, cfg.MinLR, cfg.MaxLR = 40, 1e-4, 10
	f, err := FindLR(context.Background(), r, d, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(f.LRs) < 10 || f.LRs[0] != cfg.MinLR || !(f.LRs[1] > f.LRs[0]) {
		t.Fatalf("rates %v; want at least 10, from %g up", f.LRs, cfg.MinLR)
	}
	if !(f.Suggested >= cfg.MinLR && f.Suggested <= cfg.MaxLR) {
		t.Errorf("suggested %v; want a rate in [%g, %g]", f.Suggested, cfg.MinLR, cfg.MaxLR)
	}
}
