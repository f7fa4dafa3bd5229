package train_test

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/descentml/descent/autograd"
	"github.com/descentml/descent/data"
	"github.com/descentml/descent/nn"
	"github.com/descentml/descent/optim"
	"github.com/descentml/descent/tensor"
	"github.com/descentml/descent/train"
)

// TestNewNilSets trains with the splits data.Split leaves nil (a fraction
// of 0): a nil *data.Set for Val and Test, which an interface does not see
// as nil, is no set, and evaluating it gives NaN, as for a nil Dataset.
func TestNewNilSets(t *testing.T) {
	set, model, opt := tinyParts(t)
	var none *data.Set
	tr, err := train.New[float32](model, opt, train.Data{Train: set, Val: none, Test: none}, train.Config{Epochs: 2, BatchSize: 4})
	if err != nil {
		t.Fatalf("New with nil *data.Set for Val and Test: %v", err)
	}
	if err := tr.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if l, a, err := tr.Evaluate(none); err != nil || !math.IsNaN(l) || !math.IsNaN(a) {
		t.Errorf("Evaluate(nil *data.Set) = %v, %v, %v; want NaN, NaN, nil", l, a, err)
	}
}

// TestNewChecksOptimizer refuses an optimizer made over another model's
// parameters (which would train nothing) and a nil one, and takes one
// over some of the model's parameters (the others frozen).
func TestNewChecksOptimizer(t *testing.T) {
	set, model, _ := tinyParts(t)
	other := nn.NewSequential(nn.NewLinear[float32](2, 2, rand.New(rand.NewPCG(3, 4))))
	newOpt := func(ps []optim.Param[float32]) *optim.Optimizer[float32] {
		opt, err := optim.New(ps, optim.Config{Method: optim.DefaultAdam()})
		if err != nil {
			t.Fatal(err)
		}
		return opt
	}
	cfg := train.Config{Epochs: 1, BatchSize: 2}
	for _, c := range []struct {
		name string
		opt  *optim.Optimizer[float32]
		want string
	}{
		{"another model's", newOpt(train.Params[float32](other)), "is not one of the model's"},
		{"nil", nil, "no optimizer"},
		{"some of the model's", newOpt(train.Params[float32](model)[:1]), ""},
	} {
		_, err := train.New[float32](model, c.opt, train.Data{Train: set}, cfg)
		if c.want == "" && err != nil || c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)) {
			t.Errorf("New with %s optimizer: %v; want %q", c.name, err, c.want)
		}
		_, err = train.NewSeq[float32](model, c.opt, []int{0, 1, 0, 1, 1, 0}, nil, train.SeqConfig{Steps: 1, BatchSize: 1, Ctx: 2})
		if c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)) {
			t.Errorf("NewSeq with %s optimizer: %v; want %q", c.name, err, c.want)
		}
	}
}

// TestNewChecksOutputWidth refuses a model whose output does not have one
// entry per class (one logit for binary cross-entropy), naming both
// numbers, in New rather than at the first step that meets a label the
// output lacks.
func TestNewChecksOutputWidth(t *testing.T) {
	set, _, _ := tinyParts(t) // 2 classes
	for _, c := range []struct {
		out  int
		loss train.Loss
		want string
	}{
		{3, train.CrossEntropy, ""}, // more outputs than classes, as PyTorch takes them
		{1, train.CrossEntropy, "gives 1 outputs per example (shape [1 1]) and the training set has 2 classes: its last layer must have at least 2 outputs"},
		{2, train.BinaryCrossEntropy, "gives 2 outputs per example (shape [1 2]); binary cross-entropy takes one logit"},
		{2, train.CrossEntropy, ""},
		{1, train.BinaryCrossEntropy, ""},
	} {
		model := nn.NewSequential(nn.NewLinear[float32](2, c.out, rand.New(rand.NewPCG(1, 2))))
		opt, err := optim.New(train.Params[float32](model), optim.Config{Method: optim.DefaultAdam()})
		if err != nil {
			t.Fatal(err)
		}
		_, err = train.New[float32](model, opt, train.Data{Train: set}, train.Config{Epochs: 1, BatchSize: 4, Loss: c.loss})
		if c.want == "" && err != nil || c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)) {
			t.Errorf("New with %d outputs, loss %d: %v; want %q", c.out, c.loss, err, c.want)
		}
	}
}

