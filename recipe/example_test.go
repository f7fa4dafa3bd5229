package recipe_test

import (
	"context"
	"flag"
	"fmt"

	"github.com/descentml/descent/optim/spec"
	"github.com/descentml/descent/recipe"
	"github.com/descentml/descent/train"
)

// A recipe is a whole training run as plain data: written in Go (or read
// from config.json), printed as the descent train command that repeats
// it (weight decay 0.01 is AdamW's default, so the command leaves it
// out), and built into a model, an optimizer and a trainer on its data.
func Example() {
	r := recipe.Default() // the embedded digits, batches of 64, seed 1
	var err error
	if r.Model, err = recipe.ParseModel("mlp:32"); err != nil {
		fmt.Println(err)
		return
	}
	r.Model.BatchNorm = true
	if r.Optimizer, err = spec.ParseOptimizer("adamw lr=3e-3 wd=0.01"); err != nil {
		fmt.Println(err)
		return
	}
	if r.Schedule, err = spec.ParseSchedule("cosine"); err != nil {
		fmt.Println(err)
		return
	}
	r.Epochs = 2
	fmt.Println(r.Command())

	splits, err := r.LoadData(nil, nil) // nil, nil: standardise with the training split's statistics
	if err != nil {
		fmt.Println(err)
		return
	}
	built, err := r.Build(splits, train.Config{})
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := built.Trainer.Run(context.Background()); err != nil {
		fmt.Println(err)
		return
	}
	h := built.Trainer.History()
	fmt.Println(len(h), "epochs,", h[len(h)-1].Step, "steps")
	// Output:
	// descent train --data digits --val-fraction 0.1 --model mlp:32 --batchnorm=true --opt adamw --lr 0.003 --schedule cosine --epochs 2 --batch 64 --seed 1
	// 2 epochs, 44 steps
}

// AddFlags defines descent train's flags for a recipe on a flag set: a
// program of its own gets the same flags, defaults and validation (a flag
// the optimizer does not have is an error).
func ExampleAddFlags() {
	fs := flag.NewFlagSet("mytrain", flag.ContinueOnError)
	f := recipe.AddFlags(fs, recipe.Default(), true)
	if err := fs.Parse([]string{"--opt", "adam", "--lr", "1e-3", "--model", "mlp:64", "--epochs", "3"}); err != nil {
		fmt.Println(err)
		return
	}
	r, err := f.Recipe()
	fmt.Println(r.Optimizer, r.Model, r.Epochs, err)

	fs = flag.NewFlagSet("mytrain", flag.ContinueOnError)
	f = recipe.AddFlags(fs, recipe.Default(), true)
	fs.Parse([]string{"--opt", "adam", "--momentum", "0.9"})
	_, err = f.Recipe()
	fmt.Println(err)
	// Output:
	// adam lr=0.001 mlp:64 3 <nil>
	// spec: optimizer adam has no hyperparameter "momentum" (valid: lr, beta1, beta2, eps, amsgrad, wd, l2)
}
