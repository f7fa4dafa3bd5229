package plot

import (
	"fmt"
	"image/color"
	"io"
	"math"

	gplot "gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// LinesSpec describes a line chart: several named series against one
// shared x, such as loss, accuracy or learning rate per epoch, optimizers
// compared over seeds, or loss against learning rate for an lr-find.
type LinesSpec struct {
	Title  string
	XLabel string // e.g. "epoch"
	YLabel string // e.g. "validation loss"

	// X is the shared x of every series: epochs, steps or learning rates.
	X []float64
	// Series are drawn in order, coloured from Colors.
	Series []Series

	// LogX and LogY put an axis on a log scale. Points with a value ≤ 0 on
	// a log axis cannot be drawn and are skipped like NaN.
	LogX, LogY bool

	// ErrorBars draws each series' Std as error bars at every point
	// instead of a shaded band.
	ErrorBars bool

	// Markers are points of interest, such as the learning rate an
	// lr-find suggests.
	Markers []Marker

	// Width and Height are the figure's size in pixels; 0 means
	// DefaultWidth × DefaultHeight.
	Width, Height int
}

// Series is one named curve. Points whose x or y is NaN or ±Inf are skipped
// (the line joins its neighbours); a series with no drawable point is an
// error that names it.
type Series struct {
	Name string
	// Y holds one value per X.
	Y []float64
	// Std, if not nil, holds one standard deviation per X, drawn as a band
	// Y ± Std (or error bars, see LinesSpec.ErrorBars). MeanStd computes Y
	// and Std from several runs.
	Std []float64
}

// Marker marks a point of interest: a dashed vertical line at X, labelled
// in the legend, and a ring at (X, Y) unless Y is NaN.
type Marker struct {
	Label string
	X, Y  float64
}

// MeanStd returns the mean and the sample standard deviation (n − 1 in the
// denominator; 0 for a single value) at each position of several runs, such
// as the loss per epoch over several seeds. NaN values are left out; a
// position with no value in any run is NaN in both. Runs may have different
// lengths: the results are as long as the longest.
func MeanStd(runs [][]float64) (mean, std []float64) {
	n := 0
	for _, r := range runs {
		n = max(n, len(r))
	}
	mean, std = make([]float64, n), make([]float64, n)
	for i := range n {
		var s, ss float64
		k := 0
		for _, r := range runs {
			if i < len(r) && !math.IsNaN(r[i]) {
				s += r[i]
				k++
			}
		}
		if k == 0 {
			mean[i], std[i] = math.NaN(), math.NaN()
			continue
		}
		m := s / float64(k)
		for _, r := range runs {
			if i < len(r) && !math.IsNaN(r[i]) {
				ss += (r[i] - m) * (r[i] - m)
			}
		}
		mean[i] = m
		if k > 1 {
			std[i] = math.Sqrt(ss / float64(k-1))
		}
	}
	return mean, std
}

// Lines draws a line chart as a PNG image to w.
func Lines(w io.Writer, spec LinesSpec) error {
	if w == nil {
		return errNilWriter
	}
	width, height, err := size(spec.Width, spec.Height)
	if err != nil {
		return err
	}
	if len(spec.Series) == 0 {
		return fmt.Errorf("plot: line chart %q has no series", spec.Title)
	}
	c := newCanvas(width, height, color.White)
	err = safely("line chart", func() error {
		p, legend, err := linesPlot(spec)
		if err != nil {
			return err
		}
		drawWithLegend(p, legend, draw.New(c))
		return nil
	})
	if err != nil {
		return err
	}
	return writePNG(w, c.Image())
}

// drawable reports whether a point can be placed on the chart's axes.
func (s *LinesSpec) drawable(x, y float64) bool {
	return finite(x) && finite(y) && (!s.LogX || x > 0) && (!s.LogY || y > 0)
}

// Drawable reports whether series has a point the chart's axes can show:
// x and y finite and, on a log axis, positive. Lines refuses a chart with
// a series that has none, naming it; a caller whose data may have such
// series (a metric that was not recorded, a curve of zeros on a log axis)
// leaves them out with Drawable first.
func (s *LinesSpec) Drawable(series Series) bool {
	for i, y := range series.Y {
		if i < len(s.X) && s.drawable(s.X[i], y) {
			return true
		}
	}
	return false
}

// band holds one series' drawable points and its spread.
type band struct {
	pts    plotter.XYs
	lo, hi []float64 // Y − Std and Y + Std at each of pts; nil without Std
}

func linesPlot(spec LinesSpec) (*gplot.Plot, *gplot.Legend, error) {
	xs, ys := emptySpan(), emptySpan()
	bands := make([]band, len(spec.Series))
	for si, s := range spec.Series {
		if len(s.Y) != len(spec.X) {
			return nil, nil, fmt.Errorf("plot: series %q has %d values for %d x values", s.Name, len(s.Y), len(spec.X))
		}
		if s.Std != nil && len(s.Std) != len(s.Y) {
			return nil, nil, fmt.Errorf("plot: series %q has %d standard deviations for %d values", s.Name, len(s.Std), len(s.Y))
		}
		b := &bands[si]
		for i, y := range s.Y {
			x := spec.X[i]
			if !spec.drawable(x, y) {
				continue
			}
			b.pts = append(b.pts, plotter.XY{X: x, Y: y})
			xs.add(x)
			ys.add(y)
			if s.Std != nil {
				sd := math.Abs(s.Std[i])
				if !finite(y+sd) || !finite(y-sd) {
					sd = 0
				}
				b.lo, b.hi = append(b.lo, y-sd), append(b.hi, y+sd)
				ys.add(y + sd)
				if !spec.LogY || y-sd > 0 {
					ys.add(y - sd)
				}
			}
		}
		if len(b.pts) == 0 {
			why := "all values are NaN or infinite"
			if spec.LogX || spec.LogY {
				why += ", or not positive on a log axis"
			}
			return nil, nil, fmt.Errorf("plot: series %q: %w: %s", s.Name, errNoData, why)
		}
	}
	for _, m := range spec.Markers {
		if spec.drawable(m.X, 1) {
			xs.add(m.X)
		}
	}

	p := gplot.New()
	p.Title.Text = spec.Title
	p.X.Label.Text = spec.XLabel
	p.Y.Label.Text = spec.YLabel
	p.X.Min, p.X.Max = axisRange(xs, spec.LogX)
	p.Y.Min, p.Y.Max = axisRange(ys, spec.LogY)
	p.X.Tick.Marker, p.Y.Tick.Marker = linearTicks{}, linearTicks{}
	if spec.LogX {
		setLog(&p.X)
	}
	if spec.LogY {
		setLog(&p.Y)
	}
	p.Add(plotter.NewGrid())
	legend := newLegend()

	for si, s := range spec.Series {
		b := bands[si]
		col := colorOf(si)
		if b.lo != nil {
			if err := addSpread(p, b, col, spec.ErrorBars); err != nil {
				return nil, nil, err
			}
		}
		line, err := plotter.NewLine(b.pts)
		if err != nil {
			return nil, nil, fmt.Errorf("plot: series %q: %w", s.Name, err)
		}
		line.Color = col
		line.Width = vg.Points(1.5)
		p.Add(line)
		thumbs := []gplot.Thumbnailer{line}
		if len(b.pts) == 1 { // a single point has no line to show it
			dot, _ := plotter.NewScatter(b.pts)
			dot.Color, dot.Shape, dot.Radius = col, draw.CircleGlyph{}, vg.Points(3)
			p.Add(dot)
			thumbs = append(thumbs, dot)
		}
		legend.Add(s.Name, thumbs...)
	}
	for _, m := range spec.Markers {
		if !spec.drawable(m.X, 1) {
			continue
		}
		vline, _ := plotter.NewLine(plotter.XYs{{X: m.X, Y: p.Y.Min}, {X: m.X, Y: p.Y.Max}})
		vline.Color = color.Black
		vline.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
		p.Add(vline)
		thumbs := []gplot.Thumbnailer{vline}
		if spec.drawable(m.X, m.Y) {
			ring, _ := plotter.NewScatter(plotter.XYs{{X: m.X, Y: m.Y}})
			ring.Color, ring.Shape, ring.Radius = color.Black, draw.RingGlyph{}, vg.Points(5)
			p.Add(ring)
			thumbs = append(thumbs, ring)
		}
		legend.Add(m.Label, thumbs...)
	}
	return p, legend, nil
}

// addSpread draws a series' ± Std as a shaded band or as error bars. On a
// log y axis a lower edge at or below zero is drawn at the axis minimum.
func addSpread(p *gplot.Plot, b band, col color.RGBA, bars bool) error {
	lo := make([]float64, len(b.lo))
	for i, v := range b.lo {
		lo[i] = v
		if _, isLog := p.Y.Scale.(gplot.LogScale); isLog && !(v > p.Y.Min) {
			lo[i] = p.Y.Min
		}
	}
	if bars {
		e := make(errPoints, len(b.pts))
		for i, pt := range b.pts {
			e[i] = errPoint{pt, pt.Y - lo[i], b.hi[i] - pt.Y}
		}
		eb, err := plotter.NewYErrorBars(e)
		if err != nil {
			return fmt.Errorf("plot: error bars: %w", err)
		}
		eb.Color = col
		eb.CapWidth = vg.Points(4)
		p.Add(eb)
		return nil
	}
	poly := make(plotter.XYs, 0, 2*len(b.pts))
	for i, pt := range b.pts {
		poly = append(poly, plotter.XY{X: pt.X, Y: b.hi[i]})
	}
	for i := len(b.pts) - 1; i >= 0; i-- {
		poly = append(poly, plotter.XY{X: b.pts[i].X, Y: lo[i]})
	}
	shade, err := plotter.NewPolygon(poly)
	if err != nil {
		return fmt.Errorf("plot: band: %w", err)
	}
	shade.Color = color.NRGBA{col.R, col.G, col.B, 0x40}
	shade.LineStyle.Width = 0
	p.Add(shade)
	return nil
}

// errPoint is a point with its error below and above.
type errPoint struct {
	plotter.XY
	low, high float64
}

// errPoints is what plotter.NewYErrorBars wants: points with y errors.
type errPoints []errPoint

func (e errPoints) Len() int                        { return len(e) }
func (e errPoints) XY(i int) (float64, float64)     { return e[i].X, e[i].Y }
func (e errPoints) YError(i int) (float64, float64) { return e[i].low, e[i].high }
