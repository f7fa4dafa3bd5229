package main

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/descentml/descent/run"
	"github.com/descentml/descent/tensor"
)

const aboutEval = `Evaluates the model a "descent train" run saved in DIR on a dataset split:
by default the test split of the dataset it was trained on. The data is
standardised with the training run's statistics and its classes keep their
numbering. Prints the loss and accuracy (as JSON with --json).`

func runEval(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("eval", "--model DIR [flags]", aboutEval)
	dir := fs.String("model", "", "the run directory of a trained model (required)")
	dataSpec := fs.String("data", "", "dataset to evaluate on (default: the one it was trained on): digits, mnist, fashion-mnist, csv:PATH; for a language model text, text:PATH or kjv")
	dataDir := fs.String("data-dir", "", "directory holding IDX files (default: the run's, then $DESCENT_DATA)")
	label := fs.String("label", "", "csv: the label column (default: the run's)")
	split := fs.String("split", "test", "split to evaluate: test, val or train")
	batch := fs.Int("batch", 256, "batch size")
	threads := threadsFlag(fs)
	asJSON := fs.Bool("json", false, "print the result as JSON")
	maxMem := maxMemoryFlag(fs, "the model and a batch")
	if err := parseFlags(fs, args, stdout, stderr); err != nil {
		return err
	}
	limit, err := maxMemory(*maxMem)
	if err != nil {
		return err
	}
	if *dir == "" {
		fmt.Fprintln(stderr, "descent eval: --model DIR is required")
		return errUsage
	}
	tensor.SetThreads(*threads)
	if *split != "test" && *split != "val" && *split != "train" {
		return fmt.Errorf("--split %q: want test, val or train", *split)
	}
	ev, err := run.Evaluate(*dir, run.Eval{Data: *dataSpec, DataDir: *dataDir, Label: *label, Split: *split, Batch: *batch, MaxMemory: limit})
	if err != nil {
		return err
	}
	if ev.Located != "" {
		fmt.Fprintf(stderr, "note: %s\n", ev.Located)
	}
	if *asJSON {
		return json.NewEncoder(stdout).Encode(ev)
	}
	if ev.BitsPerChar != nil {
		fmt.Fprintf(stdout, "%s %s (%d tokens): loss %.4f, %.3f %s, perplexity %.2f, next-token accuracy %s\n",
			ev.Data, ev.Split, ev.Examples, ev.Loss, *ev.BitsPerChar, ev.BitsUnit, *ev.Perplexity, pct(ev.Accuracy))
		return nil
	}
	fmt.Fprintf(stdout, "%s %s (%d examples): loss %.4f, accuracy %s\n", ev.Data, ev.Split, ev.Examples, ev.Loss, pct(ev.Accuracy))
	return nil
}
