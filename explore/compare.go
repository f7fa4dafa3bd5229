package explore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"text/tabwriter"

	"github.com/descentml/descent/internal/jsonfloat"
	"github.com/descentml/descent/optim/spec"
	"github.com/descentml/descent/plot"
	"github.com/descentml/descent/recipe"
	"github.com/descentml/descent/train"
)

// CompareConfig sets up a comparison of optimizers.
type CompareConfig struct {
	// Recipe is what every run trains: the data, model, schedule, epochs,
	// batch size and so on. Its optimizer is replaced by each of
	// Optimizers in turn, and its Seed is the first seed.
	Recipe recipe.Recipe
	// Optimizers are the configurations compared; at least one.
	Optimizers []spec.Optimizer
	// Seeds is the number of runs of each optimizer, with the seeds
	// Recipe.Seed, Recipe.Seed+1, …: the same initial weights, data order
	// and dropout masks for every optimizer. 0 means 1.
	Seeds int
	// Workers is the number of trainings that run at once; 0 means one
	// per core. See Parallelism for the kernel threads each should have.
	Workers int
	// OnRun, if not nil, is called as each run finishes, in the order they
	// finish, never concurrently: for progress reports.
	OnRun func(spec string, o Outcome)
}

// Comparison is what Compare found. It encodes to JSON as is.
type Comparison struct {
	// Recipe is the recipe every run trained, with the first seed; its
	// optimizer is the first compared.
	Recipe recipe.Recipe `json:"recipe"`
	// TrainExamples is the size of the training set the runs trained on
	// (the recipe's data may have been subsampled).
	TrainExamples int         `json:"train_examples"`
	Seeds         []uint64    `json:"seeds"`
	Optimizers    []Contender `json:"optimizers"`
}

// Contender is one optimizer's runs.
type Contender struct {
	// Spec is the optimizer as spec.ParseOptimizer reads it, with every
	// hyperparameter that differs from its default.
	Spec      string         `json:"spec"`
	Optimizer spec.Optimizer `json:"optimizer"`
	// Runs holds one outcome per seed, in the order of Comparison.Seeds.
	Runs []Outcome `json:"runs"`
	// Final is the mean ± standard deviation over the seeds of where the
	// runs ended.
	Final Summary `json:"final"`
}

// Summary holds the mean and spread over several runs of each final
// metric.
type Summary struct {
	TrainLoss     Stat `json:"train_loss"`
	TrainAccuracy Stat `json:"train_accuracy"`
	ValLoss       Stat `json:"val_loss"`
	ValAccuracy   Stat `json:"val_accuracy"`
	TestLoss      Stat `json:"test_loss"`
	TestAccuracy  Stat `json:"test_accuracy"`
}

// Stat is a metric's mean and sample standard deviation (n − 1 in the
// denominator, 0 for one value) over the runs that have it: failed runs
// and NaN values are left out, and N counts the rest. With N = 0 both are
// NaN.
type Stat struct {
	Mean, Std float64
	N         int
}

type statJSON struct {
	Mean jsonfloat.Float `json:"mean"`
	Std  jsonfloat.Float `json:"std"`
	N    int             `json:"n"`
}

// MarshalJSON writes {"mean": …, "std": …, "n": …}, NaN as null.
func (s Stat) MarshalJSON() ([]byte, error) {
	return json.Marshal(statJSON{jsonfloat.Float(s.Mean), jsonfloat.Float(s.Std), s.N})
}

// UnmarshalJSON reads what MarshalJSON writes.
func (s *Stat) UnmarshalJSON(b []byte) error {
	var j statJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*s = Stat{float64(j.Mean), float64(j.Std), j.N}
	return nil
}

// NewStat returns the Stat of vs.
func NewStat(vs []float64) Stat {
	runs := make([][]float64, len(vs))
	n := 0
	for i, v := range vs {
		runs[i] = []float64{v}
		if !math.IsNaN(v) {
			n++
		}
	}
	if n == 0 {
		return Stat{math.NaN(), math.NaN(), 0}
	}
	mean, std := plot.MeanStd(runs)
	return Stat{mean[0], std[0], n}
}

// summarize returns the Summary of the outcomes' finals.
func summarize(runs []Outcome) Summary {
	col := func(f func(Final) float64) Stat {
		vs := make([]float64, len(runs))
		for i, o := range runs {
			vs[i] = f(o.Final)
		}
		return NewStat(vs)
	}
	return Summary{
		TrainLoss:     col(func(f Final) float64 { return f.TrainLoss }),
		TrainAccuracy: col(func(f Final) float64 { return f.TrainAccuracy }),
		ValLoss:       col(func(f Final) float64 { return f.ValLoss }),
		ValAccuracy:   col(func(f Final) float64 { return f.ValAccuracy }),
		TestLoss:      col(func(f Final) float64 { return f.TestLoss }),
		TestAccuracy:  col(func(f Final) float64 { return f.TestAccuracy }),
	}
}

