package train_test

import (
	"context"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/descentml/descent/optim"
	"github.com/descentml/descent/train"
)

// TestSeqAccumulate checks that two micro-batches of 3 windows make the
// step one batch of the same 6 windows makes, up to the rounding of the
// gradients' sum: the same windows, the same mean loss.
func TestSeqAccumulate(t *testing.T) {
	one := newSeq(t, train.SeqConfig{Steps: 4, BatchSize: 6, Ctx: 8, Seed: 5})
	acc := newSeq(t, train.SeqConfig{Steps: 4, BatchSize: 3, Ctx: 8, Seed: 5, Accumulate: 2})
	for _, tr := range []*train.SeqTrainer[float32]{one, acc} {
		if err := tr.Run(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if got, want := acc.Optimizer().Steps(), 4; got != want {
		t.Errorf("accumulating 2: %d optimizer steps; want %d", got, want)
	}
	a, b := acc.History()[0], one.History()[0]
	if a.Tokens != b.Tokens || math.Abs(a.TrainLoss-b.TrainLoss) > 1e-5 {
		t.Errorf("accumulating 2×3 windows: %d tokens, train loss %v; one batch of 6: %d tokens, %v", a.Tokens, a.TrainLoss, b.Tokens, b.TrainLoss)
	}
	pa, pb := params(acc), params(one)
	for i := range pa {
		if d := math.Abs(float64(pa[i] - pb[i])); d > 1e-5 {
			t.Fatalf("accumulated weights[%d] = %v; one large batch %v", i, pa[i], pb[i])
		}
	}
}

// TestSeqResumeAverageAccumulate resumes a run that accumulates and keeps
// an EMA of its weights from a checkpoint written between evaluations, and
// checks it ends bit for bit as the run that never stopped: the weights,
// the average and the validation losses (evaluated on the average).
func TestSeqResumeAverageAccumulate(t *testing.T) {
	avg := optim.Averaging{EMA: true, Decay: 0.9}
	cfg := train.SeqConfig{Steps: 12, BatchSize: 2, Ctx: 8, Seed: 5, EvalEvery: 4, Accumulate: 3, Average: &avg}
	whole := newSeq(t, cfg)
	if err := whole.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if h := whole.History(); len(h) != 3 || h[2].Tokens != 12*3*2*8 {
		t.Fatalf("history %+v; want 3 evaluations, the last after %d tokens", h, 12*3*2*8)
	}
	ckpt := filepath.Join(t.TempDir(), "checkpoint.safetensors")
	part := cfg
	part.Checkpoint = ckpt
	ctx, cancel := context.WithCancel(context.Background())
	part.OnStep = func(s train.SeqStep) {
		if s.Step == 6 {
			cancel() // between evaluations: the checkpoint of the interruption
		}
	}
	if err := newSeq(t, part).Run(ctx); err != context.Canceled {
		t.Fatalf("interrupted run: %v; want context.Canceled", err)
	}
	resumed := newSeq(t, cfg)
	if err := resumed.Resume(ckpt); err != nil {
		t.Fatal(err)
	}
	if resumed.Step() != 6 {
		t.Fatalf("resumed at step %d; want 6", resumed.Step())
	}
	if err := resumed.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got, want := params(resumed), params(whole); !slices.Equal(got, want) {
		t.Error("the resumed run's weights differ from the uninterrupted run's")
	}
	for i, m := range whole.History() {
		if got := resumed.History()[i].ValLoss; got != m.ValLoss {
			t.Errorf("evaluation %d: resumed validation loss %v; want %v", i, got, m.ValLoss)
		}
	}
	// The average is what is evaluated: the EMA's loss differs from the
	// trained weights'.
	plain := cfg
	plain.Average = nil
	noAvg := newSeq(t, plain)
	if err := noAvg.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(params(noAvg), params(whole)) {
		t.Error("keeping an average changed the trained weights")
	}
	if noAvg.History()[2].ValLoss == whole.History()[2].ValLoss {
		t.Error("the EMA's validation loss equals the trained weights': the average was not evaluated")
	}
	if err := newSeq(t, plain).Resume(ckpt); err == nil || !strings.Contains(err.Error(), "average") {
		t.Errorf("Resume without the average = %v; want an error naming the average", err)
	}
	other := cfg
	other.Accumulate = 2
	if err := newSeq(t, other).Resume(ckpt); err == nil || !strings.Contains(err.Error(), "different run") {
		t.Errorf("Resume accumulating 2 instead of 3 = %v; want an error naming a different run", err)
	}
}
