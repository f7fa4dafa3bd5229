package train_test

import (
	"context"
	"maps"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/descentml/descent/data"
	"github.com/descentml/descent/nn"
	"github.com/descentml/descent/optim"
	"github.com/descentml/descent/train"
)

// newSeq returns a trainer of a tiny GRU language model on the embedded
// corpus's first 20,000 characters.
func newSeq(t *testing.T, cfg train.SeqConfig) *train.SeqTrainer[float32] {
	t.Helper()
	text, err := data.NewText(data.DefaultCorpus()[:20000], data.DefaultTextOptions())
	if err != nil {
		t.Fatal(err)
	}
	model, err := nn.NewRecurrentLM[float32](nn.RecurrentLMConfig{Cell: nn.CellGRU, Vocab: text.Vocab.Len(), Embed: 8, Hidden: 8}, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		t.Fatal(err)
	}
	opt, err := optim.New(train.Params[float32](model), optim.Config{Method: optim.DefaultAdam()})
	if err != nil {
		t.Fatal(err)
	}
	tr, err := train.NewSeq[float32](model, opt, text.Train, text.Val, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

func params(tr *train.SeqTrainer[float32]) []float32 {
	var out []float32
	for _, p := range tr.Optimizer().Params(0) {
		out = append(out, p.Value...)
	}
	return out
}

// TestSeqResume stops a steps-based run after its second evaluation,
// resumes a fresh trainer from the checkpoint, and checks it ends with the
// weights and history of a run that never stopped; a checkpoint of
// another batch size is refused.
func TestSeqResume(t *testing.T) {
	cfg := train.SeqConfig{Steps: 12, BatchSize: 3, Ctx: 8, Seed: 5, EvalEvery: 4}
	whole := newSeq(t, cfg)
	if err := whole.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if h := whole.History(); len(h) != 3 || h[2].Step != 12 || h[2].Tokens != 12*3*8 {
		t.Fatalf("history %+v; want 3 evaluations, the last at step 12 after %d tokens", h, 12*3*8)
	}

	ckpt := filepath.Join(t.TempDir(), "checkpoint.safetensors")
	part := cfg
	part.Checkpoint = ckpt
	ctx, cancel := context.WithCancel(context.Background())
	part.OnEval = func(m train.SeqMetrics) error {
		if m.Step == 8 {
			cancel()
		}
		return nil
	}
	if err := newSeq(t, part).Run(ctx); err != context.Canceled {
		t.Fatalf("interrupted run: %v; want context.Canceled", err)
	}
	resumed := newSeq(t, cfg)
	if err := resumed.Resume(ckpt); err != nil {
		t.Fatal(err)
	}
	if resumed.Step() != 8 {
		t.Fatalf("resumed at step %d; want 8", resumed.Step())
	}
	if err := resumed.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got, want := params(resumed), params(whole); !slices.Equal(got, want) {
		t.Error("the resumed run's weights differ from the uninterrupted run's")
	}
	if got, want := resumed.History()[2].ValLoss, whole.History()[2].ValLoss; got != want {
		t.Errorf("resumed validation loss %v; want %v", got, want)
	}
	got, want := resumed.History()[2].Diagnostics, whole.History()[2].Diagnostics
	if !(want.GradNormMean > 0) || len(want.UpdateRatio) == 0 ||
		got.GradNormMean != want.GradNormMean || got.GradNormMax != want.GradNormMax || !maps.Equal(got.UpdateRatio, want.UpdateRatio) {
		t.Errorf("resumed diagnostics %+v; uninterrupted %+v", got, want)
	}

	other := cfg
	other.BatchSize = 4
	if err := newSeq(t, other).Resume(ckpt); err == nil || !strings.Contains(err.Error(), "different run") {
		t.Errorf("Resume with another batch size = %v; want an error naming a different run", err)
	}
}
