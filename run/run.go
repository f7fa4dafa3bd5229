package run

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/descentml/descent/comm"
	"github.com/descentml/descent/data"
	"github.com/descentml/descent/internal/atomicfile"
	"github.com/descentml/descent/nn"
	"github.com/descentml/descent/recipe"
	"github.com/descentml/descent/train"
)

// The files of a run directory.
const (
	ConfigFile     = "config.json"
	DataFile       = "data.json"
	MetricsFile    = "metrics.jsonl"
	SummaryFile    = "summary.json"
	ModelFile      = "model.safetensors"
	CheckpointFile = "checkpoint.safetensors"
	// PrevCheckpointFile is the checkpoint before the latest, which Resume
	// falls back on when the latest is damaged.
	PrevCheckpointFile = "checkpoint.prev.safetensors"
)

// Data is data.json: what a saved model needs to read new data as it read
// its training data.
type Data struct {
	Shape   []int            `json:"shape"`
	Classes []string         `json:"classes,omitempty"`
	Norm    *data.Normalizer `json:"normalizer"`
}

// Summary is summary.json: a finished run's final numbers.
type Summary struct {
	TestLoss        *float64 `json:"test_loss,omitempty"`
	TestAccuracy    *float64 `json:"test_accuracy,omitempty"`
	BestValAccuracy *float64 `json:"best_val_accuracy,omitempty"`
	FinalValLoss    *float64 `json:"final_val_loss,omitempty"`
	Epochs          int      `json:"epochs"`
	Steps           int      `json:"steps"`
	Seconds         float64  `json:"seconds"`
	Params          int      `json:"params"`
	StoppedEarly    bool     `json:"stopped_early,omitempty"`
	Ranks           int      `json:"ranks,omitempty"` // processes of a data-parallel run (its last part, if resumed with another number)
}

// State is where an opened run stands.
type State int

const (
	// Ready is a run with epochs to train: a new one, or one resumed
	// before its end.
	Ready State = iota
	// Unfinished is a run that trained to its end and was stopped before
	// its model was written: Finish completes it.
	Unfinished
	// Done is a run that has trained as many epochs as asked (or more):
	// nothing to do.
	Done
	// StoppedEarly is a run that early stopping ended: nothing to do.
	StoppedEarly
)

// Options are what a run needs besides its recipe, for runs of every
// kind.
type Options struct {
	// OnBatch and OnEpoch, if set, report the progress of a run that counts
	// epochs; OnStep and OnEval that of a language model's run (text.go),
	// which counts steps.
	OnBatch func(train.Batch)
	OnEpoch func(train.Epoch)
	OnStep  func(train.SeqStep)
	OnEval  func(train.SeqMetrics)
	// MaxMemory is the most memory, in bytes, the run's model, optimizer
	// and batch may need (recipe.Recipe.Memory): a run that needs more is
	// refused before anything is allocated or written. 0 means the memory
	// the machine has available; a negative value checks nothing.
	MaxMemory int64
	// Comm, if it has several processes, makes the run data-parallel
	// (distributed.go): every rank calls New or Resume, Train, and Close;
	// rank 0 alone touches the directory, and calls Finish. nil: one
	// process.
	Comm *comm.Comm
	// TensorBoard, if set, also writes the metrics of each epoch (or
	// evaluation of a language model's run) as TensorBoard scalars, into
	// an event file in the run directory (package tensorboard; a resumed
	// run starts a new file), at the optimizer step.
	TensorBoard bool
}

// Run is a run directory opened to train: its recipe built on its data.
// Its Dir, Recipe, State, Resumed and Extended, Close, Checkpoint and
// HasCheckpoint are those of runs of every kind (dir.go).
type Run struct {
	runDir
	Data   Data
	Splits *data.Splits
	Built  *recipe.Run // the model, optimizer and trainer

	comm *comm.Comm
}

// Trainer returns the run's trainer.
func (r *Run) Trainer() *train.Trainer[float32] { return r.Built.Trainer }

// DefaultDir returns a directory under runs/ that does not exist yet,
// named by prefix and the time: runs/<prefix>-<date>-<time>, or
// runs/<date>-<time> for prefix "".
func DefaultDir(prefix string) string {
	stamp := time.Now().Format("2006-01-02-150405")
	if prefix != "" {
		stamp = prefix + "-" + stamp
	}
	dir := filepath.Join("runs", stamp)
	for i := 2; exists(dir); i++ {
		dir = filepath.Join("runs", fmt.Sprintf("%s-%d", stamp, i))
	}
	return dir
}

