package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/descentml/descent/explore"
	"github.com/descentml/descent/optim/spec"
	"github.com/descentml/descent/recipe"
	"github.com/descentml/descent/run"
)

var aboutCompare = `Trains one model on the same data with several optimizers, each with the
same seeds (--seeds 3: --seed, --seed+1, --seed+2, so every optimizer starts
from the same weights and sees the same batches), and writes into the output
directory compare.json (every run's history and final metrics, and their
means and standard deviations over the seeds) and train-loss.png,
val-loss.png, train-accuracy.png, val-accuracy.png and lr.png (the mean per
epoch with a band of ± one standard deviation). It prints a table of the
final metrics, mean ± std over the seeds.

Each --opt is an optimizer as "descent train" names it, in one string: the
name, then key=value hyperparameters, the others taking PyTorch's defaults:
  --opt "adam lr=1e-3" --opt "adamw lr=1e-3 wd=0.05" --opt "momentum lr=0.05 beta=0.9"
With no --opt it compares sgd, momentum, adam, adamw and rmsprop. Runs
train in parallel, --workers at a time; the numbers do not depend on how
many. --max-memory bounds the memory of the runs that train at once.

` + notTakenDoc("compare") + `

--preset adamw-vs-l2 runs the experiment of Loshchilov & Hutter (2019,
"Decoupled weight decay regularization") instead: a learning rate × weight
decay grid for Adam with L2 regularization (PyTorch's coupled weight_decay,
"adam wd=λ") and for AdamW (decoupled, "adamw wd=λ"), every cell trained
once for the same budget and scored by its final validation error. It
writes adamw-vs-l2.json and adamw-vs-l2.png (two heatmaps, one colour
scale) and prints both grids. Its defaults, each overridden by its flag:
` + presetDoc + `
--lrs and --wds set the grid; --opt replaces adam and adamw, one panel an
optimizer (each cell sets its lr and wd).`

// defaultCompareOpts are the optimizers compared when no --opt is given.
var defaultCompareOpts = []string{
	"sgd lr=0.05",
	"momentum lr=0.05 beta=0.9",
	"adam lr=1e-3",
	"adamw lr=1e-3 wd=0.05",
	"rmsprop lr=1e-3",
}

// compareDefaults is compare's recipe with no flags: descent train's, for
// five epochs.
func compareDefaults() recipe.Recipe {
	r := recipe.Default()
	r.Epochs = 5
	return r
}

// The adamw-vs-l2 preset: flags and their values, applied unless given.
// --data falls back to digits when Fashion-MNIST is not found.
var preset = [][2]string{
	{"data", "fashion-mnist"},
	{"train-size", "10000"},
	{"model", "mlp:256,256"},
	{"batchnorm", "false"},
	{"epochs", "10"},
	{"batch", "128"},
	{"schedule", "cosine"},
	{"lrs", "1e-4,3e-4,1e-3,3e-3,1e-2"},
	{"wds", "1e-4,1e-3,1e-2,0.1,1,10"},
}

var presetDoc = func() string {
	var b strings.Builder
	for _, p := range preset {
		fmt.Fprintf(&b, "  --%s=%s", p[0], p[1])
		if p[0] == "data" {
			b.WriteString(" (digits if it is not found)")
		}
		b.WriteString("\n")
	}
	return strings.TrimSuffix(b.String(), "\n")
}()

// specsFlag is a repeatable flag of optimizer specs.
type specsFlag []string

func (s *specsFlag) String() string { return strings.Join(*s, "; ") }
func (s *specsFlag) Set(v string) error {
	*s = append(*s, v)
	return nil
}

