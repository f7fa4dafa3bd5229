package run

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/descentml/descent/comm"
	"github.com/descentml/descent/data"
	"github.com/descentml/descent/internal/atomicfile"
	"github.com/descentml/descent/nn"
	"github.com/descentml/descent/plot"
	"github.com/descentml/descent/recipe"
	"github.com/descentml/descent/train"
)

// VocabFile is a language model's run's vocabulary (data.Vocab as JSON),
// written in place of data.json: evaluation and sampling encode text with
// it.
const VocabFile = "vocab.json"

// TextRun is a run directory of a language model opened to train.
// Its Dir, Recipe, State (Ready, Unfinished or Done), Resumed and
// Extended, Close, Checkpoint and HasCheckpoint are those of runs of every
// kind (dir.go).
type TextRun struct {
	runDir
	Text  *data.Text
	Built *recipe.SeqRun

	comm *comm.Comm
}

// TextSummary is summary.json of a language model's run.
type TextSummary struct {
	TestLoss        *float64 `json:"test_loss,omitempty"`
	TestBPC         *float64 `json:"test_bits_per_char,omitempty"`
	TestPerplexity  *float64 `json:"test_perplexity,omitempty"`
	FinalValLoss    *float64 `json:"final_val_loss,omitempty"`
	FinalValBPC     *float64 `json:"final_val_bits_per_char,omitempty"`
	Steps           int      `json:"steps"`
	Tokens          int64    `json:"tokens"`
	Seconds         float64  `json:"seconds"`
	TokensPerSecond float64  `json:"tokens_per_second"`
	Params          int      `json:"params"`
	Vocab           int      `json:"vocab"`
	Ranks           int      `json:"ranks,omitempty"` // processes of a data-parallel run (its last part, if resumed with another number)
}

// IsTextRun reports whether dir holds a language model's run (its
// config.json trains on text).
func IsTextRun(dir string) bool {
	var r recipe.Recipe
	return readJSON(filepath.Join(dir, ConfigFile), &r) == nil && r.IsText()
}

// NewText starts a new language model's run of r in dir (DefaultDir("")
// if ""), as New does for other runs: it loads the text (a relative
// text: path saved absolute, as New does), writes
// config.json and vocab.json and builds the model, optimizer and trainer.
// Of opts it takes OnStep, OnEval, MaxMemory, TensorBoard and Comm: with
// several processes, every rank calls NewText (Resume), Train, Finish and
// Close, and rank 0 alone touches the directory (distributed.go).
func NewText(r recipe.Recipe, dir string, opts Options) (*TextRun, error) {
	c := opts.Comm
	r, err := r.Absolute()
	if err == nil {
		err = validateText(r, opts)
	}
	if err := together(c, err, "another rank's recipe is not valid"); err != nil {
		return nil, err
	}
	run := &TextRun{runDir: runDir{Dir: dir}, comm: c}
	if err := run.claim(c); err != nil { // before the text loads: a second process is refused at once
		return nil, err
	}
	text, err := loadOnce(c, func() (*data.Text, error) { return r.LoadText(nil) }, "another rank could not load the text")
	if err != nil {
		run.abandon()
		return nil, err
	}
	r, err = resolveText(r, text, opts)
	if err := together(c, err, "another rank could not fit the recipe to the text"); err != nil {
		run.abandon()
		return nil, err
	}
	if err := agreeRecipe(c, r); err != nil {
		run.abandon()
		return nil, err
	}
	run.Recipe, run.Text = r, text
	if leader(c) {
		err = run.write()
	}
	if err := together(c, err, "rank 0 could not write the run's files"); err != nil {
		run.abandon()
		return nil, err
	}
	if err := run.build(opts); err != nil {
		run.abandon()
		return nil, err
	}
	return run, nil
}

// validateText validates r for a run with opts. A global batch that
// cannot give every rank a window is refused here, before the directory
// is made.
func validateText(r recipe.Recipe, opts Options) error {
	if err := r.Validate(); err != nil {
		return err
	}
	if n := ranks(opts.Comm); r.Batch < n {
		return fmt.Errorf("--batch %d: a global batch must hold at least one window for each of the %d ranks", r.Batch, n)
	}
	return nil
}