// New starts a new run of r in dir (DefaultDir("") if ""): it validates r,
// creates and locks the directory (before anything slow, so that a second
// process given the same directory is refused at once), loads and
// standardises the data (a relative csv: path, or data directory, is made
// absolute: recipe.Recipe.Absolute), resolves r for it, writes
// config.json and data.json, and builds the model, optimizer and
// trainer. The directory must be new or empty: one with other files is
// refused, naming them, so that nothing is overwritten. It is locked until
// Close (LockDir): a directory another process is using is an error that
// says which. A directory that already holds a run is an error that says
// how to continue it. If the data cannot be loaded or the run cannot be
// built, its files are removed again (and the directory, if New made it),
// so that the directory can be used again.
func New(r recipe.Recipe, dir string, opts Options) (*Run, error) {
	c := opts.Comm
	r, err := r.Absolute()
	if err == nil {
		err = r.Validate()
	}
	if err := together(c, err, "another rank's recipe is not valid"); err != nil {
		return nil, err
	}
	run := &Run{runDir: runDir{Dir: dir}, comm: c}
	if err := run.claim(c); err != nil { // before the data loads: a second process is refused at once
		return nil, err
	}
	splits, err := loadOnce(c, func() (*data.Splits, error) { return r.LoadData(nil, nil) }, "another rank could not load the data")
	if err != nil {
		run.abandon()
		return nil, err
	}
	r, err = resolve(r, splits, opts)
	if err := together(c, err, "another rank could not fit the recipe to the data"); err != nil {
		run.abandon()
		return nil, err
	}
	if err := agreeRecipe(c, r); err != nil {
		run.abandon()
		return nil, err
	}
	run.Recipe, run.Splits = r, splits
	run.Data = Data{Shape: splits.Train.Shape(), Classes: splits.Train.ClassNames, Norm: splits.Norm}
	if leader(c) {
		err = run.write()
	}
	if err := together(c, err, "rank 0 could not write the run's files"); err != nil {
		run.abandon()
		return nil, err
	}
	if err := run.build(opts); err != nil {
		run.abandon()
		return nil, err
	}
	return run, nil
}

// resolve resolves r for its data, splits, and checks the memory it
// needs.
func resolve(r recipe.Recipe, splits *data.Splits, opts Options) (recipe.Recipe, error) {
	r = r.Resolve(splits.Train.Len())
	r, err := r.Route(splits.Train.Shape(), splits.Train.Classes())
	if err != nil {
		return r, err
	}
	return r, checkMemory(r, splits, opts.MaxMemory, opts.copies())
}

// write writes the config.json and data.json of a new run into its
// claimed directory.
func (run *Run) write() error {
	if err := writeConfig(run.Dir, run.Recipe, run.comm); err != nil {
		return err
	}
	return atomicfile.WriteJSON(filepath.Join(run.Dir, DataFile), run.Data)
}

// Read reads the recipe and the data description of the run in dir.
func Read(dir string) (recipe.Recipe, Data, error) {
	var r recipe.Recipe
	var d Data
	if err := readJSON(filepath.Join(dir, ConfigFile), &r); err != nil {
		return r, d, err
	}
	if err := readJSON(filepath.Join(dir, DataFile), &d); err != nil {
		return r, d, err
	}
	return r, d, nil
}

// Resume opens the run in dir to continue it up to epochs epochs in all
// (0: as many as it was made for), from its checkpoint. config.json files
// of every earlier version read as they were written. The returned run's
// State says what is left: Ready runs train on (their model and summary
// from an earlier end are removed, so that they do not look current if
// the run is killed; an extended run's config.json records the new
// length), Unfinished ones need only Finish, and Done and StoppedEarly
// ones nothing.
func Resume(dir string, epochs int, opts Options) (*Run, error) {
	if epochs < 0 {
		return nil, fmt.Errorf("run: epochs %d: must be positive", epochs)
	}
	lock, err := lockToResume(dir, opts.Comm)
	if err != nil {
		return nil, err
	}
	run, err := resume(dir, epochs, opts)
	if err != nil {
		lock.Unlock()
		return nil, err
	}
	run.lock = lock
	return run, nil
}