// Compare trains cfg.Recipe with each optimizer and each seed on splits,
// Workers runs at a time, and gathers the results. The numbers do not
// depend on Workers or on the order in which runs finish. A run that fails
// (a loss that becomes NaN) is recorded with its error and left out of the
// means; the error returned is for a comparison that cannot run (a recipe
// the data does not fit) or that ctx cancelled.
func Compare(ctx context.Context, d Data, cfg CompareConfig) (*Comparison, error) {
	if len(cfg.Optimizers) == 0 {
		return nil, errors.New("explore: nothing to compare: give at least one optimizer")
	}
	if cfg.Seeds < 0 {
		return nil, fmt.Errorf("explore: Seeds = %d: must not be negative", cfg.Seeds)
	}
	seeds := make([]uint64, max(cfg.Seeds, 1))
	for i := range seeds {
		seeds[i] = cfg.Recipe.Seed + uint64(i)
	}
	var recipes []recipe.Recipe
	for _, o := range cfg.Optimizers {
		for _, s := range seeds {
			r := cfg.Recipe
			r.Optimizer, r.Seed = o, s
			if err := r.Validate(); err != nil {
				return nil, err
			}
			recipes = append(recipes, r)
		}
	}
	var done func(int, Outcome)
	if cfg.OnRun != nil {
		done = func(i int, o Outcome) { cfg.OnRun(recipes[i].Optimizer.String(), o) }
	}
	outs, err := trainAll(ctx, d, recipes, cfg.Workers, false, done)
	if err != nil {
		return nil, err
	}
	c := &Comparison{Recipe: cfg.Recipe, TrainExamples: d.TrainLen(), Seeds: seeds}
	c.Recipe.Optimizer = cfg.Optimizers[0]
	for k, o := range cfg.Optimizers {
		runs := outs[k*len(seeds) : (k+1)*len(seeds)]
		c.Optimizers = append(c.Optimizers, Contender{Spec: o.String(), Optimizer: o, Runs: runs, Final: summarize(runs)})
	}
	return c, nil
}

// Failures returns how many of the comparison's runs failed, of how many.
func (c *Comparison) Failures() (failed, runs int) {
	for _, k := range c.Optimizers {
		for _, o := range k.Runs {
			if o.Failed() {
				failed++
			}
			runs++
		}
	}
	return failed, runs
}

// WriteTable writes the final metrics as an aligned text table, one row
// per optimizer: each metric's mean ± standard deviation over the seeds,
// and how many runs failed, if any did.
//
// A language model's table has bits per character (per byte, for a
// byte-level vocabulary) where the accuracies would be: the validation and
// test losses over ln 2.
func (c *Comparison) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	text := c.Recipe.IsText()
	if text {
		u := c.Recipe.BitsUnit() // bits/byte for a byte-level vocabulary
		fmt.Fprintf(tw, "optimizer\ttrain loss\tval loss\tval %s\ttest loss\ttest %s\tseeds\n", u, u)
	} else {
		fmt.Fprintf(tw, "optimizer\ttrain loss\ttrain acc\tval loss\tval acc\ttest loss\ttest acc\tseeds\n")
	}
	for _, k := range c.Optimizers {
		f := k.Final
		failed := 0
		for _, o := range k.Runs {
			if o.Failed() {
				failed++
			}
		}
		runs := fmt.Sprint(len(k.Runs))
		if failed > 0 {
			runs = fmt.Sprintf("%d (%d failed)", len(k.Runs), failed)
		}
		if text {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", k.Spec, f.TrainLoss.loss(), f.ValLoss.loss(), f.ValLoss.bits(),
				f.TestLoss.loss(), f.TestLoss.bits(), runs)
			continue
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", k.Spec, f.TrainLoss.loss(), f.TrainAccuracy.percent(),
			f.ValLoss.loss(), f.ValAccuracy.percent(), f.TestLoss.loss(), f.TestAccuracy.percent(), runs)
	}
	return tw.Flush()
}

func (s Stat) loss() string {
	if s.N == 0 {
		return "—"
	}
	return fmt.Sprintf("%.4f ± %.4f", s.Mean, s.Std)
}

// bits writes a loss in nats as bits (per character, for a language
// model).
func (s Stat) bits() string {
	if s.N == 0 {
		return "—"
	}
	return fmt.Sprintf("%.3f ± %.3f", s.Mean/math.Ln2, s.Std/math.Ln2)
}

