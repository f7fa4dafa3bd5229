package spec

import (
	"fmt"
	"path"
	"slices"
	"strings"
)

// NoDecayClasses are the words a --no-decay pattern may be besides a glob
// over names, with what each matches (see [NoDecay]).
var NoDecayClasses = []struct{ Name, Doc string }{
	{"bias", `biases: a name whose last part holds "bias"`},
	{"norm", "batch and layer norm's gains and shifts: the layers whose weight is 1-D (2.weight, 2.bias in an mlp)"},
	{"embed", "embeddings: a name with a part holding emb, wte or wpe"},
	{"1d", "every parameter of fewer than 2 dimensions, as --decay-weights-only"},
}

// NoDecay returns the names of the parameters (named, with their shapes,
// in the model's order) that patterns exclude from weight decay, in the
// model's order. A pattern is one of NoDecayClasses' words or else a glob
// over whole names in path.Match's syntax ("4.weight", "*.bias",
// "blocks.*.attn.*"). A pattern that matches no parameter, or a malformed
// glob, is an error naming it, so that a typo does not pass unnoticed.
func NoDecay(patterns []string, names []string, shapes [][]int) ([]string, error) {
	if len(names) != len(shapes) {
		panic("spec: NoDecay: names and shapes differ in length")
	}
	norms := normLayers(names, shapes)
	excluded := make([]bool, len(names))
	for _, pat := range patterns {
		matched := false
		for i, n := range names {
			ok, err := matchNoDecay(pat, n, shapes[i], norms)
			if err != nil {
				return nil, err
			}
			if ok {
				excluded[i], matched = true, true
			}
		}
		if !matched {
			hint := ""
			if !slices.Contains(noDecayWords(), pat) {
				hint = "; the classes are " + strings.Join(noDecayWords(), ", ")
			}
			return nil, fmt.Errorf("spec: --no-decay %q matches no parameter (the model has %s%s)", pat, describe(names, shapes), hint)
		}
	}
	out := []string{} // not nil: config.json says [] when nothing is excluded
	for i, n := range names {
		if excluded[i] {
			out = append(out, n)
		}
	}
	return out, nil
}

// CheckNoDecay checks the syntax of patterns, for a recipe validated
// before its model exists: each a class of NoDecayClasses or a well-formed
// glob.
func CheckNoDecay(patterns []string) error {
	for _, p := range patterns {
		if p == "" {
			return fmt.Errorf("spec: --no-decay: an empty pattern")
		}
		if _, err := matchNoDecay(p, "", nil, nil); err != nil {
			return err
		}
	}
	return nil
}

// matchNoDecay reports whether pattern pat matches the parameter name of
// shape shape; norms holds the layers that are normalization layers.
func matchNoDecay(pat, name string, shape []int, norms map[string]bool) (bool, error) {
	parts := strings.Split(strings.ToLower(name), ".")
	last := parts[len(parts)-1]
	switch pat {
	case "bias":
		return strings.Contains(last, "bias"), nil
	case "norm":
		return norms[layerOf(name)], nil
	case "embed":
		return slices.ContainsFunc(parts, func(p string) bool {
			return strings.Contains(p, "emb") || strings.Contains(p, "wte") || strings.Contains(p, "wpe")
		}), nil
	case "1d":
		return len(shape) < 2, nil
	}
	ok, err := path.Match(pat, name)
	if err != nil {
		return false, fmt.Errorf("spec: --no-decay %q: not a class (%s) nor a valid glob: %w", pat, strings.Join(noDecayWords(), ", "), err)
	}
	return ok, nil
}

// normLayers returns the layers (names less their last part) that hold a
// one-dimensional parameter named "weight": in descent's models, exactly
// the normalization layers, whose names (2. in an mlp) do not say so.
func normLayers(names []string, shapes [][]int) map[string]bool {
	m := map[string]bool{}
	for i, n := range names {
		l := layerOf(n)
		if len(shapes[i]) == 1 && n == l+"weight" {
			m[l] = true
		}
	}
	return m
}

// layerOf returns a parameter's name up to and including its last dot
// ("blocks.0.ln1." of "blocks.0.ln1.weight"); "" for a name without one.
func layerOf(name string) string {
	if i := strings.LastIndexByte(name, '.'); i >= 0 {
		return name[:i+1]
	}
	return ""
}

func noDecayWords() []string {
	w := make([]string, len(NoDecayClasses))
	for i, c := range NoDecayClasses {
		w[i] = c.Name
	}
	return w
}

// NoDecayHelp is the help of the --no-decay flag.
func NoDecayHelp() string {
	var b strings.Builder
	b.WriteString("parameters to leave out of weight decay, comma-separated: ")
	for _, c := range NoDecayClasses {
		b.WriteString(c.Name + " (" + c.Doc + "), ")
	}
	b.WriteString("or a glob over names as 4.weight or blocks.*.attn.*; a pattern that matches no parameter is an error")
	return b.String()
}
