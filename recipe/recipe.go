package recipe

import (
	"errors"
	"fmt"

	"github.com/descentml/descent/data"
	"github.com/descentml/descent/nn"
	"github.com/descentml/descent/optim"
	"github.com/descentml/descent/optim/spec"
	"github.com/descentml/descent/schedule"
	"github.com/descentml/descent/train"
)

// Recipe is a whole training run as plain data: what config.json holds.
type Recipe struct {
	Data    string `json:"data"`               // digits, mnist, fashion-mnist or csv:PATH
	DataDir string `json:"data_dir,omitempty"` // where the IDX files are; "" searches $DESCENT_DATA and the usual places
	Label   string `json:"label,omitempty"`    // csv: the label column, by name or index; "" is the last
	// ValFraction of the training examples is held out for validation
	// (stratified, seeded); 0 trains on all of them and validates on none.
	ValFraction float64 `json:"val_fraction"`
	// MaxCSVBytes, MaxCSVLineBytes and MaxTextBytes bound the size of a
	// CSV file, of one of its lines, and of a text file (data.Options and
	// data.TextOptions.MaxBytes): 0 means data's defaults, a negative value
	// no limit. Kept in config.json so that a resumed run reads its data
	// as it did.
	MaxCSVBytes     int64 `json:"max_csv_bytes,omitempty"`
	MaxCSVLineBytes int64 `json:"max_csv_line_bytes,omitempty"`
	MaxTextBytes    int64 `json:"max_text_bytes,omitempty"`

	Model     Model          `json:"model"`
	Optimizer spec.Optimizer `json:"optimizer"`
	Schedule  spec.Schedule  `json:"schedule"`
	// Routing is muon's split of the parameters between Muon and AdamW,
	// made by Route; ToAdamW and ToMuon name parameters the user sent to
	// the other group than the rule's (optimizers.go).
	Routing *spec.Routing `json:"routing,omitempty"`
	ToAdamW []string      `json:"to_adamw,omitempty"`
	ToMuon  []string      `json:"to_muon,omitempty"`
	// Average, if not "", is the average of the weights evaluated and
	// saved, as spec.ParseAverage reads it: "ema decay=0.999", "swa
	// start=N", or "swa start=N lr=0.05 anneal=10 strategy=cos", whose
	// rate is SWALR's from start on. start and anneal count the
	// schedule's unit. Resolve writes its defaults out.
	Average string `json:"average,omitempty"`
	// Accumulate, if above 1, makes that many batches one optimizer step
	// (gradient accumulation); schedules count optimizer steps.
	Accumulate int `json:"accumulate,omitempty"`

	ClipNorm  float64 `json:"clip_norm,omitempty"`  // clip gradients to this global 2-norm; 0: off
	ClipValue float64 `json:"clip_value,omitempty"` // clip each gradient element to ±this; 0: off
	// NoDecay leaves the parameters these patterns match out of weight
	// decay: the classes bias, norm, embed and 1d, or globs over
	// parameter names (spec.NoDecay); nil decays every parameter.
	// DecayWeightsOnly, the older spelling, is NoDecay with 1d: every
	// parameter of fewer than two dimensions.
	NoDecay          []string `json:"no_decay,omitempty"`
	DecayWeightsOnly bool     `json:"decay_weights_only,omitempty"`
	// NoDecayParams is NoDecay (and DecayWeightsOnly) resolved for the
	// model by Route: the parameters weight decay leaves alone, by name,
	// so that config.json shows them and a resumed run decays the same.
	// nil, in a config.json from before it was recorded, resolves the
	// patterns again.
	NoDecayParams []string `json:"no_decay_params,omitempty"`
	// SyncBatchNorm synchronises batch norm's statistics over the ranks of
	// a data-parallel run (train.Config.SyncBatchNorm).
	SyncBatchNorm bool `json:"sync_batchnorm,omitempty"`

	Epochs   int    `json:"epochs"`
	Batch    int    `json:"batch"`
	Seed     uint64 `json:"seed"`               // weights, data order and dropout
	Patience int    `json:"patience,omitempty"` // early stopping on validation loss after this many epochs without improvement; 0: off

	// A language model on text (lm.go) trains for Steps steps (Epochs is
	// 0), evaluating every EvalEvery (0: a tenth of the run); Bytes makes
	// its vocabulary byte-level.
	Steps     int  `json:"steps,omitempty"`
	EvalEvery int  `json:"eval_every,omitempty"`
	Bytes     bool `json:"bytes,omitempty"`
}

// Default is what `descent train` runs with no flags: an MLP with batch
// normalization, trained with AdamW on the embedded digits.
func Default() Recipe {
	opt, _ := spec.NewOptimizer("adamw", nil)
	return Recipe{
		Data:        "digits",
		ValFraction: data.DefaultOptions().ValFraction,
		Model:       Model{Kind: "mlp", Hidden: []int{256, 256}, BatchNorm: true},
		Optimizer:   opt,
		Schedule:    spec.Schedule{Name: "constant"},
		Epochs:      20,
		Batch:       64,
		Seed:        1,
	}
}

