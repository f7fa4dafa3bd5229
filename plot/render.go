package plot

import (
	"bufio"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"math"
	"strconv"

	gplot "gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// Default and largest figure sizes, in pixels.
const (
	DefaultWidth  = 640
	DefaultHeight = 480
	maxSide       = 8192
)

// dpi is the resolution figures are drawn at: a point is 4/3 of a pixel.
const dpi = 96

// Colors are the colours given to series and paths in order (Tableau 10):
// distinct from one another and from the contour lines.
var Colors = []color.RGBA{
	{0x1f, 0x77, 0xb4, 0xff}, // blue
	{0xff, 0x7f, 0x0e, 0xff}, // orange
	{0x2c, 0xa0, 0x2c, 0xff}, // green
	{0xd6, 0x27, 0x28, 0xff}, // red
	{0x94, 0x67, 0xbd, 0xff}, // purple
	{0x8c, 0x56, 0x4b, 0xff}, // brown
	{0xe3, 0x77, 0xc2, 0xff}, // pink
	{0x7f, 0x7f, 0x7f, 0xff}, // grey
	{0xbc, 0xbd, 0x22, 0xff}, // olive
	{0x17, 0xbe, 0xcf, 0xff}, // cyan
}

func colorOf(i int) color.RGBA { return Colors[i%len(Colors)] }

// size resolves a requested figure size: zero means the default.
func size(w, h int) (int, int, error) {
	if w == 0 {
		w = DefaultWidth
	}
	if h == 0 {
		h = DefaultHeight
	}
	if w < 64 || h < 64 || w > maxSide || h > maxSide {
		return 0, 0, fmt.Errorf("plot: size %d×%d pixels: each side must be in [64, %d]", w, h, maxSide)
	}
	return w, h, nil
}

// newCanvas returns a white image canvas of exactly w×h pixels.
func newCanvas(w, h int, bg color.Color) *vgimg.Canvas {
	return vgimg.NewWith(
		vgimg.UseWH(px(w), px(h)),
		vgimg.UseDPI(dpi),
		vgimg.UseBackgroundColor(bg),
	)
}

// px converts pixels to vg lengths (points).
func px(n int) vg.Length { return vg.Length(n) * vg.Inch / dpi }

// writePNG encodes img to w.
func writePNG(w io.Writer, img image.Image) error {
	b := bufio.NewWriter(w)
	if err := png.Encode(b, img); err != nil {
		return fmt.Errorf("plot: encoding PNG: %w", err)
	}
	if err := b.Flush(); err != nil {
		return fmt.Errorf("plot: writing PNG: %w", err)
	}
	return nil
}

// safely runs a drawing function, turning a panic inside gonum/plot (which
// panics on some degenerate input, such as a non-positive value on a log

// errNilWriter is what a drawing function given a nil writer returns.
var errNilWriter = errors.New("plot: nil writer")

// axis) into an error: a figure is never worth crashing a training run for.
func safely(what string, fn func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("plot: drawing %s: %v", what, r)
		}
	}()
	return fn()
}

// finite reports whether v is neither NaN nor ±Inf.
func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// errNoData is wrapped by every error that reports a series, path or grid
// with nothing drawable in it.
var errNoData = errors.New("no drawable values")

// span is a running minimum and maximum.
type span struct{ min, max float64 }

func emptySpan() span { return span{math.Inf(1), math.Inf(-1)} }

func (s *span) add(v float64) {
	s.min = math.Min(s.min, v)
	s.max = math.Max(s.max, v)
}

func (s span) empty() bool { return s.min > s.max }

// axisRange returns a range that shows s, padded a little on a linear axis,
// and widened when s is a single value.
func axisRange(s span, log bool) (lo, hi float64) {
	lo, hi = s.min, s.max
	if log {
		if lo == hi {
			lo, hi = lo/2, hi*2
		}
		return logRange(lo, hi)
	}
	if lo == hi {
		d := math.Abs(lo) * 0.1
		if d == 0 {
			d = 1
		}
		return lo - d, hi + d
	}
	pad := (hi - lo) * 0.02
	return lo - pad, hi + pad
}

// logRange widens [lo, hi], 0 < lo < hi, to the labelled ticks of a log
// axis (logTicks) just outside it, so that both ends of the axis are
// labelled: to 1, 2 or 5 times a power of ten while the axis spans less
// than three decades, else to powers of ten.
func logRange(lo, hi float64) (float64, float64) {
	if !(lo > 0) || !(hi > lo) || math.IsInf(hi, 0) {
		return lo, hi
	}
	l, h := roundLog(lo, []float64{1, 2, 5}, false), roundLog(hi, []float64{1, 2, 5}, true)
	if logLabels(l, h)[2] && l > 0 && !math.IsInf(h, 0) {
		return l, h
	}
	l, h = roundLog(lo, []float64{1}, false), roundLog(hi, []float64{1}, true)
	if !(l > 0) || math.IsInf(h, 0) {
		return lo, hi // beyond float64's powers of ten
	}
	return l, h
}

// roundLog returns the nearest value m·10ᵏ, m one of ms, at or below v
// (at or above it if up).
func roundLog(v float64, ms []float64, up bool) float64 {
	e := math.Floor(math.Log10(v))
	var cands []float64
	for _, k := range []float64{e - 1, e, e + 1} {
		for _, m := range ms {
			cands = append(cands, m*math.Pow(10, k))
		}
	}
	best := math.NaN()
	for _, c := range cands {
		if close := math.Abs(c-v) <= 1e-9*v; close {
			return c
		}
		if up && c > v && !(c >= best) || !up && c < v && !(c <= best) {
			best = c
		}
	}
	return best
}

