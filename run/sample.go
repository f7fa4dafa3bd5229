package run

import (
	"context"
	"fmt"
	"math/rand/v2"

	"github.com/descentml/descent/data"
	"github.com/descentml/descent/nn"
)

// DefaultPrompt returns the token a sample with no prompt starts after: a
// newline, as a text's lines start; for a vocabulary without one (a text
// of a single line), a space, or else its first token. nn.Sample needs at
// least one token to start from.
func DefaultPrompt(vocab *data.Vocab) []int {
	for _, s := range []string{"\n", " "} {
		if ids, err := vocab.Encode(nil, s); err == nil {
			return ids
		}
	}
	return []int{0}
}

// Sample generates cfg.Tokens tokens from the language model m after
// prompt, the tokens nn.Sample draws with the same arguments, passing
// each, decoded with vocab, to emit as it is drawn (nn.SampleEach), so
// that a command can print the text as it grows, in the same memory
// however many tokens it draws. A cancelled ctx stops it between tokens,
// with ctx's error; an error of emit stops it with that error. It returns
// the number of tokens passed to emit either way.
func Sample(ctx context.Context, m nn.Module[float32], vocab *data.Vocab, prompt []int, cfg nn.SampleConfig, rng *rand.Rand, emit func(string) error) (int, error) {
	if cfg.Tokens < 0 {
		return 0, fmt.Errorf("run: sample: %d tokens: must not be negative", cfg.Tokens)
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	n := 0
	one := make([]int, 1)
	err := nn.SampleEach(m, prompt, cfg, rng, func(token int) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		one[0] = token
		s, err := vocab.Decode(one)
		if err != nil {
			return err
		}
		n++
		return emit(s)
	})
	return n, err
}
