package recipe_test

import (
	"errors"
	"flag"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/descentml/descent/data"
	"github.com/descentml/descent/nn"
	"github.com/descentml/descent/optim"
	"github.com/descentml/descent/optim/spec"
	"github.com/descentml/descent/recipe"
	"github.com/descentml/descent/train"
)

func TestModelSpecs(t *testing.T) {
	m, err := recipe.ParseModel("mlp:32,16")
	if err != nil || m.String() != "mlp:32,16" {
		t.Fatalf("%+v %v", m, err)
	}
	net, _, _, err := m.Build([]int{1, 8, 8}, 10, 1)
	if err != nil || len(net.Params()) != 6 {
		t.Errorf("mlp:32,16 on 8×8 images: %v params, %v", len(net.Params()), err)
	}
	cnn, _ := recipe.ParseModel("cnn")
	if _, _, _, err := cnn.Build([]int{64}, 10, 1); err == nil || !strings.Contains(err.Error(), "needs images") {
		t.Errorf("cnn on table rows: %v", err)
	}
	if _, _, _, err := cnn.Build([]int{1, 8, 8}, 10, 1); err != nil {
		t.Errorf("cnn on 8×8 digits: %v", err)
	}
	lg, _ := recipe.ParseModel("logistic")
	if _, _, _, err := lg.Build([]int{4}, 3, 1); err == nil || !strings.Contains(err.Error(), "2 classes") {
		t.Errorf("logistic on 3 classes: %v", err)
	}
	for _, spec := range []string{"mlp:0", "mlp:a", "cnn:3", "resnet"} {
		if _, err := recipe.ParseModel(spec); err == nil {
			t.Errorf("ParseModel(%q) succeeded", spec)
		}
	}
}

// TestModelSpecRules checks that every kind of model spec follows the
// rules of the optimizer and schedule specs: a setting given twice, under
// any of its spellings, is refused, as are an empty setting, a key or a
// value left empty, and a colon with nothing after it; a name alone takes
// the kind's defaults.
func TestModelSpecRules(t *testing.T) {
	for _, tc := range []struct{ spec, want string }{
		{"mlp", "mlp:256,256"},
		{"gpt", "gpt:layers=2,d=128,heads=4,ctx=128"},
		{"lstm", "lstm:256,layers=1,ctx=128"},
		{"GRU", "gru:256,layers=1,ctx=128"},
		{"rnn:64,tied", "rnn:64,layers=1,ctx=128,tied"},
		{"cnn", "cnn"},
	} {
		m, err := recipe.ParseModel(tc.spec)
		if err != nil || m.String() != tc.want {
			t.Errorf("ParseModel(%q) = %v, %v; want %s", tc.spec, m, err, tc.want)
		}
	}
	for _, tc := range []struct{ spec, want string }{
		{"gpt:layers=2,layers=3", "layers given twice"},
		{"gpt:d=64,heads=4,D=32", "d given twice"},
		{"gpt:tied,tied=false", "tied given twice"},
		{"lstm:256,d=128", "d given twice"},
		{"lstm:hidden=32,d=64", "d given twice"},
		{"gru:64x2,layers=3", "layers given twice"},
		{"mlp:", "nothing after the colon"},
		{"cnn:", "nothing after the colon"},
		{"gpt:", "nothing after the colon"},
		{"lstm:", "nothing after the colon"},
		{"lstm: ", "nothing after the colon"},
		{"gpt:layers=", `"layers=" is not key=value`},
		{"gpt:=2", `"=2" is not key=value`},
		{"lstm:=", `"=" is not key=value`},
		{"gpt:layers=2,,d=64", "an empty setting"},
		{"mlp:64,,32", "an empty setting"},
		{"mlp:64,d=32", "hidden widths"},
		{"lstm:256,512", `"512" is not key=value`},
	} {
		if _, err := recipe.ParseModel(tc.spec); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseModel(%q) = %v; want an error mentioning %q", tc.spec, err, tc.want)
		}
	}
}

// TestScheduleDecay checks the paper's AdamW: with a constant schedule the
// decay is λ per step, not lr·λ.
func TestScheduleDecay(t *testing.T) {
	splits := digitsSplits(t)
	final := func(s string) float32 {
		r := recipe.Default()
		r.Optimizer, _ = spec.ParseOptimizer(s)
		r.Epochs = 1
		run, err := r.Build(splits, train.Config{})
		if err != nil {
			t.Fatal(err)
		}
		nn.ZeroGrad(run.Model.Params())
		if err := run.Optimizer.Step(); err != nil { // zero gradient: only the decay moves the weights
			t.Fatal(err)
		}
		return run.Model.Params()[0].Value[0]
	}
	w0 := final("adamw lr=0.01 wd=0")
	paper := final("adamw lr=0.01 wd=0.1 schedule-decay=true")
	torch := final("adamw lr=0.01 wd=0.1")
	if want := w0 * (1 - 0.1); math.Abs(float64(paper-want)) > 1e-7 {
		t.Errorf("paper AdamW after one step: %v; want %v (decay λ = 0.1)", paper, want)
	}
	if want := w0 * (1 - 0.01*0.1); math.Abs(float64(torch-want)) > 1e-7 {
		t.Errorf("PyTorch AdamW after one step: %v; want %v (decay lr·λ = 0.001)", torch, want)
	}
}

