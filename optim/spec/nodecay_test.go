package spec_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/descentml/descent/optim/spec"
)

// The parameters of descent's models, as nn names them: an mlp with batch
// normalization, a GPT block and an LSTM.
var (
	mlpNames  = []string{"1.weight", "1.bias", "2.weight", "2.bias", "4.weight", "4.bias"}
	mlpShapes = [][]int{{8, 64}, {8}, {8}, {8}, {10, 8}, {10}}
	gptNames  = []string{"tok_emb.weight", "pos_emb.weight", "blocks.0.ln1.weight", "blocks.0.ln1.bias",
		"blocks.0.attn.in_proj_weight", "blocks.0.attn.out_proj.weight", "blocks.0.fc1.weight", "blocks.0.fc1.bias",
		"ln_f.weight", "ln_f.bias", "head.weight", "head.bias"}
	gptShapes = [][]int{{20, 16}, {8, 16}, {16}, {16}, {48, 16}, {16, 16}, {64, 16}, {64}, {16}, {16}, {20, 16}, {20}}
	rnnNames  = []string{"emb.weight", "lstm.weight_ih_l0", "lstm.weight_hh_l0", "lstm.bias_ih_l0", "lstm.bias_hh_l0", "head.weight", "head.bias"}
	rnnShapes = [][]int{{20, 16}, {64, 16}, {64, 16}, {64}, {64}, {20, 16}, {20}}
)

func TestNoDecay(t *testing.T) {
	for _, c := range []struct {
		model    string
		names    []string
		shapes   [][]int
		patterns []string
		want     []string
	}{
		{"mlp", mlpNames, mlpShapes, []string{"bias"}, []string{"1.bias", "2.bias", "4.bias"}},
		{"mlp", mlpNames, mlpShapes, []string{"norm"}, []string{"2.weight", "2.bias"}},
		{"mlp", mlpNames, mlpShapes, []string{"bias", "norm"}, []string{"1.bias", "2.weight", "2.bias", "4.bias"}},
		{"mlp", mlpNames, mlpShapes, []string{"1d"}, []string{"1.bias", "2.weight", "2.bias", "4.bias"}},
		{"mlp", mlpNames, mlpShapes, []string{"4.*"}, []string{"4.weight", "4.bias"}},
		{"gpt", gptNames, gptShapes, []string{"norm"}, []string{"blocks.0.ln1.weight", "blocks.0.ln1.bias", "ln_f.weight", "ln_f.bias"}},
		{"gpt", gptNames, gptShapes, []string{"embed"}, []string{"tok_emb.weight", "pos_emb.weight"}},
		{"gpt", gptNames, gptShapes, []string{"bias", "norm", "embed"}, []string{"tok_emb.weight", "pos_emb.weight",
			"blocks.0.ln1.weight", "blocks.0.ln1.bias", "blocks.0.fc1.bias", "ln_f.weight", "ln_f.bias", "head.bias"}},
		{"gpt", gptNames, gptShapes, []string{"blocks.*.attn.*"}, []string{"blocks.0.attn.in_proj_weight", "blocks.0.attn.out_proj.weight"}},
		{"lstm", rnnNames, rnnShapes, []string{"bias", "embed"}, []string{"emb.weight", "lstm.bias_ih_l0", "lstm.bias_hh_l0", "head.bias"}},
	} {
		got, err := spec.NoDecay(c.patterns, c.names, c.shapes)
		if err != nil || !slices.Equal(got, c.want) {
			t.Errorf("NoDecay(%q) on the %s = %q, %v; want %q", c.patterns, c.model, got, err, c.want)
		}
	}
}

// A pattern that matches nothing, and a malformed glob, are errors that
// name the pattern.
func TestNoDecayErrors(t *testing.T) {
	for _, c := range []struct {
		model    string
		names    []string
		shapes   [][]int
		patterns []string
	}{
		{"lstm", rnnNames, rnnShapes, []string{"bias", "norm"}}, // no normalization layer
		{"mlp", mlpNames, mlpShapes, []string{"embed"}},
		{"mlp", mlpNames, mlpShapes, []string{"biases"}}, // a typo: a glob matching no name
		{"mlp", mlpNames, mlpShapes, []string{"[4"}},
	} {
		_, err := spec.NoDecay(c.patterns, c.names, c.shapes)
		bad := c.patterns[len(c.patterns)-1]
		if err == nil || !strings.Contains(err.Error(), `"`+bad+`"`) {
			t.Errorf("NoDecay(%q) on the %s: error %v; want one naming %q", c.patterns, c.model, err, bad)
		}
	}
	if err := spec.CheckNoDecay([]string{"bias", "[x"}); err == nil || !strings.Contains(err.Error(), `"[x"`) {
		t.Errorf(`CheckNoDecay(bias, [x) = %v; want an error naming "[x"`, err)
	}
	if err := spec.CheckNoDecay([]string{"bias", "norm", "embed", "1d", "*.weight"}); err != nil {
		t.Errorf("CheckNoDecay of valid patterns: %v", err)
	}
}