// TestNewNilModel: a nil model, as an interface or a pointer, is an error.
func TestNewNilModel(t *testing.T) {
	set, _, opt := tinyParts(t)
	var none *nn.Sequential[float32]
	for _, m := range []train.Model[float32]{nil, none} {
		if _, err := train.New(m, opt, train.Data{Train: set}, train.Config{Epochs: 1, BatchSize: 2}); err == nil || !strings.Contains(err.Error(), "no model") {
			t.Errorf("New(%#v): %v; want an error saying there is no model", m, err)
		}
	}
	for _, m := range []nn.Module[float32]{nil, none} {
		if _, err := train.NewSeq(m, opt, []int{0, 1, 0, 1}, nil, train.SeqConfig{Steps: 1, BatchSize: 1, Ctx: 2}); err == nil || !strings.Contains(err.Error(), "no model") {
			t.Errorf("NewSeq(%#v): %v; want an error saying there is no model", m, err)
		}
	}
}

// bnParts returns a set of n examples of shape, 2 classes, and a model
// of batch norm over its channels (1-d for [C], 2-d for [C, H, W]), a
// dropout drawing from rng and a linear layer.
func bnParts(t *testing.T, n int, shape []int, rng *rand.PCG) (*data.Set, *nn.Sequential[float32], *optim.Optimizer[float32]) {
	t.Helper()
	size := 1
	for _, d := range shape {
		size *= d
	}
	src := rand.New(rand.NewPCG(5, 6))
	x, y := make([]float32, n*size), make([]int, n)
	for i := range x {
		x[i] = float32(src.NormFloat64())
	}
	for i := range y {
		y[i] = i % 2
	}
	set, err := data.NewSet(x, y, shape, 2)
	if err != nil {
		t.Fatal(err)
	}
	bn := nn.NewBatchNorm1d[float32](shape[0])
	if len(shape) == 3 {
		bn = nn.NewBatchNorm2d[float32](shape[0])
	}
	model := nn.NewSequential(bn, nn.NewFlatten[float32](), nn.NewDropout[float32](0.5, rand.New(rng)),
		nn.NewLinear[float32](size, 2, rand.New(rand.NewPCG(1, 2))))
	opt, err := optim.New(train.Params[float32](model), optim.Config{Method: optim.DefaultAdam()})
	if err != nil {
		t.Fatal(err)
	}
	return set, model, opt
}

// TestNewBatchNormLastBatchOfOne: 1-d batch norm in training mode cannot
// take a batch of one example, which an epoch's last batch is when the
// batch size leaves one over; New refuses it, saying what to do, instead
// of the first epoch's end, for a Sequential and for a model of one's own
// that does not list its layers alike. DropLast, another batch size, or
// batch norm over more than one value per channel (2-d, or [N, C, L]) is
// accepted, and New changes nothing the run depends on: the running
// statistics, the parameters and the random source are as they were.
func TestNewBatchNormLastBatchOfOne(t *testing.T) {
	for _, c := range []struct {
		name     string
		shape    []int
		batch    int
		dropLast bool
		want     string
	}{
		{"last batch of one", []int{3}, 4, false, "leave a last batch of one example in each epoch (batch size 4), and the model cannot train on one: nn: BatchNorm1d(3)"},
		{"batch size 1", []int{3}, 1, false, "batches of one example (batch size 1, 9 training examples)"},
		{"DropLast", []int{3}, 4, true, ""},
		{"no batch of one", []int{3}, 3, false, ""},
		{"2-d batch norm", []int{2, 2, 2}, 4, false, ""},
	} {
		for _, wrap := range []bool{false, true} {
			name := c.name
			rng := rand.NewPCG(7, 8)
			set, s, opt := bnParts(t, 9, c.shape, rng)
			var model train.Model[float32] = s
			if wrap {
				name, model = name+", wrapped", wrapped[float32]{s}
			}
			before := modelBytes(t, s)
			state, _ := rng.MarshalBinary()
			_, err := train.New[float32](model, opt, train.Data{Train: set}, train.Config{Epochs: 1, BatchSize: c.batch, DropLast: c.dropLast, RNG: rng})
			if c.want == "" && err != nil || c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)) {
				t.Errorf("%s: New: %v; want %q", name, err, c.want)
			}
			if c.want != "" && err != nil && !strings.Contains(err.Error(), "set DropLast, or choose another batch size") && c.batch > 1 {
				t.Errorf("%s: New: %v; want it to say what to do", name, err)
			}
			after, _ := rng.MarshalBinary()
			if !bytes.Equal(modelBytes(t, s), before) || !bytes.Equal(after, state) {
				t.Errorf("%s: New changed the model's parameters or buffers, or drew random numbers", name)
			}
		}
	}
}

