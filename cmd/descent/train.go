package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/descentml/descent/comm"
	"github.com/descentml/descent/data"
	"github.com/descentml/descent/explore"
	"github.com/descentml/descent/internal/progress"
	"github.com/descentml/descent/recipe"
	"github.com/descentml/descent/run"
	"github.com/descentml/descent/train"
)

const aboutTrain = `Trains a model and writes, into the output directory: config.json (the
run's recipe), data.json (how the data was standardised), metrics.jsonl (one
line per epoch), summary.json, model.safetensors (the trained weights),
checkpoint.safetensors (to resume) and checkpoint.prev.safetensors (the one
before, resumed from if the latest is damaged), the plots loss.png,
accuracy.png, lr.png, grad_norm.png, update_ratio.png, clip_fraction.png
(with clipping) and prodigy_d.png, sf_c.png or muon_update_rms.png (for
those optimizers), an events.out.tfevents.… file with --tensorboard, and
.lock, which a process using the directory holds locked.

With no flags it trains an MLP with batch normalization and AdamW on the
embedded digits dataset. Optimizer hyperparameters not given take the
optimizer's PyTorch defaults (SGD, which has no default rate there, takes lr
0.01; momentum and nesterov are SGD with momentum 0.9); a flag the optimizer
does not have is an error.
Ctrl-C stops at the next batch and saves a checkpoint; --resume DIR continues
the run in DIR (with its saved configuration) up to --epochs in all, and the
final model is byte-identical to a run that was never stopped.

--replicas N trains data-parallel on N replicas of the model in this
process, one core each, splitting every batch as "mpirun -np N descent
train" does, with the same results to the bit; a run may be resumed with
another --replicas, or under mpirun.

With --data text (embedded), text:PATH or kjv it trains a language model
(--model gpt:…, lstm:256, gru:256, rnn:256) for --steps steps of random
windows, evaluating every --eval-every steps: metrics.jsonl then holds bits
per character and perplexity, vocab.json the vocabulary, and --resume DIR
[--steps N] continues it as exactly.`

func runTrain(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("train", "[flags]", aboutTrain)
	f := recipe.AddFlags(fs, recipe.Default(), true)
	f.AddTextFlags(fs, recipe.Default(), true)
	threads, replicas := threadsFlag(fs), replicasFlag(fs)
	tf := trainFlags{fs: fs, recipe: f}
	tf.out = fs.String("out", "", "output directory (default: runs/<date>-<time>)")
	tf.resume = fs.String("resume", "", "continue the run in this directory, with its saved configuration")
	tf.quiet = fs.Bool("quiet", false, "no progress output, only the summary")
	tf.tensorBoard = fs.Bool("tensorboard", false, "also write each epoch's (a language model's: evaluation's) metrics as TensorBoard event files in the run directory")
	tf.maxMemory = maxMemoryFlag(fs, "the model, optimizer and batch")
	if err := parseFlags(fs, args, stdout, stderr); err != nil {
		return err
	}
	return onRanks("train", *replicas, *threads, stdout, stderr, tf.train)
}

// trainFlags are train's flags, but for those of how it uses the cores.
type trainFlags struct {
	fs          *flag.FlagSet
	recipe      *recipe.Flags
	out, resume *string
	quiet       *bool
	tensorBoard *bool
	maxMemory   *string
}

