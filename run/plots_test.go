package run_test

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"path/filepath"
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
	if err := run.Plot(dir, hist); err != nil {
		t.Fatal(err)
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
	if err := run.Plot(old, hist); err != nil {
		t.Fatalf("Plot of a history without diagnostics: %v", err)
	}
	for _, f := range []string{"grad_norm.png", "clip_fraction.png", "update_ratio.png"} {
		if _, err := os.Stat(filepath.Join(old, f)); err == nil {
			t.Errorf("Plot of a history without diagnostics drew %s", f)
		}
	}
}