func fmtNum(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

// floatsFlag is a flag of comma-separated numbers.
type floatsFlag []float64

func (f *floatsFlag) String() string {
	parts := make([]string, len(*f))
	for i, v := range *f {
		parts[i] = fmtNum(v)
	}
	return strings.Join(parts, ",")
}

func (f *floatsFlag) Set(v string) error {
	var vs []float64
	for _, p := range strings.Split(v, ",") {
		x, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
		if err != nil {
			return fmt.Errorf("%q is not a number: want numbers separated by commas, as 1e-4,1e-3,1e-2", p)
		}
		vs = append(vs, x)
	}
	*f = vs
	return nil
}

// interrupted turns the error of a command's library call into the
// command's: Ctrl-C into exit status 130 (SIGTERM 143: interruptedStatus)
// and "interrupted: " + what.
func interrupted(err error, what string) error {
	if errors.Is(err, context.Canceled) {
		return &exitError{interruptedStatus(), fmt.Errorf("interrupted: %s", what)}
	}
	return err
}

// compareFlags are compare's flags.
type compareFlags struct {
	*recipe.Flags
	fs             *flag.FlagSet
	threads        *int
	maxMemory      *string
	specs          specsFlag
	seeds, workers *int
	trainSize      *int
	preset         *string
	lrs, wds       floatsFlag
	out            *string
	quiet          *bool
}

func runCompare(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("compare", "[--opt SPEC]... [flags]", aboutCompare)
	f := &compareFlags{Flags: recipe.AddFlags(fs, compareDefaults(), false), fs: fs, threads: threadsFlag(fs)}
	f.AddTextFlags(fs, compareDefaults(), true)
	fs.Var(&f.specs, "opt", `an optimizer and its hyperparameters, as "adamw lr=1e-3 wd=0.05"; repeat for each (default: `+strings.Join(defaultCompareOpts, "; ")+`)`)
	f.seeds = fs.Int("seeds", 3, "runs of each optimizer, with seeds --seed, --seed+1, …")
	f.workers = countFlag(fs, "workers", 0, "trainings at once, `N` (0: one per core)")
	f.trainSize = fs.Int("train-size", 0, "train on this many examples of the training split, chosen at random by class (0: all)")
	f.preset = fs.String("preset", "", "run a preset experiment instead: adamw-vs-l2")
	fs.Var(&f.lrs, "lrs", "adamw-vs-l2: the learning rates, comma-separated, ascending")
	fs.Var(&f.wds, "wds", "adamw-vs-l2: the weight decays, comma-separated, ascending")
	f.out = fs.String("out", "", "output directory (default: runs/compare-<date>-<time>, runs/adamw-vs-l2-… for the preset)")
	f.quiet = fs.Bool("quiet", false, "no progress output, only the table")
	f.maxMemory = maxMemoryFlag(fs, "the runs that train at once (each its model, optimizer and batch)")
	if err := parseFlags(fs, args, stdout, stderr); err != nil {
		return err
	}
	limit, err := maxMemory(*f.maxMemory)
	if err != nil {
		return err
	}
	switch *f.preset {
	case "":
		if given(fs, "lrs") || given(fs, "wds") {
			return errors.New("--lrs and --wds set the grid of --preset adamw-vs-l2")
		}
	case "adamw-vs-l2":
		return runGrid(f, limit, stdout, stderr)
	default:
		return fmt.Errorf("unknown preset %q (valid: adamw-vs-l2)", *f.preset)
	}
	seeds, specs, quiet := *f.seeds, f.specs, *f.quiet
	if seeds < 1 {
		return fmt.Errorf("--seeds %d: want at least 1", seeds)
	}
	if len(specs) == 0 {
		specs = defaultCompareOpts
	}
	opts, err := parseSpecs(specs)
	if err != nil {
		return err
	}
	r, err := f.Recipe()
	if err != nil {
		return err
	}
	d, err := explore.Load(r, *f.trainSize)
	if err != nil {
		return err
	}
	w := explore.UseCores(*f.threads, *f.workers, len(opts)*seeds)
	if err := checkMemory(r, d, limit, w); err != nil {
		return err
	}
	o, err := run.OpenOutput("compare", *f.out, explore.CompareFile)
	if err != nil {
		return err
	}
	defer o.Close()
	dir := o.Dir
	if !quiet {
		fmt.Fprintf(stderr, "comparing %d optimizers × %d seeds: %s on %s (%s), %s of batch %d, %d at a time; writing %s\n",
			len(opts), seeds, r.Model, r.Data, trainSize(r, d), length(r), r.Batch, w, dir)
	}
	ctx, stop := interruptible()
	defer stop()
	start := time.Now()
	c, err := explore.Compare(ctx, d, explore.CompareConfig{
		Recipe: r, Optimizers: opts, Seeds: seeds, Workers: w,
		OnRun: func(spec string, o explore.Outcome) {
			if !quiet {
				fmt.Fprintf(stderr, "  %s, seed %d: %s\n", spec, o.Seed, o.String())
			}
		},
	})
	return report(c, err, "comparison", fmt.Sprintf("%s on %s, %s, mean ± std over %d seeds", r.Model, r.Data, length(r), seeds),
		dir, explore.CompareFile, start, stdout)
}

// experiment is what compare runs: a comparison, or the grid of
// --preset adamw-vs-l2.
type experiment interface {
	Save(dir string) error
	WriteTable(w io.Writer) error
	Failures() (failed, runs int)
}

// report saves the experiment x, what its run returned with err, into
// dir, and prints its table under the heading; it fails if every run did,
// naming file, which holds their errors.
func report(x experiment, err error, what, heading, dir, file string, start time.Time, stdout io.Writer) error {
	if err := interrupted(err, "the "+what+" was not finished and nothing was written"); err != nil {
		return err
	}
	if err := x.Save(dir); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s:\n\n", heading)
	if err := x.WriteTable(stdout); err != nil {
		return err
	}
	failed, runs := x.Failures()
	fmt.Fprintf(stdout, "\n%d runs in %s; wrote %s\n", runs, time.Since(start).Round(100*time.Millisecond), dir)
	if failed == runs {
		return fmt.Errorf("every run failed (%d of %d); their errors are in %s", failed, runs, filepath.Join(dir, file))
	}
	return nil
}

// trainSize says what the runs of r train on: examples or tokens.
func trainSize(r recipe.Recipe, d explore.Data) string {
	if r.IsText() {
		return fmt.Sprintf("%d training tokens", d.TrainLen())
	}
	return fmt.Sprintf("%d training examples", d.TrainLen())
}

// length says how long the runs of r train: epochs or steps.
func length(r recipe.Recipe) string {
	if r.IsText() {
		return plural(r.Steps, "step")
	}
	return plural(r.Epochs, "epoch")
}

// parseSpecs reads --opt specs, refusing one given twice (with its
// defaults written out: "adam" and "adam lr=1e-3" are the same).
func parseSpecs(specs []string) ([]spec.Optimizer, error) {
	opts := make([]spec.Optimizer, len(specs))
	seen := map[string]string{} // the optimizer written out → the spec that gave it
	for i, s := range specs {
		o, err := spec.ParseOptimizer(s)
		if err != nil {
			return nil, fmt.Errorf("--opt %q: %w", s, err)
		}
		if prev, ok := seen[o.String()]; ok {
			return nil, fmt.Errorf("--opt %q and --opt %q are the same optimizer, %s: give each once", prev, s, o)
		}
		seen[o.String()] = s
		opts[i] = o
	}
	return opts, nil
}

// runGrid runs --preset adamw-vs-l2, its runs at once needing at most
// limit bytes (0: what the machine has available).
func runGrid(f *compareFlags, limit int64, stdout, stderr io.Writer) error {
	fs, quiet := f.fs, *f.quiet
	if given(fs, "seeds") {
		return errors.New("--preset adamw-vs-l2 trains each cell once, with --seed: --seeds does not apply")
	}
	for _, p := range preset {
		if !given(fs, p[0]) {
			if err := fs.Set(p[0], p[1]); err != nil {
				panic("descent: bad preset " + p[0] + ": " + err.Error())
			}
		}
	}
	opts := explore.DecayOptimizers()
	if len(f.specs) > 0 {
		var err error
		if opts, err = parseSpecs(f.specs); err != nil {
			return err
		}
	}
	r, err := f.Recipe()
	if err != nil {
		return err
	}
	d, err := explore.Load(r, *f.trainSize)
	if err != nil && !given(fs, "data") {
		if !quiet {
			fmt.Fprintf(stderr, "Fashion-MNIST not found (%v); running on digits\n", err)
		}
		r.Data = "digits"
		d, err = explore.Load(r, *f.trainSize)
	}
	if err != nil {
		return err
	}
	lrs, wds := f.lrs, f.wds
	cells := len(opts) * len(lrs) * len(wds)
	w := explore.UseCores(*f.threads, *f.workers, cells)
	if err := checkMemory(r, d, limit, w); err != nil {
		return err
	}
	o, err := run.OpenOutput("adamw-vs-l2", *f.out, explore.DecayGridFile)
	if err != nil {
		return err
	}
	defer o.Close()
	dir := o.Dir
	if !quiet {
		fmt.Fprintf(stderr, "%d cells (%d optimizers × %d learning rates × %d weight decays): %s on %s (%d training examples), %d epochs of batch %d, schedule %s, %d at a time; writing %s\n",
			cells, len(opts), len(lrs), len(wds), r.Model, r.Data, d.TrainLen(), r.Epochs, r.Batch, r.Schedule, w, dir)
	}
	ctx, stop := interruptible()
	defer stop()
	start := time.Now()
	done := 0
	g, err := explore.RunDecayGrid(ctx, d, explore.DecayGridConfig{
		Recipe: r, Optimizers: opts, LRs: lrs, WDs: wds, Workers: w,
		OnRun: func(c explore.Cell) {
			done++
			if !quiet {
				fmt.Fprintf(stderr, "  %3d/%d  %s: %s\n", done, cells, c.Spec, c.Outcome.String())
			}
		},
	})
	return report(g, err, "grid", fmt.Sprintf("%s on %s (%d training examples), %d epochs of batch %d, schedule %s, seed %d",
		r.Model, r.Data, d.TrainLen(), r.Epochs, r.Batch, r.Schedule, r.Seed), dir, explore.DecayGridFile, start, stdout)
}
