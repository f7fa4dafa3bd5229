package main

import (
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/descentml/descent/internal/progress"
	"github.com/descentml/descent/recipe"
	"github.com/descentml/descent/run"
	"github.com/descentml/descent/train"
)

// testStepHook, when set by a test, runs after every step of a language
// model's run.
var testStepHook func(train.SeqStep)

// trainText trains a language model: a new run of the flags' recipe in
// out, or the run in resume continued (to --steps in all, if given).
func trainText(fs *flag.FlagSet, f *recipe.Flags, resume, out string, quiet bool, opts run.Options, prog *progress.Reporter, stdout, stderr io.Writer) error {
	var rn *run.TextRun
	if resume != "" {
		steps, err := resumeLength(fs, "steps", func() int { r, _ := f.Recipe(); return r.Steps })
		if err != nil {
			return err
		}
		if rn, err = run.ResumeText(resume, steps, opts); err != nil {
			return err
		}
		if rn.Located != "" {
			fmt.Fprintf(stderr, "note: %s\n", rn.Located)
		}
		if rn.SkippedCheckpoint != nil {
			fmt.Fprintf(stderr, "warning: %v\ncontinuing from the previous checkpoint, at step %d\n", rn.SkippedCheckpoint, rn.Trainer().Step())
		}
	} else {
		r, err := f.Recipe()
		if err != nil {
			return err
		}
		if rn, err = run.NewText(r, out, opts); err != nil {
			return err
		}
	}
	defer rn.Close()
	r, tr := rn.Recipe, rn.Trainer()
	switch rn.State {
	case run.Done:
		fmt.Fprintf(stderr, "the run in %s has done %d steps already; nothing to do (give --steps more than %d to continue it)\n", rn.Dir, tr.Step(), tr.Step())
		return nil
	case run.Unfinished:
		return finishText(rn, stdout, stderr)
	}
	if rn.Resumed {
		fmt.Fprintf(stderr, "resuming %s at step %d, up to step %d\n", rn.Dir, tr.Step(), r.Steps)
	} else if !quiet {
		fmt.Fprintf(stderr, "training %s on %s (%d train, %d validation tokens, vocabulary of %d) with %s, %d steps of %d windows; writing %s\n",
			r.Model, r.Data, len(rn.Text.Train), len(rn.Text.Val), rn.Text.Vocab.Len(), r.Optimizer, r.Steps, r.Batch, rn.Dir)
	}
	ctx, stop := interruptible()
	defer stop()
	var tokens int64
	if h := tr.History(); len(h) > 0 {
		tokens = h[len(h)-1].Tokens
	}
	prog.StartAt(tr.Step(), tokens)
	prog.BitsUnit = rn.Recipe.BitsUnit()
	err := rn.Train(ctx)
	prog.Done()
	if err != nil {
		return trained(err)
	}
	return finishText(rn, stdout, stderr)
}

// finishText writes the files of a finished language model's run and
// prints its summary, and a warning for each figure it left out.
func finishText(rn *run.TextRun, stdout, stderr io.Writer) error {
	s, err := rn.Finish()
	if err != nil {
		return err
	}
	warnFigures(stderr, rn.SkippedFigures)
	var b strings.Builder
	fmt.Fprintf(&b, "%s, %s, %d parameters, vocabulary of %d: %d steps, %d tokens in %.1fs (%.0f tokens/s)\n",
		rn.Recipe.Model, rn.Recipe.Optimizer, s.Params, s.Vocab, s.Steps, s.Tokens, s.Seconds, s.TokensPerSecond)
	if s.FinalValBPC != nil {
		fmt.Fprintf(&b, "validation loss %.4f, %.3f %s\n", *s.FinalValLoss, *s.FinalValBPC, rn.Recipe.BitsUnit())
	}
	if s.TestBPC != nil {
		fmt.Fprintf(&b, "test loss %.4f, %.3f %s, perplexity %.2f\n", *s.TestLoss, *s.TestBPC, rn.Recipe.BitsUnit(), *s.TestPerplexity)
	}
	fmt.Fprintf(&b, "wrote %s\n", rn.Dir)
	_, err = io.WriteString(stdout, b.String())
	return err
}