// lockToResume locks the directory of the run to resume, dir, on rank 0
// (on the one process of a run that is not data-parallel); every rank
// fails if it cannot.
func lockToResume(dir string, c *comm.Comm) (*Lock, error) {
	var lock *Lock
	var err error
	if leader(c) {
		if _, err = os.Stat(dir); err != nil {
			err = fmt.Errorf("cannot resume %s: %w", dir, err)
		} else if lock, err = LockDir(dir, "descent train --resume"); err != nil {
			err = fmt.Errorf("cannot resume %s: %w", dir, err)
		}
	}
	return lock, together(c, err, "rank 0 could not open "+dir)
}

// saved is what rank 0 reads of a run directory to resume it.
type saved struct {
	Recipe   recipe.Recipe
	Data     Data
	HasModel bool
	Located  string // where a relative data path was found (recipe.Recipe.Locate)
}

// read reads the run in dir to resume it.
func read(dir string) (saved, error) {
	var sv saved
	var err error
	if sv.Recipe, sv.Data, err = Read(dir); err != nil {
		return sv, fmt.Errorf("cannot resume %s: %w", dir, err)
	}
	sv.Recipe, sv.Located = sv.Recipe.Locate(dir)
	if _, err := os.Stat(filepath.Join(dir, CheckpointFile)); errors.Is(err, os.ErrNotExist) && !exists(filepath.Join(dir, PrevCheckpointFile)) {
		return sv, noCheckpoint(dir, "the run was killed in its first epoch, or is still in it")
	} else if err != nil && !errors.Is(err, os.ErrNotExist) {
		return sv, fmt.Errorf("cannot resume %s: %w", dir, err)
	}
	sv.HasModel = exists(filepath.Join(dir, ModelFile))
	return sv, nil
}

func resume(dir string, epochs int, opts Options) (*Run, error) {
	c := opts.Comm
	var sv saved
	var err error
	if leader(c) {
		sv, err = read(dir)
	}
	if err := fromLeader(c, &sv, err, "rank 0 could not read "+dir); err != nil {
		return nil, err
	}
	r, d := sv.Recipe, sv.Data
	if err := r.Validate(); err != nil {
		return nil, fmt.Errorf("cannot resume %s: %s: %w", dir, ConfigFile, err)
	}
	splits, err := loadOnce(c, func() (*data.Splits, error) { return r.LoadData(d.Norm, d.Classes) },
		"another rank could not load the data")
	if err != nil {
		return nil, err
	}
	// Saved resolved, a recipe keeps its schedule's lengths when the run
	// is continued for more epochs; a config.json from before recipes were
	// saved so is resolved here for the epochs it ran, before epochs.
	r = r.Resolve(splits.Train.Len())
	if err = checkMemory(r, splits, opts.MaxMemory, opts.copies()); err != nil {
		err = fmt.Errorf("cannot resume %s: %w", dir, err)
	}
	if err := together(c, err, "another rank refused the memory the run needs"); err != nil {
		return nil, err
	}
	run := &Run{runDir: runDir{Dir: dir, Recipe: r, Resumed: true, Located: sv.Located}, Data: d, Splits: splits, comm: c}
	if epochs > 0 && epochs != r.Epochs {
		run.Recipe.Epochs, run.Extended = epochs, true
	}
	if err := run.build(opts); err != nil {
		return nil, err
	}
	tr := run.Trainer()
	from, skipped, err := tr.ResumeLatest(run.Checkpoint())
	if err != nil {
		return nil, err
	}
	if err := run.resumedFrom(from, skipped, c); err != nil {
		return nil, err
	}
	epoch, batch := tr.Position()
	done := epoch >= run.Recipe.Epochs || tr.StoppedEarly()
	switch {
	case done && batch == 0 && !sv.HasModel:
		run.State = Unfinished // the checkpoint is the finished run
	case tr.StoppedEarly():
		run.State = StoppedEarly
	case done:
		run.State = Done
	}
	if leader(c) {
		err = run.reopen()
	}
	if err := together(c, err, "rank 0 could not write to "+dir); err != nil {
		return nil, err
	}
	return run, nil
}

// reopen brings the files of a resumed run up to date with its checkpoint.
func (run *Run) reopen() error { return reopen(&run.runDir, run.Trainer().History(), run.comm) }

