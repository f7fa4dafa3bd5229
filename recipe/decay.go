package recipe

import (
	"fmt"
	"slices"
	"strings"

	"github.com/descentml/descent/nn"
	"github.com/descentml/descent/optim/spec"
)

// This file holds the parameters a recipe leaves out of weight decay:
// NoDecay's patterns, DecayWeightsOnly, and their resolution for a model
// (NoDecayParams).

// noDecayPatterns returns the recipe's patterns of parameters left out of
// weight decay: NoDecay, with 1d for DecayWeightsOnly.
func (r Recipe) noDecayPatterns() []string {
	p := slices.Clone(r.NoDecay)
	if r.DecayWeightsOnly && !slices.Contains(p, "1d") {
		p = append(p, "1d")
	}
	return p
}

// resolveNoDecay sets NoDecayParams for model, if the recipe has patterns
// and they are not resolved yet.
func (r Recipe) resolveNoDecay(model nn.Module[float32]) (Recipe, error) {
	pats := r.noDecayPatterns()
	if len(pats) == 0 || r.NoDecayParams != nil {
		return r, nil
	}
	names, shapes := namesShapes(model)
	got, err := spec.NoDecay(pats, names, shapes)
	if err != nil {
		return r, fmt.Errorf("recipe: model %s: %w", r.Model, err)
	}
	r.NoDecayParams = got
	return r, nil
}

// decayMask returns the optimizer's decay mask for model: nil (decay every
// parameter) without patterns, else the complement of NoDecayParams,
// resolved here if the recipe has not been (Route). A recorded name that
// model lacks is an error: a config.json written for another model.
func (r Recipe) decayMask(model nn.Module[float32]) (func(string, []int) bool, error) {
	r, err := r.resolveNoDecay(model)
	if err != nil || r.NoDecayParams == nil {
		return nil, err
	}
	names, _ := namesShapes(model)
	skip := map[string]bool{}
	for _, n := range r.NoDecayParams {
		if !slices.Contains(names, n) {
			return nil, fmt.Errorf("recipe: no_decay_params names %q, which model %s does not have (its parameters are %s)", n, r.Model, strings.Join(names, ", "))
		}
		skip[n] = true
	}
	return func(name string, _ []int) bool { return !skip[name] }, nil
}

func namesShapes(model nn.Module[float32]) ([]string, [][]int) {
	var names []string
	var shapes [][]int
	for _, p := range model.Params() {
		names, shapes = append(names, p.Name), append(shapes, p.Shape)
	}
	return names, shapes
}