// train runs descent train on the rank c, writing to stdout and stderr.
func (tf trainFlags) train(c *comm.Comm, stdout, stderr io.Writer) (err error) {
	fs, f, resume := tf.fs, tf.recipe, *tf.resume
	prog := progress.New(stderr, 0, *tf.quiet) // of the run's length, once it is opened
	opts := run.Options{
		OnBatch: func(b train.Batch) {
			prog.Batch(b)
			if testBatchHook != nil {
				testBatchHook(b)
			}
		},
		OnEpoch: prog.Epoch,
		OnStep: func(s train.SeqStep) {
			prog.Step(s)
			if testStepHook != nil {
				testStepHook(s)
			}
		},
		OnEval:      prog.Eval,
		Comm:        c,
		TensorBoard: *tf.tensorBoard,
	}
	if opts.MaxMemory, err = maxMemory(*tf.maxMemory); err != nil {
		return err
	}
	if resume == "" && given(fs, "resume") {
		return errors.New("--resume '': give the directory of the run to continue")
	}
	if (resume == "" && f.IsText()) || (resume != "" && run.IsTextRun(resume)) { // a resumed run is what its directory holds, whatever --data says
		return trainText(fs, f, resume, *tf.out, *tf.quiet, opts, prog, stdout, stderr)
	}
	var rn *run.Run
	if resume != "" {
		epochs, err := resumeLength(fs, "epochs", f.Epochs)
		if err != nil {
			return err
		}
		if rn, err = run.Resume(resume, epochs, opts); err != nil {
			return err
		}
		if rn.Located != "" {
			fmt.Fprintf(stderr, "note: %s\n", rn.Located)
		}
		if rn.SkippedCheckpoint != nil {
			fmt.Fprintf(stderr, "warning: %v\ncontinuing from the previous checkpoint, after epoch %d\n", rn.SkippedCheckpoint, rn.Trainer().Epochs())
		}
	} else {
		r, err := f.Recipe()
		if err != nil {
			return err
		}
		if rn, err = run.New(r, *tf.out, opts); err != nil {
			return err
		}
	}
	defer rn.Close()
	prog.SetLength(rn.Recipe.Epochs)
	return trainRun(rn, prog, *tf.quiet, stdout, stderr)
}

// maxMemoryFlag defines --max-memory, the most memory what may need.
func maxMemoryFlag(fs *flag.FlagSet, what string) *string {
	return fs.String("max-memory", "", "the most memory "+what+" may need, as 8GB (default: what the machine has available)")
}

// maxMemory reads --max-memory: bytes, 0 if not given (what the machine
// has available).
func maxMemory(s string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	n, err := run.ParseSize(s)
	if err != nil {
		return 0, fmt.Errorf("--max-memory: %w", err)
	}
	return n, nil
}

// memoryNeed estimates the bytes a training of r on d needs for its
// model, optimizer and batch (recipe.Recipe.Memory).
func memoryNeed(r recipe.Recipe, d explore.Data) float64 {
	if d.Text != nil {
		return r.Memory(nil, d.Text.Vocab.Len())
	}
	return r.Memory(d.Splits.Train.Shape(), d.Splits.Train.Classes())
}

// checkMemory refuses to train runs trainings of r on d at once if they
// would need more than limit bytes (0: what the machine has available),
// as descent train refuses one run.
func checkMemory(r recipe.Recipe, d explore.Data, limit int64, runs int) error {
	if runs == 1 {
		return run.CheckNeed(r, memoryNeed(r, d), limit)
	}
	need := memoryNeed(r, d) * float64(runs)
	limit, what, ok := run.MemoryLimit(limit)
	if !ok || need <= float64(limit) {
		return nil
	}
	return fmt.Errorf("%s with batch %d, %s at once, needs about %s for the weights, optimizer states and batches; %s is %s (fewer --workers need less; --max-memory SIZE overrides the check)",
		r.Model, r.Batch, plural(runs, "run"), run.FormatSize(need), what, run.FormatSize(float64(limit)))
}

// threadsFlag defines --threads.
func threadsFlag(fs *flag.FlagSet) *int {
	return countFlag(fs, "threads", 0, "cores to use, `N` (0: all)")
}

// countFlag defines an int flag, value by default, that refuses a
// negative value.
func countFlag(fs *flag.FlagSet, name string, value int, usage string) *int {
	n := &value
	fs.Var((*count)(n), name, usage)
	return n
}

// count is the value of a countFlag.
type count int

func (c *count) String() string { return strconv.Itoa(int(*c)) }

func (c *count) Set(s string) error {
	n, err := strconv.Atoi(s)
	switch {
	case err != nil:
		return errors.New("want a whole number")
	case n < 0:
		return errors.New("must not be negative")
	}
	*c = count(n)
	return nil
}

// given reports whether flag name was set on the command line.
func given(fs *flag.FlagSet, name string) bool {
	found := false
	fs.Visit(func(fl *flag.Flag) { found = found || fl.Name == name })
	return found
}

