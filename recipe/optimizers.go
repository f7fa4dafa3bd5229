package recipe

import (
	"errors"
	"flag"
	"fmt"
	"strconv"
	"strings"

	"github.com/descentml/descent/nn"
	"github.com/descentml/descent/optim"
	"github.com/descentml/descent/optim/spec"
	"github.com/descentml/descent/train"
)

// This file holds what a recipe needs for optimizers that are more than
// one method over every parameter: Muon's routing of parameters between
// Muon and AdamW, and the average of the weights (EMA or SWA).

// Route returns the recipe with its parameter groups made explicit for
// the model the recipe builds on examples of shape and classes: Muon's
// routing (Routing) and the parameters left out of weight decay
// (NoDecayParams), so that config.json says which parameter goes where
// and a resumed run treats them alike. What is already resolved, or not
// asked for, is left as it is. A model with no hidden weight matrix for
// Muon, or a --no-decay pattern that matches no parameter, is an error.
func (r Recipe) Route(shape []int, classes int) (Recipe, error) {
	if !r.unrouted() {
		return r, nil
	}
	model, _, _, err := r.Model.Build(shape, classes, r.Seed)
	if err != nil {
		return r, err
	}
	return r.routeModel(model)
}

// unrouted reports whether Route has something to resolve.
func (r Recipe) unrouted() bool {
	_, muon := r.Optimizer.Method.(spec.Muon)
	return muon && r.Routing == nil || len(r.noDecayPatterns()) > 0 && r.NoDecayParams == nil
}

// routeModel sets the recipe's Muon routing of model's parameters and the
// parameters it leaves out of weight decay.
func (r Recipe) routeModel(model nn.Module[float32]) (Recipe, error) {
	r, err := r.resolveNoDecay(model)
	if err != nil {
		return r, err
	}
	if _, ok := r.Optimizer.Method.(spec.Muon); !ok || r.Routing != nil {
		return r, nil
	}
	names, shapes := namesShapes(model)
	routing, err := spec.RouteMuon(names, shapes, r.ToAdamW, r.ToMuon)
	if err != nil {
		return r, fmt.Errorf("recipe: model %s: %w", r.Model, err)
	}
	r.Routing = &routing
	return r, nil
}

// validateOptimizer checks that only muon is given a routing, and the
// averaging.
func (r Recipe) validateOptimizer() error {
	if r.Accumulate < 0 {
		return fmt.Errorf("recipe: accumulate %d: must not be negative", r.Accumulate)
	}
	if r.Average != "" {
		a, err := ParseAverage(r.Average)
		if err != nil {
			return err
		}
		if a.SetsRate() && r.Schedule.Name == "plateau" {
			return fmt.Errorf("recipe: --average %q switches the rate to SWALR's at start, and the plateau schedule's rate there depends on the validation loss: use another schedule, or no lr=", r.Average)
		}
		if strings.HasPrefix(r.Optimizer.Name, "sf-") {
			return fmt.Errorf("recipe: --average %q with %s: Schedule-Free already evaluates an average of its iterates (x)", r.Average, r.Optimizer.Name)
		}
	}
	if _, ok := r.Optimizer.Method.(spec.Muon); ok {
		return nil
	}
	if r.Routing != nil || len(r.ToAdamW) > 0 || len(r.ToMuon) > 0 {
		return fmt.Errorf("recipe: --to-adamw, --to-muon and a routing are muon's; optimizer %s updates every parameter alike", r.Optimizer.Name)
	}
	return nil
}

// newOptimizer makes the optimizer of model: one group, or muon's two.
func (r Recipe) newOptimizer(model nn.Module[float32], oc optim.Config, lr spec.Rate) (*optim.Optimizer[float32], error) {
	params := train.Params[float32](model)
	m, ok := r.Optimizer.Method.(spec.Muon)
	if !ok {
		return optim.New(params, oc)
	}
	if r.Routing == nil {
		return nil, errors.New("recipe: muon's routing is not resolved (Recipe.Route)")
	}
	groups, err := spec.MuonGroups(m, params, *r.Routing, lr)
	if err != nil {
		return nil, fmt.Errorf("recipe: %w", err)
	}
	return optim.NewGroups(groups, oc)
}

