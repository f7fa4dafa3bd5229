package explore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"os"
	"reflect"
	"slices"
	"strings"
	"sync"

	"github.com/descentml/descent/comm"
	"github.com/descentml/descent/data"
	"github.com/descentml/descent/optim/spec"
	"github.com/descentml/descent/plot"
	"github.com/descentml/descent/recipe"
	"github.com/descentml/descent/tune"
)

// The names a search space may use besides the optimizer's
// hyperparameters: what they set in a recipe.
var recipeNames = map[string]string{
	"opt":     "the optimizer, by name: opt=choice(adam,adamw,sgd); the others take its defaults",
	"model":   "the model: model=choice(linear,mlp-128,mlp-256-256,cnn) (mlp-W1-W2 is mlp:W1,W2)",
	"batch":   "the batch size",
	"epochs":  "the epochs to train (not with halving, whose budget is the epochs)",
	"steps":   "a language model's steps to train (not with halving, whose budget is the steps)",
	"dropout": "the dropout probability",
}

// optimizerKey returns the recipe key a space name sets (names cannot hold
// '-': spec.CanonicalKey reads eps_in_sqrt and beta), and false if it is no
// optimizer's hyperparameter.
func optimizerKey(name string) (string, bool) {
	k := spec.CanonicalKey(name)
	for _, o := range spec.OptimizerNames() {
		if spec.Takes(o, k) {
			return k, true
		}
	}
	return "", false
}