// build builds the recipe on the data, with the run's files as the
// trainer's checkpoint and metrics log.
func (r *Run) build(opts Options) error {
	metrics := filepath.Join(r.Dir, MetricsFile)
	r.tb = events{dir: r.Dir, on: opts.TensorBoard}
	cfg := train.Config{
		Checkpoint: r.Checkpoint(),
		OnBatch:    opts.OnBatch,
		OnEpoch: func(e train.Epoch) error {
			if opts.OnEpoch != nil {
				opts.OnEpoch(e)
			}
			if !leader(opts.Comm) {
				return nil
			}
			if err := r.tb.epoch(e); err != nil {
				return err
			}
			return appendJSONLine(metrics, e)
		},
		Comm: opts.Comm,
	}
	built, err := r.Recipe.Build(r.Splits, cfg)
	if err != nil {
		return err
	}
	r.Built = built
	return nil
}

// Rates returns the lowest and highest learning rate the steps left to
// train will use: what an extended run's schedule gives its extra epochs.
func (r *Run) Rates() (lo, hi float64) {
	lr := r.Built.Optimizer.Schedule(0)
	end := r.Recipe.Epochs * r.Recipe.StepsPerEpoch(r.Splits.Train.Len())
	lo, hi = math.Inf(1), math.Inf(-1)
	for t := r.Trainer().Step(); t < end; t++ {
		lo, hi = min(lo, lr.At(t)), max(hi, lr.At(t))
	}
	return lo, hi
}

// Train trains the run to its end, or until ctx is cancelled (a
// checkpoint is then written, and the error, an *Interrupted, says how to
// continue) or early stopping ends it (its error matches
// train.ErrStopped). A failure's error names the last good checkpoint; a
// new run that fails before its first checkpoint has its files removed,
// so that its directory can be used again.
func (r *Run) Train(ctx context.Context) error {
	err := r.Trainer().Run(ctx)
	if errors.Is(err, train.ErrStopped) {
		return err
	}
	if err != nil && !errors.Is(err, context.Canceled) && !r.Resumed && !r.HasCheckpoint() {
		r.abandon()
	}
	tr := r.Trainer()
	return r.explain(err, fmt.Sprintf("%s --epochs %d", r.ResumeCommand(), r.Recipe.Epochs),
		plural(tr.Epochs(), "epoch")+" and "+plural(tr.Step(), "step"),
		fmt.Sprintf("after epoch %d", tr.CheckpointEpochs()), "no epoch finished")
}

// Finish writes the model, the summary and the plots of a run that has
// trained, and returns the summary. stopped says early stopping ended it.
// In a data-parallel run every rank calls it; rank 0 writes the files.
func (r *Run) Finish(stopped bool) (Summary, error) {
	s, err := r.finish(stopped)
	return s, together(r.comm, err, "rank 0 could not write the run's files")
}

func (r *Run) finish(stopped bool) (Summary, error) {
	tr := r.Trainer()
	// Every rank evaluates its share of the test set (a data-parallel
	// evaluation is collective), before rank 0 alone writes.
	var testLoss, testAcc float64
	if r.Splits.Test != nil {
		var err error
		if testLoss, testAcc, err = tr.Evaluate(r.Splits.Test); err != nil {
			return Summary{}, err
		}
	}
	write := leader(r.comm)
	if write {
		var model strings.Builder
		err := tr.AtEvalPoint(func() error { // Schedule-Free's x, or the average
			return nn.Save[float32](&model, r.Built.Model)
		})
		if err != nil {
			return Summary{}, err
		}
		if err := atomicfile.WriteFile(filepath.Join(r.Dir, ModelFile), []byte(model.String())); err != nil {
			return Summary{}, err
		}
	}
	hist := tr.History()
	s := Summary{Epochs: len(hist), Steps: tr.Step(), StoppedEarly: stopped || tr.StoppedEarly()}
	if n := ranks(r.comm); n > 1 {
		s.Ranks = n
	}
	for _, e := range hist {
		s.Seconds += e.Seconds
		if !math.IsNaN(e.ValAccuracy) && (s.BestValAccuracy == nil || e.ValAccuracy > *s.BestValAccuracy) {
			s.BestValAccuracy = ptr(e.ValAccuracy)
		}
	}
	if n := len(hist); n > 0 && !math.IsNaN(hist[n-1].ValLoss) {
		s.FinalValLoss = ptr(hist[n-1].ValLoss)
	}
	for _, p := range r.Built.Model.Params() {
		s.Params += len(p.Value)
	}
	if r.Splits.Test != nil {
		s.TestLoss, s.TestAccuracy = ptr(testLoss), ptr(testAcc)
	}
	if !write {
		return s, nil
	}
	if err := atomicfile.WriteJSON(filepath.Join(r.Dir, SummaryFile), s); err != nil {
		return Summary{}, err
	}
	skipped, err := Plot(r.Dir, hist)
	if err != nil {
		return Summary{}, err
	}
	r.SkippedFigures = skipped
	return s, nil
}

