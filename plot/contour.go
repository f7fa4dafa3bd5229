package plot

import (
	"fmt"
	"image/color"
	"io"
	"math"

	gplot "gonum.org/v1/plot"
	"gonum.org/v1/plot/palette"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Rect is an axis-aligned rectangle in the plane.
type Rect struct {
	XMin, XMax, YMin, YMax float64
}

func (r Rect) valid() bool {
	return finite(r.XMin) && finite(r.XMax) && finite(r.YMin) && finite(r.YMax) &&
		r.XMin < r.XMax && r.YMin < r.YMax
}

// Path is a named sequence of points in the plane, such as the iterates of
// an optimizer. Points with a NaN or infinite coordinate are skipped.
type Path struct {
	Name   string
	Points [][2]float64
}

// ContourSpec describes a contour plot of a function of two variables over
// a rectangle, with paths drawn on top.
type ContourSpec struct {
	Title          string
	XLabel, YLabel string // default "x" and "y"

	// F is the function drawn. It is evaluated on a Grid × Grid lattice
	// over Domain; non-finite values leave holes in the contours.
	F      func(x, y float64) float64
	Domain Rect
	// Grid is the number of samples along each axis; 0 means 120.
	Grid int
	// Levels are the values the contour lines are drawn at. nil means 16
	// levels spaced logarithmically above the grid's minimum, from 10⁻⁴ of
	// its range to the top, which shows both the floor of a narrow valley
	// and the walls around it.
	Levels []float64

	// Paths are drawn in order, coloured from Colors, each with a ring at
	// its first point and a dot at its last. The axes stay on Domain:
	// whatever leaves it is clipped.
	Paths []Path
	// Minima are marked with a black cross and listed in the legend.
	Minima [][2]float64

	// Width and Height are the figure's size in pixels; 0 means
	// DefaultWidth × DefaultHeight.
	Width, Height int
}

// Contour draws a contour plot with paths as a PNG image to w.
func Contour(w io.Writer, spec ContourSpec) error {
	if w == nil {
		return errNilWriter
	}
	width, height, err := size(spec.Width, spec.Height)
	if err != nil {
		return err
	}
	c := newCanvas(width, height, color.White)
	err = safely("contour plot", func() error {
		f, err := newContourFigure(spec)
		if err != nil {
			return err
		}
		f.plot.Add(f.top)
		drawWithLegend(f.plot, f.legend, draw.New(c))
		return nil
	})
	if err != nil {
		return err
	}
	return writePNG(w, c.Image())
}

// contourFigure is a contour plot with its paths kept apart, so that an
// animation can draw the contours once and the paths frame by frame.
type contourFigure struct {
	plot   *gplot.Plot
	legend *gplot.Legend
	top    *pathsPlotter
}

func newContourFigure(spec ContourSpec) (*contourFigure, error) {
	if spec.F == nil {
		return nil, fmt.Errorf("plot: contour plot %q has no function", spec.Title)
	}
	if !spec.Domain.valid() {
		return nil, fmt.Errorf("plot: contour domain %+v: need finite bounds with XMin < XMax and YMin < YMax", spec.Domain)
	}
	n := spec.Grid
	if n == 0 {
		n = 120
	}
	if n < 2 || n > 2000 {
		return nil, fmt.Errorf("plot: contour grid of %d samples per axis: must be in [2, 2000]", n)
	}
	g := sampleGrid(spec.F, spec.Domain, n)
	if g.zs.empty() {
		return nil, fmt.Errorf("plot: contour of %q: %w: the function is NaN or infinite on the whole grid", spec.Title, errNoData)
	}
	levels := spec.Levels
	if levels == nil {
		levels = logLevels(g.zs, 16)
	}

	p := gplot.New()
	p.Title.Text = spec.Title
	p.X.Label.Text, p.Y.Label.Text = "x", "y"
	if spec.XLabel != "" {
		p.X.Label.Text = spec.XLabel
	}
	if spec.YLabel != "" {
		p.Y.Label.Text = spec.YLabel
	}
	d := spec.Domain
	p.X.Min, p.X.Max, p.Y.Min, p.Y.Max = d.XMin, d.XMax, d.YMin, d.YMax
	p.X.Padding, p.Y.Padding = 0, 0

	if len(levels) > 0 {
		cont := plotter.NewContour(g, levels, contourPalette{n: len(levels)})
		cont.Min, cont.Max = levels[0], levels[len(levels)-1]
		if cont.Min == cont.Max {
			cont.Max = cont.Min + 1
		}
		cont.LineStyles = []draw.LineStyle{{Width: vg.Points(0.8)}}
		cont.Underflow, cont.Overflow = contourPalette{n: 2}.Colors()[0], contourPalette{n: 2}.Colors()[1]
		p.Add(cont)
	}

	top := &pathsPlotter{minima: spec.Minima}
	legend := newLegend()
	for i, path := range spec.Paths {
		var pts []vg.Point // only to count the drawable points
		for _, q := range path.Points {
			if finite(q[0]) && finite(q[1]) {
				pts = append(pts, vg.Point{})
			}
		}
		if len(pts) == 0 {
			return nil, fmt.Errorf("plot: path %q: %w: every point is NaN or infinite", path.Name, errNoData)
		}
		top.paths = append(top.paths, path)
		legend.Add(path.Name, lineThumb(pathStyle(i)))
	}
	if len(spec.Paths) > 0 {
		legend.Add("start", glyphThumb(startGlyph(color.Black)))
		legend.Add("end", glyphThumb(endGlyph(color.Black)))
	}
	if len(spec.Minima) > 0 {
		name := "minimum"
		if len(spec.Minima) > 1 {
			name = "minima"
		}
		legend.Add(name, glyphThumb(minimumGlyph))
	}
	top.upto = math.MaxInt
	if len(spec.Paths) == 0 && len(spec.Minima) == 0 {
		legend = nil
	}
	return &contourFigure{plot: p, legend: legend, top: top}, nil
}

// grid is f sampled on a lattice, as gonum/plot's contour plotter reads it.
type grid struct {
	xs, ys []float64
	z      [][]float64 // z[column][row]; NaN where f is not finite
	zs     span        // range of the finite values
}

func sampleGrid(f func(x, y float64) float64, d Rect, n int) *grid {
	g := &grid{xs: make([]float64, n), ys: make([]float64, n), z: make([][]float64, n), zs: emptySpan()}
	for i := range n {
		t := float64(i) / float64(n-1)
		g.xs[i] = d.XMin + t*(d.XMax-d.XMin)
		g.ys[i] = d.YMin + t*(d.YMax-d.YMin)
	}
	for c := range n {
		g.z[c] = make([]float64, n)
		for r := range n {
			v := f(g.xs[c], g.ys[r])
			if !finite(v) {
				v = math.NaN()
			} else {
				g.zs.add(v)
			}
			g.z[c][r] = v
		}
	}
	return g
}

var (
	_ plotter.GridXYZ   = (*grid)(nil)
	_ gplot.Plotter     = (*pathsPlotter)(nil)
	_ draw.GlyphDrawer  = thickCross{}
	_ draw.GlyphDrawer  = thickRing{}
	_ gplot.Thumbnailer = lineThumb{}
	_ gplot.Thumbnailer = glyphThumb{}
)

func (g *grid) Dims() (c, r int)   { return len(g.xs), len(g.ys) }
func (g *grid) Z(c, r int) float64 { return g.z[c][r] }
func (g *grid) X(c int) float64    { return g.xs[c] }
func (g *grid) Y(r int) float64    { return g.ys[r] }

// logLevels returns n levels at min + (max − min)·10^(−4 + 4k/n), k = 0…n−1.
func logLevels(s span, n int) []float64 {
	if s.min == s.max {
		return []float64{s.min}
	}
	levels := make([]float64, n)
	for k := range levels {
		levels[k] = s.min + (s.max-s.min)*math.Pow(10, -4+4*float64(k)/float64(n))
	}
	return levels
}

// contourPalette shades contour lines from a dark blue-grey at the lowest
// level to a light grey at the highest: quiet enough that the coloured
// paths on top stand out.
type contourPalette struct{ n int }

func (p contourPalette) Colors() []color.Color {
	lo, hi := [3]float64{0x3b, 0x4b, 0x6b}, [3]float64{0xd4, 0xd8, 0xdd}
	cs := make([]color.Color, max(p.n, 2))
	for i := range cs {
		t := float64(i) / float64(len(cs)-1)
		var c [3]uint8
		for k := range c {
			c[k] = uint8(math.Round(lo[k] + t*(hi[k]-lo[k])))
		}
		cs[i] = color.RGBA{c[0], c[1], c[2], 0xff}
	}
	return cs
}

var _ palette.Palette = contourPalette{}

// Glyphs and styles of the marks on a contour plot.
var minimumGlyph = draw.GlyphStyle{Color: color.Black, Radius: vg.Points(5), Shape: thickCross{}}

func startGlyph(c color.Color) draw.GlyphStyle {
	return draw.GlyphStyle{Color: c, Radius: vg.Points(4), Shape: thickRing{}}
}

func endGlyph(c color.Color) draw.GlyphStyle {
	return draw.GlyphStyle{Color: c, Radius: vg.Points(3.5), Shape: draw.CircleGlyph{}}
}

func pathStyle(i int) draw.LineStyle {
	return draw.LineStyle{Color: colorOf(i), Width: vg.Points(1.6)}
}

// thickCross is an × drawn with strokes twice the usual width.
type thickCross struct{}

func (thickCross) DrawGlyph(c *draw.Canvas, sty draw.GlyphStyle, pt vg.Point) {
	c.SetLineStyle(draw.LineStyle{Color: sty.Color, Width: vg.Points(2.2)})
	r := sty.Radius
	var p vg.Path
	p.Move(vg.Point{X: pt.X - r, Y: pt.Y - r})
	p.Line(vg.Point{X: pt.X + r, Y: pt.Y + r})
	p.Move(vg.Point{X: pt.X - r, Y: pt.Y + r})
	p.Line(vg.Point{X: pt.X + r, Y: pt.Y - r})
	c.Stroke(p)
}

// thickRing is a circle outline drawn with a wide stroke.
type thickRing struct{}

func (thickRing) DrawGlyph(c *draw.Canvas, sty draw.GlyphStyle, pt vg.Point) {
	c.SetLineStyle(draw.LineStyle{Color: sty.Color, Width: vg.Points(1.6)})
	var p vg.Path
	p.Move(vg.Point{X: pt.X + sty.Radius, Y: pt.Y})
	p.Arc(pt, sty.Radius, 0, 2*math.Pi)
	p.Close()
	c.Stroke(p)
}

// lineThumb and glyphThumb are legend entries of a line or a glyph.
type lineThumb draw.LineStyle

func (l lineThumb) Thumbnail(c *draw.Canvas) {
	y := c.Center().Y
	c.StrokeLine2(draw.LineStyle(l), c.Min.X, y, c.Max.X, y)
}

type glyphThumb draw.GlyphStyle

func (g glyphThumb) Thumbnail(c *draw.Canvas) { c.DrawGlyph(draw.GlyphStyle(g), c.Center()) }

// pathsPlotter draws the first upto points of each path, their start and
// end marks, and the minima on top of everything.
type pathsPlotter struct {
	paths  []Path
	minima [][2]float64
	upto   int
}

func (pp *pathsPlotter) Plot(c draw.Canvas, plt *gplot.Plot) {
	trX, trY := plt.Transforms(&c)
	point := func(q [2]float64) vg.Point { return vg.Point{X: trX(q[0]), Y: trY(q[1])} }
	for i, path := range pp.paths {
		var line []vg.Point
		var first, last vg.Point
		for k, q := range path.Points {
			if k >= pp.upto {
				break
			}
			if !finite(q[0]) || !finite(q[1]) {
				continue
			}
			// Far outside the axes, keep the coordinates within what the
			// clipper and the rasterizer handle exactly.
			v := clampPoint(point(q), c)
			if len(line) == 0 {
				first = v
			}
			line, last = append(line, v), v
		}
		if len(line) == 0 {
			continue
		}
		c.StrokeLines(pathStyle(i), c.ClipLinesXY(line)...)
		col := colorOf(i)
		c.DrawGlyph(startGlyph(col), first)
		c.DrawGlyph(endGlyph(col), last)
	}
	for _, m := range pp.minima {
		c.DrawGlyph(minimumGlyph, point(m))
	}
}

// clampPoint pulls a point lying far outside the canvas (a diverged
// iterate at 1e200, say) to a million canvas sizes away, so that clipping
// works on finite lengths; the lines it draws are unchanged to the eye.
func clampPoint(v vg.Point, c draw.Canvas) vg.Point {
	w, h := c.Max.X-c.Min.X, c.Max.Y-c.Min.Y
	lim := func(x, lo, hi, span vg.Length) vg.Length {
		return vg.Length(math.Max(float64(lo-1e6*span), math.Min(float64(hi+1e6*span), float64(x))))
	}
	return vg.Point{X: lim(v.X, c.Min.X, c.Max.X, w), Y: lim(v.Y, c.Min.Y, c.Max.Y, h)}
}

func (pp *pathsPlotter) DataRange() (xmin, xmax, ymin, ymax float64) {
	return math.Inf(1), math.Inf(-1), math.Inf(1), math.Inf(-1)
}
