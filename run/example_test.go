package run_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/descentml/descent/recipe"
	"github.com/descentml/descent/run"
)

// A run directory's life: New creates and locks it and writes the recipe,
// Train checkpoints after each epoch, and Resume continues it later (after
// a crash, Ctrl-C or, here, Close), to more epochs if asked; Finish writes
// the model and summary.json. This is what descent train and descent train
// --resume do.
func Example() {
	tmp, err := os.MkdirTemp("", "descent-example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(tmp)
	dir := filepath.Join(tmp, "mlp")

	r := recipe.Default() // an MLP with batch norm and AdamW on the embedded digits
	r.Model.Hidden, r.Epochs = []int{16}, 1
	rn, err := run.New(r, dir, run.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := rn.Train(context.Background()); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("checkpoint:", rn.HasCheckpoint())
	rn.Close() // stopped before Finish: no model yet, but the checkpoint

	// Later, perhaps in another process: two epochs in all.
	rn, err = run.Resume(dir, 2, run.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer rn.Close()
	fmt.Println("resumed:", rn.Resumed, "extended:", rn.Extended, "epochs done:", rn.Trainer().Epochs())
	if err := rn.Train(context.Background()); err != nil {
		fmt.Println(err)
		return
	}
	s, err := rn.Finish(false)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("summary: epochs", s.Epochs, "tested:", s.TestAccuracy != nil)
	for _, f := range []string{run.ConfigFile, run.SummaryFile, run.ModelFile} {
		_, err := os.Stat(filepath.Join(dir, f))
		fmt.Println(f, err == nil)
	}
	// Output:
	// checkpoint: true
	// resumed: true extended: true epochs done: 1
	// summary: epochs 2 tested: true
	// config.json true
	// summary.json true
	// model.safetensors true
}