// logLabels returns which multiples m of each power of ten logTicks labels
// on an axis from lo to hi: 1 always; 2 and 5 too when the axis spans less
// than three decades (at most 9 labels), so that a short log axis is never
// left with few labels, nor widened by a decade to end on a power of ten.
func logLabels(lo, hi float64) map[int]bool {
	labelled := map[int]bool{1: true}
	if math.Log10(hi)-math.Log10(lo) < 3-1e-9 {
		labelled[2], labelled[5] = true, true
	}
	return labelled
}

// logTicks labels powers of ten and, when the axis spans less than three
// decades, the 2× and 5× multiples too (logLabels).
type logTicks struct{}

var _ gplot.Ticker = logTicks{}

func (logTicks) Ticks(lo, hi float64) []gplot.Tick {
	if !(lo > 0) || !(hi > lo) {
		return nil
	}
	labelled := logLabels(lo, hi)
	var ticks []gplot.Tick
	for e := int(math.Floor(math.Log10(lo))); e <= int(math.Ceil(math.Log10(hi))); e++ {
		base := math.Pow10(e)
		for m := 1; m < 10; m++ {
			v := base * float64(m)
			if v < lo*(1-1e-9) || v > hi*(1+1e-9) {
				continue
			}
			t := gplot.Tick{Value: v}
			if labelled[m] {
				t.Label = strconv.FormatFloat(v, 'g', -1, 64)
			}
			ticks = append(ticks, t)
		}
	}
	return ticks
}

// linearTicks labels a linear axis at the smallest round step, 1, 2 or 5
// times a power of ten, that gives it at most 6 labels, and marks the step's fifths (halves of
// a step of 2) between them. gonum's default can choose steps such as
// 0.09, whose labels (0.81, 0.9, 0.99) read as a log-of-error axis.
type linearTicks struct{}

var _ gplot.Ticker = linearTicks{}

func (linearTicks) Ticks(lo, hi float64) []gplot.Tick {
	span := hi - lo
	if !(span > 0) || !finite(span) {
		return gplot.DefaultTicks{}.Ticks(lo, hi)
	}
	mag := math.Pow(10, math.Floor(math.Log10(span/5)))
	var step float64
	minors := 5 // marks a step
	for _, m := range []float64{1, 2, 5, 10} {
		if step = m * mag; math.Floor(hi/step)-math.Ceil(lo/step) < 6 {
			if m == 2 {
				minors = 4
			}
			break
		}
	}
	minor := step / float64(minors)
	digits := max(0, -int(math.Floor(math.Log10(step)+1e-9)))
	var ticks []gplot.Tick
	for k := math.Ceil(lo/minor - 1e-9); k*minor <= hi+1e-9*span; k++ {
		t := gplot.Tick{Value: k * minor}
		if math.Mod(k, float64(minors)) == 0 {
			t.Label = strconv.FormatFloat(t.Value, 'f', digits, 64)
			if t.Label == "-"+strconv.FormatFloat(0, 'f', digits, 64) {
				t.Label = t.Label[1:]
			}
		}
		ticks = append(ticks, t)
	}
	return ticks
}

// setLog puts an axis on a log scale.
func setLog(a *gplot.Axis) {
	a.Scale = gplot.LogScale{}
	a.Tick.Marker = logTicks{}
}

// drawWithLegend draws p on c with the legend l outside the data area, so
// that it never hides a curve (legendLayout says where).
func drawWithLegend(p *gplot.Plot, l *gplot.Legend, c draw.Canvas) {
	if l == nil {
		p.Draw(c)
		return
	}
	pc, lc := legendLayout(l, c)
	p.Draw(pc)
	l.Draw(lc)
}

// maxLegendShare is the largest part of a figure's width a legend beside
// the plot may take.
const maxLegendShare = 0.3

// legendLayout splits c between the plot and its legend l: the legend to
// the right of the plot, level with the top of the data area, if it takes
// at most maxLegendShare of the width; else below the plot, across the
// whole width, so that long names (optimizer specs) neither squeeze the
// plot nor run off the figure.
func legendLayout(l *gplot.Legend, c draw.Canvas) (plot, legend draw.Canvas) {
	r := l.Rectangle(c)
	w, h := c.Max.X-c.Min.X, c.Max.Y-c.Min.Y
	if lw := r.Max.X - r.Min.X + px(24); lw <= maxLegendShare*w {
		lc := draw.Crop(c, w-lw+px(10), 0, 0, 0)
		return draw.Crop(c, 0, -lw, 0, 0), draw.Crop(lc, 0, 0, 0, -px(36))
	}
	lh := r.Max.Y - r.Min.Y + px(16)
	return draw.Crop(c, 0, 0, lh, 0), draw.Crop(c, px(16), -px(8), px(6), -(h - lh + px(4)))
}

// newLegend returns an empty legend in descent's style, entries stacked
// from the top.
func newLegend() *gplot.Legend {
	l := gplot.NewLegend()
	l.Top = true
	l.Left = true
	l.ThumbnailWidth = px(28)
	l.Padding = px(4)
	return &l
}
