package recipe

import (
	"flag"
	"fmt"
	"strconv"
	"strings"

	"github.com/descentml/descent/data"
	"github.com/descentml/descent/optim/spec"
)

// Flags are the command-line flags that make a recipe: those of `descent
// train`, which compare, lr-find and tune take too. [Recipe.Args] writes a
// recipe back as these flags.
type Flags struct {
	data, dataDir, label    *string
	valFraction             *float64
	maxCSV, maxCSVLine      *int64
	maxText                 *int64
	model                   *string
	batchnorm               *bool
	dropout                 *float64
	opt                     *string
	hyper                   []*hyperFlag
	sched, unit             *string
	warmup                  *int
	clipNorm, clipValue     *float64
	decayWeightsOnly        *bool
	noDecay                 *string
	syncBN                  *bool
	epochs, batch, patience *int
	seed                    *uint64
	text                    textFlags
	optimizer               spec.Optimizer // without the optimizer's flags
	extra                   *optimizerFlags
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

// AddFlags defines on fs the flags that make a recipe, with def's values as
// defaults: the data, the model, the optimizer (--opt and a flag for every
// key of package spec's optimizers, and Muon's --to-adamw and --to-muon),
// gradient accumulation, the average of the weights, the schedule,
// clipping, epochs, batch, seed and patience. With optimizer false the
// optimizer's flags are left out (compare takes whole specs, several of
// which Muon's routing would not fit) and the recipe keeps def's
// optimizer; --accumulate and --average, which apply to any optimizer,
// stay.
func AddFlags(fs *flag.FlagSet, def Recipe, optimizer bool) *Flags {
	f := &Flags{optimizer: def.Optimizer}
	f.data = fs.String("data", def.Data, "dataset: digits (embedded), mnist, fashion-mnist, or csv:PATH; text (embedded), text:PATH or kjv for a language model")
	f.dataDir = fs.String("data-dir", def.DataDir, "directory holding the IDX files of mnist and fashion-mnist (default: $DESCENT_DATA, then the usual places)")
	f.label = fs.String("label", def.Label, "csv: the label column, by name or 0-based index (default: the last column)")
	f.valFraction = fs.Float64("val-fraction", def.ValFraction, "fraction of the training examples held out for validation (0: none)")
	f.maxCSV = fs.Int64("max-csv-bytes", def.MaxCSVBytes, fmt.Sprintf("csv: the most `bytes` a CSV file may hold, decompressed (0: %d, -1: no limit)", data.DefaultMaxCSVBytes))
	f.maxCSVLine = fs.Int64("max-csv-line-bytes", def.MaxCSVLineBytes, fmt.Sprintf("csv: the most `bytes` one line of a CSV file may hold (0: %d, -1: no limit)", data.DefaultMaxCSVLineBytes))
	f.maxText = fs.Int64("max-text-bytes", def.MaxTextBytes, fmt.Sprintf("text: the most `bytes` a text file may hold (0: %d, -1: no limit)", data.DefaultMaxTextBytes))
	f.model = fs.String("model", def.Model.String(), "model: mlp:W1,W2,… (hidden widths), cnn, linear, logistic; language models gpt:layers=2,d=128,heads=4,ctx=128 (the default on text), lstm:256, gru:256, rnn:256 (x2 stacks two)")
	f.batchnorm = fs.Bool("batchnorm", def.Model.BatchNorm, "batch normalization after each hidden layer")
	f.dropout = fs.Float64("dropout", def.Model.Dropout, "dropout probability before each layer that follows a hidden one")
	if optimizer {
		f.opt = fs.String("opt", def.Optimizer.Name, `optimizer, a name or a spec as "adam lr=1e-3" (its hyperparameters may also be flags, but not both ways): `+strings.Join(spec.OptimizerNames(), ", "))
		for _, k := range spec.Flags() {
			hf := &hyperFlag{key: k.Name, isBool: k.Kind == spec.Bool}
			fs.Var(hf, k.Name, k.Help)
			f.hyper = append(f.hyper, hf)
		}
	}
	f.extra = addOptimizerFlags(fs, def, optimizer)
	f.sched = fs.String("schedule", def.Schedule.String(), "learning-rate schedule: "+strings.Join(spec.ScheduleNames(), ", ")+`, with settings as "cosine min=1e-5" or "step size=10 gamma=0.5"`)
	f.warmup = fs.Int("warmup", def.Schedule.Warmup, "linear warmup over this many steps (or epochs, with --schedule-unit epoch) before the schedule")
	f.unit = fs.String("schedule-unit", "step", "what the schedule's lengths count and when it moves: step (every batch) or epoch")
	f.clipNorm = fs.Float64("clip-norm", def.ClipNorm, "clip the gradients' global 2-norm to this (0: off)")
	f.clipValue = fs.Float64("clip-value", def.ClipValue, "clip each gradient element to ±this (0: off)")
	f.noDecay = fs.String("no-decay", strings.Join(def.NoDecay, ","), spec.NoDecayHelp())
	f.decayWeightsOnly = fs.Bool("decay-weights-only", def.DecayWeightsOnly, "leave parameters of fewer than two dimensions (biases, norms) out of weight decay: the older spelling of --no-decay 1d")
	f.syncBN = fs.Bool("sync-bn", def.SyncBatchNorm, "on several ranks (mpirun, --replicas): normalize batch norm's input with the statistics of the whole global batch, summed over the ranks (PyTorch's SyncBatchNorm), not each rank's share")
	f.epochs = fs.Int("epochs", def.Epochs, "epochs to train (in all, with --resume)")
	f.batch = fs.Int("batch", def.Batch, "batch size")
	f.seed = fs.Uint64("seed", def.Seed, "seed of the initial weights, the data order and dropout")
	f.patience = fs.Int("patience", def.Patience, "stop early after this many epochs without a better validation loss (0: never)")
	return f
}

// Epochs returns the value of --epochs.
func (f *Flags) Epochs() int { return *f.epochs }

// Recipe returns the recipe the flags describe, validated.
func (f *Flags) Recipe() (Recipe, error) {
	r := Recipe{
		Data: *f.data, DataDir: *f.dataDir, Label: *f.label, ValFraction: *f.valFraction,
		MaxCSVBytes: *f.maxCSV, MaxCSVLineBytes: *f.maxCSVLine, MaxTextBytes: *f.maxText,
		ClipNorm: *f.clipNorm, ClipValue: *f.clipValue, DecayWeightsOnly: *f.decayWeightsOnly, NoDecay: names(*f.noDecay), SyncBatchNorm: *f.syncBN,
		Epochs: *f.epochs, Batch: *f.batch, Seed: *f.seed, Patience: *f.patience, Optimizer: f.optimizer,
	}
	var err error
	if r.Model, err = ParseModel(*f.model); err != nil {
		return r, err
	}
	r.Model.BatchNorm, r.Model.Dropout = *f.batchnorm, *f.dropout
	if f.opt != nil {
		// --opt is a name or a whole spec ("adam lr=1e-3"), as compare's;
		// the hyperparameters' flags add to the spec's, never restate them.
		name, set, err := spec.SplitOptimizer(*f.opt)
		if err != nil {
			return r, err
		}
		inSpec := map[string]string{} // canonical key → the key as given
		for k := range set {
			inSpec[spec.CanonicalKey(k)] = k
		}
		for _, h := range f.hyper {
			if !h.set {
				continue
			}
			if k, ok := inSpec[spec.CanonicalKey(h.key)]; ok {
				return r, fmt.Errorf("--opt %q sets %s and --%s sets it again: give it one way", *f.opt, k, h.key)
			}
			set[h.key] = h.val
		}
		if r.Optimizer, err = spec.NewOptimizer(name, set); err != nil {
			return r, err
		}
	}
	f.extra.set(&r)
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
	if err := f.text.apply(&r); err != nil {
		return r, err
	}
	return r, r.Validate()
}

// Args returns the flags of AddFlags that make r, every one that makes up
// the recipe, so that they do not depend on the defaults.
func (r Recipe) Args() []string {
	num := func(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
	args := []string{"--data", r.Data}
	if r.DataDir != "" {
		args = append(args, "--data-dir", r.DataDir)
	}
	if r.Label != "" {
		args = append(args, "--label", r.Label)
	}
	args = append(args, "--val-fraction", num(r.ValFraction))
	for _, l := range []struct {
		flag string
		v    int64
	}{{"--max-csv-bytes", r.MaxCSVBytes}, {"--max-csv-line-bytes", r.MaxCSVLineBytes}, {"--max-text-bytes", r.MaxTextBytes}} {
		if l.v != 0 {
			args = append(args, l.flag, strconv.FormatInt(l.v, 10))
		}
	}
	args = append(args, "--model", r.Model.String(), "--batchnorm="+strconv.FormatBool(r.Model.BatchNorm))
	if r.Model.Dropout != 0 {
		args = append(args, "--dropout", num(r.Model.Dropout))
	}
	// The optimizer's spec holds every hyperparameter that differs from
	// its defaults, by the keys that are the flags.
	s := strings.Fields(r.Optimizer.String())
	args = append(args, "--opt", s[0])
	for _, kv := range s[1:] {
		k, v, _ := strings.Cut(kv, "=")
		if v == "true" || v == "false" {
			args = append(args, "--"+k+"="+v)
		} else {
			args = append(args, "--"+k, v)
		}
	}
	args = append(args, r.optimizerArgs()...)
	args = append(args, "--schedule", r.Schedule.String())
	if r.ClipNorm != 0 {
		args = append(args, "--clip-norm", num(r.ClipNorm))
	}
	if r.ClipValue != 0 {
		args = append(args, "--clip-value", num(r.ClipValue))
	}
	if len(r.NoDecay) > 0 {
		args = append(args, "--no-decay", strings.Join(r.NoDecay, ","))
	}
	if r.DecayWeightsOnly {
		args = append(args, "--decay-weights-only")
	}
	if r.SyncBatchNorm {
		args = append(args, "--sync-bn")
	}
	if !r.IsText() {
		args = append(args, "--epochs", strconv.Itoa(r.Epochs))
	}
	args = append(args, "--batch", strconv.Itoa(r.Batch), "--seed", strconv.FormatUint(r.Seed, 10))
	args = append(args, r.seqArgs()...)
	if r.Patience != 0 {
		args = append(args, "--patience", strconv.Itoa(r.Patience))
	}
	return args
}