// resumeLength returns the length, --epochs or --steps (flag length, whose
// value is value()), to resume a run to: 0 (as long as it was made) if not
// given. It refuses flags that would change a resumed run: all but its
// length and how it runs.
func resumeLength(fs *flag.FlagSet, length string, value func() int) (int, error) {
	var bad []string
	fs.Visit(func(fl *flag.Flag) {
		switch fl.Name {
		case "resume", length, "threads", "replicas", "quiet", "max-memory", "tensorboard":
		default:
			bad = append(bad, "--"+fl.Name)
		}
	})
	if len(bad) > 0 {
		return 0, fmt.Errorf("--resume continues the run with its saved configuration; only --%s, --threads and --replicas may be given with it, not %s", length, strings.Join(bad, ", "))
	}
	if !given(fs, length) {
		return 0, nil
	}
	if n := value(); n > 0 {
		return n, nil
	}
	return 0, fmt.Errorf("--%s %d: must be positive", length, value())
}

// trained turns the error of training a run (run.Run.Train, which says
// what it leaves behind) into the command's: exit status 130 after Ctrl-C, 143 after SIGTERM.
func trained(err error) error {
	if errors.Is(err, context.Canceled) {
		return &exitError{interruptedStatus(), err}
	}
	return err
}

// testBatchHook, when set by a test, runs after every batch.
var testBatchHook func(train.Batch)

// trainRun trains an opened run and says how it went.
func trainRun(rn *run.Run, prog *progress.Reporter, quiet bool, stdout, stderr io.Writer) error {
	r, dir, tr := rn.Recipe, rn.Dir, rn.Trainer()
	switch rn.State {
	case run.Unfinished:
		return finish(rn, false, stdout, stderr)
	case run.StoppedEarly:
		fmt.Fprintf(stderr, "the run in %s stopped early after %s (no better validation loss for %s); nothing to do\n", dir, plural(tr.Epochs(), "epoch"), plural(r.Patience, "epoch"))
		return nil
	case run.Done:
		past := ""
		if _, batch := tr.Position(); batch > 0 {
			past = fmt.Sprintf(" and %d batches of the next", batch)
			if batch == 1 {
				past = " and 1 batch of the next"
			}
		}
		fmt.Fprintf(stderr, "the run in %s has done %s%s already; nothing to do (give --epochs more than %d to continue it)\n", dir, plural(tr.Epochs(), "epoch"), past, tr.Epochs())
		return nil
	}
	if rn.Resumed {
		epoch, _ := tr.Position()
		fmt.Fprintf(stderr, "resuming %s at epoch %d, step %d, up to epoch %d\n", dir, epoch+1, tr.Step(), r.Epochs)
		if rn.Extended && r.Schedule.Name != "constant" && r.Schedule.Name != "plateau" {
			// The schedule goes on as the run defined it: show the rates.
			lo, hi := rn.Rates()
			fmt.Fprintf(stderr, "the schedule goes on as the run defined it (%s): the extra epochs train at rates from %.3g to %.3g\n", r.Schedule, lo, hi)
			if hi < 1e-3*r.Optimizer.LR {
				fmt.Fprintf(stderr, "note: that is under a thousandth of lr %g, so the model will barely change; a new run with more --epochs would use them\n", r.Optimizer.LR)
			}
		}
	} else if !quiet {
		fmt.Fprintf(stderr, "training %s on %s (%d train, %d validation examples) with %s, %s of batch %d; writing %s\n",
			r.Model, r.Data, rn.Splits.Train.Len(), lenOf(rn.Splits.Val), r.Optimizer, plural(r.Epochs, "epoch"), r.Batch, dir)
	}
	prog.StartAt(tr.Epochs(), 0)
	ctx, stop := interruptible()
	defer stop()
	err := rn.Train(ctx)
	prog.Done()
	stopped := errors.Is(err, train.ErrStopped)
	if err != nil && !stopped {
		return trained(err)
	}
	return finish(rn, stopped, stdout, stderr)
}

// finish writes the files of a finished run and prints its table, and a
// warning for each figure it left out.
func finish(rn *run.Run, stopped bool, stdout, stderr io.Writer) error {
	s, err := rn.Finish(stopped)
	if err != nil {
		return err
	}
	warnFigures(stderr, rn.SkippedFigures)
	printSummary(stdout, rn.Recipe, rn.Trainer().History(), s, rn.Dir)
	return nil
}

// warnFigures prints why each figure of skipped was left out.
func warnFigures(stderr io.Writer, skipped []error) {
	for _, err := range skipped {
		fmt.Fprintf(stderr, "warning: %v\n", err)
	}
}

func lenOf(s *data.Set) int {
	if s == nil {
		return 0
	}
	return s.Len()
}

// plural writes n and noun, with an s unless n is 1.
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