// TestNewBatchNormShardOfOne: in a data-parallel run without synchronised
// batch norm, a rank whose share of a batch is one example cannot train
// its batch norm; every rank refuses the run in New, also for a model of
// one's own that does not list its layers.
func TestNewBatchNormShardOfOne(t *testing.T) {
	for _, wrap := range []bool{false, true} {
		_, errs := onReplicas(t, 2, func(int) replicaRun {
			return replicaRun{batchNorm: true, wrap: wrap, cfg: train.Config{Epochs: 1, BatchSize: 3, DropLast: true}}
		}, func(int, *train.Trainer[float64]) error { return nil })
		for r, err := range errs {
			if err == nil || !strings.Contains(err.Error(), "a batch of 3 examples leaves rank 0 of 2 one example") {
				t.Errorf("wrapped %v, rank %d: %v; want an error naming the batch and the rank", wrap, r, err)
			}
		}
	}
}

// TestNewSeqChecksVocabulary refuses, in NewSeq, a text whose token ids
// the model's output does not cover (its vocabulary is smaller than the
// text's) or whose embedding does not take, and a negative id, naming the
// numbers, instead of failing at the first step that meets such an id.
func TestNewSeqChecksVocabulary(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	lm := func(vocab int) nn.Module[float32] {
		model, err := nn.NewRecurrentLM[float32](nn.RecurrentLMConfig{Cell: nn.CellGRU, Vocab: vocab, Embed: 4, Hidden: 4}, rng)
		if err != nil {
			t.Fatal(err)
		}
		return model
	}
	// A model embedding 8 ids and predicting 5: its output lacks ids 5 to 7.
	narrow := nn.NewSequential(nn.NewEmbedding[float32](8, 4, rng), nn.NewLinear[float32](4, 5, rng))
	text := []int{0, 1, 2, 3, 4, 5, 6, 7, 0, 1, 2, 3}
	for _, c := range []struct {
		name   string
		model  nn.Module[float32]
		tokens []int
		want   string
	}{
		{"vocabulary 8", lm(8), text, ""},
		{"vocabulary 6", lm(6), text, "does not accept a window of 4 tokens of id 7, the text's largest"},
		{"output of 5", narrow, text, "gives 5 outputs per position (shape [1 4 5]) and the text has token ids up to 7: its vocabulary must have at least 8 entries"},
		{"negative id", lm(8), []int{0, 1, 2, -3, 4, 5}, "the training text's token 3 has id -3"},
	} {
		opt, err := optim.New(train.Params(c.model), optim.Config{Method: optim.DefaultAdam()})
		if err != nil {
			t.Fatal(err)
		}
		_, err = train.NewSeq(c.model, opt, c.tokens, nil, train.SeqConfig{Steps: 1, BatchSize: 2, Ctx: 4})
		if c.want == "" && err != nil || c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)) {
			t.Errorf("NewSeq with %s: %v; want %q", c.name, err, c.want)
		}
	}
}