// resolveText resolves r for its text and checks the memory it needs.
func resolveText(r recipe.Recipe, text *data.Text, opts Options) (recipe.Recipe, error) {
	r, err := r.ResolveSeq().RouteSeq(text.Vocab.Len())
	if err != nil {
		return r, err
	}
	return r, checkNeed(r, r.Memory(nil, text.Vocab.Len()), opts.MaxMemory, opts.copies())
}

// write writes the config.json and vocab.json of a new run into its
// claimed directory.
func (run *TextRun) write() error {
	var vocab bytes.Buffer
	if _, err := run.Text.Vocab.WriteTo(&vocab); err != nil {
		return err
	}
	return errors.Join(writeConfig(run.Dir, run.Recipe, run.comm),
		atomicfile.WriteFile(filepath.Join(run.Dir, VocabFile), vocab.Bytes()))
}

// claimDir makes and locks the directory of a new run, of any kind: dir,
// or DefaultDir("") if "", and says whether it made it. A directory that holds a run, another command's
// results (CheckOutput) or other files is refused, saying what to do.
func claimDir(dir string) (string, *Lock, string, error) {
	if dir == "" {
		dir = DefaultDir("")
	}
	if err := CheckOutput("train", dir); err != nil {
		return dir, nil, "", err
	}
	made, err := mkdirs(dir)
	if err != nil {
		return dir, nil, "", err
	}
	lock, err := LockDir(dir, "descent train")
	if err != nil {
		return dir, nil, "", err
	}
	if exists(filepath.Join(dir, ConfigFile)) {
		lock.Unlock()
		if !exists(filepath.Join(dir, CheckpointFile)) && !exists(filepath.Join(dir, PrevCheckpointFile)) {
			return dir, nil, "", fmt.Errorf("%s holds a run with no checkpoint yet (it was killed before its first checkpoint); choose another --out, or remove the directory", dir)
		}
		return dir, nil, "", fmt.Errorf("%s already holds a run: use --resume %s to continue it, or another --out", dir, dir)
	}
	if names := contents(dir); len(names) > 0 {
		lock.Unlock()
		return dir, nil, "", fmt.Errorf("%s is not empty and holds no descent run (it has %s): choose another --out, or an empty directory", dir, names)
	}
	return dir, lock, made, nil
}

// ReadText reads the recipe and the vocabulary of the language model's
// run in dir.
func ReadText(dir string) (recipe.Recipe, *data.Vocab, error) {
	sv, err := readText(dir)
	if err != nil {
		return sv.Recipe, nil, err
	}
	v, err := sv.vocab(dir)
	return sv.Recipe, v, err
}

// savedText is what rank 0 reads of a language model's run directory, for
// every rank.
type savedText struct {
	Recipe   recipe.Recipe
	Vocab    []byte // vocab.json
	HasModel bool   // model.safetensors: the run was finished
	Located  string // where a relative data path was found (recipe.Recipe.Locate)
}

// readText reads the recipe and vocab.json of the language model's run in
// dir.
func readText(dir string) (savedText, error) {
	var sv savedText
	if err := readJSON(filepath.Join(dir, ConfigFile), &sv.Recipe); err != nil {
		return sv, err
	}
	if !sv.Recipe.IsText() {
		return sv, fmt.Errorf("%s holds a run on %s, not a language model", dir, sv.Recipe.Data)
	}
	sv.Recipe, sv.Located = sv.Recipe.Locate(dir)
	var err error
	sv.Vocab, err = os.ReadFile(filepath.Join(dir, VocabFile))
	sv.HasModel = exists(filepath.Join(dir, ModelFile))
	return sv, err
}

// vocab parses the vocabulary of the run in dir.
func (sv savedText) vocab(dir string) (*data.Vocab, error) {
	v, err := data.ReadVocab(bytes.NewReader(sv.Vocab))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, VocabFile), err)
	}
	return v, nil
}

