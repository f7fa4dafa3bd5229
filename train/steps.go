package train

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"time"

	"github.com/descentml/descent/autograd"
	"github.com/descentml/descent/comm"
	"github.com/descentml/descent/data"
	"github.com/descentml/descent/internal/atomicfile"
	"github.com/descentml/descent/loss"
	"github.com/descentml/descent/nn"
	"github.com/descentml/descent/optim"
	"github.com/descentml/descent/tensor"
)

// SeqConfig sets up a steps-based run of a language model: a number of
// optimizer steps, each on a batch of random windows of the training text,
// with an evaluation on the validation text every EvalEvery steps. A text
// epoch is not a natural unit, so the run counts steps.
type SeqConfig struct {
	Steps     int    // optimizer steps in all, counting those of a resumed run; required
	BatchSize int    // windows per step; required
	Ctx       int    // tokens per window: the model's context; required
	Seed      uint64 // the windows drawn are data.NewWindows(train, Ctx, Seed)'s
	// EvalEvery is the number of steps between evaluations (and
	// checkpoints); 0 means Steps/10, at least 1. The last step is always
	// evaluated.
	EvalEvery int
	// EvalTokens caps the validation tokens an evaluation reads (the first
	// ones, in consecutive windows); 0 means all of them. A cap that leaves
	// less than one window and its next token is an error.
	EvalTokens int
	// Checkpoint is the file a checkpoint is written to after every
	// evaluation and when the run is interrupted; "" writes none.
	Checkpoint string
	// RNG is the random source of the model's dropout (the *rand.PCG under
	// the *rand.Rand given to it), saved in checkpoints; nil if the model
	// draws nothing. Left nil with dropout, a resumed run draws other masks
	// than one that never stopped.
	RNG *rand.PCG
	// OnStep, if set, is called after every step.
	OnStep func(SeqStep)
	// OnEval, if set, is called after every evaluation; an error stops the
	// run and is returned.
	OnEval func(SeqMetrics) error
	// Accumulate, if above 1, makes that many batches of windows one
	// optimizer step, their gradients averaged (steps_extras.go).
	Accumulate int
	// Average, if set, keeps an average of the weights (EMA or SWA), which
	// evaluations and the saved model use.
	Average *optim.Averaging
	// Comm, if it has several processes, makes the run data-parallel
	// (steps_distributed.go): every rank draws the same global batch of
	// BatchSize windows and trains on its share of it, and rank 0 alone
	// writes the checkpoint. nil: one process.
	Comm *comm.Comm
}

// SeqStep describes one step, for progress reporting.
type SeqStep struct {
	Step, Steps int     // steps done, steps in all
	Tokens      int     // tokens in the step's batch
	Loss        float64 // the batch's mean next-token loss (nats)
	LR          float64 // the learning rate the step used (group 0)
}

// SeqMetrics is one evaluation of a steps-based run, as metrics.jsonl holds
// it. Losses are mean next-token cross-entropies in nats; bits per
// character are the same in bits (loss/ln 2: per character for a
// character-level vocabulary, per byte for a byte-level one), perplexity is
// e^loss. Validation fields are NaN without validation text.
type SeqMetrics struct {
	Step          int
	Tokens        int64 // training tokens seen so far
	LR            float64
	TrainLoss     float64 // mean over the steps since the last evaluation
	TrainBPC      float64
	ValLoss       float64
	ValBPC        float64
	ValPerplexity float64
	Seconds       float64 // wall time since the last evaluation, this one included
	// Diagnostics is what the optimizer did since the last evaluation.
	Diagnostics
}

// BitsPerChar converts a mean cross-entropy in nats to bits.
func BitsPerChar(nats float64) float64 { return nats / math.Ln2 }