// TestLateErrorsComeEarly: what used to fail late or panic on a user's
// input is an error at once: a NaN EarlyStop.MinDelta (no epoch would
// improve, so the run would stop after Patience epochs whatever it
// learnt), evaluating a set of another shape (a panic in data.Gather),
// and train.Params of a nil model (a nil dereference).
func TestLateErrorsComeEarly(t *testing.T) {
	set, model, opt := tinyParts(t)
	cfg := train.Config{Epochs: 3, BatchSize: 4, EarlyStop: train.EarlyStop{Patience: 1, MinDelta: math.NaN()}}
	if _, err := train.New[float32](model, opt, train.Data{Train: set, Val: set}, cfg); err == nil || !strings.Contains(err.Error(), "EarlyStop.MinDelta = NaN") {
		t.Errorf("New with MinDelta NaN: %v; want an error naming it", err)
	}
	tr, err := train.New[float32](model, opt, train.Data{Train: set}, train.Config{Epochs: 1, BatchSize: 4})
	if err != nil {
		t.Fatal(err)
	}
	other, err := data.NewSet(make([]float32, 6), []int{0, 1}, []int{3}, 2)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := tr.Evaluate(other); err == nil || !strings.Contains(err.Error(), "shape [3] with a model trained on [2]") {
		t.Errorf("Evaluate of examples of shape [3]: %v; want an error naming both shapes", err)
	}
	var none *nn.Sequential[float32]
	if ps := train.Params[float32](none); ps != nil {
		t.Errorf("Params(nil) = %v; want none", ps)
	}
}

// TestNewChecksValidationClasses refuses a validation or test set of more
// classes than the model has outputs, whose labels past them would fail
// the validation at the end of the first epoch, and takes one that a
// model wider than the training set's classes covers.
func TestNewChecksValidationClasses(t *testing.T) {
	set, model, opt := tinyParts(t) // 2 classes, 2 outputs
	more, err := data.NewSet([]float32{0, 1, 1, 0, 2, 2}, []int{0, 1, 2}, []int{2}, 3)
	if err != nil {
		t.Fatal(err)
	}
	cfg := train.Config{Epochs: 1, BatchSize: 4}
	if _, err := train.New[float32](model, opt, train.Data{Train: set, Val: more}, cfg); err == nil || !strings.Contains(err.Error(), "gives 2 outputs per example (shape [1 2]) and the validation set has 3 classes") {
		t.Errorf("New with a validation set of 3 classes: %v; want an error naming both", err)
	}
	if _, err := train.New[float32](model, opt, train.Data{Train: set, Test: more}, cfg); err == nil || !strings.Contains(err.Error(), "the test set has 3 classes") {
		t.Errorf("New with a test set of 3 classes: %v; want an error naming it", err)
	}
	wide := nn.NewSequential(nn.NewLinear[float32](2, 3, rand.New(rand.NewPCG(1, 2))))
	if opt, err = optim.New(train.Params[float32](wide), optim.Config{Method: optim.DefaultAdam()}); err != nil {
		t.Fatal(err)
	}
	if _, err := train.New[float32](wide, opt, train.Data{Train: set, Val: more, Test: more}, cfg); err != nil {
		t.Errorf("New with 3 outputs, 2 training and 3 validation classes: %v; want none", err)
	}
}

// wrapped is a model of one's own as a user writes it: a struct holding
// layers (here a Sequential's) whose Module and ModeSetter methods pass
// on to them, and that does not list its layers (nn.Container).
type wrapped[T tensor.Float] struct{ s *nn.Sequential[T] }

func (w wrapped[T]) Forward(t *autograd.Tape[T], x *autograd.Var[T]) (*autograd.Var[T], error) {
	return w.s.Forward(t, x)
}
func (w wrapped[T]) Params() []nn.Param[T]   { return w.s.Params() }
func (w wrapped[T]) Buffers() []nn.Buffer[T] { return w.s.Buffers() }
func (w wrapped[T]) SetMode(m nn.Mode)       { w.s.SetMode(m) }

// container is wrapped that lists its layers.
type container[T tensor.Float] struct{ wrapped[T] }

func (c container[T]) Layers() []nn.Module[T] { return c.s.Layers() }

var _ nn.Container[float32] = container[float32]{}

