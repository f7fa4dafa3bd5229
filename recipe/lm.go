package recipe

import (
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"

	"github.com/descentml/descent/data"
	"github.com/descentml/descent/nn"
	"github.com/descentml/descent/optim"
	"github.com/descentml/descent/train"
)

// Seq holds the settings of a language model (a Model of kind gpt, lstm,
// gru or rnn), as its spec gives them:
//
//	gpt:layers=2,d=128,heads=4,ctx=128   a pre-LN decoder (GPT-2's layout
//	                                     and initialisation) with learned
//	                                     positions; keys ff
//	                                     (MLP width, default 4·d), tied (the
//	                                     head shares the token embedding),
//	                                     dropout; "gpt" alone is the above
//	lstm:256, gru:256, rnn:256           embedding → recurrent layers →
//	                                     linear; 256x2 or layers=2 stacks
//	                                     two; keys ctx (the length trained
//	                                     on, default 128), embed (default
//	                                     the hidden width), tied; "lstm"
//	                                     alone is lstm:256
//
// The rules every model spec follows are ParseModel's.
type Seq struct {
	Layers  int     `json:"layers"`
	Dim     int     `json:"d"` // gpt: the width; lstm/gru/rnn: the hidden width
	Heads   int     `json:"heads,omitempty"`
	Ctx     int     `json:"ctx"`
	FF      int     `json:"ff,omitempty"`    // gpt: 0 is 4·Dim
	Embed   int     `json:"embed,omitempty"` // lstm/gru/rnn: 0 is Dim
	Tied    bool    `json:"tied,omitempty"`
	Dropout float64 `json:"dropout,omitempty"` // gpt: 0 takes the model's --dropout
}

// SeqKinds lists the language-model architectures.
var SeqKinds = []string{"gpt", "lstm", "gru", "rnn"}

// IsSeq reports whether the model is a language model.
func (m Model) IsSeq() bool { return m.Seq != nil }

// parseSeq reads the settings of a language model of kind (one of
// SeqKinds), split by splitModel (nil for the defaults). A recurrent
// model's first setting may be its width alone (256, or 256x2 for two
// layers); tied alone is tied=true. A setting given twice, under any of
// its spellings, is an error, as package spec's keys are.
func parseSeq(kind string, settings []modelSetting) (*Seq, error) {
	s := &Seq{Layers: 2, Dim: 128, Heads: 4, Ctx: 128}
	if kind != "gpt" {
		s = &Seq{Layers: 1, Dim: 256, Ctx: 128}
	}
	given := map[string]string{} // key → the setting that gave it
	for i, f := range settings {
		k, v := f.key, f.value
		switch {
		case kind != "gpt" && i == 0 && !f.hasValue && k != "tied": // lstm:256 or lstm:256x2
			w, l, stacked := strings.Cut(k, "x")
			if stacked {
				n, err := strconv.Atoi(l)
				if err != nil || n <= 0 {
					return nil, fmt.Errorf("layers %q: want a positive whole number", l)
				}
				s.Layers, given["layers"] = n, f.text
			}
			k, v = "d", w
		case k == "tied" && !f.hasValue:
			v = "true"
		case !f.hasValue:
			return nil, fmt.Errorf("%q is not key=value", f.text)
		}
		if k == "hidden" && kind != "gpt" {
			k = "d"
		}
		var err error
		atoi := func(p *int) {
			var n int
			if n, err = strconv.Atoi(v); err == nil && n <= 0 {
				err = errors.New("not positive")
			}
			*p = n
		}
		switch {
		case k == "layers":
			atoi(&s.Layers)
		case k == "d":
			atoi(&s.Dim)
		case k == "ctx":
			atoi(&s.Ctx)
		case k == "heads" && kind == "gpt":
			atoi(&s.Heads)
		case k == "ff" && kind == "gpt":
			atoi(&s.FF)
		case k == "embed" && kind != "gpt":
			atoi(&s.Embed)
		case k == "dropout" && kind == "gpt":
			s.Dropout, err = strconv.ParseFloat(v, 64)
			if err == nil && !(s.Dropout >= 0 && s.Dropout < 1) {
				err = errors.New("not in [0, 1)")
			}
		case k == "tied":
			s.Tied, err = strconv.ParseBool(v)
		default:
			return nil, fmt.Errorf("unknown key %q", k)
		}
		if prev, dup := given[k]; dup {
			return nil, fmt.Errorf("%s given twice (%s and %s)", k, prev, f.text)
		}
		given[k] = f.text
		if err != nil {
			return nil, fmt.Errorf("%s=%s: want a positive whole number (dropout a probability, tied true or false)", k, v)
		}
	}
	return s, nil
}

