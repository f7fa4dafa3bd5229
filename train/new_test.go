package train_test

import (
	"context"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/descentml/descent/data"
	"github.com/descentml/descent/nn"
	"github.com/descentml/descent/optim"
	"github.com/descentml/descent/train"
)

// TestNewNilSets trains with the splits data.Split leaves nil (a fraction
// of 0): a nil *data.Set for Val and Test, which an interface does not see
// as nil, is no set, and evaluating it gives NaN, as for a nil Dataset.
func TestNewNilSets(t *testing.T) {
	set, model, opt := tinyParts(t)
	var none *data.Set
	tr, err := train.New[float32](model, opt, train.Data{Train: set, Val: none, Test: none}, train.Config{Epochs: 2, BatchSize: 4})
	if err != nil {
		t.Fatalf("New with nil *data.Set for Val and Test: %v", err)
	}
	if err := tr.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if l, a, err := tr.Evaluate(none); err != nil || !math.IsNaN(l) || !math.IsNaN(a) {
		t.Errorf("Evaluate(nil *data.Set) = %v, %v, %v; want NaN, NaN, nil", l, a, err)
	}
}

// TestNewChecksOptimizer refuses an optimizer made over another model's
// parameters (which would train nothing) and a nil one, and takes one
// over some of the model's parameters (the others frozen).
func TestNewChecksOptimizer(t *testing.T) {
	set, model, _ := tinyParts(t)
	other := nn.NewSequential(nn.NewLinear[float32](2, 2, rand.New(rand.NewPCG(3, 4))))
	newOpt := func(ps []optim.Param[float32]) *optim.Optimizer[float32] {
		opt, err := optim.New(ps, optim.Config{Method: optim.DefaultAdam()})
		if err != nil {
			t.Fatal(err)
		}
		return opt
	}
	cfg := train.Config{Epochs: 1, BatchSize: 2}
	for _, c := range []struct {
		name string
		opt  *optim.Optimizer[float32]
		want string
	}{
		{"another model's", newOpt(train.Params[float32](other)), "is not one of the model's"},
		{"nil", nil, "no optimizer"},
		{"some of the model's", newOpt(train.Params[float32](model)[:1]), ""},
	} {
		_, err := train.New[float32](model, c.opt, train.Data{Train: set}, cfg)
		if c.want == "" && err != nil || c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)) {
			t.Errorf("New with %s optimizer: %v; want %q", c.name, err, c.want)
		}
		_, err = train.NewSeq[float32](model, c.opt, []int{0, 1, 0, 1, 1, 0}, nil, train.SeqConfig{Steps: 1, BatchSize: 1, Ctx: 2})
		if c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)) {
			t.Errorf("NewSeq with %s optimizer: %v; want %q", c.name, err, c.want)
		}
	}
}