// Validate checks everything that can be checked without the data.
func (r Recipe) Validate() error {
	var errs []error
	errs = append(errs, r.validateText()...)
	if r.Epochs <= 0 && !r.IsText() {
		errs = append(errs, fmt.Errorf("recipe: epochs %d: must be positive", r.Epochs))
	}
	if r.Batch <= 0 {
		errs = append(errs, fmt.Errorf("recipe: batch %d: must be positive", r.Batch))
	}
	for _, c := range []struct {
		name string
		v    float64
	}{{"clip-norm", r.ClipNorm}, {"clip-value", r.ClipValue}} {
		if !(c.v >= 0) { // NaN too
			errs = append(errs, fmt.Errorf("recipe: %s %v: want a number ≥ 0 (0: off)", c.name, c.v))
		}
	}
	if !(r.Model.Dropout >= 0 && r.Model.Dropout < 1) { // NaN too
		errs = append(errs, fmt.Errorf("recipe: dropout %v: must be in [0, 1)", r.Model.Dropout))
	}
	if !(r.ValFraction >= 0 && r.ValFraction < 1) {
		errs = append(errs, fmt.Errorf("recipe: validation fraction %v: must be in [0, 1)", r.ValFraction))
	}
	if r.Patience < 0 {
		errs = append(errs, fmt.Errorf("recipe: patience %d: must not be negative", r.Patience))
	}
	if r.ValFraction == 0 && r.Patience > 0 {
		errs = append(errs, errors.New("recipe: early stopping (patience) watches the validation loss: it needs a validation fraction above 0"))
	}
	if r.ValFraction == 0 && r.Schedule.Name == "plateau" {
		errs = append(errs, errors.New("recipe: the plateau schedule watches the validation loss: it needs a validation fraction above 0"))
	}
	if err := r.Optimizer.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("recipe: %w", err))
	}
	if err := spec.CheckNoDecay(r.NoDecay); err != nil {
		errs = append(errs, fmt.Errorf("recipe: %w", err))
	}
	if err := r.validateOptimizer(); err != nil {
		errs = append(errs, err)
	}
	// Any run length shows whether the schedule's settings can be built.
	if _, _, err := r.Schedule.Build(r.Optimizer.LR, max(r.Epochs, 1), 1); err != nil {
		errs = append(errs, err)
	}
	if _, err := ParseModel(r.Model.String()); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// LoadData loads the recipe's dataset, split and standardised. norm and
// classes, if given, prepare the data as a saved model expects (its
// normalizer and class names); nil fits the normalizer to this training
// split.
func (r Recipe) LoadData(norm *data.Normalizer, classes []string) (*data.Splits, error) {
	opts := data.DefaultOptions()
	opts.Dir, opts.Label, opts.Norm, opts.Classes = r.DataDir, r.Label, norm, classes
	opts.ValFraction = r.ValFraction
	opts.MaxCSVBytes, opts.MaxCSVLineBytes = r.MaxCSVBytes, r.MaxCSVLineBytes
	s, err := data.Load(r.Data, opts)
	if errors.Is(err, data.ErrNoDataDir) {
		return nil, fmt.Errorf("--data %s: %w: give --data-dir or set $DESCENT_DATA", r.Data, data.ErrNoDataDir)
	}
	return s, LimitFlag(err)
}

// limitFlags are the flags that set each of data's limits.
var limitFlags = map[string]string{
	"MaxCSVBytes":          "--max-csv-bytes",
	"MaxCSVLineBytes":      "--max-csv-line-bytes",
	"TextOptions.MaxBytes": "--max-text-bytes",
}

// LimitFlag returns err with the flag that raises the limit it hit named,
// if it is data's error for data beyond a limit (data.LimitError); any
// other error as it is.
func LimitFlag(err error) error {
	var le *data.LimitError
	if !errors.As(err, &le) || limitFlags[le.Field] == "" {
		return err
	}
	return fmt.Errorf("%w (%s raises the limit; -1 removes it)", err, limitFlags[le.Field])
}

// Resolve returns the recipe with the defaults that depend on the data and
// the run's length made explicit, for trainExamples training examples: the
// schedule's lengths and settings ([Schedule.Resolve]). A run saves its
// recipe resolved, so that continuing it for more epochs keeps the
// schedule it began with instead of stretching it.
func (r Recipe) Resolve(trainExamples int) Recipe {
	r.Schedule = r.Schedule.Resolve(r.Optimizer.LR, r.Epochs, r.StepsPerEpoch(trainExamples))
	return r.resolveAverage()
}

// resolveAverage writes the defaults of the average of the weights out
// (spec.Average.Resolve), so that config.json shows SWALR's anneal and
// strategy; a spec that does not parse is left for Validate to report.
func (r Recipe) resolveAverage() Recipe {
	if a, err := ParseAverage(r.Average); err == nil {
		r.Average = a.Resolve().String()
	}
	return r
}