// optimizerFlags are the flags of the optimizer settings that are not
// keys of the vocabulary: gradient accumulation and the average of the
// weights, which apply to every optimizer, and Muon's routing (toAdamW and
// toMuon; nil where the optimizer's flags are left out).
type optimizerFlags struct {
	toAdamW, toMuon, average *string
	accumulate               *int
}

func addOptimizerFlags(fs *flag.FlagSet, def Recipe, routing bool) *optimizerFlags {
	f := &optimizerFlags{
		accumulate: fs.Int("accumulate", def.Accumulate, "make this many batches one optimizer step, their gradients averaged (an epoch's last step averages the batches left); 0 or 1: every batch"),
		average:    fs.String("average", def.Average, averageHelp()),
	}
	if routing {
		f.toAdamW = fs.String("to-adamw", strings.Join(def.ToAdamW, ","), "muon: parameters, by name (as 0.weight), to give AdamW although they are hidden matrices; comma-separated")
		f.toMuon = fs.String("to-muon", strings.Join(def.ToMuon, ","), "muon: 2-D parameters, by name (as 4.weight), to give Muon although the rule gives them AdamW; comma-separated")
	}
	return f
}

// averageHelp is --average's help, from the vocabulary.
func averageHelp() string {
	var b strings.Builder
	b.WriteString(`evaluate and save an average of the weights (torch.optim.swa_utils), "" none: "ema decay=0.999" or "swa start=N lr=0.05"; start and anneal count the schedule's unit (steps or epochs)`)
	for _, n := range spec.AverageNames() {
		fmt.Fprintf(&b, "\n  %s: %s", n, spec.AverageDoc(n))
		for _, k := range spec.AverageKeys(n) {
			fmt.Fprintf(&b, "\n    %s: %s", k.Name, k.Help)
		}
	}
	return b.String()
}

func (f *optimizerFlags) set(r *Recipe) {
	r.Average, r.Accumulate = *f.average, *f.accumulate
	if f.toAdamW != nil {
		r.ToAdamW, r.ToMuon = names(*f.toAdamW), names(*f.toMuon)
	}
}

func names(s string) []string {
	var out []string
	for _, n := range strings.Split(s, ",") {
		if n = strings.TrimSpace(n); n != "" {
			out = append(out, n)
		}
	}
	return out
}

// optimizerArgs returns the flags of optimizerFlags that make r.
func (r Recipe) optimizerArgs() []string {
	var args []string
	if len(r.ToAdamW) > 0 {
		args = append(args, "--to-adamw", strings.Join(r.ToAdamW, ","))
	}
	if len(r.ToMuon) > 0 {
		args = append(args, "--to-muon", strings.Join(r.ToMuon, ","))
	}
	if r.Average != "" {
		args = append(args, "--average", r.Average)
	}
	if r.Accumulate > 1 {
		args = append(args, "--accumulate", strconv.Itoa(r.Accumulate))
	}
	return args
}

// ParseAverage reads --average: an average of the weights in the
// vocabulary's words (spec.ParseAverage), "ema decay=0.999" or
// "swa start=N lr=0.05 anneal=10 strategy=cos".
func ParseAverage(s string) (spec.Average, error) {
	a, err := spec.ParseAverage(s)
	if err != nil {
		return a, fmt.Errorf("recipe: --average %q: %w", s, err)
	}
	return a, nil
}

// averaging returns the run's averaging of the weights, nil if none, its
// start counted in the schedule's unit of unitSteps optimizer steps.
func (r Recipe) averaging(unitSteps int) *optim.Averaging {
	if r.Average == "" {
		return nil
	}
	a, _ := ParseAverage(r.Average) // validated
	c := a.Averaging(unitSteps)
	return &c
}

// unitSteps returns the optimizer steps of one unit of the schedule: 1,
// or stepsPerEpoch for a schedule in epochs.
func (r Recipe) unitSteps(stepsPerEpoch int) int {
	if r.Schedule.Unit == "epoch" {
		return stepsPerEpoch
	}
	return 1
}
