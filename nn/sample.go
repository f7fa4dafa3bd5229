package nn

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/descentml/descent/autograd"
	"github.com/descentml/descent/tensor"
)

// SampleConfig says how [Sample] draws tokens. Use [DefaultSampleConfig]
// and change what differs.
type SampleConfig struct {
	// Tokens is the number of tokens to generate; must not be negative.
	Tokens int
	// Context is the most tokens fed to the model at once (a
	// transformer's positions, the length a recurrent model was trained
	// on): each step reads the last Context tokens. Must be positive.
	Context int
	// Temperature divides the logits before the softmax: below 1 sharper,
	// above 1 flatter. 0 means greedy decoding (always the most likely
	// token). DefaultSampleConfig sets 1.
	Temperature float64
	// TopK, if positive, draws only among the K most likely tokens; 0
	// means all of them.
	TopK int
}

// DefaultSampleConfig returns 200 tokens at temperature 1 from every
// token, with a context of ctx.
func DefaultSampleConfig(ctx int) SampleConfig {
	return SampleConfig{Tokens: 200, Context: ctx, Temperature: 1}
}

// Sample generates cfg.Tokens tokens from a language model m (token ids
// [B, T] in, logits [B, T, V] out, as [Transformer] and [RecurrentLM])
// after the prompt's ids, drawing each from the softmax of the last
// position's logits with rng, and returns the new tokens. The same model,
// prompt, configuration and rng state give the same tokens. The model is
// run in eval mode and left in it. An empty prompt, a bad configuration
// or an id out of the vocabulary is an error.
func Sample[T tensor.Float](m Module[T], prompt []int, cfg SampleConfig, rng *rand.Rand) ([]int, error) {
	switch {
	case len(prompt) == 0:
		return nil, errors.New("nn: sample: an empty prompt (give at least one token)")
	case cfg.Tokens < 0 || cfg.Context <= 0 || cfg.TopK < 0 || !(cfg.Temperature >= 0) || math.IsInf(cfg.Temperature, 0):
		return nil, fmt.Errorf("nn: sample: %d tokens, context %d, top-k %d, temperature %v: want tokens and top-k not negative, a positive context, a finite temperature ≥ 0",
			cfg.Tokens, cfg.Context, cfg.TopK, cfg.Temperature)
	case rng == nil:
		panic("nn: nil rng for sampling")
	}
	if ms, ok := m.(ModeSetter); ok {
		ms.SetMode(Eval)
	}
	t := autograd.NewTape[T]()
	t.SetNoGrad(true)
	seq := slices.Clone(prompt)
	var probs []float64
	var order []int
	for range cfg.Tokens {
		in := seq[max(len(seq)-cfg.Context, 0):]
		x := tensor.New[T](1, len(in))
		for i, id := range in {
			x.Data()[i] = T(id)
		}
		logits, err := m.Forward(t, t.Const(x))
		if err != nil {
			return nil, fmt.Errorf("nn: sample: %w", err)
		}
		out := logits.Value().Data()
		v := logits.Shape()[len(logits.Shape())-1]
		last := out[len(out)-v:]
		next := pick(last, cfg, rng, &probs, &order)
		t.Reset()
		seq = append(seq, next)
	}
	return seq[len(prompt):], nil
}

// pick draws a token from logits as cfg says.
func pick[T tensor.Float](logits []T, cfg SampleConfig, rng *rand.Rand, probs *[]float64, order *[]int) int {
	best := 0
	for i, l := range logits {
		if l > logits[best] {
			best = i
		}
	}
	if cfg.Temperature == 0 {
		return best
	}
	// The candidates, most likely first when limited to the top k.
	*order = (*order)[:0]
	for i := range logits {
		*order = append(*order, i)
	}
	cand := *order
	if cfg.TopK > 0 && cfg.TopK < len(cand) {
		slices.SortStableFunc(cand, func(a, b int) int {
			switch {
			case logits[a] > logits[b]:
				return -1
			case logits[a] < logits[b]:
				return 1
			}
			return 0
		})
		cand = cand[:cfg.TopK]
	}
	*probs = (*probs)[:0]
	var sum float64
	for _, i := range cand {
		p := math.Exp((float64(logits[i]) - float64(logits[best])) / cfg.Temperature)
		*probs = append(*probs, p)
		sum += p
	}
	u := rng.Float64() * sum
	for k, p := range *probs {
		if u < p {
			return cand[k]
		}
		u -= p
	}
	return cand[len(cand)-1]
}