// ResumeText opens the language model's run in dir to continue it up to
// steps steps in all (0: as many as it was made for) from its checkpoint,
// with the vocabulary it saved. Its State says what is left, as Resume's.
// With opts.Comm of several processes, every rank calls it, and rank 0
// reads the directory; the number of ranks may differ from the run's
// before.
func ResumeText(dir string, steps int, opts Options) (*TextRun, error) {
	if steps < 0 {
		return nil, fmt.Errorf("run: steps %d: must be positive", steps)
	}
	lock, err := lockToResume(dir, opts.Comm)
	if err != nil {
		return nil, err
	}
	run, err := resumeText(dir, steps, opts)
	if err != nil {
		lock.Unlock()
		return nil, err
	}
	run.lock = lock
	return run, nil
}

func resumeText(dir string, steps int, opts Options) (*TextRun, error) {
	c := opts.Comm
	var sv savedText
	var err error
	if leader(c) {
		if sv, err = readText(dir); err != nil {
			err = fmt.Errorf("cannot resume %s: %w", dir, err)
		} else if !exists(filepath.Join(dir, CheckpointFile)) && !exists(filepath.Join(dir, PrevCheckpointFile)) {
			err = noCheckpoint(dir, "the run was killed before its first evaluation")
		}
	}
	if err := fromLeader(c, &sv, err, "rank 0 could not read "+dir); err != nil {
		return nil, err
	}
	r := sv.Recipe
	text, err := loadOnce(c, func() (*data.Text, error) { return loadSaved(dir, sv, opts) }, "another rank could not load the text")
	if err != nil {
		return nil, err
	}
	err = checkNeed(r, r.Memory(nil, text.Vocab.Len()), opts.MaxMemory, opts.copies())
	if err != nil {
		err = fmt.Errorf("cannot resume %s: %w", dir, err)
	}
	if err := together(c, err, "another rank refused the memory the run needs"); err != nil {
		return nil, err
	}
	run := &TextRun{runDir: runDir{Dir: dir, Recipe: r, Resumed: true, Located: sv.Located}, Text: text, comm: c}
	if steps > 0 && steps != r.Steps {
		run.Recipe.Steps, run.Extended = steps, true
	}
	if err := run.build(opts); err != nil {
		return nil, err
	}
	tr := run.Trainer()
	from, skipped, err := tr.ResumeLatest(run.Checkpoint())
	if err != nil {
		return nil, err
	}
	if err := run.resumedFrom(from, skipped, c); err != nil {
		return nil, err
	}
	switch done := tr.Step() >= run.Recipe.Steps; {
	case done && !sv.HasModel:
		run.State = Unfinished
	case done:
		run.State = Done
	}
	if leader(c) {
		err = reopen(&run.runDir, tr.History(), c)
	}
	if err := together(c, err, "rank 0 could not write to "+dir); err != nil {
		return nil, err
	}
	return run, nil
}

// loadSaved loads the text of the saved run in dir, encoded with its
// vocabulary.
func loadSaved(dir string, sv savedText, opts Options) (*data.Text, error) {
	r := sv.Recipe
	if err := r.Validate(); err != nil {
		return nil, fmt.Errorf("cannot resume %s: %s: %w", dir, ConfigFile, err)
	}
	if n := ranks(opts.Comm); r.Batch < n {
		return nil, fmt.Errorf("cannot resume %s on %d ranks: its global batch of %d windows must hold at least one window for each", dir, n, r.Batch)
	}
	vocab, err := sv.vocab(dir)
	if err != nil {
		return nil, err
	}
	return r.LoadText(vocab)
}

func (r *TextRun) build(opts Options) error {
	metrics := filepath.Join(r.Dir, MetricsFile)
	r.tb = events{dir: r.Dir, on: opts.TensorBoard}
	cfg := train.SeqConfig{
		Checkpoint: filepath.Join(r.Dir, CheckpointFile),
		OnStep:     opts.OnStep,
		OnEval: func(m train.SeqMetrics) error {
			if opts.OnEval != nil {
				opts.OnEval(m)
			}
			if !leader(opts.Comm) {
				return nil
			}
			if err := r.tb.eval(m); err != nil {
				return err
			}
			return appendJSONLine(metrics, m)
		},
		Comm: opts.Comm,
	}
	built, err := r.Recipe.BuildSeq(r.Text, cfg)
	if err != nil {
		return err
	}
	r.Built = built
	return nil
}

// Trainer returns the run's trainer.
func (r *TextRun) Trainer() *train.SeqTrainer[float32] { return r.Built.Trainer }

