package recipe_test

import (
	"flag"
	"slices"
	"strings"
	"testing"

	"github.com/descentml/descent/nn"
	"github.com/descentml/descent/optim/spec"
	"github.com/descentml/descent/recipe"
	"github.com/descentml/descent/train"
)

// TestNoDecay builds an mlp with batch normalization and takes one AdamW
// step with zero gradients, so that only weight decay moves a weight: the
// parameters Route records in NoDecayParams stay, every other one shrinks.
// --decay-weights-only and --no-decay 1d, bias,norm on this model, leave
// out the same parameters.
func TestNoDecay(t *testing.T) {
	splits := digitsSplits(t)
	moved := func(r recipe.Recipe) []string {
		t.Helper()
		run, err := r.Build(splits, train.Config{})
		if err != nil {
			t.Fatal(err)
		}
		before := map[string]float32{}
		for _, p := range run.Model.Params() {
			p.Value[0] = 1 // batch norm's shift starts at 0, which decay leaves
			before[p.Name] = p.Value[0]
		}
		nn.ZeroGrad(run.Model.Params())
		if err := run.Optimizer.Step(); err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, p := range run.Model.Params() {
			if p.Value[0] != before[p.Name] {
				out = append(out, p.Name)
			}
		}
		return out
	}
	base := recipe.Default()
	base.Model.Hidden, base.Epochs = []int{8}, 1
	base.Optimizer, _ = spec.ParseOptimizer("adamw lr=0.01 wd=0.1")
	all := moved(base)
	if want := []string{"1.weight", "1.bias", "2.weight", "2.bias", "4.weight", "4.bias"}; !slices.Equal(all, want) {
		t.Fatalf("with weight decay on every parameter, the step moved %q; want %q", all, want)
	}
	for _, c := range []struct {
		name    string
		edit    func(*recipe.Recipe)
		noDecay []string
	}{
		{"--decay-weights-only", func(r *recipe.Recipe) { r.DecayWeightsOnly = true }, []string{"1.bias", "2.weight", "2.bias", "4.bias"}},
		{"--no-decay 1d", func(r *recipe.Recipe) { r.NoDecay = []string{"1d"} }, []string{"1.bias", "2.weight", "2.bias", "4.bias"}},
		{"--no-decay bias,norm", func(r *recipe.Recipe) { r.NoDecay = []string{"bias", "norm"} }, []string{"1.bias", "2.weight", "2.bias", "4.bias"}},
		{"--no-decay norm", func(r *recipe.Recipe) { r.NoDecay = []string{"norm"} }, []string{"2.weight", "2.bias"}},
		{"--no-decay 4.*", func(r *recipe.Recipe) { r.NoDecay = []string{"4.*"} }, []string{"4.weight", "4.bias"}},
	} {
		r := base
		c.edit(&r)
		routed, err := r.Route(splits.Train.Shape(), splits.Train.Classes())
		if err != nil {
			t.Fatalf("%s: Route: %v", c.name, err)
		}
		if !slices.Equal(routed.NoDecayParams, c.noDecay) {
			t.Errorf("%s: NoDecayParams = %q; want %q", c.name, routed.NoDecayParams, c.noDecay)
		}
		want := slices.DeleteFunc(slices.Clone(all), func(n string) bool { return slices.Contains(c.noDecay, n) })
		for _, rr := range []recipe.Recipe{r, routed} { // resolved in Build, or read from the recipe
			if got := moved(rr); !slices.Equal(got, want) {
				t.Errorf("%s: the step moved %q; want %q", c.name, got, want)
			}
		}
	}
}

// A --no-decay pattern that matches no parameter of the model is an error
// naming it, from Build and from Route, before any training; a malformed
// glob already from the flags.
func TestNoDecayErrors(t *testing.T) {
	splits := digitsSplits(t)
	r := recipe.Default()
	r.Model.BatchNorm, r.Epochs = false, 1
	for _, pats := range [][]string{{"bias", "norm"}, {"embed"}, {"biases"}} {
		r.NoDecay = pats
		bad := pats[len(pats)-1]
		if _, err := r.Build(splits, train.Config{}); err == nil || !strings.Contains(err.Error(), `--no-decay "`+bad+`" matches no parameter`) {
			t.Errorf("Build with --no-decay %s on %s: %v; want an error naming %q", strings.Join(pats, ","), r.Model, err, bad)
		}
		if _, err := r.Route(splits.Train.Shape(), splits.Train.Classes()); err == nil || !strings.Contains(err.Error(), `"`+bad+`"`) {
			t.Errorf("Route with --no-decay %s on %s: %v; want an error naming %q", strings.Join(pats, ","), r.Model, err, bad)
		}
	}
	r.NoDecay, r.NoDecayParams = nil, []string{"7.bias"}
	if _, err := r.Build(splits, train.Config{}); err == nil || !strings.Contains(err.Error(), `"7.bias"`) {
		t.Errorf("Build with no_decay_params naming a parameter the model lacks: %v", err)
	}
	fs := flag.NewFlagSet("train", flag.ContinueOnError)
	f := recipe.AddFlags(fs, recipe.Default(), true)
	if err := fs.Parse([]string{"--no-decay", "bias,[x"}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Recipe(); err == nil || !strings.Contains(err.Error(), `--no-decay "[x"`) {
		t.Errorf("--no-decay bias,[x: %v; want an error naming the pattern", err)
	}
}

// The flags --no-decay and --decay-weights-only make the recipe's fields,
// and Args gives them back.
func TestNoDecayFlags(t *testing.T) {
	fs := flag.NewFlagSet("train", flag.ContinueOnError)
	f := recipe.AddFlags(fs, recipe.Default(), true)
	if err := fs.Parse([]string{"--no-decay", "bias, norm", "--decay-weights-only"}); err != nil {
		t.Fatal(err)
	}
	r, err := f.Recipe()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(r.NoDecay, []string{"bias", "norm"}) || !r.DecayWeightsOnly {
		t.Errorf("--no-decay 'bias, norm' --decay-weights-only: NoDecay %q, DecayWeightsOnly %v", r.NoDecay, r.DecayWeightsOnly)
	}
	args := strings.Join(r.Args(), " ")
	if !strings.Contains(args, "--no-decay bias,norm") || !strings.Contains(args, "--decay-weights-only") {
		t.Errorf("Args() = %s; want --no-decay bias,norm and --decay-weights-only", args)
	}
}