func (s Stat) percent() string {
	if s.N == 0 {
		return "—"
	}
	return fmt.Sprintf("%.2f ± %.2f%%", 100*s.Mean, 100*s.Std)
}

// Metric names a quantity recorded every epoch, as train.Epoch's JSON
// names it.
type Metric string

// The metrics a comparison draws.
const (
	TrainLoss     Metric = "train_loss"
	TrainAccuracy Metric = "train_accuracy"
	ValLoss       Metric = "val_loss"
	ValAccuracy   Metric = "val_accuracy"
	LR            Metric = "lr"
)

// Metrics lists the metrics of a training run, in the order of the
// figures.
var Metrics = []Metric{TrainLoss, ValLoss, TrainAccuracy, ValAccuracy, LR}

// Of returns the metric's value in e.
func (m Metric) Of(e train.Epoch) float64 {
	switch m {
	case TrainLoss:
		return e.TrainLoss
	case TrainAccuracy:
		return e.TrainAccuracy
	case ValLoss:
		return e.ValLoss
	case ValAccuracy:
		return e.ValAccuracy
	case LR:
		return e.LR
	}
	return math.NaN()
}

// title is how a figure names the metric; text for a language model's
// runs, whose records are evaluations every few steps.
func (m Metric) title(text bool) (title, ylabel string, logY bool) {
	switch {
	case text && m == TrainLoss:
		return "training loss (mean over the steps since the previous evaluation)", "next-token cross-entropy (nats)", true
	case text && m == ValLoss:
		return "validation loss", "next-token cross-entropy (nats)", true
	case text && m == LR:
		return "learning rate (at each evaluation)", "learning rate", true
	}
	switch m {
	case TrainLoss:
		return "training loss (mean over each epoch)", "loss", true
	case ValLoss:
		return "validation loss", "loss", true
	case TrainAccuracy:
		return "training accuracy (mean over each epoch)", "accuracy", false
	case ValAccuracy:
		return "validation accuracy", "accuracy", false
	case LR:
		return "learning rate (last step of each epoch)", "learning rate", true
	}
	return string(m), string(m), false
}

// Figure is a chart to draw with plot.Lines, and the file name the
// command gives it.
type Figure struct {
	File string
	Spec plot.LinesSpec
}

// Curves returns the chart of metric m per epoch (against the step of
// each evaluation, for a language model): one line per optimizer, its
// mean over the seeds with a band of ± one standard deviation. An
// optimizer none of whose runs has a value of m is left out; false means
// none has (validation metrics without a validation set, accuracies of a
// language model).
func (c *Comparison) Curves(m Metric) (plot.LinesSpec, bool) {
	var longest []train.Epoch
	for _, k := range c.Optimizers {
		for _, o := range k.Runs {
			if len(o.History) > len(longest) {
				longest = o.History
			}
		}
	}
	epochs, text := len(longest), c.Recipe.IsText()
	title, ylabel, logY := m.title(text)
	spec := plot.LinesSpec{Title: title, XLabel: "epoch", YLabel: ylabel, LogY: logY, X: make([]float64, epochs)}
	for i, e := range longest {
		spec.X[i] = float64(i + 1)
		if text { // every run of a comparison evaluates at the same steps
			spec.X[i] = float64(e.Step)
		}
	}
	if text {
		spec.XLabel = "step"
	}
	for _, k := range c.Optimizers {
		runs := make([][]float64, len(k.Runs))
		drawable := false
		for i, o := range k.Runs {
			for _, e := range o.History {
				v := m.Of(e)
				runs[i] = append(runs[i], v)
				drawable = drawable || (!math.IsNaN(v) && !math.IsInf(v, 0) && (!logY || v > 0))
			}
		}
		if !drawable { // no validation set, or every run failed at once
			continue
		}
		mean, std := plot.MeanStd(runs)
		for len(mean) < epochs {
			mean, std = append(mean, math.NaN()), append(std, math.NaN())
		}
		if len(k.Runs) < 2 {
			std = nil
		}
		spec.Series = append(spec.Series, plot.Series{Name: k.Spec, Y: mean, Std: std})
	}
	return spec, len(spec.Series) > 0
}

// Figures returns the charts of every metric that has values: training
// and validation loss and accuracy and the learning rate, per epoch.
func (c *Comparison) Figures() []Figure {
	var figs []Figure
	for _, m := range Metrics {
		if spec, ok := c.Curves(m); ok {
			figs = append(figs, Figure{File: strings.ReplaceAll(string(m), "_", "-") + ".png", Spec: spec})
		}
	}
	return figs
}