func (r *Run) abandon() { r.runDir.abandon(DataFile) }

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

// contents lists the files of dir other than the lock, as an error shows
// them: a few names, and how many more.
func contents(dir string) string {
	entries, _ := os.ReadDir(dir)
	var names []string
	for _, e := range entries {
		if e.Name() != LockFile {
			names = append(names, e.Name())
		}
	}
	if len(names) > 4 {
		names = append(names[:3], fmt.Sprintf("%d more", len(names)-3))
	}
	return strings.Join(names, ", ")
}

func ptr(v float64) *float64 { return &v }

// noCheckpoint is the error of resuming the run in dir, which has no
// checkpoint: a finished run's were removed (its model is there); else
// why, which says how the run got so.
func noCheckpoint(dir, why string) error {
	if exists(filepath.Join(dir, ModelFile)) {
		return fmt.Errorf("cannot resume %s: its checkpoints (%s, %s) have been removed; its finished model is %s, but the run cannot be continued: start a new one", dir, CheckpointFile, PrevCheckpointFile, filepath.Join(dir, ModelFile))
	}
	return fmt.Errorf("cannot resume %s: it has no checkpoint (%s); remove the directory to start the run again there", dir, why)
}

// plural writes n and noun, with an s unless n is 1.
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
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
	return atomicfile.WriteFile(path, b)
}

// OutputDir returns the output directory of a command that writes file
// (compare, lr-find, tune, landscape): dir, or DefaultDir(name) if dir is
// "". It refuses a directory that already holds such results, or those of
// another command (CheckOutput), so that nothing is overwritten. It makes
// no directory: the command makes it when it writes its results, so that
// one that fails leaves none behind.
func OutputDir(name, dir, file string) (string, error) {
	if dir == "" {
		dir = DefaultDir(name)
	}
	if err := checkOutput(name, dir, file); err != nil {
		return "", err
	}
	return dir, nil
}

// results are the files by which a directory is known to hold what a
// descent command wrote, each with the name that command gives OutputDir
// and what the file says the directory holds. explore and landscape name
// the files of their results; a test checks that this list agrees.
var results = []struct{ file, command, what string }{
	{ConfigFile, "train", "a training run"},
	{"compare.json", "compare", "the results of a compare"},
	{"adamw-vs-l2.json", "adamw-vs-l2", "the results of a compare --preset adamw-vs-l2"},
	{"lr-find.json", "lr-find", "the results of an lr-find"},
	{"landscape.json", "landscape", "the results of a landscape"},
	{"tune.json", "tune", "the results of a tune"},
	{"tune-journal.jsonl", "tune", "the journal of a tune"},
}

// CheckOutput returns an error if dir holds what a descent command other
// than name wrote (results: a training run, a comparison, ...), naming
// it: a command's files would overwrite the other's, or be taken for
// them. A command that continues its own results in dir (tune, from its
// journal) calls it to refuse only the others'.
func CheckOutput(name, dir string) error {
	for _, r := range results {
		if r.command != name && exists(filepath.Join(dir, r.file)) {
			return fmt.Errorf("%s already holds %s (%s): give another --out", dir, r.what, r.file)
		}
	}
	return nil
}

// checkOutput returns an error if dir holds the results of a command: of
// name, which writes file, or of another.
func checkOutput(name, dir, file string) error {
	if exists(filepath.Join(dir, file)) {
		return fmt.Errorf("%s already holds the results of a %s (%s): give another --out", dir, name, file)
	}
	return CheckOutput(name, dir)
}
