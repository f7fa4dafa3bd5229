package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/descentml/descent/data"
	"github.com/descentml/descent/nn"
	"github.com/descentml/descent/optim/spec"
	"github.com/descentml/descent/recipe"
	"github.com/descentml/descent/tensor"
	"github.com/descentml/descent/train"
)

const aboutTrain = `Trains a model and writes, into the output directory: config.json (the
run's recipe), data.json (how the data was standardised), metrics.jsonl (one
line per epoch), summary.json, model.safetensors (the trained weights),
checkpoint.safetensors (to resume), and loss.png, accuracy.png and lr.png.

With no flags it trains an MLP with batch normalization and AdamW on the
embedded digits dataset. Optimizer hyperparameters not given take the
optimizer's PyTorch defaults (SGD, which has no default rate there, takes lr
0.01; momentum and nesterov are SGD with momentum 0.9); a flag the optimizer
does not have is an error.
Ctrl-C stops at the next batch and saves a checkpoint; --resume DIR continues
the run in DIR (with its saved configuration) up to --epochs in all, and the
final model is byte-identical to a run that was never stopped.`

// File names in a run directory.
const (
	configFile     = "config.json"
	dataFile       = "data.json"
	metricsFile    = "metrics.jsonl"
	summaryFile    = "summary.json"
	modelFile      = "model.safetensors"
	checkpointFile = "checkpoint.safetensors"
)

// dataInfo is data.json: what a saved model needs to read new data as it
// read its training data.
type dataInfo struct {
	Shape   []int            `json:"shape"`
	Classes []string         `json:"classes,omitempty"`
	Norm    *data.Normalizer `json:"normalizer"`
}

// summary is summary.json.
type summary struct {
	TestLoss        *float64 `json:"test_loss,omitempty"`
	TestAccuracy    *float64 `json:"test_accuracy,omitempty"`
	BestValAccuracy *float64 `json:"best_val_accuracy,omitempty"`
	FinalValLoss    *float64 `json:"final_val_loss,omitempty"`
	Epochs          int      `json:"epochs"`
	Steps           int      `json:"steps"`
	Seconds         float64  `json:"seconds"`
	Params          int      `json:"params"`
	StoppedEarly    bool     `json:"stopped_early,omitempty"`
}

// hyperFlag is a flag for one optimizer hyperparameter; it records whether
// it was given, so that the rest take the optimizer's defaults.
type hyperFlag struct {
	key, val string
	set      bool
	isBool   bool
}

func (h *hyperFlag) String() string { return h.val }
func (h *hyperFlag) Set(v string) error {
	h.val, h.set = v, true
	return nil
}
func (h *hyperFlag) IsBoolFlag() bool { return h.isBool }

type trainFlags struct {
	fs                      *flag.FlagSet
	data, dataDir, label    *string
	valFraction             *float64
	model                   *string
	batchnorm               *bool
	dropout                 *float64
	opt                     *string
	hyper                   []*hyperFlag
	sched, unit             *string
	warmup                  *int
	clipNorm, clipValue     *float64
	decayWeightsOnly        *bool
	epochs, batch, patience *int
	seed                    *uint64
	threads                 *int
	out, resume             *string
	quiet                   *bool
}

