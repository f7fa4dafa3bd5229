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
			return lo / 2, hi * 2
		}
		return lo, hi
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

// logTicks labels powers of ten and, when the axis spans less than two
// decades, the 2× and 5× multiples too, so that a short log axis is never
// left without labels.
type logTicks struct{}

var _ gplot.Ticker = logTicks{}

func (logTicks) Ticks(lo, hi float64) []gplot.Tick {
	if !(lo > 0) || !(hi > lo) {
		return nil
	}
	decades := math.Log10(hi) - math.Log10(lo)
	labelled := map[int]bool{1: true}
	if decades < 2 {
		labelled[2], labelled[5] = true, true
	}
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

// setLog puts an axis on a log scale.
func setLog(a *gplot.Axis) {
	a.Scale = gplot.LogScale{}
	a.Tick.Marker = logTicks{}
}

// drawWithLegend draws p on c with the legend l to the right of the plot,
// outside the data area, so that it never hides a curve.
func drawWithLegend(p *gplot.Plot, l *gplot.Legend, c draw.Canvas) {
	if l == nil {
		p.Draw(c)
		return
	}
	r := l.Rectangle(c)
	lw := r.Max.X - r.Min.X + px(24)
	p.Draw(draw.Crop(c, 0, -lw, 0, 0))
	lc := draw.Crop(c, c.Max.X-c.Min.X-lw+px(10), 0, 0, 0)
	lc = draw.Crop(lc, 0, 0, 0, -px(36)) // level with the top of the data area
	l.Draw(lc)
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