// checkSeq checks the sizes of a language model that do not depend on the
// vocabulary.
func (m Model) checkSeq() error {
	s := m.Seq
	switch {
	case s.Layers <= 0 || s.Dim <= 0 || s.Ctx <= 0 || s.FF < 0 || s.Embed < 0:
		return fmt.Errorf("layers %d, d %d, ctx %d: want all positive", s.Layers, s.Dim, s.Ctx)
	case m.Kind == "gpt" && (s.Heads <= 0 || s.Dim%s.Heads != 0):
		return fmt.Errorf("%d heads do not divide d = %d", s.Heads, s.Dim)
	case m.Kind != "gpt" && s.Tied && s.Embed != 0 && s.Embed != s.Dim:
		return fmt.Errorf("a tied head needs embed = hidden width; embed is %d, hidden %d", s.Embed, s.Dim)
	}
	return nil
}

// seqString writes the spec parseSeq reads back.
func (m Model) seqString() string {
	s := m.Seq
	var kv []string
	if m.Kind == "gpt" {
		kv = append(kv, "layers="+strconv.Itoa(s.Layers), "d="+strconv.Itoa(s.Dim), "heads="+strconv.Itoa(s.Heads), "ctx="+strconv.Itoa(s.Ctx))
		if s.FF != 0 {
			kv = append(kv, "ff="+strconv.Itoa(s.FF))
		}
		if s.Dropout != 0 {
			kv = append(kv, "dropout="+strconv.FormatFloat(s.Dropout, 'g', -1, 64))
		}
	} else {
		kv = append(kv, strconv.Itoa(s.Dim), "layers="+strconv.Itoa(s.Layers), "ctx="+strconv.Itoa(s.Ctx))
		if s.Embed != 0 {
			kv = append(kv, "embed="+strconv.Itoa(s.Embed))
		}
	}
	if s.Tied {
		kv = append(kv, "tied")
	}
	return m.Kind + ":" + strings.Join(kv, ",")
}

// BuildSeq makes the language model for a vocabulary of vocab tokens, its
// weights drawn from seed, and the random source of its dropout (nil
// without dropout), which continues the initialization's stream.
func (m Model) BuildSeq(vocab int, seed uint64) (nn.Module[float32], *rand.PCG, error) {
	if m.Seq == nil {
		return nil, nil, fmt.Errorf("recipe: model %s is not a language model (valid: %s)", m, strings.Join(SeqKinds, ", "))
	}
	s := m.Seq
	src := rand.NewPCG(seed, 0x5eed)
	init := rand.New(src)
	if m.Kind == "gpt" {
		drop := s.Dropout
		if drop == 0 {
			drop = m.Dropout
		}
		t, err := nn.NewTransformer[float32](nn.TransformerConfig{Vocab: vocab, Dim: s.Dim, Context: s.Ctx, Heads: s.Heads,
			Layers: s.Layers, FF: s.FF, Tied: s.Tied, Dropout: drop}, init)
		if err != nil {
			return nil, nil, fmt.Errorf("recipe: %w", err)
		}
		if drop == 0 {
			src = nil
		}
		return t, src, nil
	}
	cell := map[string]nn.Cell{"lstm": nn.CellLSTM, "gru": nn.CellGRU, "rnn": nn.CellRNN}[m.Kind]
	embed := s.Embed
	if embed == 0 {
		embed = s.Dim
	}
	r, err := nn.NewRecurrentLM[float32](nn.RecurrentLMConfig{Cell: cell, Vocab: vocab, Embed: embed, Hidden: s.Dim, Layers: s.Layers, Tied: s.Tied}, init)
	if err != nil {
		return nil, nil, fmt.Errorf("recipe: %w", err)
	}
	return r, nil, nil
}