// dropLast reports whether the run drops the last, short batch of an epoch:
// only when the model has 1-d batch normalization (an MLP with hidden
// layers and BatchNorm) and that batch would hold a single example, whose
// variance it cannot take (PyTorch raises an error there; descent leaves
// that one example out of each epoch). The CNN's 2-d batch normalization
// takes its statistics over the image too, so one example is enough.
func (r Recipe) dropLast(trainExamples int) bool {
	bn1d := r.Model.Kind == "mlp" && len(r.Model.Hidden) > 0 && r.Model.BatchNorm
	return bn1d && r.Batch > 1 && trainExamples%r.Batch == 1
}

// StepsPerEpoch returns the optimizer steps in an epoch over trainExamples
// examples: the batches, less a last batch of one example that a model with
// 1-d batch normalization leaves out, divided by Accumulate and rounded up
// (an epoch's last step is on the batches left, train.Config.Accumulate).
func (r Recipe) StepsPerEpoch(trainExamples int) int {
	b := max(r.Batch, 1) // a recipe not yet validated may have none
	n := (trainExamples + b - 1) / b
	if r.dropLast(trainExamples) {
		n = trainExamples / b
	}
	k := max(r.Accumulate, 1)
	return (n + k - 1) / k
}

// buildOptimizer makes the recipe's optimizer over model's parameters
// (newOptimizer), its schedule built for epochs epochs of stepsPerEpoch
// steps, and returns it with the learning-rate schedule.
func (r Recipe) buildOptimizer(model nn.Module[float32], epochs, stepsPerEpoch int) (*optim.Optimizer[float32], schedule.Schedule, error) {
	rate, mom, err := r.Schedule.BuildRate(r.Optimizer.LR, epochs, stepsPerEpoch)
	if err != nil {
		return nil, nil, err
	}
	if r.Average != "" {
		a, _ := ParseAverage(r.Average) // validated
		if rate, err = a.Rate(rate, r.unitSteps(stepsPerEpoch)); err != nil {
			return nil, nil, fmt.Errorf("recipe: --average %q: %w", r.Average, err)
		}
	}
	lr := rate.Schedule
	oc := optim.Config{
		Method: r.Optimizer.Build(rate),
		LR:     lr, ClipNorm: r.ClipNorm, ClipValue: r.ClipValue,
	}
	if mom != nil && r.Optimizer.HasMomentum() {
		oc.Momentum = mom
	}
	if oc.DecayMask, err = r.decayMask(model); err != nil {
		return nil, nil, err
	}
	opt, err := r.newOptimizer(model, oc, rate)
	return opt, lr, err
}

// Run is a recipe built: the model, its optimizer and the trainer.
type Run struct {
	Model     *nn.Sequential[float32]
	Optimizer *optim.Optimizer[float32]
	Trainer   *train.Trainer[float32]
	Loss      train.Loss
}

// Build makes the model, optimizer and trainer of the recipe for the data.
// The recipe is resolved for the data ([Recipe.Resolve]) and validated,
// once, then built. cfg supplies what is not part of a recipe (the
// checkpoint file, hooks); its Epochs, BatchSize, Seed, Loss, RNG,
// EarlyStop, DropLast and ValLoss are set from the recipe. DropLast is set
// only for a model with batch normalization whose epoch would end in a
// batch of one example; ValLoss to a reduce-on-plateau schedule.
func (r Recipe) Build(splits *data.Splits, cfg train.Config) (*Run, error) {
	n := splits.Train.Len()
	r = r.Resolve(n)
	err := r.Validate()
	if err != nil {
		return nil, err
	}
	if r, err = r.Route(splits.Train.Shape(), splits.Train.Classes()); err != nil {
		return nil, err
	}
	model, lossKind, src, err := r.Model.Build(splits.Train.Shape(), splits.Train.Classes(), r.Seed)
	if err != nil {
		return nil, err
	}
	opt, lr, err := r.buildOptimizer(model, r.Epochs, r.StepsPerEpoch(n))
	if err != nil {
		return nil, err
	}
	cfg.Epochs, cfg.BatchSize, cfg.Seed, cfg.Loss, cfg.RNG = r.Epochs, r.Batch, r.Seed, lossKind, src
	cfg.EarlyStop = train.EarlyStop{Patience: r.Patience}
	cfg.DropLast = r.dropLast(n)
	cfg.SyncBatchNorm = r.SyncBatchNorm
	cfg.Average = r.averaging(r.unitSteps(r.StepsPerEpoch(n)))
	cfg.Accumulate = r.Accumulate
	if o, ok := lr.(train.ValLossObserver); ok {
		cfg.ValLoss = o // reduce-on-plateau
	}
	d := train.Data{Train: splits.Train}
	if splits.Val != nil {
		d.Val = splits.Val
	}
	if splits.Test != nil {
		d.Test = splits.Test
	}
	tr, err := train.New[float32](model, opt, d, cfg)
	if err != nil {
		return nil, err
	}
	return &Run{Model: model, Optimizer: opt, Trainer: tr, Loss: lossKind}, nil
}
