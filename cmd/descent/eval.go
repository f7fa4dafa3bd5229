package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/descentml/descent/nn"
	"github.com/descentml/descent/run"
	"github.com/descentml/descent/tensor"
	"github.com/descentml/descent/train"
)

const aboutEval = `Evaluates the model a "descent train" run saved in DIR on a dataset split:
by default the test split of the dataset it was trained on. The data is
standardised with the training run's statistics and its classes keep their
numbering. Prints the loss and accuracy (as JSON with --json).`

func runEval(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("eval", "--model DIR [flags]", aboutEval)
	dir := fs.String("model", "", "the run directory of a trained model (required)")
	dataSpec := fs.String("data", "", "dataset to evaluate on (default: the one it was trained on): digits, mnist, fashion-mnist, csv:PATH")
	dataDir := fs.String("data-dir", "", "directory holding IDX files (default: the run's, then $DESCENT_DATA)")
	label := fs.String("label", "", "csv: the label column (default: the run's)")
	split := fs.String("split", "test", "split to evaluate: test, val or train")
	batch := fs.Int("batch", 256, "batch size")
	threads := fs.Int("threads", 0, "cores to use (0: all)")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	if err := parseFlags(fs, args, stdout, stderr); err != nil {
		return err
	}
	if *dir == "" {
		fmt.Fprintln(stderr, "descent eval: --model DIR is required")
		return errUsage
	}
	tensor.SetThreads(*threads)
	r, info, err := run.Read(*dir)
	if err != nil {
		return fmt.Errorf("%s is not a training run: %w", *dir, err)
	}
	if *dataSpec != "" {
		r.Data = *dataSpec
	}
	if *dataDir != "" {
		r.DataDir = *dataDir
	}
	if *label != "" {
		r.Label = *label
	}
	splits, err := r.LoadData(info.Norm, info.Classes)
	if err != nil {
		return err
	}
	ds := splits.Test
	switch *split {
	case "test":
	case "val":
		ds = splits.Val
	case "train":
		ds = splits.Train
	default:
		return fmt.Errorf("--split %q: want test, val or train", *split)
	}
	if ds == nil {
		return fmt.Errorf("%s has no %s split", r.Data, *split)
	}
	if !tensor.SameShape(ds.Shape(), info.Shape) {
		return fmt.Errorf("the model was trained on examples of shape %v; %s has %v", info.Shape, r.Data, ds.Shape())
	}
	b, err := os.ReadFile(filepath.Join(*dir, run.ModelFile))
	if err != nil {
		return err
	}
	// The run's model, with a trainer that takes no step, to evaluate.
	r.Epochs, r.Batch = 1, *batch
	built, err := r.Build(splits, train.Config{})
	if err != nil {
		return err
	}
	if err := nn.Load[float32](built.Model, b); err != nil {
		return fmt.Errorf("%s: %w", filepath.Join(*dir, run.ModelFile), err)
	}
	loss, acc, err := built.Trainer.Evaluate(ds)
	if err != nil {
		return err
	}
	if *asJSON {
		return json.NewEncoder(stdout).Encode(map[string]any{"data": r.Data, "split": *split, "examples": ds.Len(), "loss": loss, "accuracy": acc})
	}
	fmt.Fprintf(stdout, "%s %s (%d examples): loss %.4f, accuracy %s\n", r.Data, *split, ds.Len(), loss, pct(acc))
	return nil
}