// IsText reports whether a dataset spec names a text corpus: text,
// text:PATH or kjv.
func IsText(dataSpec string) bool {
	return dataSpec == "text" || dataSpec == "kjv" || strings.HasPrefix(dataSpec, "text:")
}

// BitsUnit names the unit of the recipe's bits per token, which run and
// train call bits per character: "bits/byte" for a byte-level vocabulary
// (Bytes), "bits/char" otherwise.
func (r Recipe) BitsUnit() string {
	if r.Bytes {
		return "bits/byte"
	}
	return "bits/char"
}

// IsText reports whether the recipe trains a language model on text.
func (r Recipe) IsText() bool { return IsText(r.Data) }

// validateText checks what is particular to language models: a text
// dataset goes with a language model and a number of steps; images with
// epochs.
func (r Recipe) validateText() []error {
	var errs []error
	switch {
	case r.IsText() && !r.Model.IsSeq():
		return []error{fmt.Errorf("recipe: %s is text: it needs a language model (--model gpt, lstm:256, gru:256 or rnn:256), not %s", r.Data, r.Model)}
	case !r.IsText() && r.Model.IsSeq():
		return []error{fmt.Errorf("recipe: %s is a language model: it trains on text (--data text, text:PATH or kjv), not %s", r.Model, r.Data)}
	case !r.IsText():
		if r.Steps != 0 || r.EvalEvery != 0 || r.Bytes {
			errs = append(errs, errors.New("recipe: --steps, --eval-every and --bytes are for language models on text (--data text)"))
		}
		return errs
	}
	if r.Steps <= 0 {
		errs = append(errs, fmt.Errorf("recipe: steps %d: a language model trains for a positive number of steps (--steps)", r.Steps))
	}
	if r.EvalEvery < 0 {
		errs = append(errs, fmt.Errorf("recipe: eval-every %d: must not be negative", r.EvalEvery))
	}
	if r.Patience != 0 || r.Schedule.Name == "plateau" || r.Schedule.Unit == "epoch" {
		errs = append(errs, errors.New("recipe: a language model's run counts steps, not epochs: early stopping (--patience), the plateau schedule and --schedule-unit epoch do not apply"))
	}
	if err := r.Model.checkSeq(); err != nil {
		errs = append(errs, fmt.Errorf("recipe: model %s: %w", r.Model, err))
	}
	return errs
}

// TextOptions returns how the recipe reads its text: its validation
// fraction, 10% for testing, byte-level if Bytes, and vocab (nil: a new
// vocabulary of the text).
func (r Recipe) TextOptions(vocab *data.Vocab) data.TextOptions {
	o := data.DefaultTextOptions()
	o.ValFraction, o.Bytes, o.Dir, o.Vocab = r.ValFraction, r.Bytes, r.DataDir, vocab
	o.MaxBytes = r.MaxTextBytes
	return o
}