// Train trains the run to its last step, or until ctx is cancelled (a
// checkpoint is then written, and the error, an *Interrupted, says how to
// continue). A failure's error names the last good checkpoint; a new run
// that fails before its first checkpoint has its files removed.
func (r *TextRun) Train(ctx context.Context) error {
	err := r.Trainer().Run(ctx)
	if err != nil && !errors.Is(err, context.Canceled) && !r.Resumed && !r.HasCheckpoint() {
		r.abandon()
	}
	tr := r.Trainer()
	return r.explain(err, r.ResumeCommand(), plural(tr.Step(), "step"),
		fmt.Sprintf("after step %d", tr.CheckpointStep()), "no evaluation finished")
}

func (r *TextRun) abandon() { r.runDir.abandon(VocabFile) }

// Finish writes the model (at the evaluation point: Schedule-Free's x, or
// the average of the weights), the summary with the loss on the whole test
// text, and the plots. In a data-parallel run every rank calls it; rank 0
// writes the files.
func (r *TextRun) Finish() (TextSummary, error) {
	s, err := r.finish()
	return s, together(r.comm, err, "rank 0 could not write the run's files")
}

func (r *TextRun) finish() (TextSummary, error) {
	tr := r.Trainer()
	hist := tr.History()
	s := TextSummary{Steps: tr.Step(), Vocab: r.Text.Vocab.Len()}
	if n := ranks(r.comm); n > 1 {
		s.Ranks = n
	}
	for _, m := range hist {
		s.Seconds += m.Seconds
	}
	if n := len(hist); n > 0 {
		s.Tokens = hist[n-1].Tokens
		if v := hist[n-1].ValLoss; !math.IsNaN(v) {
			s.FinalValLoss, s.FinalValBPC = ptr(v), ptr(train.BitsPerChar(v))
		}
	}
	if s.Seconds > 0 {
		s.TokensPerSecond = float64(s.Tokens) / s.Seconds
	}
	for _, p := range r.Built.Model.Params() {
		s.Params += len(p.Value)
	}
	// Every rank evaluates its share of the test text (a data-parallel
	// evaluation is collective), before rank 0 alone writes.
	if tl, _, err := tr.Evaluate(r.Text.Test); err != nil {
		return TextSummary{}, err
	} else if !math.IsNaN(tl) {
		s.TestLoss, s.TestBPC, s.TestPerplexity = ptr(tl), ptr(train.BitsPerChar(tl)), ptr(math.Exp(tl))
	}
	if !leader(r.comm) {
		return s, nil
	}
	var model strings.Builder
	if err := tr.AtEvalPoint(func() error { return nn.Save(&model, r.Built.Model) }); err != nil {
		return TextSummary{}, err
	}
	if err := atomicfile.WriteFile(filepath.Join(r.Dir, ModelFile), []byte(model.String())); err != nil {
		return TextSummary{}, err
	}
	if err := atomicfile.WriteJSON(filepath.Join(r.Dir, SummaryFile), s); err != nil {
		return TextSummary{}, err
	}
	skipped, err := PlotSeq(r.Dir, hist)
	r.SkippedFigures = skipped
	return s, err
}

// PlotSeq draws loss.png, bpc.png and lr.png into dir: the metrics of each
// evaluation of a language model's run, against the step; and the
// optimizer's diagnostics (diagnosticFigures). A figure that cannot be
// drawn from hist's numbers is left out, and why is in skipped
// (writeFigures); err is an error writing a file.
func PlotSeq(dir string, hist []train.SeqMetrics) (skipped []error, err error) {
	if len(hist) == 0 {
		return nil, nil
	}
	x := make([]float64, len(hist))
	for i, m := range hist {
		x[i] = float64(m.Step)
	}
	col := func(f func(train.SeqMetrics) float64) []float64 {
		y := make([]float64, len(hist))
		for i, m := range hist {
			y[i] = f(m)
		}
		return y
	}
	figs := []figure{
		{"loss.png", plot.LinesSpec{Title: "loss", YLabel: "next-token cross-entropy (nats)", LogY: true, Series: []plot.Series{
			{Name: "train", Y: col(func(m train.SeqMetrics) float64 { return m.TrainLoss })},
			{Name: "validation", Y: col(func(m train.SeqMetrics) float64 { return m.ValLoss })},
		}}},
		{"bpc.png", plot.LinesSpec{Title: "bits per character", YLabel: "bits per character", Series: []plot.Series{
			{Name: "train", Y: col(func(m train.SeqMetrics) float64 { return m.TrainBPC })},
			{Name: "validation", Y: col(func(m train.SeqMetrics) float64 { return m.ValBPC })},
		}}},
		{"lr.png", plot.LinesSpec{Title: "learning rate (at each evaluation)", YLabel: "learning rate", Series: []plot.Series{
			{Name: "lr", Y: col(func(m train.SeqMetrics) float64 { return m.LR })},
		}}},
	}
	ds := make([]train.Diagnostics, len(hist))
	for i, m := range hist {
		ds[i] = m.Diagnostics
	}
	figs = append(figs, diagnosticFigures(ds)...)
	return writeFigures(dir, x, "step", figs)
}