// addRecipeFlags defines the flags that make a recipe, with def's values as
// defaults. compare, lr-find and tune take the same flags.
func addRecipeFlags(fs *flag.FlagSet, def recipe.Recipe) *trainFlags {
	f := &trainFlags{fs: fs}
	f.data = fs.String("data", def.Data, "dataset: digits (embedded), mnist, fashion-mnist, or csv:PATH")
	f.dataDir = fs.String("data-dir", def.DataDir, "directory holding the IDX files of mnist and fashion-mnist (default: $DESCENT_DATA, then the usual places)")
	f.label = fs.String("label", def.Label, "csv: the label column, by name or 0-based index (default: the last column)")
	f.valFraction = fs.Float64("val-fraction", def.ValFraction, "fraction of the training examples held out for validation (0: none)")
	f.model = fs.String("model", def.Model.String(), "model: mlp:W1,W2,… (hidden widths), cnn, linear, logistic")
	f.batchnorm = fs.Bool("batchnorm", def.Model.BatchNorm, "batch normalization after each hidden layer")
	f.dropout = fs.Float64("dropout", def.Model.Dropout, "dropout probability before each layer that follows a hidden one")
	f.opt = fs.String("opt", def.Optimizer.Name, "optimizer: "+strings.Join(spec.OptimizerNames(), ", "))
	for _, k := range spec.Flags() {
		hf := &hyperFlag{key: k.Name, isBool: k.Kind == spec.Bool}
		fs.Var(hf, k.Name, k.Help)
		f.hyper = append(f.hyper, hf)
	}
	f.sched = fs.String("schedule", def.Schedule.String(), "learning-rate schedule: "+strings.Join(spec.ScheduleNames(), ", ")+`, with settings as "cosine min=1e-5" or "step size=10 gamma=0.5"`)
	f.warmup = fs.Int("warmup", def.Schedule.Warmup, "linear warmup over this many steps (or epochs, with --schedule-unit epoch) before the schedule")
	f.unit = fs.String("schedule-unit", "step", "what the schedule's lengths count and when it moves: step (every batch) or epoch")
	f.clipNorm = fs.Float64("clip-norm", def.ClipNorm, "clip the gradients' global 2-norm to this (0: off)")
	f.clipValue = fs.Float64("clip-value", def.ClipValue, "clip each gradient element to ±this (0: off)")
	f.decayWeightsOnly = fs.Bool("decay-weights-only", def.DecayWeightsOnly, "leave biases and normalization parameters out of weight decay")
	f.epochs = fs.Int("epochs", def.Epochs, "epochs to train (in all, with --resume)")
	f.batch = fs.Int("batch", def.Batch, "batch size")
	f.seed = fs.Uint64("seed", def.Seed, "seed of the initial weights, the data order and dropout")
	f.patience = fs.Int("patience", def.Patience, "stop early after this many epochs without a better validation loss (0: never)")
	f.threads = fs.Int("threads", 0, "cores to use (0: all)")
	return f
}

// recipe builds the recipe the flags describe.
func (f *trainFlags) recipe() (recipe.Recipe, error) {
	r := recipe.Recipe{
		Data: *f.data, DataDir: *f.dataDir, Label: *f.label, ValFraction: *f.valFraction,
		ClipNorm: *f.clipNorm, ClipValue: *f.clipValue, DecayWeightsOnly: *f.decayWeightsOnly,
		Epochs: *f.epochs, Batch: *f.batch, Seed: *f.seed, Patience: *f.patience,
	}
	var err error
	if r.Model, err = recipe.ParseModel(*f.model); err != nil {
		return r, err
	}
	r.Model.BatchNorm, r.Model.Dropout = *f.batchnorm, *f.dropout
	set := map[string]string{}
	for _, h := range f.hyper {
		if h.set {
			set[h.key] = h.val
		}
	}
	if r.Optimizer, err = spec.NewOptimizer(*f.opt, set); err != nil {
		return r, err
	}
	if r.Schedule, err = spec.ParseSchedule(*f.sched); err != nil {
		return r, err
	}
	switch {
	case *f.warmup < 0:
		return r, fmt.Errorf("--warmup %d: must not be negative", *f.warmup)
	case *f.warmup > 0:
		r.Schedule.Warmup = *f.warmup
	}
	if *f.unit != "step" {
		r.Schedule.Unit = *f.unit
	}
	return r, r.Validate()
}

