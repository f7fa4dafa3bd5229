package run_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/descentml/descent/data"
	"github.com/descentml/descent/nn"
	"github.com/descentml/descent/recipe"
	"github.com/descentml/descent/run"
)

// TestSample checks that run.Sample, passing each token on as it is
// drawn, draws the tokens of one nn.Sample call, for a context shorter
// than the text, of a transformer and of a recurrent model (which carries
// its state past the context); that a cancelled context stops it with
// what it drew; and DefaultPrompt for a vocabulary without a newline.
func TestSample(t *testing.T) {
	vocab, err := data.CharVocab("abc de")
	if err != nil {
		t.Fatal(err)
	}
	prompt := run.DefaultPrompt(vocab)
	if s, _ := vocab.Decode(prompt); s != " " {
		t.Errorf("DefaultPrompt of a vocabulary without a newline = %q; want a space", s)
	}
	for _, spec := range []string{"gpt:layers=1,d=16,heads=2,ctx=8", "lstm:16,ctx=8"} {
		t.Run(spec, func(t *testing.T) { testSample(t, spec, vocab, prompt) })
	}
}

func testSample(t *testing.T, spec string, vocab *data.Vocab, prompt []int) {
	model, err := recipe.ParseModel(spec)
	if err != nil {
		t.Fatal(err)
	}
	m, _, err := model.BuildSeq(vocab.Len(), 3)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range m.Params() { // larger weights, so that what a token follows shows in its draw
		for i := range p.Value {
			p.Value[i] *= 8
		}
	}
	cfg := nn.SampleConfig{Tokens: 30, Context: 8, Temperature: 1, TopK: 3}
	want, err := nn.Sample(m, prompt, cfg, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		t.Fatal(err)
	}
	var text strings.Builder
	emits := 0
	n, err := run.Sample(context.Background(), m, vocab, prompt, cfg, rand.New(rand.NewPCG(1, 2)), func(s string) error {
		emits++
		text.WriteString(s)
		return nil
	})
	wantText, _ := vocab.Decode(want)
	if err != nil || n != cfg.Tokens || text.String() != wantText || emits != cfg.Tokens {
		t.Errorf("Sample = %d, %v, %q in %d pieces; want nn.Sample's %q, a token at a time", n, err, text.String(), emits, wantText)
	}
	ctx, cancel := context.WithCancel(context.Background())
	text.Reset()
	n, err = run.Sample(ctx, m, vocab, prompt, cfg, rand.New(rand.NewPCG(1, 2)), func(s string) error {
		text.WriteString(s)
		if emits--; emits == cfg.Tokens-5 {
			cancel()
		}
		return nil
	})
	if !errors.Is(err, context.Canceled) || n != 5 || text.String() != string([]rune(wantText)[:5]) {
		t.Errorf("Sample cancelled after 5 tokens = %d, %v, %q; want 5, context.Canceled, %q", n, err, text.String(), string([]rune(wantText)[:5]))
	}
}
