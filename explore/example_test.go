package explore_test

import (
	"context"
	"fmt"
	"math"
	"os"
	"strings"

	"github.com/descentml/descent/explore"
	"github.com/descentml/descent/optim/spec"
	"github.com/descentml/descent/recipe"
	"github.com/descentml/descent/tune"
)

// A trial of a search is the base recipe with the trial's values set: the
// optimizer's hyperparameters by their keys (beta is momentum), and the
// batch size, the epochs, the dropout, the model (mlp-64-32 for
// mlp:64,32) and the optimizer itself.
func ExampleApply() {
	base := recipe.Default()
	r, err := explore.Apply(base, tune.Config{
		"opt":   tune.Word("momentum"),
		"lr":    tune.Num(0.05),
		"beta":  tune.Num(0.8),
		"batch": tune.Num(128),
		"model": tune.Word("mlp-64-32"),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(r.Optimizer, "|", r.Model, "| batch", r.Batch)

	_, err = explore.Apply(base, tune.Config{"gamma": tune.Num(0.5)})
	msg, _, _ := strings.Cut(err.Error(), " (valid:")
	fmt.Println(msg)
	// Output:
	// momentum lr=0.05 momentum=0.8 | mlp:64,32 | batch 128
	// explore: "gamma" is not a name the search can set
}

// Mean and sample standard deviation over seeds; a failed run (NaN) is
// left out.
func ExampleNewStat() {
	s := explore.NewStat([]float64{0.91, 0.93, 0.95, math.NaN()})
	fmt.Printf("%.2f ± %.2f over %d runs\n", s.Mean, s.Std, s.N)
	// Output:
	// 0.93 ± 0.02 over 3 runs
}

// Three optimizers, three seeds each, on the embedded digits; the table
// gives each final metric's mean ± std over the seeds.
func ExampleCompare() {
	r := recipe.Default()
	r.Epochs = 5
	splits, err := r.LoadData(nil, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	var opts []spec.Optimizer
	for _, s := range []string{"sgd lr=0.05", "momentum lr=0.05 beta=0.9", "adamw lr=1e-3 wd=0.05"} {
		o, err := spec.ParseOptimizer(s)
		if err != nil {
			fmt.Println(err)
			return
		}
		opts = append(opts, o)
	}
	c, err := explore.Compare(context.Background(), explore.Data{Splits: splits}, explore.CompareConfig{Recipe: r, Optimizers: opts, Seeds: 3})
	if err != nil {
		fmt.Println(err)
		return
	}
	c.WriteTable(os.Stdout)
}