func runTrain(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("train", "[flags]", aboutTrain)
	f := addRecipeFlags(fs, recipe.Default())
	f.out = fs.String("out", "", "output directory (default: runs/<date>-<time>)")
	f.resume = fs.String("resume", "", "continue the run in this directory, with its saved configuration")
	f.quiet = fs.Bool("quiet", false, "no progress output, only the summary")
	if err := parseFlags(fs, args, stdout, stderr); err != nil {
		return err
	}
	tensor.SetThreads(*f.threads)

	var r recipe.Recipe
	var dir string
	var info *dataInfo
	extended := false // --resume with another --epochs
	if *f.resume != "" {
		var err error
		if r, info, err = loadRun(*f.resume, fs); err != nil {
			return err
		}
		dir = *f.resume
		if given(fs, "epochs") && *f.epochs != r.Epochs {
			if *f.epochs <= 0 {
				return fmt.Errorf("--epochs %d: must be positive", *f.epochs)
			}
			extended = true
		}
	} else {
		var err error
		if r, err = f.recipe(); err != nil {
			return err
		}
	}
	var norm *data.Normalizer
	var classes []string
	if info != nil {
		norm, classes = info.Norm, info.Classes
	}
	splits, err := r.LoadData(norm, classes)
	if err != nil {
		return err
	}
	// Saved resolved, a recipe keeps its schedule's lengths when the run is
	// continued for more epochs; a config.json from before recipes were
	// saved so is resolved here for the epochs it ran, before --epochs.
	r = r.Resolve(splits.Train.Len())
	if extended {
		r.Epochs = *f.epochs
	}
	if *f.resume == "" {
		if dir, err = newRunDir(*f.out); err != nil {
			return err
		}
		if err := writeJSON(filepath.Join(dir, configFile), r); err != nil {
			return err
		}
		info = &dataInfo{Shape: splits.Train.Shape(), Classes: splits.Train.ClassNames, Norm: splits.Norm}
		if err := writeJSON(filepath.Join(dir, dataFile), info); err != nil {
			return err
		}
	}
	return trainRun(r, splits, dir, *f.resume != "", extended, *f.quiet, stdout, stderr)
}

// given reports whether flag name was set on the command line.
func given(fs *flag.FlagSet, name string) bool {
	found := false
	fs.Visit(func(fl *flag.Flag) { found = found || fl.Name == name })
	return found
}

// loadRun reads the recipe and data description of the run in dir, for
// --resume, and refuses flags that would change the run.
func loadRun(dir string, fs *flag.FlagSet) (recipe.Recipe, *dataInfo, error) {
	var bad []string
	fs.Visit(func(fl *flag.Flag) {
		switch fl.Name {
		case "resume", "epochs", "threads", "quiet":
		default:
			bad = append(bad, "--"+fl.Name)
		}
	})
	if len(bad) > 0 {
		return recipe.Recipe{}, nil, fmt.Errorf("--resume continues the run with its saved configuration; only --epochs and --threads may be given with it, not %s", strings.Join(bad, ", "))
	}
	var r recipe.Recipe
	if err := readJSON(filepath.Join(dir, configFile), &r); err != nil {
		return r, nil, fmt.Errorf("cannot resume %s: %w", dir, err)
	}
	if err := r.Validate(); err != nil {
		return r, nil, fmt.Errorf("cannot resume %s: %s: %w", dir, configFile, err)
	}
	var info dataInfo
	if err := readJSON(filepath.Join(dir, dataFile), &info); err != nil {
		return r, nil, fmt.Errorf("cannot resume %s: %w", dir, err)
	}
	if _, err := os.Stat(filepath.Join(dir, checkpointFile)); errors.Is(err, os.ErrNotExist) {
		return r, nil, fmt.Errorf("cannot resume %s: it has no checkpoint (the run was killed in its first epoch, or is still in it); remove the directory to start the run again there", dir)
	} else if err != nil {
		return r, nil, fmt.Errorf("cannot resume %s: %w", dir, err)
	}
	return r, &info, nil
}

// newRunDir creates the output directory: dir, or runs/<date>-<time>.
func newRunDir(dir string) (string, error) {
	if dir == "" {
		dir = filepath.Join("runs", time.Now().Format("2006-01-02-150405"))
		for i := 2; ; i++ {
			if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
				break
			}
			dir = filepath.Join("runs", fmt.Sprintf("%s-%d", time.Now().Format("2006-01-02-150405"), i))
		}
	}
	if _, err := os.Stat(filepath.Join(dir, configFile)); err == nil {
		if _, err := os.Stat(filepath.Join(dir, checkpointFile)); err != nil {
			return "", fmt.Errorf("%s holds a run with no checkpoint yet (still in its first epoch, or killed there); choose another --out, or remove the directory", dir)
		}
		return "", fmt.Errorf("%s already holds a run: use --resume %s to continue it, or another --out", dir, dir)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	return dir, nil
}

// testBatchHook, when set by a test, runs after every batch.
var testBatchHook func(train.Batch)