// TestEvalPointNeedsLayers: a run that evaluates another point than the
// one it trains (Schedule-Free's x, an average of the weights) recomputes
// batch norm's running statistics for it, which it can do only for the
// batch-norm layers it reaches through nn.Container. New refuses a model
// whose buffers hold batch-norm statistics that it cannot reach, saying
// what to implement, instead of evaluating it with the statistics of the
// trained point; a model that lists its layers trains and evaluates bit
// for bit as the Sequential it wraps, and a run that needs no
// recomputation, or a model without batch norm, is taken as it is.
func TestEvalPointNeedsLayers(t *testing.T) {
	splits := digits(t)
	sub := splits.Train.Subset(firstN(300))
	model := func(bn bool) *nn.Sequential[float32] {
		rng := rand.New(rand.NewPCG(1, 2))
		layers := []nn.Module[float32]{nn.NewFlatten[float32](), nn.NewLinear[float32](64, 16, rng)}
		if bn {
			layers = append(layers, nn.NewBatchNorm1d[float32](16))
		}
		return nn.NewSequential(append(layers, nn.NewReLU[float32](), nn.NewLinear[float32](16, 10, rng))...)
	}
	ema := &optim.Averaging{EMA: true, Decay: 0.9}
	for _, c := range []struct {
		name   string
		method optim.Method
		avg    *optim.Averaging
		bn     bool
		want   string // New's error for wrapped
	}{
		{"Schedule-Free", optim.DefaultScheduleFreeAdamW(), nil, true, `the model's buffer "2.running_mean" is batch-norm state that train cannot reach to recompute it at Schedule-Free's x`},
		{"EMA", optim.DefaultAdamW(), ema, true, "at the average of the weights"},
		{"AdamW", optim.DefaultAdamW(), nil, true, ""},
		{"Schedule-Free without batch norm", optim.DefaultScheduleFreeAdamW(), nil, false, ""},
	} {
		var loss [3]float64
		var saved [3][]byte
		for i, wrap := range []func(*nn.Sequential[float32]) train.Model[float32]{
			func(s *nn.Sequential[float32]) train.Model[float32] { return s },
			func(s *nn.Sequential[float32]) train.Model[float32] { return container[float32]{wrapped[float32]{s}} },
			func(s *nn.Sequential[float32]) train.Model[float32] { return wrapped[float32]{s} },
		} {
			s := model(c.bn)
			m := wrap(s)
			opt, err := optim.New(train.Params[float32](m), optim.Config{Method: c.method})
			if err != nil {
				t.Fatal(err)
			}
			tr, err := train.New[float32](m, opt, train.Data{Train: sub, Val: splits.Val}, train.Config{Epochs: 2, BatchSize: 50, Average: c.avg})
			if i == 2 && c.want != "" {
				if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "nn.Container") {
					t.Errorf("%s: New of a model that does not list its layers: %v; want %q and what to implement", c.name, err, c.want)
				}
				continue
			}
			if err != nil {
				t.Fatalf("%s, model %d: New: %v", c.name, i, err)
			}
			if err := tr.Run(context.Background()); err != nil {
				t.Fatal(err)
			}
			if loss[i], _, err = tr.Evaluate(splits.Test); err != nil {
				t.Fatal(err)
			}
			saved[i] = modelBytes(t, s)
		}
		for i := 1; i < len(loss); i++ {
			if saved[i] != nil && (math.Float64bits(loss[i]) != math.Float64bits(loss[0]) || !bytes.Equal(saved[i], saved[0])) {
				t.Errorf("%s: model %d: test loss %v, model bytes equal %v; want the Sequential's %v and its bytes", c.name, i, loss[i], bytes.Equal(saved[i], saved[0]), loss[0])
			}
		}
	}
}

// firstN returns 0, 1, …, n−1.
func firstN(n int) []int {
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	return idx
}

