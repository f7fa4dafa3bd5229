package run

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/descentml/descent/nn"
	"github.com/descentml/descent/tensor"
	"github.com/descentml/descent/train"
)

// Eval says what to evaluate a run's model on. Its zero value is the test
// split of the data the run trained on, in batches of 256.
type Eval struct {
	Data, DataDir, Label string // the dataset, as in recipe.Recipe; "": the run's
	Split                string // test (""), val or train
	Batch                int    // 0: 256
	MaxMemory            int64  // as Options.MaxMemory
}

// Evaluation is the result of Evaluate.
type Evaluation struct {
	Accuracy float64 `json:"accuracy"`
	Data     string  `json:"data"`
	Examples int     `json:"examples"`
	Loss     float64 `json:"loss"`
	Split    string  `json:"split"`
	// A language model's bits per character and perplexity (its Loss is
	// the mean next-token cross-entropy, Accuracy the fraction of next
	// tokens it ranks first, Examples the tokens predicted).
	BitsPerChar *float64 `json:"bits_per_char,omitempty"`
	Perplexity  *float64 `json:"perplexity,omitempty"`
	// Located says where the data file that the run's config.json names
	// by a relative path was found, if not as given (recipe.Recipe.Locate).
	Located string `json:"located,omitempty"`
	// BitsUnit names BitsPerChar's unit for the user: "bits/byte" for a
	// byte-level vocabulary (recipe.Recipe.BitsUnit), "bits/char"
	// otherwise; not in JSON, whose key is bits_per_char either way.
	BitsUnit string `json:"-"`
}

// Evaluate measures the model of the finished run in dir on a split of a
// dataset, standardised with the run's statistics, its classes numbered
// as the run's were.
func Evaluate(dir string, e Eval) (Evaluation, error) {
	if IsTextRun(dir) {
		return evaluateText(dir, e)
	}
	r, info, err := Read(dir)
	if err != nil {
		return Evaluation{}, fmt.Errorf("%s is not a training run: %w", dir, err)
	}
	b, err := readModel(dir) // before the data: an unfinished run is refused at once
	if err != nil {
		return Evaluation{}, err
	}
	r, note := r.Locate(dir)
	if e.Data != "" {
		note = ""
	}
	for _, s := range []struct {
		to   *string
		from string
	}{{&r.Data, e.Data}, {&r.DataDir, e.DataDir}, {&r.Label, e.Label}} {
		if s.from != "" {
			*s.to = s.from
		}
	}
	splits, err := r.LoadData(info.Norm, info.Classes)
	if err != nil {
		return Evaluation{}, err
	}
	r.Epochs, r.Batch = 1, e.Batch
	if r.Batch == 0 {
		r.Batch = 256
	}
	if err := checkMemory(r, splits, e.MaxMemory, 1); err != nil {
		return Evaluation{}, err
	}
	ds := splits.Test
	switch e.Split {
	case "test", "":
		e.Split = "test"
	case "val":
		ds = splits.Val
	case "train":
		ds = splits.Train
	default:
		return Evaluation{}, fmt.Errorf("split %q: want test, val or train", e.Split)
	}
	if ds == nil {
		return Evaluation{}, fmt.Errorf("%s has no %s split", r.Data, e.Split)
	}
	if !tensor.SameShape(ds.Shape(), info.Shape) {
		return Evaluation{}, fmt.Errorf("the model was trained on examples of shape %v; %s has %v", info.Shape, r.Data, ds.Shape())
	}
	path := filepath.Join(dir, ModelFile)
	// The run's model, with a trainer that takes no step, to evaluate.
	built, err := r.Build(splits, train.Config{})
	if err != nil {
		return Evaluation{}, err
	}
	if err := nn.Load[float32](built.Model, b); err != nil {
		return Evaluation{}, fmt.Errorf("%s: %w", path, err)
	}
	loss, acc, err := built.Trainer.Evaluate(ds)
	if err != nil {
		return Evaluation{}, err
	}
	return Evaluation{Accuracy: acc, Data: r.Data, Examples: ds.Len(), Loss: loss, Split: e.Split, Located: note}, nil
}

// readModel reads the model of the finished run in dir: an unfinished one
// has none, and the error says so.
func readModel(dir string) ([]byte, error) {
	b, err := os.ReadFile(filepath.Join(dir, ModelFile))
	if err != nil {
		return nil, fmt.Errorf("%s has no trained model yet (%w): finish the run first", dir, err)
	}
	return b, nil
}
