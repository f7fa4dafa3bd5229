package run

import (
	"bytes"
	"cmp"
	"fmt"
	"maps"
	"math"
	"path/filepath"
	"slices"

	"github.com/descentml/descent/internal/atomicfile"
	"github.com/descentml/descent/plot"
	"github.com/descentml/descent/train"
)

// Plot draws loss.png, accuracy.png and lr.png into dir: the metrics per
// epoch of hist; prodigy_d.png for a run of Prodigy, its estimate d; and
// the optimizer's diagnostics (diagnosticFigures). A figure that cannot be
// drawn from hist's numbers is left out, and why is in skipped
// (writeFigures); err is an error writing a file.
func Plot(dir string, hist []train.Epoch) (skipped []error, err error) {
	if len(hist) == 0 {
		return nil, nil
	}
	x := make([]float64, len(hist))
	col := func(f func(train.Epoch) float64) []float64 {
		y := make([]float64, len(hist))
		for i, e := range hist {
			y[i] = f(e)
		}
		return y
	}
	for i, e := range hist {
		x[i] = float64(e.Epoch)
	}
	figs := []figure{
		{"loss.png", plot.LinesSpec{Title: "loss", YLabel: "cross-entropy", LogY: true, Series: []plot.Series{
			{Name: "train", Y: col(func(e train.Epoch) float64 { return e.TrainLoss })},
			{Name: "validation", Y: col(func(e train.Epoch) float64 { return e.ValLoss })},
		}}},
		{"accuracy.png", plot.LinesSpec{Title: "accuracy", YLabel: "accuracy", Series: []plot.Series{
			{Name: "train", Y: col(func(e train.Epoch) float64 { return e.TrainAccuracy })},
			{Name: "validation", Y: col(func(e train.Epoch) float64 { return e.ValAccuracy })},
		}}},
		{"lr.png", plot.LinesSpec{Title: "learning rate (last step of each epoch)", YLabel: "learning rate", Series: []plot.Series{
			{Name: "lr", Y: col(func(e train.Epoch) float64 { return e.LR })},
		}}},
	}
	if hist[len(hist)-1].ProdigyD > 0 {
		figs = append(figs, figure{"prodigy_d.png", plot.LinesSpec{Title: "Prodigy's step-size estimate d (end of each epoch)", YLabel: "d", LogY: true, Series: []plot.Series{
			{Name: "d", Y: col(func(e train.Epoch) float64 { return e.ProdigyD })},
		}}})
	}
	ds := make([]train.Diagnostics, len(hist))
	for i, e := range hist {
		ds[i] = e.Diagnostics
	}
	figs = append(figs, diagnosticFigures(ds)...)
	return writeFigures(dir, x, "epoch", figs)
}

// topRatios is the number of tensors update_ratio.png draws.
const topRatios = 8

