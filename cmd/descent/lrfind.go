package main

import (
	"flag"
	"fmt"
	"io"

	"github.com/descentml/descent/explore"
	"github.com/descentml/descent/optim/spec"
	"github.com/descentml/descent/recipe"
	"github.com/descentml/descent/run"
	"github.com/descentml/descent/tensor"
)

var aboutLRFind = `Runs the learning-rate range test (Smith 2017, fast.ai's lr_find): trains
the model from a fresh start for --steps optimizer steps while the learning
rate grows exponentially from --min-lr to --max-lr, recording the loss of
every step (with --accumulate, the mean of its batches'), and stops early
once the smoothed loss exceeds --explode times its lowest or stops being a
number (expected at the top of the range). Prints the suggested rate —
where the smoothed loss falls fastest — and the rate of the lowest loss
divided by 10, the other common choice; writes lr-find.json (every rate and
loss) and lr-find.png (loss against rate, log x, the suggestions marked)
into the output directory. A test in which no loss was a finite number
(the first already NaN) has no rate to suggest: it says so, writes
lr-find.json with the suggested rates null (and no lr-find.png), and
exits with status 0.

With no flags it tests descent train's default recipe. A language model
(--data text, text:PATH or kjv) trains on batches of random windows.

` + notTakenDoc("lr-find")

func runLRFind(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("lr-find", "[flags]", aboutLRFind)
	f := recipe.AddFlags(fs, recipe.Default(), true)
	f.AddTextFlags(fs, recipe.Default(), false)
	threads := threadsFlag(fs)
	def := explore.DefaultFindLR()
	minLR := fs.Float64("min-lr", def.MinLR, "the first learning rate")
	maxLR := fs.Float64("max-lr", def.MaxLR, "the last learning rate")
	steps := fs.Int("steps", def.Steps, "optimizer steps to train (a batch each, or --accumulate batches), the rate growing by the same factor at each")
	smoothing := fs.Float64("smoothing", def.Smoothing, "β of the moving average of the loss (0: none)")
	explode := fs.Float64("explode", def.Explode, "stop once the smoothed loss exceeds this many times its lowest")
	out := fs.String("out", "", "output directory (default: runs/lr-find-<date>-<time>)")
	maxMem := maxMemoryFlag(fs, "the model, optimizer and batch")
	if err := parseFlags(fs, args, stdout, stderr); err != nil {
		return err
	}
	limit, err := maxMemory(*maxMem)
	if err != nil {
		return err
	}
	if err := refuseSpecLR(fs); err != nil {
		return err
	}
	tensor.SetThreads(*threads)
	r, err := f.Recipe()
	if err != nil {
		return err
	}
	cfg := explore.FindLRConfig{MinLR: *minLR, MaxLR: *maxLR, Steps: *steps, Smoothing: *smoothing, Explode: *explode}
	if err := cfg.Validate(); err != nil {
		return err
	}
	d, err := explore.Load(r, 0)
	if err != nil {
		return err
	}
	if err := checkMemory(r, d, limit, 1); err != nil {
		return err
	}
	o, err := run.OpenOutput("lr-find", *out, explore.LRFindFile)
	if err != nil {
		return err
	}
	defer o.Close()
	dir := o.Dir
	ctx, stop := interruptible()
	defer stop()
	res, err := explore.FindLR(ctx, r, d, cfg)
	if err := interrupted(err, "the range test was not finished and nothing was written"); err != nil {
		return err
	}
	if err := res.Save(dir); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "range test of %s on %s with %s, batch %d:\n", r.Model, r.Data, r.Optimizer.Name, r.Batch)
	if err := res.WriteSummary(stdout); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s\n", dir)
	return nil
}

// refuseSpecLR refuses a rate given in --opt ("sgd lr=1"), as parseFlags
// refuses --lr: the test sets the rate.
func refuseSpecLR(fs *flag.FlagSet) error {
	opt := fs.Lookup("opt").Value.String()
	_, set, err := spec.SplitOptimizer(opt)
	if err != nil {
		return nil // f.Recipe says why
	}
	for k := range set {
		if spec.CanonicalKey(k) == "lr" {
			return fmt.Errorf("--opt %q sets %s: lr-find sets the rate, from --min-lr to --max-lr", opt, k)
		}
	}
	return nil
}
