package explore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"runtime"

	"github.com/descentml/descent/data"
	"github.com/descentml/descent/internal/jsonfloat"
	"github.com/descentml/descent/internal/pool"
	"github.com/descentml/descent/recipe"
	"github.com/descentml/descent/train"
)

// Outcome is one training run: its metrics after every epoch and where it
// ended.
type Outcome struct {
	Seed    uint64        `json:"seed"`
	History []train.Epoch `json:"history"`
	Final   Final         `json:"final"`
	// StoppedEarly is set when early stopping (Recipe.Patience) ended the
	// run before its last epoch.
	StoppedEarly bool `json:"stopped_early,omitempty"`
	// Error is why the run failed, such as a loss that became NaN; History
	// holds the epochs it finished before. A failed run's Final is NaN.
	Error string `json:"error,omitempty"`
}

// Failed reports whether the run failed.
func (o Outcome) Failed() bool { return o.Error != "" }

// String says in a few words how the run ended: its final losses and
// validation accuracy (a language model's, which has no accuracy: its
// validation bits per character) and its time, or why it failed.
func (o Outcome) String() string {
	if o.Failed() {
		return "failed: " + o.Error
	}
	secs := 0.0
	for _, e := range o.History {
		secs += e.Seconds
	}
	f := o.Final
	if math.IsNaN(f.TrainAccuracy) && !math.IsNaN(f.ValLoss) { // a language model
		return fmt.Sprintf("train loss %.4f, val loss %.4f, %.3f bits/char (%.1fs)", f.TrainLoss, f.ValLoss, f.ValLoss/math.Ln2, secs)
	}
	val, acc := "—", "—"
	if !math.IsNaN(f.ValLoss) {
		val = fmt.Sprintf("%.4f", f.ValLoss)
	}
	if !math.IsNaN(f.ValAccuracy) {
		acc = fmt.Sprintf("%.2f%%", 100*f.ValAccuracy)
	}
	return fmt.Sprintf("train loss %.4f, val loss %s, val acc %s (%.1fs)", f.TrainLoss, val, acc, secs)
}

// Final is where a run ended. A metric that does not exist (validation
// without a validation set, anything of a failed run) is NaN, null in
// JSON.
type Final struct {
	// TrainLoss and TrainAccuracy are the last epoch's means over its
	// batches, as the training loop reports them.
	TrainLoss, TrainAccuracy float64
	// ValLoss and ValAccuracy are measured on the validation set after
	// the last epoch.
	ValLoss, ValAccuracy float64
	// TestLoss and TestAccuracy are the final model's on the test set.
	TestLoss, TestAccuracy float64
}

// finalJSON is Final as JSON writes it: NaN as null.
type finalJSON struct {
	TrainLoss     jsonfloat.Float `json:"train_loss"`
	TrainAccuracy jsonfloat.Float `json:"train_accuracy"`
	ValLoss       jsonfloat.Float `json:"val_loss"`
	ValAccuracy   jsonfloat.Float `json:"val_accuracy"`
	TestLoss      jsonfloat.Float `json:"test_loss"`
	TestAccuracy  jsonfloat.Float `json:"test_accuracy"`
}

// MarshalJSON writes the metrics as one object, NaN as null.
func (f Final) MarshalJSON() ([]byte, error) {
	return json.Marshal(finalJSON{jsonfloat.Float(f.TrainLoss), jsonfloat.Float(f.TrainAccuracy), jsonfloat.Float(f.ValLoss), jsonfloat.Float(f.ValAccuracy), jsonfloat.Float(f.TestLoss), jsonfloat.Float(f.TestAccuracy)})
}

// UnmarshalJSON reads what MarshalJSON writes.
func (f *Final) UnmarshalJSON(b []byte) error {
	var j finalJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*f = Final{float64(j.TrainLoss), float64(j.TrainAccuracy), float64(j.ValLoss), float64(j.ValAccuracy), float64(j.TestLoss), float64(j.TestAccuracy)}
	return nil
}

// noFinal returns a Final of NaN: nothing measured yet.
func noFinal() Final {
	n := math.NaN()
	return Final{n, n, n, n, n, n}
}

// Parallelism splits the cores between concurrent trainings: for jobs
// trainings on at most workers goroutines (0: one per core,
// runtime.GOMAXPROCS), it returns the number of goroutines to use and the
// kernel threads each should have (for tensor.SetThreads), so that
// goroutines × threads ≤ cores. Trainings run one per goroutine, so memory
// grows with the goroutines: lower workers for large models.
func Parallelism(workers, jobs int) (goroutines, threads int) {
	cores := runtime.GOMAXPROCS(0)
	if workers <= 0 {
		workers = cores
	}
	goroutines = max(1, min(workers, jobs))
	return goroutines, max(1, cores/goroutines)
}

// Data is what an exploration's runs train on: a dataset's splits, or the
// text of a language model's recipe (recipe.Recipe.IsText), one of the two.
type Data struct {
	Splits *data.Splits
	Text   *data.Text
}

// Load loads the data of r: its text for a language model, else its
// dataset with about trainSize training examples (Subsample; 0: all).
func Load(r recipe.Recipe, trainSize int) (Data, error) {
	if r.IsText() {
		if trainSize != 0 {
			return Data{}, errors.New("explore: a subsample of the training examples is for datasets of examples, not a language model's text")
		}
		t, err := r.LoadText(nil)
		return Data{Text: t}, err
	}
	splits, err := r.LoadData(nil, nil)
	if err != nil {
		return Data{}, err
	}
	if splits.Train, err = Subsample(splits.Train, trainSize, r.Seed); err != nil {
		return Data{}, err
	}
	return Data{Splits: splits}, nil
}

