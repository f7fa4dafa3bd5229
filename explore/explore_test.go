package explore

import (
	"bytes"
	"context"
	"encoding/json"
	"image/png"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/descentml/descent/data"
	"github.com/descentml/descent/internal/jsonfloat"
	"github.com/descentml/descent/optim/spec"
	"github.com/descentml/descent/plot"
	"github.com/descentml/descent/recipe"
	"github.com/descentml/descent/tune"
)

var (
	digitsOnce   sync.Once
	digitsSplits *data.Splits
	digitsErr    error
)

// digits returns the embedded digits, split as descent does by default.
func digits(t *testing.T) *data.Splits {
	t.Helper()
	digitsOnce.Do(func() { digitsSplits, digitsErr = recipe.Default().LoadData(nil, nil) })
	if digitsErr != nil {
		t.Fatal(digitsErr)
	}
	return digitsSplits
}

// small is a recipe that trains in a fraction of a second on digits.
func small(epochs int) recipe.Recipe {
	r := recipe.Default()
	r.Model = recipe.Model{Kind: "mlp", Hidden: []int{32}}
	r.Epochs = epochs
	return r
}

func opts(t *testing.T, specs ...string) []spec.Optimizer {
	t.Helper()
	var os []spec.Optimizer
	for _, s := range specs {
		o, err := spec.ParseOptimizer(s)
		if err != nil {
			t.Fatal(err)
		}
		os = append(os, o)
	}
	return os
}

