package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/descentml/descent/comm"
	"github.com/descentml/descent/explore"
	"github.com/descentml/descent/recipe"
	"github.com/descentml/descent/tune"
)

var aboutTune = `Searches hyperparameters: trains the recipe the flags describe (those of
"descent train") once per trial, with the values of --space set, and ranks
the trials by their validation loss (or --metric val_accuracy) after the
last epoch. Trials run in parallel, --workers at a time (one model each);
which trials run does not depend on how many. --max-memory bounds the
memory of the trials that train at once, each counted as the largest the
space may make (its largest batch and model).

--space names what is searched, as
  lr=log(1e-4,1e-1) wd=log(1e-5,1e-1) beta1=uniform(0.8,0.99) batch=choice(64,128) epochs=int(2,5) opt=choice(adam,adamw)
with log(low,high), uniform(low,high), int(low,high), choice(v1,v2,…) or
a fixed value. The names are the optimizers' hyperparameters by their
"descent train" flags (with _ for -, and beta for momentum) and batch,
dropout, epochs, model (choice(linear,mlp-128,mlp-256-256,cnn), mlp-W1-W2
being mlp:W1,W2) and opt (the optimizer; a hyperparameter it does not take
is passed over). --method random draws --trials configs; grid tries
--points values an axis; halving (successive halving) starts --trials
configs at --min-epochs and keeps the best third at three times the
epochs, up to --epochs; the last config left trains all --epochs.

The search is seeded (--seed fixes both the configs drawn and every
trial's initial weights) and resumable: every finished trial is recorded in
DIR/tune-journal.jsonl, and the same command with --out DIR after Ctrl-C or
a crash runs only the trials not recorded. At the end it writes tune.json
(every trial, the best recipe) and tune.png, prints the trials best first,
and the best as a complete "descent train" command.

` + notTakenDoc("tune")

// tuneDefaults is tune's recipe with no flags: descent train's, for three
// epochs.
func tuneDefaults() recipe.Recipe {
	r := recipe.Default()
	r.Epochs = 3
	return r
}

// testTuneStop, when set by a test, is called after each finished trial
// with the count so far; true interrupts the search as Ctrl-C does.
var testTuneStop func(done int) bool