// TrainLen returns the number of training examples, or of training tokens
// of a text.
func (d Data) TrainLen() int {
	if d.Text != nil {
		return len(d.Text.Train)
	}
	return d.Splits.Train.Len()
}

// hasVal reports whether the data has a validation split.
func (d Data) hasVal() bool {
	if d.Text != nil {
		return len(d.Text.Val) > 0
	}
	return d.Splits.Val != nil
}

// check returns an error if the data is not of the recipe's kind.
func (d Data) check(r recipe.Recipe) error {
	switch {
	case r.IsText() && d.Text == nil:
		return fmt.Errorf("explore: %s is a language model's text, and the data given holds no text (explore.Load loads it)", r.Data)
	case !r.IsText() && d.Splits == nil:
		return fmt.Errorf("explore: %s is a dataset of examples, and the data given holds none (explore.Load loads it)", r.Data)
	}
	return nil
}

// Length returns the length of a run of r: its steps for a language model,
// its epochs otherwise (the budget of a search).
func Length(r recipe.Recipe) int {
	if r.IsText() {
		return r.Steps
	}
	return r.Epochs
}

// WithLength returns r set to train for n steps (a language model) or
// epochs.
func WithLength(r recipe.Recipe, n int) recipe.Recipe {
	if r.IsText() {
		r.Steps = n
	} else {
		r.Epochs = n
	}
	return r
}

// trainOne trains r on d and evaluates the final model on the test set.
// With finalOnly the validation set too is evaluated once, after the
// last epoch, instead of after every epoch (unless early stopping needs
// it): the history then has no validation metrics. A run that fails while
// training (a loss that becomes NaN) is an Outcome with its Error; the
// error returned is for a run that cannot start (a recipe the data does
// not fit) or that ctx cancelled.
func trainOne(ctx context.Context, r recipe.Recipe, d Data, finalOnly bool) (Outcome, error) {
	if err := d.check(r); err != nil {
		return Outcome{}, err
	}
	if r.IsText() {
		return trainText(ctx, r, d.Text)
	}
	splits := d.Splits
	finalOnly = finalOnly && r.Patience == 0
	trainOn := &data.Splits{Train: splits.Train, Val: splits.Val, Norm: splits.Norm}
	if finalOnly {
		trainOn.Val = nil
	}
	run, err := r.Build(trainOn, train.Config{})
	if err != nil {
		return Outcome{}, err
	}
	tr := run.Trainer
	err = tr.Run(ctx)
	o := Outcome{Seed: r.Seed, History: tr.History(), StoppedEarly: errors.Is(err, train.ErrStopped), Final: noFinal()}
	switch {
	case ctx.Err() != nil:
		return Outcome{}, ctx.Err()
	case err != nil && !o.StoppedEarly:
		o.Error = err.Error()
		return o, nil
	}
	f := &o.Final
	if h := o.History; len(h) > 0 {
		last := h[len(h)-1]
		f.TrainLoss, f.TrainAccuracy = last.TrainLoss, last.TrainAccuracy
		f.ValLoss, f.ValAccuracy = last.ValLoss, last.ValAccuracy
	}
	if finalOnly && splits.Val != nil {
		if f.ValLoss, f.ValAccuracy, err = tr.Evaluate(splits.Val); err != nil {
			return Outcome{}, fmt.Errorf("explore: evaluating on the validation set: %w", err)
		}
	}
	if splits.Test != nil {
		if f.TestLoss, f.TestAccuracy, err = tr.Evaluate(splits.Test); err != nil {
			return Outcome{}, fmt.Errorf("explore: evaluating on the test set: %w", err)
		}
	}
	return o, nil
}

// trainAll trains every recipe on splits (see trainOne for finalOnly), on
// Parallelism(workers, …) goroutines, and returns the outcomes in the order of the recipes. done,
// if not nil, is called with each outcome as it finishes, from the calling
// goroutine. The outcomes depend on nothing but the recipes and the data:
// each run has its own model, optimizer and random streams. The first run
// that cannot start, or ctx's cancellation, stops the others and is
// returned.
func trainAll(ctx context.Context, d Data, recipes []recipe.Recipe, workers int, finalOnly bool, done func(i int, o Outcome)) ([]Outcome, error) {
	type result struct {
		o   Outcome
		err error
	}
	goroutines, _ := Parallelism(workers, len(recipes))
	outs := make([]Outcome, len(recipes))
	err := pool.Run(ctx, len(recipes), goroutines, func(ctx context.Context, i int) result {
		o, err := trainOne(ctx, recipes[i], d, finalOnly)
		return result{o, err}
	}, func(i int, res result) error {
		if res.err != nil {
			return res.err
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		outs[i] = res.o
		if done != nil {
			done(i, res.o)
		}
		return nil
	})
	if err != nil {
		if cerr := ctx.Err(); cerr != nil {
			return nil, cerr
		}
		return nil, err
	}
	return outs, nil
}

// Subsample returns n examples of set chosen at random, stratified by
// class (to within an example of n, a function of seed), or set itself
// when n is 0 or at least its length: a smaller training set for a quick
// experiment. The examples keep the order they have in set.
func Subsample(set *data.Set, n int, seed uint64) (*data.Set, error) {
	if n < 0 {
		return nil, fmt.Errorf("explore: a subsample of %d examples: must not be negative", n)
	}
	if n == 0 || n >= set.Len() {
		return set, nil
	}
	_, held := set.Split(float64(n)/float64(set.Len()), seed)
	return held, nil
}
