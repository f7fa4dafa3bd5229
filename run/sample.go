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
// prompt, the tokens nn.Sample draws with the same arguments, but one at a
// time: each is decoded with vocab and passed to emit as it is drawn, so
// that a command can print the text as it grows, and only the last
// cfg.Context tokens are kept, so that any number can be drawn in the
// same memory. nn.Sample reads only those and rng, so drawing one token a
// call, after the text so far, draws what a single call would. A cancelled
// ctx stops it between tokens, with ctx's error; an error of emit stops it
// with that error. It returns the number of tokens drawn either way.
func Sample(ctx context.Context, m nn.Module[float32], vocab *data.Vocab, prompt []int, cfg nn.SampleConfig, rng *rand.Rand, emit func(string) error) (int, error) {
	if cfg.Tokens < 0 {
		return 0, fmt.Errorf("run: sample: %d tokens: must not be negative", cfg.Tokens)
	}
	window := append([]int(nil), prompt[max(len(prompt)-cfg.Context, 0):]...)
	one := cfg
	one.Tokens = 1
	for i := range cfg.Tokens {
		if err := ctx.Err(); err != nil {
			return i, err
		}
		next, err := nn.Sample(m, window, one, rng)
		if err != nil {
			return i, err
		}
		if len(window) == cfg.Context {
			window = append(window[:0], window[1:]...)
		}
		window = append(window, next...)
		s, err := vocab.Decode(next)
		if err == nil {
			err = emit(s)
		}
		if err != nil {
			return i + 1, err
		}
	}
	return cfg.Tokens, nil
}