// LoadSeq returns the trained language model of the finished run in dir,
// its recipe and its vocabulary, for sampling.
func LoadSeq(dir string) (nn.Module[float32], recipe.Recipe, *data.Vocab, error) {
	r, vocab, err := ReadText(dir)
	if err != nil {
		return nil, r, nil, err
	}
	path := filepath.Join(dir, ModelFile)
	b, err := readModel(dir)
	if err != nil {
		return nil, r, nil, err
	}
	m, _, err := r.Model.BuildSeq(vocab.Len(), r.Seed)
	if err != nil {
		return nil, r, nil, err
	}
	if err := nn.Load(m, b); err != nil {
		return nil, r, nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, r, vocab, nil
}

// evaluateText is Evaluate for a language model's run: the mean
// next-token loss on a split of its text (or of e.Data's, encoded with the
// run's vocabulary), in consecutive windows of its context.
func evaluateText(dir string, e Eval) (Evaluation, error) {
	sv, err := readText(dir)
	if err != nil {
		return Evaluation{}, err
	}
	vocab, err := sv.vocab(dir)
	if err != nil {
		return Evaluation{}, err
	}
	b, err := readModel(dir) // before the text: an unfinished run is refused at once
	if err != nil {
		return Evaluation{}, err
	}
	r, note := sv.Recipe, sv.Located
	if e.Data != "" {
		r.Data, note = e.Data, ""
	}
	if e.DataDir != "" {
		r.DataDir = e.DataDir
	}
	text, err := r.LoadText(vocab)
	if err != nil {
		return Evaluation{}, err
	}
	var tokens []int
	switch e.Split {
	case "test", "":
		e.Split, tokens = "test", text.Test
	case "val":
		tokens = text.Val
	case "train":
		tokens = text.Train
	default:
		return Evaluation{}, fmt.Errorf("split %q: want test, val or train", e.Split)
	}
	r.Batch = e.Batch
	if r.Batch == 0 {
		r.Batch = 256 / max(r.Model.Seq.Ctx/16, 1)
	}
	r.Batch = max(r.Batch, 1)
	if err := checkNeed(r, r.Memory(nil, vocab.Len()), e.MaxMemory, 1); err != nil {
		return Evaluation{}, err
	}
	ctx := r.Model.Seq.Ctx
	if len(tokens) <= ctx {
		return Evaluation{}, fmt.Errorf("the %s split of %s holds %d tokens: fewer than one window of ctx = %d and its next token", e.Split, r.Data, len(tokens), ctx)
	}
	built, err := r.BuildSeq(text, train.SeqConfig{})
	if err != nil {
		return Evaluation{}, err
	}
	path := filepath.Join(dir, ModelFile)
	if err := nn.Load(built.Model, b); err != nil {
		return Evaluation{}, fmt.Errorf("%s: %w", path, err)
	}
	l, acc, err := built.Trainer.Evaluate(tokens)
	if err != nil {
		return Evaluation{}, err
	}
	bpc, ppl := train.BitsPerChar(l), math.Exp(l)
	return Evaluation{Accuracy: acc, Data: r.Data, Examples: (len(tokens) - 1) / ctx * ctx, Loss: l, Split: e.Split,
		BitsPerChar: &bpc, Perplexity: &ppl, Located: note, BitsUnit: r.BitsUnit()}, nil
}