// TestEvalPointReachesResidual: batch norm inside a Residual is reached
// through its Inner, so a Schedule-Free run recomputes its statistics and
// New takes the model.
func TestEvalPointReachesResidual(t *testing.T) {
	splits := digits(t)
	rng := rand.New(rand.NewPCG(1, 2))
	inner := nn.NewSequential(nn.NewBatchNorm1d[float32](16), nn.NewReLU[float32]())
	m := nn.NewSequential(nn.NewFlatten[float32](), nn.NewLinear[float32](64, 16, rng), nn.NewResidual[float32](inner), nn.NewLinear[float32](16, 10, rng))
	opt, err := optim.New(train.Params[float32](m), optim.Config{Method: optim.DefaultScheduleFreeAdamW()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := train.New[float32](m, opt, train.Data{Train: splits.Train}, train.Config{Epochs: 1, BatchSize: 50}); err != nil {
		t.Errorf("New of a Schedule-Free run with batch norm in a Residual: %v; want none", err)
	}
}

// TestModes: New and NewSeq leave the model in training mode, as a new
// module is, though they run it in eval mode; Run leaves it in eval mode,
// ready to predict, with a validation set or text or without, and when it
// is interrupted.
func TestModes(t *testing.T) {
	check := func(what string, m *nn.Sequential[float32], want nn.Mode) {
		t.Helper()
		if got := m.Mode(); got != want {
			t.Errorf("%s: the model is in %v mode; want %v", what, got, want)
		}
	}
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	for _, c := range []struct {
		name  string
		val   bool
		batch int // 3 leaves a batch of one: New also runs the model in training mode
		ctx   context.Context
	}{
		{"with validation", true, 4, context.Background()},
		{"without validation", false, 4, context.Background()},
		{"a batch of one", false, 3, context.Background()},
		{"interrupted", true, 4, cancelled},
	} {
		set, model, opt := tinyParts(t)
		model.SetMode(nn.Eval)
		sets := train.Data{Train: set.Subset(firstN(7))}
		if c.val {
			sets.Val = set
		}
		tr, err := train.New[float32](model, opt, sets, train.Config{Epochs: 1, BatchSize: c.batch})
		if err != nil {
			t.Fatal(err)
		}
		check(c.name+": after New", model, nn.Train)
		if err := tr.Run(c.ctx); err != nil && c.ctx.Err() == nil {
			t.Fatal(err)
		}
		check(c.name+": after Run", model, nn.Eval)
	}
	for _, val := range [][]int{nil, {1, 0, 1, 1, 0}} {
		model := nn.NewSequential(nn.NewEmbedding[float32](2, 3, rand.New(rand.NewPCG(1, 2))), nn.NewLinear[float32](3, 2, rand.New(rand.NewPCG(3, 4))))
		model.SetMode(nn.Eval)
		opt, err := optim.New(train.Params[float32](model), optim.Config{Method: optim.DefaultAdam()})
		if err != nil {
			t.Fatal(err)
		}
		tr, err := train.NewSeq[float32](model, opt, []int{0, 1, 1, 0, 1, 0, 0, 1}, val, train.SeqConfig{Steps: 2, BatchSize: 2, Ctx: 3})
		if err != nil {
			t.Fatal(err)
		}
		check(fmt.Sprintf("validation text %v: after NewSeq", val), model, nn.Train)
		if err := tr.Run(context.Background()); err != nil {
			t.Fatal(err)
		}
		check(fmt.Sprintf("validation text %v: after Run", val), model, nn.Eval)
	}
}

// TestNewSeqShortValidation: NewSeq refuses validation text shorter than
// one window and its next token, as it refuses such training text, naming
// the split, its length and the window, also when EvalTokens cuts it that
// short; every evaluation of it was NaN, silently. No validation text (nil
// or empty) is taken, and so is one window's worth.
func TestNewSeqShortValidation(t *testing.T) {
	text := []int{0, 1, 1, 0, 1, 0, 0, 1, 1, 1}
	for _, c := range []struct {
		name       string
		val        []int
		evalTokens int
		want       string
	}{
		{"shorter than a window", text[:3], 0, "train: validation data: text of 3 tokens is shorter than one window of 3 tokens and its next token"},
		{"cut by EvalTokens", text, 2, "train: validation data: text of 2 tokens is shorter than one window of 3 tokens and its next token (EvalTokens = 2 cuts it to that)"},
		{"one window", text[:4], 0, ""},
		{"none", nil, 0, ""},
		{"empty", []int{}, 0, ""},
	} {
		model := nn.NewSequential(nn.NewEmbedding[float32](2, 3, rand.New(rand.NewPCG(1, 2))), nn.NewLinear[float32](3, 2, rand.New(rand.NewPCG(3, 4))))
		opt, err := optim.New(train.Params[float32](model), optim.Config{Method: optim.DefaultAdam()})
		if err != nil {
			t.Fatal(err)
		}
		_, err = train.NewSeq[float32](model, opt, text, c.val, train.SeqConfig{Steps: 2, BatchSize: 2, Ctx: 3, EvalTokens: c.evalTokens})
		if c.want == "" && err != nil || c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)) {
			t.Errorf("NewSeq with validation text %s: %v; want %q", c.name, err, c.want)
		}
	}
}