func runTune(args []string, stdout, stderr io.Writer) (err error) {
	fs := newFlagSet("tune", "[--space SPACE] [flags]", aboutTune)
	f := recipe.AddFlags(fs, tuneDefaults(), true)
	f.AddTextFlags(fs, tuneDefaults(), true)
	threads := threadsFlag(fs)
	spaceText := fs.String("space", "lr=log(1e-4,1e-1) wd=log(1e-5,1e-1)", "the search space")
	method := fs.String("method", "random", "random, grid or halving")
	trials := fs.Int("trials", 8, "random: trials; halving: configs in the first round")
	points := fs.Int("points", 3, "grid: values along each axis")
	minEpochs := fs.Int("min-epochs", 1, "halving: the epochs of the first round (a language model's: steps)")
	eta := fs.Int("eta", 3, "halving: keep the best 1/eta at eta times the epochs")
	metric := fs.String("metric", string(explore.ValLoss), "the objective: val_loss (lowest) or val_accuracy (highest)")
	workers := countFlag(fs, "workers", 0, "trials at once, `N` (0: one per core)")
	out := fs.String("out", "", "output directory; an existing one continues its search (default: runs/tune-<date>-<time>)")
	quiet := fs.Bool("quiet", false, "no progress output, only the table")
	maxMem := maxMemoryFlag(fs, "the trials that train at once (each the largest model and batch of the space)")
	if err := parseFlags(fs, args, stdout, stderr); err != nil {
		return err
	}
	limit, err := maxMemory(*maxMem)
	if err != nil {
		return err
	}
	console := stderr // the process's own, for the error every rank ends with
	c, stdout, stderr, err := joinRanks(stdout, stderr)
	if err != nil {
		return err
	}
	defer func() { err = leaveRanks(c, err, "tune", console) }()
	space, err := tune.ParseSpace(*spaceText)
	if err != nil {
		return fmt.Errorf("--space: %w", err)
	}
	r, err := f.Recipe()
	if err != nil {
		return err
	}
	var m tune.Method
	switch *method {
	case "random":
		m = tune.Random{Trials: *trials}
	case "grid":
		m = tune.Grid{Points: *points}
	case "halving":
		m = tune.Halving{Configs: *trials, MinBudget: *minEpochs, MaxBudget: explore.Length(r), Eta: *eta}
	default:
		return fmt.Errorf("--method %q: want random, grid or halving", *method)
	}
	if err := tune.CheckMethod(m); err != nil {
		return fmt.Errorf("--method %s: %w", *method, err)
	}
	if err := explore.CheckSpace(r, space, m); err != nil {
		return fmt.Errorf("--space: %w", err)
	}
	if *metric != string(explore.ValLoss) && *metric != string(explore.ValAccuracy) {
		return fmt.Errorf("--metric %q: want val_loss or val_accuracy", *metric)
	}
	d, err := explore.Load(r, 0)
	if err == nil { // all that Tune checks, before the output directory is made
		err = explore.CheckTune(d, explore.TuneConfig{Recipe: r, Space: space, Method: m, Metric: explore.Metric(*metric)})
	}
	if err := comm.Together(c, err, "another rank could not load the data"); err != nil {
		return err
	}
	w := explore.UseCores(*threads, *workers, 1<<30)
	here := w // the trials this process trains at once
	if c.Distributed() {
		w, here = c.Size(), 1 // one trial per rank
	}
	err = checkMemory(largestTrial(r, space, d), d, limit, here)
	if err != nil && searchesSize(space) {
		err = fmt.Errorf("the largest trial of --space: %w", err)
	}
	if err := comm.Together(c, err, "another rank has too little memory for its trial"); err != nil {
		return err
	}
	dir, lock, err := explore.OpenTuneDir(*out, c)
	if err != nil {
		return err
	}
	defer lock.Unlock()
	journal := filepath.Join(dir, explore.TuneJournal)
	if !*quiet {
		verb := "searching"
		if _, err := os.Stat(journal); err == nil {
			verb = "continuing the search recorded in " + journal + ":"
		}
		fmt.Fprintf(stderr, "%s %s over %s with %s, %s on %s, %s of batch %d, %d trials at a time; writing %s\n",
			verb, *spaceText, m, r.Optimizer, r.Model, r.Data, length(r), r.Batch, w, dir)
	}
	ctx, stop := interruptible()
	defer stop()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := 0
	res, err := explore.Tune(ctx, d, explore.TuneConfig{
		Recipe: r, Space: space, Method: m, Seed: r.Seed, Metric: explore.Metric(*metric), Workers: w, Journal: journal, Comm: c,
		OnTrial: func(t tune.Trial, o explore.Outcome, err error) {
			done++
			if !*quiet {
				what := o.String()
				if err != nil {
					what = "failed: " + err.Error()
				}
				fmt.Fprintf(stderr, "  trial %d (%s) %s: %s\n", t.ID, length(explore.WithLength(r, t.Budget)), configString(t.Config), what)
			}
			if testTuneStop != nil && testTuneStop(done) {
				cancel()
			}
		},
	})
	if errors.Is(err, context.Canceled) {
		if res != nil && !*quiet {
			res.Report.WriteTable(stderr)
		}
		return &exitError{interruptedStatus(), fmt.Errorf("interrupted; the finished trials are recorded in %s: run the same command with --out %s to continue", journal, dir)}
	}
	if errors.Is(err, comm.ErrOtherRank) {
		return &exitError{interruptedStatus(), err}
	}
	if err != nil {
		return err
	}
	cmd := ""
	if res.Best != nil {
		cmd = res.Best.Command()
	}
	if c.Rank() == 0 {
		err = res.Save(dir, cmd)
	}
	if err := comm.Together(c, err, "rank 0 could not save the results"); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s over %s from %s, %s on %s; value: %s\n\n", m, space, r.Optimizer, r.Model, r.Data, res.Metric)
	if err := res.Report.WriteTable(stdout); err != nil {
		return err
	}
	if res.Best == nil {
		// Nothing to plot; the table above says why each trial failed.
		return fmt.Errorf("every trial failed (see the table, and %s)", filepath.Join(dir, explore.TuneFile))
	}
	best, _ := res.Report.Best()
	fmt.Fprintf(stdout, "\nbest: trial %d, %s %.4g; train it with\n  %s\nwrote %s\n", best.ID, res.Metric, best.Value, cmd, dir)
	return nil
}

// configString writes a trial's config as name=value pairs, in name order.
func configString(c tune.Config) string {
	names := slices.Sorted(maps.Keys(c))
	for i, n := range names {
		v := c[n]
		if v.IsNumber() {
			names[i] = n + "=" + strconv.FormatFloat(v.Float(), 'g', 4, 64)
		} else {
			names[i] = n + "=" + v.String()
		}
	}
	return strings.Join(names, " ")
}

// searchesSize reports whether space sets the model or the batch, which
// the memory of a trial depends on.
func searchesSize(space tune.Space) bool {
	return slices.ContainsFunc(space.Dims, func(d tune.Dim) bool { return d.Name == "model" || d.Name == "batch" })
}

// largestTrial returns the recipe of the trial of space on r that needs
// the most memory on d: of every model the space may choose, with its
// largest batch.
func largestTrial(r recipe.Recipe, space tune.Space, d explore.Data) recipe.Recipe {
	configs := []tune.Config{{}}
	for _, dim := range space.Dims {
		if dim.Name != "model" && dim.Name != "batch" {
			continue
		}
		values := dim.Values // of a choice, or the fixed value
		if dim.Kind == tune.Log || dim.Kind == tune.Uniform || dim.Kind == tune.Int {
			values = []tune.Value{tune.Num(math.Floor(dim.Hi))}
		}
		var next []tune.Config
		for _, c := range configs {
			for _, v := range values {
				c := maps.Clone(c)
				c[dim.Name] = v
				next = append(next, c)
			}
		}
		configs = next
	}
	largest, need := r, -1.0
	for _, c := range configs {
		if t, err := explore.Apply(r, c); err == nil && memoryNeed(t, d) > need {
			largest, need = t, memoryNeed(t, d)
		}
	}
	return largest
}
