package run

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/descentml/descent/comm"
	"github.com/descentml/descent/internal/atomicfile"
	"github.com/descentml/descent/recipe"
	"github.com/descentml/descent/train"
)

// runDir is what an opened run directory is, whatever it trains: a
// classifier by epochs (Run) or a language model by steps (TextRun).
type runDir struct {
	Dir    string
	Recipe recipe.Recipe // resolved for the data: what config.json holds
	State  State
	// Resumed says the run was opened to resume it; Extended that it was
	// asked for another length (epochs or steps) than it was made for.
	Resumed, Extended bool
	// SkippedFigures, after Finish, says which figures were left out and
	// why: their numbers could not be drawn (Plot). The run's other files
	// are written, and Finish returns no error for them: a warning.
	SkippedFigures []error
	// SkippedCheckpoint, after resuming, says why the latest checkpoint
	// could not be used and the run went on from the previous one
	// (PrevCheckpointFile); nil when it went on from the latest.
	SkippedCheckpoint error
	// Located, after resuming, says where the data file or directory that
	// config.json names by a relative path was found, if not as given
	// (recipe.Recipe.Locate): a config.json from before they were saved
	// absolute; "" otherwise.
	Located string

	lock *Lock
	made string // by claim: the highest directory it made, which abandon removes (mkdirs)
	tb   events // with Options.TensorBoard
}

// claim makes and locks the directory of a new run (claimDir) on rank 0
// of c, before anything slow is done, and gives every rank its path, or
// rank 0's error.
func (d *runDir) claim(c *comm.Comm) error {
	var err error
	if leader(c) {
		d.Dir, d.lock, d.made, err = claimDir(d.Dir)
	}
	return fromLeader(c, &d.Dir, err, "rank 0 could not create the run directory")
}

// Close releases the run's directory (see LockDir) and closes its
// TensorBoard event file. The lock dies with the process too, and may be
// dropped once the run is no longer reachable: keep it until the run is
// done.
func (d *runDir) Close() error { return errors.Join(d.tb.close(), d.lock.Unlock()) }

// Checkpoint returns the path of the run's checkpoint file.
func (d *runDir) Checkpoint() string { return filepath.Join(d.Dir, CheckpointFile) }

// HasCheckpoint reports whether the run has written a checkpoint.
func (d *runDir) HasCheckpoint() bool {
	_, err := os.Stat(d.Checkpoint())
	return err == nil
}

// abandon removes the files of a new run that ended before its first
// checkpoint, and releases its directory, which it removes if claim made
// it: nothing of the run can be continued, and the directory can then be
// used again.
func (d *runDir) abandon(files ...string) {
	if d.lock == nil {
		return // not this rank's directory, or never created
	}
	d.tb.remove()
	removeFiles(d.Dir, append(files, ConfigFile, MetricsFile)...)
	d.lock.unlockRemove()
	unmake(d.Dir, d.made)
}

// reopen brings the files of a resumed run, d, up to date with its
// checkpoint, whose history is hist: metrics.jsonl may hold a record the
// checkpoint does not (a kill between the two writes), and the
// checkpoint's history is the truth. A run with more to train has its
// model and summary from an earlier end removed, so that they do not look
// current if it is killed, and an extended run's config.json records its
// new length.
func reopen[E any](d *runDir, hist []E, c *comm.Comm) error {
	if err := writeJSONLines(filepath.Join(d.Dir, MetricsFile), hist); err != nil {
		return err
	}
	if d.State != Ready {
		return nil
	}
	if err := removeFiles(d.Dir, ModelFile, SummaryFile); err != nil {
		return err
	}
	if d.Extended {
		return writeConfig(d.Dir, d.Recipe, c)
	}
	return nil
}

// Interrupted is the error of a run that its context stopped after
// writing a checkpoint: it says how far the run got and how to continue
// it, and it matches context.Canceled.
type Interrupted struct{ msg string }

func (e *Interrupted) Error() string { return e.msg }
func (e *Interrupted) Unwrap() error { return context.Canceled }

// ResumeCommand returns the command that continues the run.
func (d *runDir) ResumeCommand() string { return "descent train --resume " + d.Dir }

// explain returns the error of training the run, err, saying what it
// leaves behind: how to continue an interrupted run (Interrupted, with
// resume, the command that continues it), the checkpoint a failed run can
// go on from, or why there is none. done says how far the run got ("3
// epochs and 200 steps"), last when its last good checkpoint was written
// ("after epoch 3"), none why a new run has no checkpoint when none was
// due yet ("no epoch finished").
func (d *runDir) explain(err error, resume, done, last, none string) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, context.Canceled) && err != context.Canceled:
		// Train joins a failed checkpoint write to the cancellation.
		return fmt.Errorf("interrupted, but the checkpoint could not be written: %w\n(the last one written, if any, is in %s)", err, d.Checkpoint())
	case errors.Is(err, context.Canceled):
		return &Interrupted{fmt.Sprintf("interrupted after %s; the checkpoint is saved: continue with\n  %s", done, resume)}
	case d.HasCheckpoint():
		return fmt.Errorf("%w\n(the last good checkpoint, %s, is in %s)", err, last, d.Checkpoint())
	case d.Resumed:
		return err
	case errors.Is(err, train.ErrCheckpoint):
		return fmt.Errorf("%w\n(it was the run's first checkpoint, so there is none to resume from; %s can be used again)", err, d.Dir)
	}
	return fmt.Errorf("%w\n(%s, so there is no checkpoint; %s can be used again)", err, none, d.Dir)
}

// resumedFrom notes that the run resumed from the checkpoint at from,
// passing over the latest for the reason skipped (nil if from is the
// latest). The damaged latest would become the previous checkpoint at the
// next save, so the one resumed from takes its place (on rank 0 of c).
// Every rank calls it, and every rank returns an error if rank 0 failed.
func (d *runDir) resumedFrom(from string, skipped error, c *comm.Comm) error {
	d.SkippedCheckpoint = skipped
	var err error
	if skipped != nil && leader(c) {
		b, rerr := os.ReadFile(from)
		if rerr == nil {
			rerr = atomicfile.WriteFile(d.Checkpoint(), b)
		}
		if rerr != nil {
			err = fmt.Errorf("cannot resume %s: %w", d.Dir, rerr)
		}
	}
	return together(c, err, "rank 0 could not put the previous checkpoint in place of the damaged one")
}

// mkdirs makes dir and any parents it lacks, as os.MkdirAll, and returns
// the highest directory it made ("" if dir was there), so that a run or
// command that fails can take away what it made (unmake), parents and
// all: runs/ of runs/<date>-<time>, say.
func mkdirs(dir string) (made string, err error) {
	for p := filepath.Clean(dir); ; p = filepath.Dir(p) {
		if _, err := os.Lstat(p); !errors.Is(err, os.ErrNotExist) {
			break
		}
		made = p
		if filepath.Dir(p) == p {
			break
		}
	}
	return made, os.MkdirAll(dir, 0o755)
}

// unmake removes dir and its parents up to made (mkdirs), each only if it
// is empty: nothing made since is lost.
func unmake(dir, made string) {
	if made == "" {
		return
	}
	for p := filepath.Clean(dir); ; p = filepath.Dir(p) {
		if os.Remove(p) != nil || p == made || filepath.Dir(p) == p {
			return
		}
	}
}