// withoutTime returns c as JSON with every epoch's wall time zeroed: what
// must not depend on how the runs were scheduled.
func withoutTime(t *testing.T, c *Comparison) string {
	t.Helper()
	c2 := *c
	c2.Optimizers = slices.Clone(c.Optimizers)
	for i := range c2.Optimizers {
		c2.Optimizers[i].Runs = slices.Clone(c2.Optimizers[i].Runs)
		for j := range c2.Optimizers[i].Runs {
			h := slices.Clone(c2.Optimizers[i].Runs[j].History)
			for k := range h {
				h[k].Seconds = 0
			}
			c2.Optimizers[i].Runs[j].History = h
		}
	}
	b, err := json.Marshal(c2)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// One worker or several, the numbers are the same, and each seed of each
// optimizer is the run train would make alone.
func TestCompareDoesNotDependOnWorkers(t *testing.T) {
	splits := digits(t)
	cfg := CompareConfig{Recipe: small(2), Optimizers: opts(t, "sgd lr=0.1", "adam lr=3e-3", "adamw lr=3e-3 wd=0.1"), Seeds: 2, Workers: 1}
	one, err := Compare(context.Background(), Data{Splits: splits}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Workers = 3
	var order []string
	cfg.OnRun = func(spec string, o Outcome) { order = append(order, spec) }
	three, err := Compare(context.Background(), Data{Splits: splits}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if a, b := withoutTime(t, one), withoutTime(t, three); a != b {
		t.Errorf("1 and 3 workers differ:\n%s\n%s", a, b)
	}
	if len(order) != 6 {
		t.Errorf("OnRun was called %d times; want 6", len(order))
	}
	if got := three.Seeds; !slices.Equal(got, []uint64{1, 2}) || three.TrainExamples != splits.Train.Len() {
		t.Errorf("Seeds = %v; want [1 2]", got)
	}
	// Seed 2 of adam is the run the recipe makes on its own.
	r := small(2)
	r.Optimizer, r.Seed = cfg.Optimizers[1], 2
	alone, err := trainOne(context.Background(), r, Data{Splits: splits}, false)
	if err != nil {
		t.Fatal(err)
	}
	if got := three.Optimizers[1].Runs[1]; got.Final != alone.Final || got.Seed != 2 {
		t.Errorf("adam, seed 2: final %+v; want %+v, the recipe's alone", got.Final, alone.Final)
	}
	// The means are those of the seeds.
	k := three.Optimizers[2]
	a, b := k.Runs[0].Final.ValLoss, k.Runs[1].Final.ValLoss
	if s := k.Final.ValLoss; math.Abs(s.Mean-(a+b)/2) > 1e-12 || math.Abs(s.Std-math.Abs(a-b)/math.Sqrt2) > 1e-12 || s.N != 2 {
		t.Errorf("val loss %v and %v: Stat %+v", a, b, s)
	}
}

func TestCompareOutputs(t *testing.T) {
	splits := digits(t)
	c, err := Compare(context.Background(), Data{Splits: splits}, CompareConfig{Recipe: small(2),
		Optimizers: opts(t, "momentum lr=0.05 beta=0.9", "sgd lr=1e30"), Seeds: 2})
	if err != nil {
		t.Fatal(err)
	}
	bad := c.Optimizers[1]
	if !bad.Runs[0].Failed() || !strings.Contains(bad.Runs[0].Error, "NaN") && !strings.Contains(bad.Runs[0].Error, "Inf") {
		t.Errorf("sgd at lr 1e30: %+v; want a run that failed on a non-finite loss", bad.Runs[0])
	}
	if bad.Final.ValLoss.N != 0 || !math.IsNaN(bad.Final.ValLoss.Mean) {
		t.Errorf("failed runs' summary %+v; want no values", bad.Final.ValLoss)
	}
	var table bytes.Buffer
	if err := c.WriteTable(&table); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(table.String(), "2 (2 failed)") || !strings.Contains(table.String(), "momentum lr=0.05") {
		t.Errorf("table:\n%s", table.String())
	}
	figs := c.Figures()
	if len(figs) != len(Metrics) {
		t.Fatalf("%d figures; want %d", len(figs), len(Metrics))
	}
	for _, f := range figs {
		var b bytes.Buffer
		if err := plot.Lines(&b, f.Spec); err != nil {
			t.Errorf("%s: %v", f.File, err)
		}
	}
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	var back Comparison
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back.Optimizers[0].Final.ValLoss != c.Optimizers[0].Final.ValLoss || !math.IsNaN(back.Optimizers[1].Final.ValLoss.Mean) {
		t.Errorf("JSON round trip: %+v; want %+v", back.Optimizers[0].Final, c.Optimizers[0].Final)
	}

	// Without a validation set there are no validation curves.
	noVal := &data.Splits{Train: splits.Train, Test: splits.Test}
	c, err = Compare(context.Background(), Data{Splits: noVal}, CompareConfig{Recipe: small(1), Optimizers: opts(t, "adam")})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range c.Figures() {
		if strings.HasPrefix(f.File, "val") {
			t.Errorf("a figure %s without a validation set", f.File)
		}
	}
	if _, err := Compare(context.Background(), Data{Splits: splits}, CompareConfig{Recipe: small(1)}); err == nil {
		t.Error("Compare with no optimizer succeeded")
	}
	cnn := small(1)
	cnn.Model = recipe.Model{Kind: "logistic"}
	if _, err := Compare(context.Background(), Data{Splits: splits}, CompareConfig{Recipe: cnn, Optimizers: opts(t, "adam")}); err == nil || !strings.Contains(err.Error(), "2 classes") {
		t.Errorf("Compare of a model the data does not fit = %v", err)
	}
}

func TestCompareCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	n := 0
	_, err := Compare(ctx, Data{Splits: digits(t)}, CompareConfig{Recipe: small(2), Optimizers: opts(t, "adam", "sgd", "rmsprop"), Seeds: 2, Workers: 1,
		OnRun: func(string, Outcome) {
			if n++; n == 2 {
				cancel()
			}
		}})
	if err != context.Canceled || n != 2 {
		t.Errorf("Compare cancelled after 2 runs = %v after %d runs", err, n)
	}
}

func TestNewStat(t *testing.T) {
	for _, tc := range []struct {
		in   []float64
		want Stat
	}{
		{[]float64{1, 2, 3}, Stat{2, 1, 3}},
		{[]float64{1, math.NaN(), 3}, Stat{2, math.Sqrt2, 2}},
		{[]float64{5}, Stat{5, 0, 1}},
	} {
		if got := NewStat(tc.in); math.Abs(got.Mean-tc.want.Mean) > 1e-12 || math.Abs(got.Std-tc.want.Std) > 1e-12 || got.N != tc.want.N {
			t.Errorf("NewStat(%v) = %+v; want %+v", tc.in, got, tc.want)
		}
	}
	for _, in := range [][]float64{nil, {math.NaN()}} {
		if got := NewStat(in); got.N != 0 || !math.IsNaN(got.Mean) || !math.IsNaN(got.Std) {
			t.Errorf("NewStat(%v) = %+v; want NaN", in, got)
		}
	}
	b, _ := json.Marshal(NewStat(nil))
	if string(b) != `{"mean":null,"std":null,"n":0}` {
		t.Errorf("json.Marshal(NaN stat) = %s", b)
	}
}

func TestDecayGrid(t *testing.T) {
	splits := digits(t)
	cfg := DecayGridConfig{Recipe: small(1), LRs: []float64{1e-3, 1e-2}, WDs: []float64{1e-4, 1e-2, 10}}
	var seen int
	cfg.OnRun = func(c Cell) {
		if c.Spec == "" || math.IsNaN(c.ValError()) {
			t.Errorf("OnRun(%+v)", c)
		}
		seen++
	}
	g, err := RunDecayGrid(context.Background(), Data{Splits: splits}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if seen != 12 || g.TrainExamples != splits.Train.Len() || len(g.Panels) != 2 || g.Panels[0].Optimizer != "adam" || g.Panels[1].Optimizer != "adamw" {
		t.Fatalf("%d runs, panels %+v", seen, g.Panels)
	}
	c := g.Panels[1].Cells[1][2]
	if c.LR != 1e-2 || c.WD != 10 || c.Spec != "adamw lr=0.01 wd=10" {
		t.Errorf("adamw cell [1][2] = %+v", c)
	}
	// Validation is measured once, at the end.
	if h := c.Outcome.History; len(h) != 1 || !math.IsNaN(h[0].ValLoss) || math.IsNaN(c.Outcome.Final.ValLoss) {
		t.Errorf("cell history %+v, final %+v", h, c.Outcome.Final)
	}
	// Adam's L2 at λ = 10 swamps the data's gradient; AdamW's decay
	// (α·λ = 0.1 of the weights a step) hurts too, less.
	for k := range g.Panels {
		best, ok := g.Best(k)
		errs := g.ValErrors(k)
		if !ok || best.ValError() > 0.3 || errs[1][2] <= best.ValError() {
			t.Errorf("panel %d: best %+v, errors %v", k, best, errs)
		}
		if idx := g.BestWD(k); len(idx) != 2 || idx[0] == 2 {
			t.Errorf("panel %d: BestWD = %v", k, idx)
		}
		if n := g.Near(k, 1); n != 6 {
			t.Errorf("panel %d: Near(1) = %d; want every cell", k, n)
		}
	}
	spec := g.HeatmapSpec()
	if len(spec.Panels) != 2 || !slices.Equal(spec.XTicks, []string{"1e-4", "1e-2", "10"}) || !slices.Equal(spec.YTicks, []string{"1e-3", "1e-2"}) {
		t.Errorf("heatmap: ticks %v %v", spec.XTicks, spec.YTicks)
	}
	var img bytes.Buffer
	if err := plot.Heatmap(&img, spec); err != nil {
		t.Fatal(err)
	}
	if _, err := png.Decode(&img); err != nil {
		t.Error(err)
	}
	var table bytes.Buffer
	g.WriteTable(&table)
	for _, want := range []string{"Adam + L2", "AdamW", "best wd at each lr", "*"} {
		if !strings.Contains(table.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, table.String())
		}
	}
	b, _ := json.Marshal(g)
	var back DecayGrid
	if err := json.Unmarshal(b, &back); err != nil || back.Panels[1].Cells[1][2].Outcome.Final != c.Outcome.Final {
		t.Errorf("JSON round trip: %v", err)
	}

	for _, bad := range []DecayGridConfig{
		{Recipe: small(1), LRs: []float64{1e-2, 1e-3}, WDs: []float64{0}},
		{Recipe: small(1), LRs: []float64{1e-3}},
		{Recipe: small(1), LRs: []float64{1e-3}, WDs: []float64{math.Inf(1)}},
	} {
		if _, err := RunDecayGrid(context.Background(), Data{Splits: splits}, bad); err == nil {
			t.Errorf("RunDecayGrid(%v, %v) succeeded", bad.LRs, bad.WDs)
		}
	}
}

func TestTick(t *testing.T) {
	for v, want := range map[float64]string{1e-4: "1e-4", 3e-4: "3e-4", 0.001: "1e-3", 0.03: "3e-2", 0.1: "0.1", 0.5: "0.5", 1: "1", 10: "10", 0: "0", 1e3: "1e3"} {
		if got := Tick(v); got != want {
			t.Errorf("Tick(%v) = %q; want %q", v, got, want)
		}
	}
}

func TestFindLR(t *testing.T) {
	splits := digits(t)
	r := recipe.Default()
	f, err := FindLR(context.Background(), r, Data{Splits: splits}, DefaultFindLR())
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d steps, suggested %.3g, min loss at %.3g, stopped: %s", len(f.LRs), f.Suggested, f.MinLossLR, f.Stopped)
	if f.Stopped == "" || len(f.LRs) >= 100 || len(f.LRs) < 50 {
		t.Errorf("the test ran %d of 100 steps (stopped %q); want it to stop when the loss explodes", len(f.LRs), f.Stopped)
	}
	// AdamW on digits trains well from 1e-3 to 1e-2.
	if !(f.Suggested >= 3e-4 && f.Suggested <= 3e-2) || !(f.MinLossLR/10 >= 1e-3 && f.MinLossLR/10 <= 0.1) {
		t.Errorf("suggested %v, min loss at %v; want about 1e-3 to 1e-2", f.Suggested, f.MinLossLR)
	}
	ratio := math.Pow(1e8, 1.0/99)
	for i := 1; i < len(f.LRs); i++ {
		if r := f.LRs[i] / f.LRs[i-1]; math.Abs(r-ratio) > 1e-9*ratio {
			t.Fatalf("LRs[%d]/LRs[%d] = %v; want %v", i, i-1, r, ratio)
		}
	}
	if f.LRs[0] != 1e-7 || f.Smoothed[0] != f.Losses[0] {
		t.Errorf("first rate %v, smoothed %v, loss %v; want 1e-7 and the loss itself (bias correction)", f.LRs[0], f.Smoothed[0], f.Losses[0])
	}
	spec := f.Plot()
	if len(spec.Markers) != 2 || !spec.LogX {
		t.Errorf("plot: %+v", spec.Markers)
	}
	if err := plot.Lines(&bytes.Buffer{}, spec); err != nil {
		t.Error(err)
	}
	var sum bytes.Buffer
	f.WriteSummary(&sum)
	if !strings.Contains(sum.String(), "suggested learning rate") {
		t.Errorf("summary: %s", sum.String())
	}
	b, err := json.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	var back LRFind
	if err := json.Unmarshal(b, &back); err != nil || back.Suggested != f.Suggested || len(back.Smoothed) != len(f.Smoothed) {
		t.Errorf("JSON round trip: %v", err)
	}
}

// TestLRFindJSON checks the names lr-find.json gives what the test found:
// the rate of the lowest loss is named as a rate.
func TestLRFindJSON(t *testing.T) {
	f := LRFind{Recipe: recipe.Default(), LRs: []float64{1e-4, 1e-3, 1e-2, 1e-1, 1}, Losses: []jsonfloat.Float{2, 1.8, 1, 2, 3}, Smoothed: []jsonfloat.Float{2, 1.8, 1.5, 1.9, 2.5}}
	f.suggest()
	b, err := json.Marshal(&f)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	if got := string(m["min_loss_lr"]); got != "0.01" {
		t.Errorf("lr-find.json's min_loss_lr = %q; want 0.01, the rate of the lowest smoothed loss", got)
	}
	if got, ok := m["min_loss"]; ok {
		t.Errorf("lr-find.json has min_loss = %s: a rate named as a loss", got)
	}
}

// TestLRFindNoSuggestion checks that a range test suggests no rate, and
// says why, when too few losses were finite or the loss never fell: a
// range whose every rate diverges.
func TestLRFindNoSuggestion(t *testing.T) {
	nan := jsonfloat.Float(math.NaN())
	for _, tc := range []struct {
		smoothed []jsonfloat.Float
		stopped  string
		want     string
	}{
		{[]jsonfloat.Float{2.4, 6e7}, "", "2 steps are too few"},
		{[]jsonfloat.Float{2.4, 6e7}, "the smoothed loss 6e7 exceeded 4× its lowest", "the test stopped after 2 steps, too few to show where the loss falls fastest: the range is too high"},
		{[]jsonfloat.Float{2.4, 2.3, 3, 5, nan}, "", "finite for only 4 of 5 steps"},
		{[]jsonfloat.Float{2.4, 2.5, 3, 5, 9, 20}, "", "never fell below its first step's"},
		{[]jsonfloat.Float{nan}, "", "no loss was a finite number"},
	} {
		f := LRFind{Recipe: recipe.Default(), Smoothed: tc.smoothed, Stopped: tc.stopped}
		for i := range tc.smoothed {
			f.LRs = append(f.LRs, 1e5*math.Pow(1.1, float64(i)))
		}
		f.Losses = tc.smoothed
		f.suggest()
		var sum bytes.Buffer
		f.WriteSummary(&sum)
		if !math.IsNaN(f.Suggested) || !math.IsNaN(f.MinLossLR) || !strings.Contains(f.NoSuggestion, tc.want) || !strings.Contains(sum.String(), "no learning rate suggested: "+f.NoSuggestion) {
			t.Errorf("smoothed losses %v: suggested %v, min loss at %v, %q; want none, saying %q", tc.smoothed, f.Suggested, f.MinLossLR, sum.String(), tc.want)
		}
	}
}

// A loss that becomes NaN ends the test like an explosion: it is no error.
func TestFindLRNonFinite(t *testing.T) {
	r := small(1)
	r.Optimizer, _ = spec.ParseOptimizer("sgd")
	cfg := DefaultFindLR()
	cfg.MaxLR, cfg.Explode, cfg.Steps = 1e30, math.MaxFloat64, 60
	f, err := FindLR(context.Background(), r, Data{Splits: digits(t)}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("stopped: %s", f.Stopped)
	last := float64(f.Losses[len(f.Losses)-1])
	if !strings.Contains(f.Stopped, "NaN") && !strings.Contains(f.Stopped, "Inf") && !strings.Contains(f.Stopped, "failed") || !math.IsNaN(last) && !math.IsInf(last, 0) {
		t.Errorf("stopped %q with last loss %v; want a stop at a non-finite loss", f.Stopped, last)
	}
	b, err := json.Marshal(f)
	if err != nil || !strings.Contains(string(b), "null") {
		t.Errorf("json.Marshal = %v; want NaN as null", err)
	}
	if math.IsNaN(f.Suggested) {
		t.Error("no suggestion")
	}
	for _, bad := range []FindLRConfig{{MinLR: 0, MaxLR: 1, Steps: 10, Explode: 4}, {MinLR: 1, MaxLR: 0.1, Steps: 10, Explode: 4},
		{MinLR: 1e-5, MaxLR: 1, Steps: 1, Explode: 4}, {MinLR: 1e-5, MaxLR: 1, Steps: 10, Smoothing: 1, Explode: 4}, {MinLR: 1e-5, MaxLR: 1, Steps: 10}} {
		if _, err := FindLR(context.Background(), r, Data{Splits: digits(t)}, bad); err == nil {
			t.Errorf("FindLR(%+v) succeeded", bad)
		}
	}
}

func space(t *testing.T, s string) tune.Space {
	t.Helper()
	sp, err := tune.ParseSpace(s)
	if err != nil {
		t.Fatal(err)
	}
	return sp
}

func TestApply(t *testing.T) {
	base := small(3)
	base.Model.BatchNorm = true
	r, err := Apply(base, tune.Config{"lr": tune.Num(0.02), "wd": tune.Num(1e-3), "batch": tune.Num(32), "epochs": tune.Num(5),
		"dropout": tune.Num(0.2), "model": tune.Word("mlp-64-16"), "beta1": tune.Num(0.8)})
	if err != nil {
		t.Fatal(err)
	}
	if o := r.Optimizer; o.Name != "adamw" || o.LR != 0.02 || o.Method.(spec.AdamW).WeightDecay != 1e-3 || o.Method.(spec.AdamW).Beta1 != 0.8 || r.Batch != 32 || r.Epochs != 5 ||
		r.Model.String() != "mlp:64,16" || !r.Model.BatchNorm || r.Model.Dropout != 0.2 {
		t.Errorf("Apply = %+v", r)
	}
	// opt starts from the chosen optimizer's defaults, and keys it does
	// not take are passed over; beta is momentum.
	r, err = Apply(base, tune.Config{"opt": tune.Word("momentum"), "beta": tune.Num(0.5), "beta1": tune.Num(0.8), "lr": tune.Num(0.1)})
	if err != nil {
		t.Fatal(err)
	}
	if o := r.Optimizer; o.String() != "momentum lr=0.1 momentum=0.5" {
		t.Errorf("Apply(opt=momentum beta=0.5) = %s", o)
	}
	for cfg, want := range map[string]tune.Config{
		`"gamma" is not a name the search can set (valid: adamw_lr, adamw_wd, alpha, alpha_warmup, amsgrad, batch`: {"gamma": tune.Num(1)},
		`adamw has no hyperparameter "momentum"`: {"momentum": tune.Num(0.9)},
		"batch=0.5: want a whole number":         {"batch": tune.Num(0.5)},
		"dropout=1":                              {"dropout": tune.Num(1)},
		`unknown model "resnet"`:                 {"model": tune.Word("resnet")},
		`unknown optimizer "shampoo"`:            {"opt": tune.Word("shampoo")},
		"Beta1 = 2":                              {"beta1": tune.Num(2)},
	} {
		if _, err := Apply(base, want); err == nil || !strings.Contains(err.Error(), cfg) {
			t.Errorf("Apply(%v) = %v; want an error containing %q", want, err, cfg)
		}
	}
}

func TestCheckSpace(t *testing.T) {
	base := small(3)
	for _, ok := range []string{"lr=log(1e-4,1e-1) wd=log(1e-5,1e-1) batch=choice(64,128)", "opt=choice(sgd,adam) momentum=uniform(0,0.9) beta1=0.8",
		"model=choice(linear,mlp-64,cnn) dropout=uniform(0,0.5) epochs=int(1,3)", "eps_in_sqrt=choice(true,false) opt=rmsprop", "weight_decay=log(1e-5,1)", "beta2=uniform(0.9,1)",
		"opt=sgd momentum=uniform(0.5,0.9) nesterov=choice(true,false)"} {
		if err := CheckSpace(base, space(t, ok), tune.Random{Trials: 1}); err != nil {
			t.Errorf("CheckSpace(%s) = %v", ok, err)
		}
	}
	for text, want := range map[string]string{
		"gamma=log(0.1,1)":                               `"gamma" is not a name the search can set (valid: adamw_lr, adamw_wd, alpha, alpha_warmup, amsgrad, batch, beta1, beta2,`,
		"momentum=uniform(0,1)":                          `adamw has no hyperparameter "momentum"`,
		"opt=choice(adam,adamz)":                         `unknown optimizer "adamz"`,
		"opt=uniform(0,1)":                               "want opt=choice(name,…)",
		"model=choice(mlp-64,resnet)":                    `unknown model "resnet"`,
		"opt=choice(sgd,adam) rho=uniform(0,1)":          `sgd or adam has no hyperparameter "rho"`,
		"beta1=uniform(0.8,1.5)":                         "just below the high bound: optim: AdamW.Beta1 = 1.4999",
		"batch=choice(0,64)":                             "batch=0: want a whole number ≥ 1",
		"lr=-0.1":                                        "lr=-0.1",
		"opt=choice(adam,rmsprop) eps=choice(0,1e-8)":    "eps=0",
		"opt=sgd momentum=0 nesterov=choice(true,false)": "nesterov=true",
		"opt=choice(sgd,adam) beta1=choice(0.9,2)":       "beta1=2: optim: Adam.Beta1 = 2",
		"beta1=choice(0.9,2) batch=choice(0,64)":         "beta1=2: optim: AdamW.Beta1 = 2",
	} {
		if err := CheckSpace(base, space(t, text), tune.Random{Trials: 1}); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("CheckSpace(%s) = %v; want an error containing %q", text, err, want)
		}
	}
	if err := CheckSpace(base, space(t, "epochs=int(1,3)"), tune.Halving{Configs: 3, MinBudget: 1, MaxBudget: 3}); err == nil {
		t.Error("CheckSpace accepted epochs with halving")
	}
}

// An interrupted search continues where it stopped, runs no finished trial
// again, and ends as an uninterrupted one does, whatever the workers.
func TestTuneResumes(t *testing.T) {
	splits := digits(t)
	cfg := TuneConfig{Recipe: small(2), Space: space(t, "lr=log(1e-3,1e-1) batch=choice(32,64)"), Method: tune.Random{Trials: 6}, Seed: 7, Workers: 2}
	whole, err := Tune(context.Background(), Data{Splits: splits}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Journal = filepath.Join(t.TempDir(), "journal.jsonl")
	ctx, cancel := context.WithCancel(context.Background())
	var first []int
	cfg.OnTrial = func(tr tune.Trial, o Outcome, err error) {
		if first = append(first, tr.ID); len(first) == 3 {
			cancel()
		}
	}
	part, err := Tune(ctx, Data{Splits: splits}, cfg)
	if err != context.Canceled || part == nil || len(part.Report.Trials) < 3 || len(part.Report.Trials) >= 6 {
		t.Fatalf("interrupted search: %v with %v", err, part)
	}
	var second []int
	cfg.OnTrial = func(tr tune.Trial, o Outcome, err error) { second = append(second, tr.ID) }
	cfg.Workers = 1
	rest, err := Tune(context.Background(), Data{Splits: splits}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range second {
		for _, tr := range part.Report.Trials {
			if tr.ID == id {
				t.Errorf("trial %d, finished before the interruption, ran again", id)
			}
		}
	}
	if len(part.Report.Trials)+len(second) != 6 {
		t.Errorf("%d trials recorded, %d run after; want 6 in all", len(part.Report.Trials), len(second))
	}
	var a, b bytes.Buffer
	whole.Report.WriteTable(&a)
	rest.Report.WriteTable(&b)
	if a.String() != b.String() {
		t.Errorf("resumed search:\n%s\nuninterrupted:\n%s", b.String(), a.String())
	}
	if whole.Best == nil || rest.Best == nil || whole.Best.Optimizer != rest.Best.Optimizer || whole.Best.Epochs != 2 {
		t.Errorf("best recipes %+v and %+v", whole.Best, rest.Best)
	}
	best, _ := whole.Report.Best()
	if whole.Best.Optimizer.LR != best.Config.Float("lr") || whole.Best.Batch != best.Config.Int("batch") {
		t.Errorf("best recipe %+v for trial %+v", whole.Best, best)
	}
	// The same journal with another base recipe is refused.
	cfg.Recipe.Seed = 9
	if _, err := Tune(context.Background(), Data{Splits: splits}, cfg); err == nil || !strings.Contains(err.Error(), "another recipe") {
		t.Errorf("Tune with another recipe = %v", err)
	}
	if err := plot.Lines(&bytes.Buffer{}, whole.Plot()); err != nil {
		t.Error(err)
	}
}

func TestTuneHalvingAndMetric(t *testing.T) {
	cfg := TuneConfig{Recipe: small(3), Space: space(t, "lr=log(1e-3,1e-1)"), Method: tune.Halving{Configs: 3, MinBudget: 1, MaxBudget: 3},
		Metric: ValAccuracy, Seed: 1}
	var budgets []int
	cfg.OnTrial = func(tr tune.Trial, o Outcome, err error) {
		if len(o.History) != tr.Budget {
			t.Errorf("trial %d at budget %d trained %d epochs", tr.ID, tr.Budget, len(o.History))
		}
		budgets = append(budgets, tr.Budget)
	}
	res, err := Tune(context.Background(), Data{Splits: digits(t)}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(budgets)
	if !slices.Equal(budgets, []int{1, 1, 1, 3}) || !res.Report.Maximize || res.Best.Epochs != 3 {
		t.Errorf("budgets %v, maximize %v, best %d epochs", budgets, res.Report.Maximize, res.Best.Epochs)
	}
	if spec := res.Plot(); len(spec.Series) != 2 || spec.Series[0].Name != "1 epoch" || spec.Series[1].Name != "3 epochs" {
		t.Errorf("halving's chart has series %+v; want one a round", spec.Series)
	}
	best, _ := res.Report.Best()
	if best.Value != best.Metrics["val_accuracy"] {
		t.Errorf("value %v; want the validation accuracy %v", best.Value, best.Metrics["val_accuracy"])
	}
	cfg.Metric = "test_accuracy"
	if _, err := Tune(context.Background(), Data{Splits: digits(t)}, cfg); err == nil {
		t.Error("Tune on test accuracy succeeded")
	}
}

func TestSubsample(t *testing.T) {
	set := digits(t).Train
	sub, err := Subsample(set, 500, 1)
	if err != nil || sub.Len() != 500 {
		t.Fatalf("Subsample(500) = %d examples, %v", sub.Len(), err)
	}
	if s, _ := Subsample(set, 0, 1); s != set {
		t.Error("Subsample(0) is not the set itself")
	}
	if _, err := Subsample(set, -1, 1); err == nil {
		t.Error("Subsample(-1) succeeded")
	}
}