// SeqTrainer trains a language model for a number of steps on random
// windows of a text. It is not safe for concurrent use.
type SeqTrainer[T tensor.Float] struct {
	model   nn.Module[T]
	opt     *optim.Optimizer[T]
	params  []nn.Param[T]
	cfg     SeqConfig
	windows *data.Windows
	tokens  int // training tokens
	val     []int

	tape   *autograd.Tape[T]
	x      *tensor.Tensor[T] // [B, Ctx] ids as values
	xs, ys []int

	pos     seqPosition
	history []SeqMetrics
	// checkpointed is pos.Step in the checkpoint last written or resumed
	// from (CheckpointStep).
	checkpointed int
	watch        updateWatch[T]        // the update ratios of the step before an evaluation
	acc          *optim.Accumulator[T] // nil: every batch is a step
	avg          *optim.Averager[T]
	dist         *seqReplicas[T] // nil in a single process
}

// seqPosition is what a checkpoint restores besides the model and the
// optimizer.
type seqPosition struct {
	Step       int     `json:"step"`
	Windows    uint64  `json:"windows"` // windows drawn: data.Windows.Position
	LossSum    float64 `json:"loss_sum"`
	LossSteps  int     `json:"loss_steps"`
	ElapsedSec float64 `json:"elapsed_sec"` // since the last evaluation, before an interruption
	gradSums           // the gradients' statistics since the last evaluation (diagnostics.go)
}

// seqFingerprint is what a resumed run must share with the one that wrote
// its checkpoint.
type seqFingerprint struct {
	BatchSize   int `json:"batch_size"`
	Ctx         int `json:"ctx"`
	TrainTokens int `json:"train_tokens"`
	Accumulate  int `json:"accumulate,omitempty"` // 0 for 1
}

const seqCheckpointFormat = "descent.seq-checkpoint"

// NewSeq returns a trainer of model (whose parameters opt updates) on
// random windows of the training tokens, evaluated on the validation
// tokens val (nil or empty: none) cut into consecutive windows of the same
// length. A text too short for one window and its next token, training or
// validation (after SeqConfig.EvalTokens cuts it), is an error naming both
// lengths, and a negative token id is an error. The model is run forward once, in eval
// mode (if it has one: nn.ModeSetter) on a tape that records nothing, on a
// window of the largest token id, and refused if it does not accept it or
// gives fewer outputs per position than the ids need (the text's
// vocabulary is larger than the model's). That pass changes nothing the
// run depends on; SeqConfig.RNG is put back after it, and the model is
// left in training mode, as a new module is.
func NewSeq[T tensor.Float](model nn.Module[T], opt *optim.Optimizer[T], train, val []int, cfg SeqConfig) (*SeqTrainer[T], error) {
	if isNil(model) {
		return nil, errors.New("train: no model (nil)")
	}
	if err := checkOptimizer(model.Params(), opt); err != nil {
		return nil, err
	}
	if cfg.Comm.Distributed() {
		return newSeqDistributed(model, opt, train, val, cfg)
	}
	switch {
	case cfg.Steps <= 0:
		return nil, fmt.Errorf("train: Steps = %d: must be positive", cfg.Steps)
	case cfg.BatchSize <= 0:
		return nil, fmt.Errorf("train: BatchSize = %d: must be positive", cfg.BatchSize)
	case cfg.EvalEvery < 0 || cfg.EvalTokens < 0:
		return nil, fmt.Errorf("train: EvalEvery = %d, EvalTokens = %d: must not be negative", cfg.EvalEvery, cfg.EvalTokens)
	}
	windows, err := data.NewWindows(train, cfg.Ctx, cfg.Seed)
	if err != nil {
		return nil, fmt.Errorf("train: training %w", err)
	}
	if cfg.EvalEvery == 0 {
		cfg.EvalEvery = max(cfg.Steps/10, 1)
	}
	if len(val) == 0 {
		val = nil // none
	} else if err := checkValText(&val, cfg.EvalTokens, windows.Ctx()); err != nil {
		return nil, err
	}
	n := cfg.BatchSize * windows.Ctx()
	tr := &SeqTrainer[T]{model: model, opt: opt, params: model.Params(), cfg: cfg, windows: windows, tokens: len(train), val: val,
		tape: autograd.NewTape[T](), x: tensor.New[T](cfg.BatchSize, windows.Ctx()), xs: make([]int, n), ys: make([]int, n)}
	if err := tr.checkVocabulary(train, val); err != nil {
		return nil, err
	}
	tr.watch.init(tr.params)
	nn.DiscardGrads(tr.params) // as Trainer's: every step writes the gradients the same way
	opt.MeasureGradNorm(true)
	if err := tr.newSeqExtras(); err != nil {
		return nil, err
	}
	return tr, nil
}