// trainRun trains the recipe, writing the run's files into dir.
func trainRun(r recipe.Recipe, splits *data.Splits, dir string, resume, extended, quiet bool, stdout, stderr io.Writer) error {
	prog := newProgress(stderr, r.Epochs, quiet)
	metrics := filepath.Join(dir, metricsFile)
	cfg := train.Config{
		Checkpoint: filepath.Join(dir, checkpointFile),
		OnBatch: func(b train.Batch) {
			prog.batch(b)
			if testBatchHook != nil {
				testBatchHook(b)
			}
		},
		OnEpoch: func(e train.Epoch) error {
			prog.epoch(e)
			return appendJSONLine(metrics, e)
		},
	}
	run, err := r.Build(splits, cfg)
	if err != nil {
		if !resume {
			abandon(dir)
		}
		return err
	}
	tr := run.Trainer
	if resume {
		if err := tr.Resume(cfg.Checkpoint); err != nil {
			return err
		}
		// metrics.jsonl may hold an epoch the checkpoint does not (a kill
		// between the two writes): the checkpoint's history is the truth.
		if err := writeJSONLines(metrics, tr.History()); err != nil {
			return err
		}
		epoch, batch := tr.Position()
		_, errModel := os.Stat(filepath.Join(dir, modelFile))
		done := epoch >= r.Epochs || tr.StoppedEarly()
		switch {
		case done && batch == 0 && errModel != nil:
			// Killed after the last checkpoint, before the model was
			// written: the checkpoint is the finished run.
			return finish(r, run, splits, dir, tr.StoppedEarly(), 0, stdout)
		case tr.StoppedEarly():
			fmt.Fprintf(stderr, "the run in %s stopped early after %d epochs (no better validation loss for %s); nothing to do\n", dir, tr.Epochs(), plural(r.Patience, "epoch"))
			return nil
		case done:
			past := ""
			if batch > 0 {
				past = fmt.Sprintf(" and %d batches of the next", batch)
			}
			fmt.Fprintf(stderr, "the run in %s has done %d epochs%s already; nothing to do (give --epochs more than %d to continue it)\n", dir, tr.Epochs(), past, tr.Epochs())
			return nil
		}
		fmt.Fprintf(stderr, "resuming %s at epoch %d, step %d, up to epoch %d\n", dir, epoch+1, tr.Step(), r.Epochs)
		// The run trains on: a model and summary from an earlier end
		// (before an extension, or of a shorter --epochs) must not be
		// left looking current if this one is killed.
		if err := removeFiles(dir, modelFile, summaryFile); err != nil {
			return err
		}
		if extended {
			if err := extendRun(r, run, splits, dir, stderr); err != nil {
				return err
			}
		}
	} else if !quiet {
		fmt.Fprintf(stderr, "training %s on %s (%d train, %d validation examples) with %s, %d epochs of batch %d; writing %s\n",
			r.Model, r.Data, splits.Train.Len(), lenOf(splits.Val), r.Optimizer, r.Epochs, r.Batch, dir)
	}
	prog.startAt(tr.Epochs())

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	start := time.Now()
	err = tr.Run(ctx)
	prog.done()
	stopped := errors.Is(err, train.ErrStopped)
	switch {
	case errors.Is(err, context.Canceled) && err != context.Canceled:
		// Run joins a failed checkpoint write to the cancellation.
		return &exitError{130, fmt.Errorf("interrupted, but the checkpoint could not be written: %w\n(the last one written, if any, is in %s)", err, cfg.Checkpoint)}
	case errors.Is(err, context.Canceled):
		return &exitError{130, fmt.Errorf("interrupted after %d epochs and %d steps; the checkpoint is saved: continue with\n  descent train --resume %s --epochs %d", tr.Epochs(), tr.Step(), dir, r.Epochs)}
	case err != nil && !stopped:
		if _, serr := os.Stat(cfg.Checkpoint); serr == nil {
			return fmt.Errorf("%w\n(the last good checkpoint, after epoch %d, is in %s)", err, tr.Epochs(), cfg.Checkpoint)
		}
		abandon(dir)
		return fmt.Errorf("%w\n(no epoch finished, so there is no checkpoint; %s can be used again)", err, dir)
	}
	return finish(r, run, splits, dir, stopped, time.Since(start), stdout)
}

