package run_test

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/descentml/descent/run"
	"github.com/descentml/descent/train"
)

// Plot draws the optimizer's diagnostics where the history has them, and
// leaves their figures out for a history from before they were recorded.
func TestPlotDiagnostics(t *testing.T) {
	var hist []train.Epoch
	for e := 1; e <= 3; e++ {
		ratios := map[string]float64{}
		for i := range 10 {
			ratios[fmt.Sprintf("%d.weight", i)] = float64(i+1) * 1e-3 / float64(e)
		}
		hist = append(hist, train.Epoch{Epoch: e, Step: 10 * e, LR: 1e-3, TrainLoss: 1 / float64(e), TrainAccuracy: 0.5, ValLoss: math.NaN(), ValAccuracy: math.NaN(),
			Diagnostics: train.Diagnostics{GradNormMean: 2, GradNormMax: 3, ClipFraction: 0.5, UpdateRatio: ratios, Optimizer: map[string]float64{"sf_c": 1 / float64(10*e)}}})
	}
	dir := t.TempDir()
	if skipped, err := run.Plot(dir, hist); err != nil || skipped != nil {
		t.Fatalf("Plot = %v, %v", skipped, err)
	}
	for _, f := range []string{"grad_norm.png", "clip_fraction.png", "update_ratio.png", "sf_c.png"} {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil || !bytes.HasPrefix(b, []byte("\x89PNG")) {
			t.Errorf("%s: %v; want a PNG", f, err)
		}
	}
	old := t.TempDir()
	for i := range hist {
		hist[i].Diagnostics = train.Diagnostics{GradNormMean: math.NaN(), GradNormMax: math.NaN(), ClipFraction: math.NaN()}
	}
	if skipped, err := run.Plot(old, hist); err != nil || skipped != nil {
		t.Fatalf("Plot of a history without diagnostics = %v, %v; want neither a figure skipped nor an error", skipped, err)
	}
	for _, f := range []string{"grad_norm.png", "clip_fraction.png", "update_ratio.png"} {
		if _, err := os.Stat(filepath.Join(old, f)); err == nil {
			t.Errorf("Plot of a history without diagnostics drew %s", f)
		}
	}
}

// TestPlotUndrawable draws histories whose numbers a figure cannot show:
// on the log axis of loss.png and update_ratio.png, a curve of zeros (the
// update ratios of lr 0, the loss of a dataset of one class). Such a curve
// is left out of its figure, a figure left with none is not drawn and
// says why, and the other figures are drawn: no error.
func TestPlotUndrawable(t *testing.T) {
	nan := math.NaN()
	epochs := func(loss float64, ratios map[string]float64) []train.Epoch {
		var hist []train.Epoch
		for e := 1; e <= 2; e++ {
			hist = append(hist, train.Epoch{Epoch: e, Step: 10 * e, LR: 0, TrainLoss: loss, TrainAccuracy: 1, ValLoss: nan, ValAccuracy: nan,
				Diagnostics: train.Diagnostics{GradNormMean: 1, GradNormMax: 2, ClipFraction: nan, UpdateRatio: ratios}})
		}
		return hist
	}
	steps := func(ratios map[string]float64) []train.SeqMetrics {
		var hist []train.SeqMetrics
		for s := 1; s <= 2; s++ {
			hist = append(hist, train.SeqMetrics{Step: 5 * s, LR: 0, TrainLoss: 4, TrainBPC: 6, ValLoss: 4, ValBPC: 6, ValPerplexity: 55,
				Diagnostics: train.Diagnostics{GradNormMean: 1, GradNormMax: 2, ClipFraction: nan, UpdateRatio: ratios}})
		}
		return hist
	}
	for _, c := range []struct {
		name    string
		plot    func(dir string) ([]error, error)
		drawn   []string
		skipped []string // the figures left out, with a reason
	}{
		{"lr 0", func(dir string) ([]error, error) {
			return run.Plot(dir, epochs(2.3, map[string]float64{"4.weight": 0, "4.bias": 0}))
		}, []string{"loss.png", "accuracy.png", "lr.png", "grad_norm.png"}, []string{"update_ratio.png"}},
		{"one tensor still", func(dir string) ([]error, error) {
			return run.Plot(dir, epochs(2.3, map[string]float64{"0.weight": 1e-3, "4.bias": 0}))
		}, []string{"loss.png", "update_ratio.png"}, nil},
		{"one class", func(dir string) ([]error, error) {
			return run.Plot(dir, epochs(0, map[string]float64{"0.weight": 1e-3}))
		}, []string{"accuracy.png", "lr.png", "update_ratio.png"}, []string{"loss.png"}},
		{"language model, lr 0", func(dir string) ([]error, error) {
			return run.PlotSeq(dir, steps(map[string]float64{"head.bias": 0}))
		}, []string{"loss.png", "bpc.png", "lr.png", "grad_norm.png"}, []string{"update_ratio.png"}},
	} {
		dir := t.TempDir()
		skipped, err := c.plot(dir)
		if err != nil {
			t.Errorf("%s: Plot: %v; want the figures that cannot be drawn left out, not an error", c.name, err)
			continue
		}
		for _, f := range c.drawn {
			if b, err := os.ReadFile(filepath.Join(dir, f)); err != nil || !bytes.HasPrefix(b, []byte("\x89PNG")) {
				t.Errorf("%s: %s: %v; want a PNG", c.name, f, err)
			}
		}
		if len(skipped) != len(c.skipped) {
			t.Errorf("%s: skipped %v; want %v left out", c.name, skipped, c.skipped)
			continue
		}
		for i, f := range c.skipped {
			if _, err := os.Stat(filepath.Join(dir, f)); err == nil {
				t.Errorf("%s: drew %s, which has nothing to show", c.name, f)
			}
			if msg := skipped[i].Error(); !strings.HasPrefix(msg, f+" left out: ") || !strings.Contains(msg, "log y axis") {
				t.Errorf("%s: skipped[%d] = %q; want %s left out, and why", c.name, i, msg, f)
			}
		}
	}
}

// TestFinishSkipsFigure finishes a run at lr 0 (allowed): no weight
// moves, so update_ratio.png has nothing to draw on its log axis. The run
// finishes, its model and summary written, and SkippedFigures says why
// that figure is missing.
func TestFinishSkipsFigure(t *testing.T) {
	r := small()
	r.Optimizer.LR = 0
	dir := filepath.Join(t.TempDir(), "lr0")
	rn, err := run.New(r, dir, run.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer rn.Close()
	if err := rn.Train(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := rn.Finish(false); err != nil {
		t.Fatalf("Finish of a run at lr 0: %v", err)
	}
	if len(rn.SkippedFigures) != 1 || !strings.HasPrefix(rn.SkippedFigures[0].Error(), "update_ratio.png left out: ") {
		t.Errorf("SkippedFigures = %v; want update_ratio.png, and why", rn.SkippedFigures)
	}
	for _, f := range []string{run.SummaryFile, run.ModelFile, "loss.png", "grad_norm.png"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("Finish of a run at lr 0: %v", err)
		}
	}
}