// checkValText cuts the validation text *val to its first evalTokens
// tokens (0: all) and returns an error if that leaves it shorter than one
// window of ctx tokens and its next token: every evaluation would be NaN.
func checkValText(val *[]int, evalTokens, ctx int) error {
	cut := evalTokens > 0 && len(*val) > evalTokens
	if cut {
		*val = (*val)[:evalTokens]
	}
	_, err := data.NewWindows(*val, ctx, 0)
	switch {
	case err == nil:
		return nil
	case cut:
		return fmt.Errorf("train: validation %w (EvalTokens = %d cuts it to that)", err, evalTokens)
	}
	return fmt.Errorf("train: validation %w", err)
}

// checkVocabulary returns an error if a token id of train or val is
// negative, or if the model does not accept a window of the largest id or
// gives too few outputs per position for it.
func (tr *SeqTrainer[T]) checkVocabulary(train, val []int) error {
	top := 0
	for _, text := range []struct {
		name   string
		tokens []int
	}{{"training", train}, {"validation", val}} {
		for i, id := range text.tokens {
			if id < 0 {
				return fmt.Errorf("train: the %s text's token %d has id %d: ids must not be negative", text.name, i, id)
			}
			top = max(top, id)
		}
	}
	if rng := tr.cfg.RNG; rng != nil { // for a model without eval mode
		state, err := rng.MarshalBinary()
		if err != nil {
			return fmt.Errorf("train: %w", err)
		}
		defer rng.UnmarshalBinary(state)
	}
	ctx := tr.windows.Ctx()
	x := tr.x.Slice(0, 1)
	for i := range ctx {
		tr.xs[i] = top
	}
	data.Tokens(x.Data(), tr.xs[:ctx])
	setMode(tr.model, nn.Eval)
	defer setMode(tr.model, nn.Train) // as it came, new
	tr.tape.SetNoGrad(true)
	defer tr.tape.SetNoGrad(false)
	defer tr.tape.Reset()
	logits, err := tr.model.Forward(tr.tape, tr.tape.Const(x))
	if err != nil {
		return fmt.Errorf("train: the model does not accept a window of %d tokens of id %d, the text's largest: %w", ctx, top, err)
	}
	if s := logits.Shape(); len(s) > 0 && s[len(s)-1] <= top {
		return fmt.Errorf("train: the model gives %d outputs per position (shape %v) and the text has token ids up to %d: its vocabulary must have at least %d entries", s[len(s)-1], s, top, top+1)
	}
	return nil
}

// History returns the evaluations so far.
func (tr *SeqTrainer[T]) History() []SeqMetrics { return tr.history }

// CheckpointStep returns the steps done in the checkpoint last written
// (or resumed from), which is behind Step when writing the latest failed.
func (tr *SeqTrainer[T]) CheckpointStep() int { return tr.checkpointed }

// Step returns the number of steps done.
func (tr *SeqTrainer[T]) Step() int { return tr.pos.Step }

// Steps returns the number of steps the run is for.
func (tr *SeqTrainer[T]) Steps() int { return tr.cfg.Steps }

// Optimizer returns the trainer's optimizer.
func (tr *SeqTrainer[T]) Optimizer() *optim.Optimizer[T] { return tr.opt }