// LoadText loads the recipe's text, encoded with vocab (nil: a new
// vocabulary of the text), and checks that the training part, and the
// validation part if any, hold a window of the model's context and its
// next token.
func (r Recipe) LoadText(vocab *data.Vocab) (*data.Text, error) {
	t, err := data.LoadText(r.Data, r.TextOptions(vocab))
	if err != nil {
		return nil, LimitFlag(err)
	}
	ctx := r.Model.Seq.Ctx
	if len(t.Train) <= ctx {
		return nil, fmt.Errorf("recipe: the training part of %s holds %d tokens: fewer than one window of ctx = %d and its next token (give a smaller ctx, or a longer text)", r.Data, len(t.Train), ctx)
	}
	if len(t.Val) > 0 && len(t.Val) <= ctx {
		return nil, fmt.Errorf("recipe: the validation part of %s (val-fraction %g) holds %d tokens: fewer than one window of ctx = %d and its next token (give --val-fraction 0 for none, a smaller ctx, or a longer text)", r.Data, r.ValFraction, len(t.Val), ctx)
	}
	return t, nil
}

// SeqRun is a language-model recipe built: the model, its optimizer and
// the trainer.
type SeqRun struct {
	Model     nn.Module[float32]
	Optimizer *optim.Optimizer[float32]
	Trainer   *train.SeqTrainer[float32]
}

// ValTokens is the most validation tokens a language model's run reads at
// each evaluation (the first ones): enough for a stable estimate, few
// enough to keep evaluations cheap. The test split is read whole.
const ValTokens = 1 << 16

// BuildSeq makes the language model, optimizer and trainer of the recipe
// for the text. The recipe is validated and its schedule resolved for its
// steps. cfg supplies the checkpoint file and hooks; its Steps,
// BatchSize, Ctx, Seed, EvalEvery, EvalTokens and RNG are set from the
// recipe.
func (r Recipe) BuildSeq(text *data.Text, cfg train.SeqConfig) (*SeqRun, error) {
	r = r.ResolveSeq()
	if err := r.Validate(); err != nil {
		return nil, err
	}
	model, src, err := r.Model.BuildSeq(text.Vocab.Len(), r.Seed)
	if err != nil {
		return nil, err
	}
	if r.unrouted() { // as Build does: compare, tune and lr-find pass recipes not yet routed
		if r, err = r.routeModel(model); err != nil {
			return nil, err
		}
	}
	opt, _, err := r.buildOptimizer(model, 1, r.Steps)
	if err != nil {
		return nil, err
	}
	cfg.Steps, cfg.BatchSize, cfg.Ctx, cfg.Seed, cfg.RNG = r.Steps, r.Batch, r.Model.Seq.Ctx, r.Seed, src
	cfg.EvalEvery, cfg.EvalTokens = r.EvalEvery, ValTokens
	cfg.Accumulate = r.Accumulate
	cfg.Average = r.averaging(1) // a language model's schedule counts steps
	tr, err := train.NewSeq[float32](model, opt, text.Train, text.Val, cfg)
	if err != nil {
		return nil, err
	}
	return &SeqRun{Model: model, Optimizer: opt, Trainer: tr}, nil
}

// ResolveSeq returns a language-model recipe with its schedule's lengths
// made explicit for its steps, as a run saves it.
func (r Recipe) ResolveSeq() Recipe {
	r.Schedule = r.Schedule.Resolve(r.Optimizer.LR, 1, r.Steps)
	return r.resolveAverage()
}

// seqMemory estimates, as Memory does, the bytes of a language model with
// a vocabulary of vocab tokens, its optimizer and one batch of windows.
func (r Recipe) seqMemory(vocab int) float64 {
	s := r.Model.Seq
	v, d, ctx, l := float64(max(vocab, 1)), float64(s.Dim), float64(s.Ctx), float64(s.Layers)
	var params, acts float64 // acts per token
	if r.Model.Kind == "gpt" {
		ff := float64(s.FF)
		if ff == 0 {
			ff = 4 * d
		}
		params = v*d + ctx*d + l*(4*d*d+2*d*ff+9*d+ff) + 2*d + v*d + v
		// LN, q k v, scores and probabilities of every head, attention
		// output, projection, residual, LN, MLP in and out, GELU.
		acts = l*(12*d+2*float64(s.Heads)*ctx+2*ff) + 2*d
	} else {
		gates := map[string]float64{"lstm": 4, "gru": 3, "rnn": 1}[r.Model.Kind]
		e := float64(s.Embed)
		if e == 0 {
			e = d
		}
		params = v*e + gates*(e*d+d*d+2*d) + (l-1)*gates*(2*d*d+2*d) + d*v + v
		acts = e + l*(3*gates*d+3*d)
	}
	acts += 3 * v // logits, their softmax and gradient
	tokens := float64(max(r.Batch, 1)) * ctx
	const f32 = 4
	return f32 * (6*params + 3*tokens*acts)
}

