package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"

	"github.com/descentml/descent/nn"
	"github.com/descentml/descent/run"
	"github.com/descentml/descent/tensor"
)

const aboutSample = `Generates text from the language model a "descent train --data text…" run
saved in DIR: the prompt, encoded with the run's vocabulary, then --tokens
tokens drawn one at a time from the model's next-token distribution
(sharpened by --temperature below 1, limited to the --top-k most likely).
The same run, flags and --seed print the same text, printed as it is
drawn; Ctrl-C stops it with what was drawn. With no --prompt the text
starts after a newline (a space, for a vocabulary without one).`

func runSample(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("sample", "--model DIR [flags]", aboutSample)
	dir := fs.String("model", "", "the run directory of a trained language model (required)")
	prompt := fs.String("prompt", "", "the text to continue (default: a newline)")
	tokens := countFlag(fs, "tokens", 200, "tokens to generate, `N`")
	temp := fs.Float64("temperature", 1, "softmax temperature (0: always the most likely token)")
	topK := fs.Int("top-k", 0, "draw among the k most likely tokens only (0: all)")
	seed := fs.Uint64("seed", 1, "seed of the draws")
	threads := threadsFlag(fs)
	if err := parseFlags(fs, args, stdout, stderr); err != nil {
		return err
	}
	if *dir == "" {
		fmt.Fprintln(stderr, "descent sample: --model DIR is required")
		return errUsage
	}
	tensor.SetThreads(*threads)
	m, r, vocab, err := run.LoadSeq(*dir)
	if err != nil {
		return err
	}
	ids := run.DefaultPrompt(vocab)
	if *prompt != "" {
		if ids, err = vocab.Encode(nil, *prompt); err != nil {
			return fmt.Errorf("--prompt: %w", err)
		}
	}
	cfg := nn.SampleConfig{Tokens: *tokens, Context: r.Model.Seq.Ctx, Temperature: *temp, TopK: *topK}
	ctx, stop := interruptible()
	defer stop()
	w := bufio.NewWriter(stdout)
	w.WriteString(*prompt)
	n, err := run.Sample(ctx, m, vocab, ids, cfg, rand.New(rand.NewPCG(*seed, 0x5a4d1e)), func(s string) error {
		w.WriteString(s)
		return w.Flush()
	})
	w.WriteString("\n")
	if ferr := w.Flush(); err == nil {
		err = ferr
	}
	if errors.Is(err, context.Canceled) {
		return &exitError{interruptedStatus(), fmt.Errorf("interrupted after %d of %d tokens", n, *tokens)}
	}
	return err
}