// Run trains until Steps steps are done or ctx is cancelled: then a
// checkpoint of the exact position is written (if Checkpoint is set) and
// ctx.Err() is returned. A NaN or infinite loss returns an error and
// writes no checkpoint, so the last good one is kept; a checkpoint that
// cannot be written returns an error matching ErrCheckpoint. Run leaves
// the model in eval mode (if it has one), however it returns, as
// Trainer.Run does.
func (tr *SeqTrainer[T]) Run(ctx context.Context) error {
	defer setMode(tr.model, nn.Eval)
	start := time.Now()
	for tr.pos.Step < tr.cfg.Steps {
		if err := tr.stopNow(ctx); err != nil {
			tr.pos.ElapsedSec += time.Since(start).Seconds()
			if cerr := tr.checkpoint(); cerr != nil {
				return errors.Join(err, cerr)
			}
			return err
		}
		lr := tr.opt.LR(0)
		evalNext := (tr.pos.Step+1)%tr.cfg.EvalEvery == 0 || tr.pos.Step+1 == tr.cfg.Steps
		if evalNext {
			tr.watch.arm(tr.params)
		}
		l, err := tr.step(ctx)
		if err != nil {
			return fmt.Errorf("train: step %d of %d (learning rate %g): %w", tr.pos.Step+1, tr.cfg.Steps, lr, err)
		}
		if evalNext {
			tr.watch.measure(tr.params)
		}
		tr.pos.Step++
		tr.pos.LossSum += l
		tr.pos.LossSteps++
		if tr.cfg.OnStep != nil {
			tr.cfg.OnStep(SeqStep{Step: tr.pos.Step, Steps: tr.cfg.Steps, Tokens: len(tr.xs) * tr.microBatches(), Loss: l, LR: lr})
		}
		if tr.pos.Step%tr.cfg.EvalEvery == 0 || tr.pos.Step == tr.cfg.Steps {
			m, err := tr.evaluate(tr.pos.ElapsedSec + time.Since(start).Seconds())
			if err != nil {
				return err
			}
			start = time.Now()
			if err := tr.checkpoint(); err != nil {
				return fmt.Errorf("%w after step %d: %w", ErrCheckpoint, tr.pos.Step, err)
			}
			if tr.cfg.OnEval != nil {
				if err := tr.together(tr.cfg.OnEval(m), "OnEval failed on another rank"); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// step trains on the next batches of windows, one optimizer step, and
// returns their mean loss.
func (tr *SeqTrainer[T]) step(ctx context.Context) (float64, error) {
	k := tr.microBatches()
	var sum float64
	for range k {
		var v float64
		var err error
		if tr.dist != nil {
			v, err = tr.dist.microStep(ctx, tr)
		} else {
			v, err = tr.microStep()
		}
		if err != nil {
			return 0, err
		}
		sum += v
	}
	return sum / float64(k), nil
}

// microStep trains on the next batch of windows and returns its mean loss.
func (tr *SeqTrainer[T]) microStep() (float64, error) {
	defer tr.tape.Reset()
	tr.windows.Next(tr.xs, tr.ys)
	data.Tokens(tr.x.Data(), tr.xs)
	setMode(tr.model, nn.Train)
	logits, err := tr.model.Forward(tr.tape, tr.tape.Const(tr.x))
	if err != nil {
		return 0, err
	}
	l, err := loss.CrossEntropy(tr.tape, logits, tr.ys)
	if err != nil {
		return 0, err
	}
	v := float64(l.Value().Item())
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, fmt.Errorf("loss is %v", v)
	}
	if err := tr.tape.Backward(l); err != nil {
		return 0, err
	}
	nn.ZeroDiscardedGrads(tr.params) // what the backward pass did not reach
	steps := tr.opt.Steps()
	if err := tr.optimizerStep(); err != nil {
		return 0, err
	}
	noteStep(&tr.pos.gradSums, tr.opt, steps)
	nn.DiscardGrads(tr.params) // as Trainer.update
	return v, nil
}

func setMode(m any, mode nn.Mode) {
	if ms, ok := m.(nn.ModeSetter); ok {
		ms.SetMode(mode)
	}
}

// evaluate records the metrics of the steps since the last evaluation and
// the validation loss.
func (tr *SeqTrainer[T]) evaluate(seconds float64) (SeqMetrics, error) {
	vl, _, err := tr.Evaluate(tr.val)
	if err != nil {
		return SeqMetrics{}, fmt.Errorf("train: validation after step %d: %w", tr.pos.Step, err)
	}
	p := &tr.pos
	tl := math.NaN()
	if p.LossSteps > 0 {
		tl = p.LossSum / float64(p.LossSteps)
	}
	m := SeqMetrics{Step: p.Step, Tokens: int64(tr.windows.Position()) * int64(tr.windows.Ctx()), LR: lastLR(tr.opt),
		TrainLoss: tl, TrainBPC: BitsPerChar(tl), ValLoss: vl, ValBPC: BitsPerChar(vl), ValPerplexity: math.Exp(vl), Seconds: seconds,
		Diagnostics: diagnostics(&p.gradSums, &tr.watch, tr.opt)}
	tr.history = append(tr.history, m)
	p.LossSum, p.LossSteps, p.ElapsedSec = 0, 0, 0
	return m, nil
}

// Evaluate returns the mean next-token cross-entropy (nats) of the model
// over tokens cut into consecutive windows of the training context,
// BatchSize windows at a time, in eval mode and at the evaluation point
// (AtEvalPoint), and the fraction of the next tokens it ranks first; NaNs
// if tokens hold no window.
func (tr *SeqTrainer[T]) Evaluate(tokens []int) (meanLoss, accuracy float64, err error) {
	if len(tokens) <= tr.windows.Ctx() {
		return math.NaN(), math.NaN(), nil
	}
	err = tr.AtEvalPoint(func() (err error) {
		meanLoss, accuracy, err = tr.evaluateTokens(tokens)
		return err
	})
	return meanLoss, accuracy, err
}

func (tr *SeqTrainer[T]) evaluateTokens(tokens []int) (meanLoss, accuracy float64, err error) {
	ctx := tr.windows.Ctx()
	w, err := data.NewWindows(tokens, ctx, 0)
	if err != nil {
		return 0, 0, err
	}
	sum, correct, err := evalShare(tr.dist.base(), func(first, stride int) (float64, int, error) {
		return tr.evaluateBatches(w, first, stride)
	})
	if err != nil {
		return 0, 0, err
	}
	chunks := w.Chunks()
	return sum / float64(chunks), float64(correct) / float64(chunks*ctx), nil
}

// evaluateBatches evaluates the batches first, first+stride, … of BatchSize
// consecutive windows of w and returns the sum of their windows' mean
// losses and the number of next tokens ranked first.
func (tr *SeqTrainer[T]) evaluateBatches(w *data.Windows, first, stride int) (sum float64, correct int, err error) {
	ctx := w.Ctx()
	setMode(tr.model, nn.Eval)
	tr.tape.SetNoGrad(true)
	defer tr.tape.SetNoGrad(false)
	defer tr.tape.Reset()
	chunks := w.Chunks()
	for lo := first * tr.cfg.BatchSize; lo < chunks; lo += stride * tr.cfg.BatchSize {
		b := min(tr.cfg.BatchSize, chunks-lo)
		for k := range b {
			w.Chunk(lo+k, tr.xs[k*ctx:], tr.ys[k*ctx:])
		}
		x := tr.x
		if b < tr.cfg.BatchSize {
			x = tr.x.Slice(0, b)
		}
		data.Tokens(x.Data(), tr.xs[:b*ctx])
		logits, err := tr.model.Forward(tr.tape, tr.tape.Const(x))
		if err != nil {
			return 0, 0, err
		}
		l, err := loss.CrossEntropy(tr.tape, logits, tr.ys[:b*ctx])
		if err != nil {
			return 0, 0, err
		}
		sum += float64(l.Value().Item()) * float64(b)
		correct += countCorrect(logits.Value(), tr.ys[:b*ctx], CrossEntropy)
		tr.tape.Reset()
	}
	return sum, correct, nil
}

// checkpoint writes a checkpoint if the configuration asks for one; in a
// data-parallel run, rank 0 writes it and every rank returns its error.
func (tr *SeqTrainer[T]) checkpoint() error {
	var err error
	switch {
	case tr.cfg.Checkpoint == "":
		return nil
	case tr.dist != nil:
		err = tr.dist.write(tr.cfg.RNG, func() error { return tr.SaveCheckpoint(tr.cfg.Checkpoint) })
	default:
		err = tr.SaveCheckpoint(tr.cfg.Checkpoint)
	}
	if err == nil {
		tr.checkpointed = tr.pos.Step
	}
	return err
}

func (tr *SeqTrainer[T]) fingerprint() seqFingerprint {
	acc := tr.cfg.Accumulate
	if acc <= 1 {
		acc = 0
	}
	return seqFingerprint{tr.cfg.BatchSize, tr.windows.Ctx(), tr.tokens, acc}
}

// SaveCheckpoint writes the run's state to path atomically: a safetensors
// file of byte tensors, "model" (the model file nn.Save writes),
// "optimizer" (optim.Optimizer.Save) and, for a run that keeps an average
// of its weights, "average" (optim.Averager.Save), with metadata "format"
// (descent.seq-checkpoint), "version" (1), "position" (JSON: the step, the
// windows drawn, the running loss), "history" (JSON: the evaluations),
// "run" (JSON: batch size, context, training tokens and accumulation,
// which must not change) and "rng" (base64: the dropout source's state, if
// any); in a data-parallel run, "rng_ranks" (JSON: every rank's source).
// The checkpoint path held before is kept as [PrevCheckpoint](path), for
// [SeqTrainer.ResumeLatest] to fall back on when the latest is damaged.
func (tr *SeqTrainer[T]) SaveCheckpoint(path string) error {
	var file bytes.Buffer
	if err := tr.writeCheckpoint(&file); err != nil {
		return err
	}
	if err := keepPrevious(path); err != nil {
		return fmt.Errorf("train: keeping the previous checkpoint: %w", err)
	}
	return atomicfile.WriteFile(path, file.Bytes())
}

// ResumeLatest restores the run as Resume does, from the checkpoint at
// path or, if that one cannot be used (missing, corrupt, or not this
// run's), from the one before it that SaveCheckpoint kept
// ([PrevCheckpoint]), as [Trainer.ResumeLatest] does.
func (tr *SeqTrainer[T]) ResumeLatest(path string) (from string, skipped, err error) {
	return resumeLatest(tr.Resume, path)
}

// writeCheckpoint writes what SaveCheckpoint saves to file.
func (tr *SeqTrainer[T]) writeCheckpoint(file io.Writer) error {
	tr.pos.Windows = tr.windows.Position()
	var model, opt bytes.Buffer
	if err := nn.Save(&model, tr.model); err != nil {
		return fmt.Errorf("train: checkpoint: %w", err)
	}
	if err := tr.opt.Save(&opt); err != nil {
		return fmt.Errorf("train: checkpoint: %w", err)
	}
	pos, err1 := json.Marshal(tr.pos)
	hist, err2 := json.Marshal(tr.history)
	run, err3 := json.Marshal(tr.fingerprint())
	if err := errors.Join(err1, err2, err3); err != nil {
		return fmt.Errorf("train: checkpoint: %w", err)
	}
	meta := map[string]string{"format": seqCheckpointFormat, "version": "1", "position": string(pos), "history": string(hist), "run": string(run)}
	if tr.cfg.RNG != nil {
		b, err := tr.cfg.RNG.MarshalBinary()
		if err != nil {
			return fmt.Errorf("train: checkpoint: %w", err)
		}
		meta["rng"] = base64.StdEncoding.EncodeToString(b)
	}
	if tr.dist != nil && tr.dist.rngRanks != "" {
		meta["rng_ranks"] = tr.dist.rngRanks
	}
	blobs := map[string]blob{"model": model.Bytes(), "optimizer": opt.Bytes()}
	if err := tr.saveAverage(blobs); err != nil {
		return err
	}
	if err := nn.WriteSafetensors(file, blobs, meta); err != nil {
		return fmt.Errorf("train: checkpoint: %w", err)
	}
	return nil
}

// Resume restores the run from a checkpoint that SaveCheckpoint wrote for
// a trainer built the same way (Steps may differ). A corrupt checkpoint,
// or one of another run, is an error saying what is wrong.
//
// In a data-parallel run, rank 0 reads the file and sends it to the others.
func (tr *SeqTrainer[T]) Resume(path string) error {
	b, err := tr.dist.base().readFile(path)
	if err != nil {
		return err
	}
	return tr.loadState(b, path)
}

// loadState restores the run from the checkpoint b, read from path.
func (tr *SeqTrainer[T]) loadState(b []byte, path string) error {
	st, meta, checked, err := openCheckpoint(b, path)
	if err != nil {
		return err
	}
	switch {
	case meta["format"] != seqCheckpointFormat:
		return fmt.Errorf("train: %s is not a language-model checkpoint (format %q)", path, meta["format"])
	case meta["version"] != "1":
		return fmt.Errorf("train: %s: checkpoint version %q; this build reads version 1", path, meta["version"])
	case !checked:
		return fmt.Errorf("train: %s: corrupt checkpoint: its checksum (%s) is missing", path, nn.ChecksumKey)
	}
	var run seqFingerprint
	var pos seqPosition
	var hist []SeqMetrics
	if json.Unmarshal([]byte(meta["run"]), &run) != nil || json.Unmarshal([]byte(meta["position"]), &pos) != nil || json.Unmarshal([]byte(meta["history"]), &hist) != nil {
		return fmt.Errorf("train: %s: corrupt checkpoint metadata", path)
	}
	if want := tr.fingerprint(); run != want {
		return fmt.Errorf("train: %s was written for a different run: batch %d, context %d, %d training tokens, accumulating %d; now %d, %d, %d, %d",
			path, run.BatchSize, run.Ctx, run.TrainTokens, max(run.Accumulate, 1), want.BatchSize, want.Ctx, want.TrainTokens, max(want.Accumulate, 1))
	}
	if pos.Step < 0 || pos.LossSteps < 0 || pos.LossSteps > pos.Step || pos.Windows != uint64(pos.Step)*uint64(tr.cfg.BatchSize*tr.microBatches()) || !pos.gradSums.valid() {
		return fmt.Errorf("train: %s: corrupt checkpoint position %+v", path, pos)
	}
	model, ok1 := st.Tensor("model")
	opt, ok2 := st.Tensor("optimizer")
	if !ok1 || !ok2 {
		return fmt.Errorf("train: %s: checkpoint lacks the model or the optimizer state", path)
	}
	if err := nn.Load(tr.model, model.Data()); err != nil {
		return fmt.Errorf("train: %s: %w", path, err)
	}
	if err := tr.opt.Load(bytes.NewReader(opt.Data())); err != nil {
		return fmt.Errorf("train: %s: %w", path, err)
	}
	avg, ok := st.Tensor("average")
	var avgData []byte
	if ok {
		avgData = avg.Data()
	}
	if err := tr.loadAverage(avgData, ok, path); err != nil {
		return err
	}
	if err := restoreRNG(tr.cfg.RNG, meta, path); err != nil {
		return err
	}
	if tr.dist != nil && tr.cfg.RNG != nil {
		if err := tr.dist.rankRNG(tr.cfg.RNG, meta["rng_ranks"]); err != nil {
			return fmt.Errorf("train: %s: %w", path, err)
		}
	}
	tr.windows.Seek(pos.Windows)
	tr.pos, tr.history, tr.checkpointed = pos, hist, pos.Step
	return nil
}