func digitsSplits(t *testing.T) *data.Splits {
	s, err := recipe.Default().LoadData(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestBatchNormDropsABatchOfOne trains one epoch whose last batch would hold
// a single example: an MLP with batch normalization leaves it out (one step
// fewer) and trains; a model without 1-d batch normalization keeps it.
func TestBatchNormDropsABatchOfOne(t *testing.T) {
	splits := digitsSplits(t)
	n := splits.Train.Len()
	for _, tc := range []struct {
		model string
		bn    bool
		steps int
	}{
		{"mlp:32", true, 1},
		{"mlp:32", false, 2},
		{"linear", true, 2},
	} {
		r := recipe.Default()
		r.Model, _ = recipe.ParseModel(tc.model)
		r.Model.BatchNorm = tc.bn
		r.Epochs, r.Batch = 1, n-1 // n = (n−1) + 1
		if got := r.StepsPerEpoch(n); got != tc.steps {
			t.Errorf("%s batchnorm=%v: StepsPerEpoch = %d; want %d", tc.model, tc.bn, got, tc.steps)
		}
		run, err := r.Build(splits, train.Config{})
		if err != nil {
			t.Fatal(err)
		}
		if err := run.Trainer.Run(t.Context()); err != nil {
			t.Errorf("%s batchnorm=%v: %v", tc.model, tc.bn, err)
		} else if run.Trainer.Step() != tc.steps {
			t.Errorf("%s batchnorm=%v: %d steps in the epoch; want %d", tc.model, tc.bn, run.Trainer.Step(), tc.steps)
		}
	}
}

// TestValidateNaNClip checks that a NaN clipping threshold is refused.
func TestValidateNaNClip(t *testing.T) {
	r := recipe.Default()
	r.ClipNorm = math.NaN()
	if err := r.Validate(); err == nil || !strings.Contains(err.Error(), "clip-norm NaN") {
		t.Errorf("Validate() with ClipNorm NaN = %v; want an error naming clip-norm", err)
	}
}

// TestValidateNaNDropout checks that a NaN dropout is refused, naming the
// flag, before anything is written (config.json cannot hold a NaN).
func TestValidateNaNDropout(t *testing.T) {
	r := recipe.Default()
	r.Model.Dropout = math.NaN()
	if err := r.Validate(); err == nil || !strings.Contains(err.Error(), "dropout NaN") {
		t.Errorf("Validate() with Dropout NaN = %v; want an error naming dropout", err)
	}
}

// TestDataLimitFlags checks that the flags of data's limits reach the
// loader, that an error for data beyond a limit names the flag that raises
// it, and that Args gives the flags back.
func TestDataLimitFlags(t *testing.T) {
	p := filepath.Join(t.TempDir(), "d.csv")
	if err := os.WriteFile(p, []byte("a,b,label\n"+strings.Repeat("1,2,x\n3,4,y\n", 50)), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--max-csv-bytes", "100"}, "more than 100 bytes of data (at byte offset 100, line 17): beyond the limit for CSV data (--max-csv-bytes raises the limit; -1 removes it)"},
		{[]string{"--max-csv-line-bytes", "5"}, "line 1: longer than 5 bytes (at byte offset 5): beyond the limit for CSV data (--max-csv-line-bytes raises the limit; -1 removes it)"},
		{[]string{"--max-csv-bytes", "-1"}, ""},
	} {
		fs := flag.NewFlagSet("train", flag.ContinueOnError)
		f := recipe.AddFlags(fs, recipe.Default(), true)
		if err := fs.Parse(append([]string{"--data", "csv:" + p, "--model", "linear"}, c.args...)); err != nil {
			t.Fatal(err)
		}
		r, err := f.Recipe()
		if err != nil {
			t.Fatal(err)
		}
		_, err = r.LoadData(nil, nil)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("LoadData with %v = %v; want the data", c.args, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want) || !errors.Is(err, data.ErrCSVTooLarge)):
			t.Errorf("LoadData with %v = %v; want an error ending %q", c.args, err, c.want)
		}
		if args := strings.Join(r.Args(), " "); !strings.Contains(args, strings.Join(c.args, " ")) {
			t.Errorf("Args() = %s; want it to hold %v", args, c.args)
		}
	}
}

// TestOptSpecFlag checks that --opt takes a whole spec, as compare's does,
// that the hyperparameters' flags add to it, and that a hyperparameter
// given both ways is refused, naming both.
func TestOptSpecFlag(t *testing.T) {
	parse := func(args ...string) (recipe.Recipe, error) {
		fs := flag.NewFlagSet("train", flag.ContinueOnError)
		f := recipe.AddFlags(fs, recipe.Default(), true)
		if err := fs.Parse(args); err != nil {
			t.Fatal(err)
		}
		return f.Recipe()
	}
	r, err := parse("--opt", "adam lr=1e-3", "--beta1", "0.8")
	if err != nil {
		t.Fatalf(`--opt "adam lr=1e-3" --beta1 0.8: %v`, err)
	}
	if a, ok := r.Optimizer.Method.(optim.Adam); r.Optimizer.Name != "adam" || r.Optimizer.LR != 1e-3 || !ok || a.Beta1 != 0.8 {
		t.Errorf(`--opt "adam lr=1e-3" --beta1 0.8 = %s; want adam lr=0.001 beta1=0.8`, r.Optimizer)
	}
	want, err := spec.ParseOptimizer("adam lr=1e-3 beta1=0.8")
	if err != nil {
		t.Fatal(err)
	}
	if r.Optimizer.String() != want.String() {
		t.Errorf("--opt spec and flags = %s; want %s", r.Optimizer, want)
	}
	_, err = parse("--opt", "adam lr=1e-3", "--lr", "1e-2")
	if err == nil || !strings.Contains(err.Error(), `--opt "adam lr=1e-3" sets lr and --lr sets it again`) {
		t.Errorf(`--opt "adam lr=1e-3" --lr 1e-2: %v; want an error naming both`, err)
	}
	if _, err := parse("--opt", "adam lr"); err == nil || !strings.Contains(err.Error(), `"lr" is not key=value`) {
		t.Errorf(`--opt "adam lr": %v; want an error about the spec`, err)
	}
}
