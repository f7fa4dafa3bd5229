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
	// Context is the most tokens a transformer reads at once (its
	// positions): each step reads the last Context tokens afresh. Must be
	// positive. A [RecurrentLM] has no such limit and ignores it (see
	// [Sample]).
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
// prompt, configuration and rng state give the same tokens. An empty
// prompt, a bad configuration or an id out of the vocabulary is an error.
//
// A [Transformer] or a [RecurrentLM] is run as in eval mode (no dropout)
// without being changed: its mode stays as it was, and goroutines may
// sample from one model at once, each with its own rng (as long as nothing
// trains or loads it meanwhile). Any other model is set to eval mode
// (SetMode, if it has one) and left in it; it must not be shared between
// goroutines during Sample.
//
// A [RecurrentLM] reads the prompt once and then each new token once,
// carrying its layers' states from one to the next, as char-rnn and
// PyTorch sampling loops do: a token costs the same however long the text,
// and every token conditions all that follow, with no window of
// cfg.Context. Where the text fits in cfg.Context tokens this gives the
// tokens of rerunning the model over the whole text at each step, bit for
// bit; beyond, a window would forget the start of the text (restarting
// from zero states), which the carried states do not. Any other model reads
// the last cfg.Context tokens afresh for each token.
func Sample[T tensor.Float](m Module[T], prompt []int, cfg SampleConfig, rng *rand.Rand) ([]int, error) {
	var out []int
	err := SampleEach(m, prompt, cfg, rng, func(token int) error {
		out = append(out, token)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// SampleEach draws the tokens Sample draws with the same arguments, but
// passes each to each as it is drawn instead of returning them, so that a
// caller can show the text as it grows and stop when it likes: an error
// of each stops the sampling and is returned as it is. It keeps no more
// of the text than the model reads (cfg.Context tokens, or none for a
// [RecurrentLM]), so any number of tokens can be drawn in the same memory.
func SampleEach[T tensor.Float](m Module[T], prompt []int, cfg SampleConfig, rng *rand.Rand, each func(token int) error) error {
	switch {
	case len(prompt) == 0:
		return errors.New("nn: sample: an empty prompt (give at least one token)")
	case cfg.Tokens < 0 || cfg.Context <= 0 || cfg.TopK < 0 || !(cfg.Temperature >= 0) || math.IsInf(cfg.Temperature, 0):
		return fmt.Errorf("nn: sample: %d tokens, context %d, top-k %d, temperature %v: want tokens and top-k not negative, a positive context, a finite temperature ≥ 0",
			cfg.Tokens, cfg.Context, cfg.TopK, cfg.Temperature)
	case rng == nil:
		panic("nn: nil rng for sampling")
	}
	switch m := m.(type) {
	case *RecurrentLM[T]:
		return sample(carried(m), prompt, cfg, rng, each)
	case *Transformer[T]:
		return sample(window(m.evaluate, cfg.Context), prompt, cfg, rng, each)
	}
	if ms, ok := m.(ModeSetter); ok {
		ms.SetMode(Eval)
	}
	return sample(window(forwardIDs(m), cfg.Context), prompt, cfg, rng, each)
}

// A nextFunc returns the logits of the token after the text so far, valid
// until t is reset, given the tokens of the text it has not been given
// yet (the prompt, then each token drawn).
type nextFunc[T tensor.Float] func(t *autograd.Tape[T], fresh []int) ([]T, error)

// sample draws cfg.Tokens tokens after prompt, each from the logits next
// gives for the text so far, and passes each to each.
func sample[T tensor.Float](next nextFunc[T], prompt []int, cfg SampleConfig, rng *rand.Rand, each func(int) error) error {
	t := autograd.NewTape[T]()
	t.SetNoGrad(true)
	fresh := slices.Clone(prompt)
	var probs []float64
	var order []int
	for range cfg.Tokens {
		logits, err := next(t, fresh)
		if err != nil {
			return fmt.Errorf("nn: sample: %w", err)
		}
		token := pick(logits, cfg, rng, &probs, &order)
		t.Reset()
		if err := each(token); err != nil {
			return err
		}
		fresh = append(fresh[:0], token)
	}
	return nil
}

// A logitsFunc returns a language model's logits [1, T, V] for one
// sequence of token ids.
type logitsFunc[T tensor.Float] func(t *autograd.Tape[T], ids []int) (*autograd.Var[T], error)

// window runs a model over the last ctx tokens of the text, from scratch,
// keeping those tokens.
func window[T tensor.Float](run logitsFunc[T], ctx int) nextFunc[T] {
	var text []int
	return func(t *autograd.Tape[T], fresh []int) ([]T, error) {
		text = append(text, fresh...)
		if len(text) > ctx {
			text = append(text[:0], text[len(text)-ctx:]...)
		}
		logits, err := run(t, text)
		if err != nil {
			return nil, err
		}
		out := logits.Value().Data()
		return out[len(out)-logits.Shape()[len(logits.Shape())-1]:], nil
	}
}

// forwardIDs runs m's Forward on the ids as values [1, T].
func forwardIDs[T tensor.Float](m Module[T]) logitsFunc[T] {
	return func(t *autograd.Tape[T], ids []int) (*autograd.Var[T], error) {
		x := tensor.New[T](1, len(ids))
		for i, id := range ids {
			x.Data()[i] = T(id)
		}
		return m.Forward(t, t.Const(x))
	}
}

// carried feeds m the tokens of the text it has not read yet, carrying its
// states from call to call.
func carried[T tensor.Float](m *RecurrentLM[T]) nextFunc[T] {
	var st recurrentState[T]
	return func(t *autograd.Tape[T], fresh []int) ([]T, error) {
		return m.feed(t, fresh, &st)
	}
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