// TuneNames returns the names a search space may use, sorted: every
// optimizer hyperparameter by its recipe key (with '_' for '-', as
// eps_in_sqrt; beta is momentum), and batch, dropout, epochs, model and opt.
func TuneNames() []string {
	seen := map[string]bool{}
	for _, f := range spec.Flags() {
		seen[strings.ReplaceAll(f.Name, "-", "_")] = true
	}
	for n := range recipeNames {
		seen[n] = true
	}
	names := make([]string, 0, len(seen))
	for n := range seen {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// CheckSpace reports what in space cannot apply to the base recipe r with
// method m: a name that is neither an optimizer hyperparameter nor one of
// batch, dropout, epochs, model and opt (the error lists the valid names);
// a hyperparameter that no optimizer the search may use takes (r's, or
// those opt chooses from); a choice of opt or model that does not parse;
// epochs searched by Halving, whose budget it is; settings of m no search
// runs with (tune.CheckMethod); a value that no trial
// could train with (a choice, a fixed value or a range's bound that the
// optimizer or recipe refuses).
func CheckSpace(r recipe.Recipe, space tune.Space, m tune.Method) error {
	if err := tune.CheckMethod(m); err != nil {
		return err
	}
	opts := []string{r.Optimizer.Name}
	for _, d := range space.Dims {
		if d.Name != "opt" {
			continue
		}
		if d.Kind != tune.Choice && d.Kind != tune.Fixed {
			return fmt.Errorf("explore: opt=%s: want opt=choice(name,…) or opt=name", d)
		}
		opts = opts[:0]
		for _, v := range d.Values {
			if _, err := spec.NewOptimizer(v.String(), nil); err != nil {
				return fmt.Errorf("explore: %s: %w", d, err)
			}
			opts = append(opts, v.String())
		}
	}
	for _, d := range space.Dims {
		if _, ok := recipeNames[d.Name]; ok {
			switch {
			case d.Name == "model":
				if d.Kind != tune.Choice && d.Kind != tune.Fixed {
					return fmt.Errorf("explore: model=%s: want model=choice(spec,…) or model=spec", d)
				}
				for _, v := range d.Values {
					if _, err := parseModel(v.String()); err != nil {
						return fmt.Errorf("explore: %s: %w", d, err)
					}
				}
			case d.Name == "epochs" || d.Name == "steps":
				if _, halving := m.(tune.Halving); halving {
					return fmt.Errorf("explore: halving spends %s as its budget: %s cannot be searched with it", d.Name, d.Name)
				}
				if (d.Name == "steps") != r.IsText() {
					return fmt.Errorf("explore: %s=%s: a language model trains for steps, other models for epochs", d.Name, d)
				}
			}
			continue
		}
		k, ok := optimizerKey(d.Name)
		if !ok {
			return fmt.Errorf("explore: %q is not a name the search can set (valid: %s)", d.Name, strings.Join(TuneNames(), ", "))
		}
		if !slices.ContainsFunc(opts, func(o string) bool { return spec.Takes(o, k) }) {
			return fmt.Errorf("explore: %s: %s has no hyperparameter %q (valid: %s)", d.Name, strings.Join(opts, " or "), k,
				strings.Join(spec.KeyNames(spec.OptimizerKeys(opts[0])), ", "))
		}
	}
	return checkValues(r, space, m, opts)
}

// checkValues tries every value a dimension can take — each choice, the
// fixed value, the bounds of a range (just below the high bound for random
// draws) — with each optimizer the search may use that takes it, so that a
// value no trial could train with (beta1=1.5, batch=choice(0,64)) is an
// error before any trial runs. A value that fails alone passes if it builds
// beside some candidate of one other dimension (nesterov=true needs
// momentum above 0, which a momentum range provides); interactions among
// three or more values are not looked for.
func checkValues(r recipe.Recipe, space tune.Space, m tune.Method, opts []string) error {
	type probe struct {
		v    tune.Value
		what string // how an error names it
	}
	var dims []tune.Dim
	var probes [][]probe
	for _, d := range space.Dims {
		var ps []probe
		switch d.Kind {
		case tune.Int:
			ps = []probe{{tune.Num(d.Lo), "the low bound"}, {tune.Num(d.Hi), "the high bound"}}
		case tune.Log, tune.Uniform:
			hi := probe{tune.Num(math.Nextafter(d.Hi, d.Lo)), "values just below the high bound"}
			if _, grid := m.(tune.Grid); grid { // a grid's last point is Hi itself
				hi = probe{tune.Num(d.Hi), "the high bound"}
			}
			ps = []probe{{tune.Num(d.Lo), "the low bound"}, hi}
		default:
			for _, v := range d.Values {
				ps = append(ps, probe{v, d.Name + "=" + v.String()})
			}
		}
		if d.Name != "opt" && len(ps) > 0 {
			dims, probes = append(dims, d), append(probes, ps)
		}
	}
	takes := func(opt, name string) bool {
		if _, ok := recipeNames[name]; ok {
			return true
		}
		k, _ := optimizerKey(name)
		return spec.Takes(opt, k)
	}
	for i, d := range dims {
		for _, p := range probes[i] {
			for _, o := range opts {
				if !takes(o, d.Name) {
					continue
				}
				alone := tune.Config{"opt": tune.Word(o), d.Name: p.v}
				_, err := Apply(r, alone)
				for j := 0; err != nil && j < len(dims); j++ {
					if j == i || !takes(o, dims[j].Name) {
						continue
					}
					for _, q := range probes[j] {
						pair := maps.Clone(alone)
						pair[dims[j].Name] = q.v
						if _, perr := Apply(r, pair); perr == nil {
							err = nil
							break
						}
					}
				}
				if err == nil {
					continue
				}
				if d.Kind == tune.Fixed {
					return fmt.Errorf("explore: %s: %w", d, err)
				}
				return fmt.Errorf("explore: %s: %s: %w", d, p.what, err)
			}
		}
	}
	return nil
}

// parseModel reads a model as a space writes it, mlp-256-256 for
// mlp:256,256 (a space's values cannot hold ':' or ','), or as
// recipe.ParseModel does.
func parseModel(s string) (recipe.Model, error) {
	if rest, ok := strings.CutPrefix(s, "mlp-"); ok {
		s = "mlp:" + strings.ReplaceAll(rest, "-", ",")
	}
	return recipe.ParseModel(s)
}

// Apply returns r with the values of config set: the optimizer (opt, which
// starts from its defaults unless it is r's), its hyperparameters (by
// their recipe keys; one the trial's optimizer does not take is passed
// over when opt is searched, else an error), model (keeping r's batch norm
// and dropout), batch, epochs and dropout.
func Apply(r recipe.Recipe, config tune.Config) (recipe.Recipe, error) {
	num := func(name string) (float64, error) {
		v := config[name]
		if !v.IsNumber() {
			return 0, fmt.Errorf("explore: %s=%s: want a number", name, v)
		}
		return v.Float(), nil
	}
	if v, ok := config["opt"]; ok && v.String() != r.Optimizer.Name {
		o, err := spec.NewOptimizer(v.String(), nil)
		if err != nil {
			return r, err
		}
		r.Optimizer = o
	}
	_, optSearched := config["opt"]
	names := make([]string, 0, len(config))
	for n := range config {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, name := range names {
		v := config[name]
		switch name {
		case "opt":
		case "model":
			m, err := parseModel(v.String())
			if err != nil {
				return r, err
			}
			m.BatchNorm, m.Dropout = r.Model.BatchNorm, r.Model.Dropout
			r.Model = m
		case "batch", "epochs", "steps":
			x, err := num(name)
			if err != nil {
				return r, err
			}
			if x != math.Round(x) || x < 1 {
				return r, fmt.Errorf("explore: %s=%s: want a whole number ≥ 1", name, v)
			}
			switch name {
			case "batch":
				r.Batch = int(x)
			case "epochs":
				r.Epochs = int(x)
			default:
				r.Steps = int(x)
			}
		case "dropout":
			x, err := num(name)
			if err != nil {
				return r, err
			}
			if !(x >= 0 && x < 1) {
				return r, fmt.Errorf("explore: dropout=%s: want a probability in [0, 1)", v)
			}
			r.Model.Dropout = x
		default:
			k, ok := optimizerKey(name)
			if !ok {
				return r, fmt.Errorf("explore: %q is not a name the search can set (valid: %s)", name, strings.Join(TuneNames(), ", "))
			}
			if !spec.Takes(r.Optimizer.Name, k) {
				if optSearched {
					continue
				}
				return r, fmt.Errorf("explore: optimizer %s has no hyperparameter %q (valid: %s)", r.Optimizer.Name, k, strings.Join(spec.KeyNames(spec.OptimizerKeys(r.Optimizer.Name)), ", "))
			}
			o, err := r.Optimizer.Set(k, v.String())
			if err != nil {
				return r, err
			}
			r.Optimizer = o
		}
	}
	return r, r.Validate()
}

// TuneConfig sets up a hyperparameter search over a recipe.
type TuneConfig struct {
	// Recipe is the base of every trial: what the space does not set.
	// Its Epochs (Steps, for a language model) is every Random and Grid
	// trial's budget.
	Recipe recipe.Recipe
	// Space names recipe values, as CheckSpace allows.
	Space tune.Space
	// Method is tune.Random, tune.Grid or tune.Halving, whose budgets
	// are epochs, or steps for a language model (MaxBudget is usually
	// Length(Recipe)).
	Method tune.Method
	// Seed fixes the configs Random and Halving draw. Every trial trains
	// with Recipe.Seed: the same initial weights and data order.
	Seed uint64
	// Metric is the objective, measured on the validation set after the
	// last epoch: ValLoss (lower is better; "" means ValLoss) or
	// ValAccuracy (higher is better). A language model is scored by its
	// validation loss (bits per character are the loss over ln 2).
	Metric Metric
	// Workers is the number of trials that run at once; 0 means one per
	// core (see Parallelism). Each holds one model: memory grows with it.
	Workers int
	// Journal, if not "", is the file that records every finished trial
	// (see tune.Search.Journal): running the same search with it again
	// continues where an interrupted one stopped. The base recipe is kept
	// beside it, in Journal + ".recipe.json", and a journal kept with
	// another recipe is an error.
	Journal string
	// OnTrial, if not nil, is called as each trial finishes, never
	// concurrently: for progress reports.
	OnTrial func(t tune.Trial, o Outcome, err error)
	// Comm, if it has several processes (the ranks of mpirun), shares the
	// search among them (tune.Search.Comm): each rank trains one trial at
	// a time, and rank 0 alone writes the journal and the recipe beside
	// it; OnTrial runs on the rank that trained the trial. nil: one
	// process.
	Comm *comm.Comm
}

// Tuning is what Tune found. It encodes to JSON as is.
type Tuning struct {
	Metric Metric        `json:"metric"`
	Report *tune.Report  `json:"report"`
	Recipe recipe.Recipe `json:"recipe"` // the base
	// Best is the best trial's recipe, which trains the model again; nil
	// if no trial succeeded.
	Best *recipe.Recipe `json:"best,omitempty"`
}

// CheckTune returns an error if Tune cannot search cfg on d: everything
// Tune checks before it starts (the metric, the data's validation split,
// the recipe and the space), for a command to call before it makes its
// output directory.
func CheckTune(d Data, cfg TuneConfig) error {
	metric := cfg.Metric
	if metric == "" {
		metric = ValLoss
	}
	if metric != ValLoss && metric != ValAccuracy {
		return fmt.Errorf("explore: metric %q: want val_loss or val_accuracy", metric)
	}
	if metric == ValAccuracy && cfg.Recipe.IsText() {
		return errors.New("explore: a language model's search is scored by its validation loss (val_loss), not an accuracy")
	}
	if err := d.check(cfg.Recipe); err != nil {
		return err
	}
	if !d.hasVal() {
		return errors.New("explore: a search is scored on the validation set, and the data has none (a --val-fraction above 0)")
	}
	if err := cfg.Recipe.Validate(); err != nil {
		return err
	}
	return CheckSpace(cfg.Recipe, cfg.Space, cfg.Method)
}

// Tune searches cfg.Space for the recipe that does best on the validation
// set, training each trial with trainOne's rules (a trial whose loss
// becomes NaN fails, and the search goes on). Which trials run, and so the
// report, depends neither on Workers nor on interruptions: when ctx is
// cancelled Tune returns what finished with ctx's error, and with a
// journal, running it again finishes the rest.
func Tune(ctx context.Context, d Data, cfg TuneConfig) (*Tuning, error) {
	if err := CheckTune(d, cfg); err != nil {
		return nil, err
	}
	metric := cfg.Metric
	if metric == "" {
		metric = ValLoss
	}
	if cfg.Journal != "" {
		var err error
		if !cfg.Comm.Distributed() || cfg.Comm.Rank() == 0 {
			err = keepRecipe(cfg.Journal+".recipe.json", cfg.Recipe)
		}
		if cfg.Comm.Distributed() {
			err = comm.Together(cfg.Comm, err, "rank 0 could not keep the recipe beside the journal")
		}
		if err != nil {
			return nil, err
		}
	}
	s := tune.Search{Space: cfg.Space, Method: cfg.Method, Seed: cfg.Seed, Maximize: metric == ValAccuracy,
		Budget: Length(cfg.Recipe), Workers: cfg.Workers, Journal: cfg.Journal, Comm: cfg.Comm}
	s.Workers, _ = Parallelism(cfg.Workers, math.MaxInt)
	trainOn := d
	if d.Splits != nil { // the test split is not the search's to see
		trainOn.Splits = &data.Splits{Train: d.Splits.Train, Val: d.Splits.Val, Norm: d.Splits.Norm}
	} else {
		trainOn.Text = &data.Text{Name: d.Text.Name, Vocab: d.Text.Vocab, Train: d.Text.Train, Val: d.Text.Val}
	}
	var mu sync.Mutex
	obj := func(ctx context.Context, t tune.Trial) (tune.Outcome, error) {
		o, err := trial(ctx, cfg.Recipe, trainOn, t)
		if cfg.OnTrial != nil && ctx.Err() == nil {
			mu.Lock()
			cfg.OnTrial(t, o, err)
			mu.Unlock()
		}
		if err != nil {
			return tune.Outcome{}, err
		}
		value := o.Final.ValLoss
		if metric == ValAccuracy {
			value = o.Final.ValAccuracy
		}
		if cfg.Recipe.IsText() {
			return tune.Outcome{Value: value, Metrics: map[string]float64{
				"train_loss": o.Final.TrainLoss, "val_loss": o.Final.ValLoss, "val_bits_per_char": o.Final.ValLoss / math.Ln2,
			}}, nil
		}
		return tune.Outcome{Value: value, Metrics: map[string]float64{
			"train_loss": o.Final.TrainLoss, "val_loss": o.Final.ValLoss, "val_accuracy": o.Final.ValAccuracy,
			"epochs_done": float64(len(o.History)), // fewer than asked when early stopping ends a trial
		}}, nil
	}
	rep, err := s.Run(ctx, obj)
	if rep == nil {
		return nil, err
	}
	res := &Tuning{Metric: metric, Report: rep, Recipe: cfg.Recipe}
	if best, ok := rep.Best(); ok {
		r, aerr := trialRecipe(cfg.Recipe, best.Trial)
		if aerr != nil {
			return nil, aerr
		}
		res.Best = &r
	}
	return res, err
}

// trialRecipe returns the recipe of trial t: base with its config, for its
// budget in epochs (steps) unless it searches them.
func trialRecipe(base recipe.Recipe, t tune.Trial) (recipe.Recipe, error) {
	r, err := Apply(base, t.Config)
	_, epochs := t.Config["epochs"]
	_, steps := t.Config["steps"]
	if !epochs && !steps {
		r = WithLength(r, t.Budget)
	}
	return r, err
}

// trial trains one trial. A run whose loss became NaN is an error: the
// trial failed.
func trial(ctx context.Context, base recipe.Recipe, d Data, t tune.Trial) (Outcome, error) {
	r, err := trialRecipe(base, t)
	if err != nil {
		return Outcome{}, err
	}
	o, err := trainOne(ctx, r, d, false)
	switch {
	case err != nil:
		return o, err
	case o.Failed():
		return o, errors.New(o.Error)
	case len(o.History) == 0:
		return o, errors.New("explore: the trial trained no epoch")
	}
	return o, nil
}

// keepRecipe writes r to path, or, if path exists, checks that it holds r.
func keepRecipe(path string, r recipe.Recipe) error {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		b, err := json.MarshalIndent(r, "", "  ")
		if err != nil {
			return err
		}
		return os.WriteFile(path, append(b, '\n'), 0o644)
	}
	if err != nil {
		return err
	}
	var kept recipe.Recipe
	if err := json.Unmarshal(b, &kept); err != nil {
		return fmt.Errorf("explore: %s: %w", path, err)
	}
	if !reflect.DeepEqual(kept, r) {
		return fmt.Errorf("explore: the search journal beside %s was written for another recipe (there → here): %s", path, strings.Join(recipeDiff(kept, r), "; "))
	}
	return nil
}

// recipeDiff names the fields of config.json in which recipes a and b
// differ, with both values: "optimizer.lr 0.001 → 0.01", "epochs 3 →
// 5", a field only one has as absent.
func recipeDiff(a, b recipe.Recipe) []string {
	flat := func(r recipe.Recipe) map[string]string {
		j, _ := json.Marshal(r)
		var v any
		json.Unmarshal(j, &v)
		m := map[string]string{}
		var walk func(prefix string, v any)
		walk = func(prefix string, v any) {
			if o, ok := v.(map[string]any); ok && len(o) > 0 {
				for k, e := range o {
					walk(strings.TrimPrefix(prefix+"."+k, "."), e)
				}
				return
			}
			e, _ := json.Marshal(v)
			m[prefix] = string(e)
		}
		walk("", v)
		return m
	}
	fa, fb := flat(a), flat(b)
	var diffs []string
	for _, k := range slices.Sorted(maps.Keys(fa)) {
		if fa[k] != fb[k] {
			diffs = append(diffs, fmt.Sprintf("%s %s → %s", k, fa[k], or(fb[k], "absent")))
		}
	}
	for _, k := range slices.Sorted(maps.Keys(fb)) {
		if _, ok := fa[k]; !ok {
			diffs = append(diffs, fmt.Sprintf("%s absent → %s", k, fb[k]))
		}
	}
	if len(diffs) == 0 { // equal as JSON, unequal as Go values
		diffs = append(diffs, "the same as JSON, but not as values")
	}
	return diffs
}

// or returns s, or def if s is "".
func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// Plot returns the chart of the search: each trial's objective in the
// order the search ran them and the best so far, or, for successive
// halving, one line a round, labelled with its budget in epochs.
func (t *Tuning) Plot() plot.LinesSpec {
	trials := t.Report.Trials
	x := make([]float64, len(trials))
	rungs := map[int]int{} // rung → budget
	for i, tr := range trials {
		x[i] = float64(i + 1)
		rungs[tr.Rung] = tr.Budget
	}
	series := func(name string, keep func(tune.TrialResult) bool) plot.Series {
		y := make([]float64, len(trials))
		for i, tr := range trials {
			y[i] = math.NaN()
			if keep(tr) {
				y[i] = tr.Value
			}
		}
		return plot.Series{Name: name, Y: y}
	}
	var ss []plot.Series
	if len(rungs) > 1 {
		unit := "epoch"
		if t.Recipe.IsText() {
			unit = "step"
		}
		for r := range len(rungs) {
			name := fmt.Sprintf("%d %ss", rungs[r], unit)
			if rungs[r] == 1 {
				name = "1 " + unit
			}
			ss = append(ss, series(name, func(tr tune.TrialResult) bool { return tr.Rung == r }))
		}
	} else {
		ss = append(ss, series("trial", func(tune.TrialResult) bool { return true }))
		best := make([]float64, len(trials))
		b := math.NaN()
		for i, tr := range trials {
			if !tr.Failed && (math.IsNaN(b) || (tr.Value < b) != t.Report.Maximize) {
				b = tr.Value
			}
			best[i] = b
		}
		ss = append(ss, plot.Series{Name: "best so far", Y: best})
	}
	title, ylabel, logY := t.Metric.title(t.Recipe.IsText())
	method, _, _ := strings.Cut(t.Report.Method, "(")
	return plot.LinesSpec{Title: fmt.Sprintf("%s of each trial (%s search)", title, method), XLabel: "trial, in the order run",
		YLabel: ylabel, LogY: logY, X: x, Series: ss}
}