// diagnosticFigures returns the figures of the optimizer's diagnostics at
// each evaluation: grad_norm.png,
// the gradient norm before clipping (mean and max); clip_fraction.png, the
// fraction of steps clipped, when the run clips; update_ratio.png,
// ‖Δθ‖/‖θ‖ at the last step before each evaluation for the topRatios
// tensors with the largest ratio at the last evaluation that has them;
// and NAME.png for each of the optimizer's own signals (sf_c.png,
// muon_update_rms.png). writeFigures leaves out a figure with nothing
// recorded (an old run's metrics).
func diagnosticFigures(ds []train.Diagnostics) []figure {
	col := func(f func(train.Diagnostics) float64) []float64 {
		y := make([]float64, len(ds))
		for i, d := range ds {
			y[i] = f(d)
		}
		return y
	}
	var figs []figure
	add := func(file string, spec plot.LinesSpec) { figs = append(figs, figure{file, spec}) }
	add("grad_norm.png", plot.LinesSpec{Title: "gradient norm before clipping (over the steps between points)", YLabel: "global 2-norm", Series: []plot.Series{
		{Name: "mean", Y: col(func(d train.Diagnostics) float64 { return d.GradNormMean })},
		{Name: "max", Y: col(func(d train.Diagnostics) float64 { return d.GradNormMax })},
	}})
	add("clip_fraction.png", plot.LinesSpec{Title: "fraction of steps clipped", YLabel: "fraction", Series: []plot.Series{
		{Name: "clipped", Y: col(func(d train.Diagnostics) float64 { return d.ClipFraction })},
	}})
	var last map[string]float64
	for _, d := range ds {
		if len(d.UpdateRatio) > 0 {
			last = d.UpdateRatio
		}
	}
	names := slices.SortedFunc(maps.Keys(last), func(a, b string) int { return cmp.Compare(last[b], last[a]) })
	var ratios []plot.Series
	for _, n := range names[:min(len(names), topRatios)] {
		ratios = append(ratios, plot.Series{Name: n, Y: col(func(d train.Diagnostics) float64 {
			if r, ok := d.UpdateRatio[n]; ok {
				return r
			}
			return math.NaN()
		})})
	}
	title := "update ratio ‖Δθ‖/‖θ‖ at the last step"
	if len(names) > topRatios {
		title = fmt.Sprintf("update ratio ‖Δθ‖/‖θ‖ at the last step (%d of %d tensors)", topRatios, len(names))
	}
	add("update_ratio.png", plot.LinesSpec{Title: title, YLabel: "‖Δθ‖/‖θ‖", LogY: true, Series: ratios})
	signals := map[string]bool{}
	for _, d := range ds {
		for k := range d.Optimizer {
			signals[k] = true
		}
	}
	for _, k := range slices.Sorted(maps.Keys(signals)) {
		add(k+".png", plot.LinesSpec{Title: "the optimizer's " + k, YLabel: k, Series: []plot.Series{
			{Name: k, Y: col(func(d train.Diagnostics) float64 {
				if v, ok := d.Optimizer[k]; ok {
					return v
				}
				return math.NaN()
			})},
		}})
	}
	return figs
}

// figure is a file of a run's plots and what it draws.
type figure struct {
	file string
	spec plot.LinesSpec
}

// writeFigures draws figs into dir, each against x, and returns why the
// figures it left out could not be drawn. A series with no point its
// figure's axes can show is left out of it: a metric not recorded (NaN
// throughout, as the validation loss of a run without a validation set),
// or, on a log axis, one with no positive value (the update ratio of a
// tensor that lr 0 never moves, the loss of a one-class dataset). A figure
// left with no series is not drawn: silently if nothing in it was
// recorded (an old run's metrics, without diagnostics), else with the
// reason in skipped. A figure that plot cannot draw is left out as well,
// plot's error in skipped: its numbers are at fault, not the run, whose
// model and summary are written. err is an error writing a file.
func writeFigures(dir string, x []float64, xLabel string, figs []figure) (skipped []error, err error) {
	for _, f := range figs {
		f.spec.X, f.spec.XLabel = x, xLabel
		all := f.spec.Series
		f.spec.Series = slices.DeleteFunc(slices.Clone(all), func(s plot.Series) bool { return !f.spec.Drawable(s) })
		if len(f.spec.Series) == 0 {
			if recorded(all) {
				skipped = append(skipped, fmt.Errorf("%s left out: %s", f.file, undrawable(f.spec)))
			}
			continue
		}
		var b bytes.Buffer
		if err := plot.Lines(&b, f.spec); err != nil {
			skipped = append(skipped, fmt.Errorf("%s left out: %w", f.file, err))
			continue
		}
		if err := atomicfile.WriteFile(filepath.Join(dir, f.file), b.Bytes()); err != nil {
			return skipped, err
		}
	}
	return skipped, nil
}

// recorded reports whether any of ss holds a value that is not NaN.
func recorded(ss []plot.Series) bool {
	for _, s := range ss {
		if slices.ContainsFunc(s.Y, func(v float64) bool { return !math.IsNaN(v) }) {
			return true
		}
	}
	return false
}

// undrawable says why a figure of spec has nothing to draw, when some of
// its values were recorded.
func undrawable(spec plot.LinesSpec) string {
	if spec.LogY {
		return "none of its values is positive and finite, as its log y axis needs"
	}
	return "none of its values is finite"
}
