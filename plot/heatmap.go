package plot

import (
	"fmt"
	"image/color"
	"io"
	"math"

	gplot "gonum.org/v1/plot"
	"gonum.org/v1/plot/palette"
	"gonum.org/v1/plot/palette/moreland"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// HeatmapSpec describes one or more heatmaps of a value over the same
// two-dimensional grid of categories — validation error over learning rate
// × weight decay, say — drawn side by side with one colour scale and one
// colour bar, and the value printed in each cell.
type HeatmapSpec struct {
	// Title is drawn above all the panels.
	Title          string
	XLabel, YLabel string
	// XTicks and YTicks label the columns (left to right) and the rows
	// (bottom to top): categories, or the values of a log-spaced axis
	// written as the reader should see them ("1e-4", "3e-4", …). nil
	// numbers them from 0.
	XTicks, YTicks []string
	// Panels are the heatmaps, left to right. Each holds Values[row][col]
	// with row 0 at the bottom; all must have the same shape.
	Panels []Panel

	// Min and Max fix the colour scale, so that heatmaps written to
	// separate files can be compared; both zero means the range of the
	// finite values over all panels.
	Min, Max float64
	// Format prints each cell's value (fmt verbs); "" means "%.3g".
	Format string
	// HighIsGood reverses the palette for values where larger is better
	// (accuracy): the best cells are then blue, as they are for errors.
	HighIsGood bool

	// Width and Height are the figure's size in pixels; 0 means
	// 560 pixels a panel (plus the colour bar) × DefaultHeight.
	Width, Height int
}

// Panel is one heatmap: its title and its grid of values. NaN cells are
// grey and printed as "NaN"; infinite values take the end colours.
type Panel struct {
	Title  string
	Values [][]float64
}

// Heatmap draws the heatmaps of spec side by side as one PNG image to w.
func Heatmap(w io.Writer, spec HeatmapSpec) error {
	if w == nil {
		return errNilWriter
	}
	if len(spec.Panels) == 0 {
		return fmt.Errorf("plot: heatmap %q has no panels", spec.Title)
	}
	if spec.Width == 0 {
		spec.Width = 560*len(spec.Panels) + 90
	}
	width, height, err := size(spec.Width, spec.Height)
	if err != nil {
		return err
	}
	rows, cols, vs, err := heatShape(spec)
	if err != nil {
		return err
	}
	if spec.Min != 0 || spec.Max != 0 {
		if !finite(spec.Min) || !finite(spec.Max) || spec.Min > spec.Max {
			return fmt.Errorf("plot: heatmap colour scale [%v, %v]: need finite Min ≤ Max", spec.Min, spec.Max)
		}
		vs = span{spec.Min, spec.Max}
	}
	if vs.empty() {
		vs = span{0, 1} // every cell is NaN: grey cells, an arbitrary scale
	}
	if vs.min == vs.max {
		vs.min, vs.max = axisRange(vs, false)
	}
	if spec.XTicks != nil && len(spec.XTicks) != cols {
		return fmt.Errorf("plot: heatmap has %d columns but %d x tick labels", cols, len(spec.XTicks))
	}
	if spec.YTicks != nil && len(spec.YTicks) != rows {
		return fmt.Errorf("plot: heatmap has %d rows but %d y tick labels", rows, len(spec.YTicks))
	}
	format := spec.Format
	if format == "" {
		format = "%.3g"
	}

	c := newCanvas(width, height, color.White)
	err = safely("heatmap", func() error {
		cm := heatColors(spec.HighIsGood)
		cm.SetMin(vs.min)
		cm.SetMax(vs.max)
		dc := draw.New(c)
		if spec.Title != "" {
			sty := gplot.New().Title.TextStyle
			sty.Font.Size = vg.Points(14)
			sty.XAlign, sty.YAlign = draw.XCenter, draw.YTop
			dc.FillText(sty, vg.Point{X: (dc.Min.X + dc.Max.X) / 2, Y: dc.Max.Y - px(6)}, spec.Title)
			dc = draw.Crop(dc, 0, 0, 0, -px(30))
		}
		barW := px(90)
		panelW := (dc.Max.X - dc.Min.X - barW) / vg.Length(len(spec.Panels))
		for i, pan := range spec.Panels {
			p := heatPanel(spec, pan, rows, cols, cm, format, i == 0)
			left := vg.Length(i) * panelW
			p.Draw(draw.Crop(dc, left, -(dc.Max.X - dc.Min.X - left - panelW), 0, 0))
		}
		bar := gplot.New()
		bar.HideX()
		bar.Y.Padding = 0
		bar.Add(&plotter.ColorBar{ColorMap: cm, Vertical: true})
		bar.Title.Text = " " // keep the bar level with the panels' data areas
		bc := draw.Crop(dc, dc.Max.X-dc.Min.X-barW+px(16), -px(30), px(36), 0)
		bar.Draw(bc)
		return nil
	})
	if err != nil {
		return err
	}
	return writePNG(w, c.Image())
}

// heatShape checks that every panel has the same rectangular shape and
// returns it with the range of the finite values.
func heatShape(spec HeatmapSpec) (rows, cols int, vs span, err error) {
	vs = emptySpan()
	rows = len(spec.Panels[0].Values)
	if rows == 0 {
		return 0, 0, vs, fmt.Errorf("plot: heatmap panel %q has no rows", spec.Panels[0].Title)
	}
	cols = len(spec.Panels[0].Values[0])
	for _, p := range spec.Panels {
		if len(p.Values) != rows {
			return 0, 0, vs, fmt.Errorf("plot: heatmap panel %q has %d rows; the first panel has %d", p.Title, len(p.Values), rows)
		}
		for r, row := range p.Values {
			if len(row) != cols || cols == 0 {
				return 0, 0, vs, fmt.Errorf("plot: heatmap panel %q: row %d has %d values; want %d (and at least 1)", p.Title, r, len(row), cols)
			}
			for _, v := range row {
				if finite(v) {
					vs.add(v)
				}
			}
		}
	}
	return rows, cols, vs, nil
}

// heatColors is the colour map: blue for low (good, for an error) values,
// red for high.
func heatColors(highIsGood bool) palette.ColorMap {
	var cm palette.ColorMap = moreland.SmoothBlueRed()
	if highIsGood {
		cm = palette.Reverse(cm)
	}
	return cm
}

func heatPanel(spec HeatmapSpec, pan Panel, rows, cols int, cm palette.ColorMap, format string, first bool) *gplot.Plot {
	p := gplot.New()
	p.Title.Text = pan.Title
	p.X.Label.Text = spec.XLabel
	if first {
		p.Y.Label.Text = spec.YLabel
	}
	g := cellGrid(pan.Values)
	h := plotter.NewHeatMap(g, cm.Palette(255))
	h.Min, h.Max = cm.Min(), cm.Max()
	cs := cm.Palette(255).Colors()
	h.Underflow, h.Overflow = cs[0], cs[len(cs)-1]
	h.NaN = color.Gray{0xc8}
	p.Add(h)
	p.X.Min, p.X.Max = -0.5, float64(cols)-0.5
	p.Y.Min, p.Y.Max = -0.5, float64(rows)-0.5
	p.X.Padding, p.Y.Padding = 0, 0
	p.X.Tick.Marker = categoryTicks(spec.XTicks, cols)
	p.Y.Tick.Marker = categoryTicks(spec.YTicks, rows)

	labels := plotter.XYLabels{}
	var styles []text.Style
	base := p.Title.TextStyle
	base.Font.Size = vg.Points(10)
	base.XAlign, base.YAlign = draw.XCenter, draw.YCenter
	for r, row := range pan.Values {
		for c, v := range row {
			labels.XYs = append(labels.XYs, plotter.XY{X: float64(c), Y: float64(r)})
			labels.Labels = append(labels.Labels, cellText(format, v))
			sty := base
			sty.Color = color.Black
			if finite(v) || math.IsInf(v, 0) {
				if dark(cellColor(cm, v)) {
					sty.Color = color.White
				}
			}
			styles = append(styles, sty)
		}
	}
	l, err := plotter.NewLabels(labels)
	if err == nil {
		l.TextStyle = styles
		p.Add(l)
	}
	return p
}

func cellText(format string, v float64) string {
	if math.IsNaN(v) {
		return "NaN"
	}
	return fmt.Sprintf(format, v)
}

// cellColor is the colour a cell of value v is filled with.
func cellColor(cm palette.ColorMap, v float64) color.Color {
	v = math.Max(cm.Min(), math.Min(cm.Max(), v))
	c, err := cm.At(v)
	if err != nil {
		return color.White
	}
	return c
}

// dark reports whether white text reads better than black on c.
func dark(c color.Color) bool {
	r, g, b, _ := c.RGBA()
	lum := (0.2126*float64(r) + 0.7152*float64(g) + 0.0722*float64(b)) / 0xffff
	return lum < 0.45
}

// categoryTicks labels the integer positions 0…n−1.
func categoryTicks(labels []string, n int) gplot.ConstantTicks {
	ticks := make(gplot.ConstantTicks, n)
	for i := range ticks {
		ticks[i].Value = float64(i)
		if labels != nil {
			ticks[i].Label = labels[i]
		} else {
			ticks[i].Label = fmt.Sprint(i)
		}
	}
	return ticks
}

// cellGrid is a matrix of values as gonum/plot's heat map reads it: cells
// centred on integer coordinates.
type cellGrid [][]float64

var _ plotter.GridXYZ = cellGrid(nil)

func (g cellGrid) Dims() (c, r int)   { return len(g[0]), len(g) }
func (g cellGrid) Z(c, r int) float64 { return g[r][c] }
func (g cellGrid) X(c int) float64    { return float64(c) }
func (g cellGrid) Y(r int) float64    { return float64(r) }