// textFlags are the flags of a language model's run.
type textFlags struct {
	fs               *flag.FlagSet
	steps, evalEvery *int
	bytes            *bool
}

// AddTextFlags defines on fs the flags of a language model's run, with
// def's values as defaults: --steps (unless steps is false: lr-find has a
// --steps of its own, and sets a text recipe's steps itself),
// --eval-every and --bytes. With them, a recipe on text takes the default
// language model if --model is not given and trains for 1000 steps if
// --steps is not; without them a text recipe has no steps, and Recipe
// says so.
func (f *Flags) AddTextFlags(fs *flag.FlagSet, def Recipe, steps bool) {
	f.text = textFlags{
		fs:        fs,
		evalEvery: fs.Int("eval-every", def.EvalEvery, "language models: evaluate on the validation text and checkpoint every this many steps (0: a tenth of the run)"),
		bytes:     fs.Bool("bytes", def.Bytes, "language models: a byte-level vocabulary (256 tokens, any file) instead of the text's characters"),
	}
	if steps {
		f.text.steps = fs.Int("steps", def.Steps, "language models: optimizer steps to train (in all, with --resume); a text run counts steps, not epochs (default 1000)")
	}
}

// DefaultSeqModel is the model a text run trains when --model is not given.
const DefaultSeqModel = "gpt:layers=2,d=128,heads=4,ctx=128"

// apply sets the language-model fields of r from the flags: for a text
// dataset, the steps (1000 if not given), the default model if --model was
// not given, and no epochs.
func (t textFlags) apply(r *Recipe) error {
	if t.fs == nil {
		return nil
	}
	r.EvalEvery, r.Bytes = *t.evalEvery, *t.bytes
	if t.steps != nil {
		r.Steps = *t.steps
	}
	if !r.IsText() {
		return nil
	}
	given := map[string]bool{}
	t.fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	if given["epochs"] {
		return errors.New("--epochs: a language model's run counts steps: give --steps")
	}
	r.Epochs = 0
	if given["batchnorm"] && r.Model.BatchNorm {
		return errors.New("--batchnorm: a language model has no batch normalization")
	}
	r.Model.BatchNorm = false
	if (t.steps == nil || !given["steps"]) && r.Steps == 0 {
		r.Steps = 1000
	}
	if !given["model"] && !r.Model.IsSeq() {
		m, err := ParseModel(DefaultSeqModel)
		if err != nil {
			return err
		}
		r.Model = m
	}
	return nil
}

// seqArgs returns the flags of a language model's run for Args.
func (r Recipe) seqArgs() []string {
	var args []string
	if r.Steps != 0 {
		args = append(args, "--steps", strconv.Itoa(r.Steps))
	}
	if r.EvalEvery != 0 {
		args = append(args, "--eval-every", strconv.Itoa(r.EvalEvery))
	}
	if r.Bytes {
		args = append(args, "--bytes")
	}
	return args
}

// IsText reports whether the flags' dataset is a text corpus.
func (f *Flags) IsText() bool { return IsText(*f.data) }

// RouteSeq is Route for a language model over a vocabulary of vocab
// tokens: Muon's routing and the parameters left out of weight decay made
// explicit in the recipe.
func (r Recipe) RouteSeq(vocab int) (Recipe, error) {
	if !r.unrouted() {
		return r, nil
	}
	model, _, err := r.Model.BuildSeq(vocab, r.Seed)
	if err != nil {
		return r, err
	}
	return r.routeModel(model)
}
