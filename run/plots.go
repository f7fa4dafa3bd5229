package run

import (
	"bytes"
	"fmt"
	"path/filepath"

	"github.com/descentml/descent/internal/atomicfile"
	"github.com/descentml/descent/plot"
	"github.com/descentml/descent/train"
)

// Plot draws loss.png, accuracy.png and lr.png into dir: the metrics per
// epoch of hist; and prodigy_d.png for a run of Prodigy, its estimate d.
func Plot(dir string, hist []train.Epoch) error {
	if len(hist) == 0 {
		return nil
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
	return writeFigures(dir, x, "epoch", figs)
}

// figure is a file of a run's plots and what it draws.
type figure struct {
	file string
	spec plot.LinesSpec
}

// writeFigures draws figs into dir, each against x.
func writeFigures(dir string, x []float64, xLabel string, figs []figure) error {
	for _, f := range figs {
		f.spec.X, f.spec.XLabel = x, xLabel
		f.spec.Series = dropEmpty(f.spec.Series)
		var b bytes.Buffer
		if err := plot.Lines(&b, f.spec); err != nil {
			return fmt.Errorf("%s: %w", f.file, err)
		}
		if err := atomicfile.WriteFile(filepath.Join(dir, f.file), b.Bytes()); err != nil {
			return err
		}
	}
	return nil
}

// dropEmpty leaves out series with no number at all (validation metrics of a
// run without a validation set).
func dropEmpty(ss []plot.Series) []plot.Series {
	var out []plot.Series
	for _, s := range ss {
		for _, v := range s.Y {
			if v == v {
				out = append(out, s)
				break
			}
		}
	}
	return out
}