// extendRun prepares dir for training its run to r.Epochs, another length
// than it was made for: config.json records the new length (so an
// interruption resumes to it), and the rates the extra epochs will use are
// shown, since the schedule goes on as the run defined it.
func extendRun(r recipe.Recipe, run *recipe.Run, splits *data.Splits, dir string, stderr io.Writer) error {
	if err := writeJSON(filepath.Join(dir, configFile), r); err != nil {
		return err
	}
	if r.Schedule.Name == "constant" || r.Schedule.Name == "plateau" {
		return nil
	}
	lr := run.Optimizer.Schedule(0)
	end := r.Epochs * r.StepsPerEpoch(splits.Train.Len())
	lo, hi := math.Inf(1), math.Inf(-1)
	for t := run.Trainer.Step(); t < end; t++ {
		lo, hi = min(lo, lr.At(t)), max(hi, lr.At(t))
	}
	fmt.Fprintf(stderr, "the schedule goes on as the run defined it (%s): the extra epochs train at rates from %.3g to %.3g\n", r.Schedule, lo, hi)
	if hi < 1e-3*r.Optimizer.LR {
		fmt.Fprintf(stderr, "note: that is under a thousandth of lr %g, so the model will barely change; a new run with more --epochs would use them\n", r.Optimizer.LR)
	}
	return nil
}

// abandon removes the files of a new run that ended before its first
// checkpoint: nothing of it can be continued, and the directory can then
// be used again.
func abandon(dir string) { removeFiles(dir, configFile, dataFile, metricsFile) }

// removeFiles removes the named files of dir; one that is not there is
// no error.
func removeFiles(dir string, names ...string) error {
	var errs []error
	for _, f := range names {
		if err := os.Remove(filepath.Join(dir, f)); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// finish writes the model, the summary and the plots of a finished run and
// prints its table.
func finish(r recipe.Recipe, run *recipe.Run, splits *data.Splits, dir string, stopped bool, elapsed time.Duration, stdout io.Writer) error {
	tr := run.Trainer
	var model strings.Builder
	if err := nn.Save[float32](&model, run.Model); err != nil {
		return err
	}
	if err := train.WriteFileAtomic(filepath.Join(dir, modelFile), []byte(model.String())); err != nil {
		return err
	}
	hist := tr.History()
	s := summary{Epochs: len(hist), Steps: tr.Step(), StoppedEarly: stopped}
	for _, e := range hist {
		s.Seconds += e.Seconds
		if !math.IsNaN(e.ValAccuracy) && (s.BestValAccuracy == nil || e.ValAccuracy > *s.BestValAccuracy) {
			s.BestValAccuracy = ptr(e.ValAccuracy)
		}
	}
	if n := len(hist); n > 0 && !math.IsNaN(hist[n-1].ValLoss) {
		s.FinalValLoss = ptr(hist[n-1].ValLoss)
	}
	for _, p := range run.Model.Params() {
		s.Params += len(p.Value)
	}
	if splits.Test != nil {
		tl, ta, err := tr.Evaluate(splits.Test)
		if err != nil {
			return err
		}
		s.TestLoss, s.TestAccuracy = ptr(tl), ptr(ta)
	}
	if err := writeJSON(filepath.Join(dir, summaryFile), s); err != nil {
		return err
	}
	if err := plotRun(dir, hist); err != nil {
		return err
	}
	printSummary(stdout, r, hist, s, dir, elapsed)
	return nil
}

func ptr(v float64) *float64 { return &v }

func lenOf(s *data.Set) int {
	if s == nil {
		return 0
	}
	return s.Len()
}

func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return train.WriteFileAtomic(path, append(b, '\n'))
}

func readJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s: %v", path, err)
	}
	return nil
}

func appendJSONLine(path string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(append(b, '\n')); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func writeJSONLines[E any](path string, lines []E) error {
	var b []byte
	for _, l := range lines {
		j, err := json.Marshal(l)
		if err != nil {
			return err
		}
		b = append(append(b, j...), '\n')
	}
	return train.WriteFileAtomic(path, b)
}

// plural writes n and noun, with an s unless n is 1.
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
