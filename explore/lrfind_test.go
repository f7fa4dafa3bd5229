package explore

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/descentml/descent/data"
	"github.com/descentml/descent/recipe"
	"github.com/descentml/descent/train"
)

// TestFindLRAccumulate runs the range test of a classifier that
// accumulates 3 batches an optimizer step. A point is an optimizer step,
// its loss the mean of its batches' (as a language model's), so the rates
// run over the whole range, MinLR to MaxLR in Steps points; and the rate
// suggested is in the range TestFindLR accepts without accumulation.
func TestFindLRAccumulate(t *testing.T) {
	r := recipe.Default()
	r.Accumulate = 3
	d := Data{Splits: digits(t)}
	cfg := DefaultFindLR()
	cfg.MaxLR, cfg.Steps, cfg.Explode = 1e-2, 30, math.MaxFloat64
	f, err := FindLR(context.Background(), r, d, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(f.LRs) != cfg.Steps || f.Stopped != "" {
		t.Fatalf("%d points (stopped %q); want %d, one an optimizer step", len(f.LRs), f.Stopped, cfg.Steps)
	}
	ratio := math.Pow(cfg.MaxLR/cfg.MinLR, 1/float64(cfg.Steps-1))
	for i := 1; i < len(f.LRs); i++ {
		if q := f.LRs[i] / f.LRs[i-1]; math.Abs(q-ratio) > 1e-9*ratio {
			t.Fatalf("LRs[%d]/LRs[%d] = %v; want %v", i, i-1, q, ratio)
		}
	}
	if first, last := f.LRs[0], f.LRs[len(f.LRs)-1]; first != cfg.MinLR || math.Abs(last-cfg.MaxLR) > 1e-9*cfg.MaxLR {
		t.Errorf("rates from %v to %v; want %v to %v", first, last, cfg.MinLR, cfg.MaxLR)
	}

	// The first point's loss is the mean of the first 3 batches' losses,
	// which the weights they start from alone decide (the optimizer steps
	// after the third).
	var losses []float64
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	run, err := r.Build(&data.Splits{Train: d.Splits.Train}, train.Config{OnBatch: func(b train.Batch) {
		if losses = append(losses, b.Loss); len(losses) == r.Accumulate {
			cancel()
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	if err := run.Trainer.Run(ctx); ctx.Err() == nil {
		t.Fatalf("the run ended (%v) before 3 batches", err)
	}
	if want := (losses[0] + losses[1] + losses[2]) / 3; math.Abs(float64(f.Losses[0])-want) > 1e-12*want {
		t.Errorf("first loss %v; want %v, the mean of the batches' %v", f.Losses[0], want, losses)
	}

	f, err = FindLR(context.Background(), r, d, DefaultFindLR())
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d steps, suggested %.3g, min loss at %.3g, stopped: %s", len(f.LRs), f.Suggested, f.MinLossLR, f.Stopped)
	if !(f.Suggested >= 3e-4 && f.Suggested <= 3e-2) || !(f.MinLossLR/10 >= 1e-3 && f.MinLossLR/10 <= 0.1) {
		t.Errorf("suggested %v, min loss at %v; want about 1e-3 to 1e-2, as without accumulation", f.Suggested, f.MinLossLR)
	}
}

// TestFindLRNoFiniteLoss runs a range test whose first loss is NaN (every
// example but the first, which train's check of the model reads, holds
// NaN): no smoothed loss is finite, so there is no rate to suggest. That
// is a result: Save writes it, the missing rates as null, which read back
// as NaN, and the summary says no rate is suggested.
func TestFindLRNoFiniteLoss(t *testing.T) {
	tr := digits(t).Train
	x := slices.Clone(tr.X)
	for i := tr.Dim(); i < len(x); i++ {
		x[i] = float32(math.NaN())
	}
	bad, err := data.NewSet(x, tr.Y, tr.Shape(), tr.Classes())
	if err != nil {
		t.Fatal(err)
	}
	f, err := FindLR(context.Background(), small(1), Data{Splits: &data.Splits{Train: bad}}, DefaultFindLR())
	if err != nil {
		t.Fatal(err)
	}
	if len(f.LRs) != 1 || !math.IsNaN(float64(f.Losses[0])) || !math.IsNaN(f.Suggested) || !math.IsNaN(f.MinLossLR) {
		t.Fatalf("rates %v, losses %v, suggested %v, min loss at %v; want one NaN loss and no rate", f.LRs, f.Losses, f.Suggested, f.MinLossLR)
	}
	dir := t.TempDir()
	if err := f.Save(dir); err != nil {
		t.Fatalf("Save: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "lr-find.png")); err == nil {
		t.Error("Save drew lr-find.png with no loss to draw")
	}
	b, err := os.ReadFile(filepath.Join(dir, LRFindFile))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"suggested", "min_loss_lr"} {
		if got := string(m[k]); got != "null" {
			t.Errorf("%s's %s = %q; want null", LRFindFile, k, got)
		}
	}
	back := LRFind{Suggested: 1, MinLossLR: 1}
	if err := json.Unmarshal(b, &back); err != nil || !math.IsNaN(back.Suggested) || !math.IsNaN(back.MinLossLR) || len(back.LRs) != 1 || back.Stopped != f.Stopped {
		t.Errorf("read back: %v, suggested %v, min loss at %v, %d rates, stopped %q; want NaN, NaN, 1, %q", err, back.Suggested, back.MinLossLR, len(back.LRs), back.Stopped, f.Stopped)
	}
	var sum bytes.Buffer
	if err := f.WriteSummary(&sum); err != nil || !strings.Contains(sum.String(), "no learning rate suggested") {
		t.Errorf("summary (%v):\n%s", err, sum.String())
	}
}
