package plot

import (
	"bytes"
	"errors"
	"image/color"
	"image/gif"
	"image/png"
	"math"
	"strings"
	"testing"

	gplot "gonum.org/v1/plot"
	"gonum.org/v1/plot/vg/draw"
)

var nan, inf = math.NaN(), math.Inf(1)

// checkPNG decodes a PNG and checks its size.
func checkPNG(t *testing.T, name string, b []byte, w, h int) {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("%s: not a PNG: %v", name, err)
	}
	if got := img.Bounds().Size(); got.X != w || got.Y != h {
		t.Errorf("%s: image is %d×%d; want %d×%d", name, got.X, got.Y, w, h)
	}
}

func seq(n int, f func(i int) float64) []float64 {
	v := make([]float64, n)
	for i := range v {
		v[i] = f(i)
	}
	return v
}

func TestLines(t *testing.T) {
	x := seq(20, func(i int) float64 { return float64(i + 1) })
	loss := seq(20, func(i int) float64 { return math.Exp(-float64(i) / 5) })
	std := seq(20, func(i int) float64 { return 0.1 * loss[i] })
	cases := []struct {
		name string
		spec LinesSpec
	}{
		{"typical", LinesSpec{Title: "loss", XLabel: "epoch", YLabel: "loss", X: x,
			Series: []Series{{Name: "train", Y: loss}, {Name: "val", Y: seq(20, func(i int) float64 { return loss[i] + 0.1 })}}}},
		{"band", LinesSpec{X: x, Series: []Series{{Name: "sgd", Y: loss, Std: std}}}},
		{"error bars", LinesSpec{X: x, ErrorBars: true, Series: []Series{{Name: "sgd", Y: loss, Std: std}}}},
		{"log y", LinesSpec{X: x, LogY: true, Series: []Series{{Name: "sgd", Y: loss, Std: seq(20, func(int) float64 { return 2 })}}}},
		{"one point", LinesSpec{X: []float64{1}, Series: []Series{{Name: "a", Y: []float64{3}}}}},
		{"NaN and Inf skipped", LinesSpec{X: x, Series: []Series{{Name: "a", Y: seq(20, func(i int) float64 {
			return []float64{1, nan, inf, -inf, 2}[i%5]
		})}}}},
		{"NaN x and std", LinesSpec{X: seq(20, func(i int) float64 { return []float64{nan, 1, 2, 3}[i%4] + float64(i) }),
			Series: []Series{{Name: "a", Y: loss, Std: seq(20, func(int) float64 { return nan })}}}},
		{"constant", LinesSpec{X: x, Series: []Series{{Name: "c", Y: seq(20, func(int) float64 { return 0.5 })}}}},
		{"constant zero", LinesSpec{X: x, Series: []Series{{Name: "c", Y: make([]float64, 20)}}}},
		{"constant log", LinesSpec{X: x, LogY: true, Series: []Series{{Name: "c", Y: seq(20, func(int) float64 { return 0.5 })}}}},
		{"log with zeros skipped", LinesSpec{X: seq(20, func(i int) float64 { return float64(i) }), LogX: true, LogY: true,
			Series: []Series{{Name: "lr-find", Y: seq(20, func(i int) float64 { return float64(i % 3) })}}}},
		{"short log axis", LinesSpec{X: x, LogY: true, Series: []Series{{Name: "a", Y: seq(20, func(i int) float64 { return 0.5 + 0.01*float64(i) })}}}},
		{"lr-find marker", LinesSpec{X: seq(20, func(i int) float64 { return 1e-5 * math.Pow(10, float64(i)/4) }), LogX: true,
			Series:  []Series{{Name: "loss", Y: loss}},
			Markers: []Marker{{Label: "suggested", X: 1e-3, Y: 0.5}, {Label: "no y", X: 1e-2, Y: nan}, {Label: "off the axis", X: -1, Y: 1}}}},
		{"small", LinesSpec{X: x, Width: 64, Height: 64, Series: []Series{{Name: "a", Y: loss}}}},
		{"many series", LinesSpec{X: x, Series: func() []Series {
			s := make([]Series, 14)
			for i := range s {
				s[i] = Series{Name: strings.Repeat("s", i+1), Y: seq(20, func(j int) float64 { return float64(i * j) })}
			}
			return s
		}()}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, s := range c.spec.Series {
				if !c.spec.Drawable(s) {
					t.Errorf("Drawable(%q) = false for a series Lines draws", s.Name)
				}
			}
			var buf bytes.Buffer
			if err := Lines(&buf, c.spec); err != nil {
				t.Fatalf("Lines = %v; want no error", err)
			}
			w, h := c.spec.Width, c.spec.Height
			if w == 0 {
				w, h = DefaultWidth, DefaultHeight
			}
			checkPNG(t, c.name, buf.Bytes(), w, h)
		})
	}
}

func TestLinesErrors(t *testing.T) {
	x := []float64{1, 2, 3}
	cases := []struct {
		name string
		spec LinesSpec
		want string
	}{
		{"no series", LinesSpec{X: x}, "no series"},
		{"all NaN", LinesSpec{X: x, Series: []Series{{Name: "ok", Y: x}, {Name: "broken", Y: []float64{nan, nan, inf}}}}, `series "broken": no drawable values`},
		{"all zero on log", LinesSpec{X: x, LogY: true, Series: []Series{{Name: "zeros", Y: []float64{0, 0, -1}}}}, `series "zeros": no drawable values: all values are NaN or infinite, or not positive on a log axis`},
		{"length", LinesSpec{X: x, Series: []Series{{Name: "short", Y: []float64{1}}}}, `series "short" has 1 values for 3 x values`},
		{"std length", LinesSpec{X: x, Series: []Series{{Name: "s", Y: x, Std: []float64{1}}}}, `series "s" has 1 standard deviations for 3 values`},
		{"size", LinesSpec{X: x, Width: 10, Series: []Series{{Name: "a", Y: x}}}, "size 10×480 pixels"},
		{"empty x", LinesSpec{Series: []Series{{Name: "empty"}}}, `series "empty": no drawable values`},
	}
	for _, c := range cases {
		if strings.Contains(c.want, "no drawable") {
			for _, s := range c.spec.Series {
				if got, want := c.spec.Drawable(s), s.Name == "ok"; got != want {
					t.Errorf("%s: Drawable(%q) = %v; want %v", c.name, s.Name, got, want)
				}
			}
		}
		var buf bytes.Buffer
		err := Lines(&buf, c.spec)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: Lines = %v; want an error containing %q", c.name, err, c.want)
		}
		if err != nil && strings.Contains(c.want, "no drawable") && !errors.Is(err, errNoData) {
			t.Errorf("%s: error %v does not wrap errNoData", c.name, err)
		}
		if buf.Len() != 0 {
			t.Errorf("%s: wrote %d bytes despite the error", c.name, buf.Len())
		}
	}
}

func TestMeanStd(t *testing.T) {
	mean, std := MeanStd([][]float64{{1, 2, nan}, {3, nan, nan, 7}, {5, 6}})
	want := [][2]float64{{3, 2}, {4, math.Sqrt(8)}, {nan, nan}, {7, 0}}
	if len(mean) != len(want) {
		t.Fatalf("MeanStd returned %d positions; want %d", len(mean), len(want))
	}
	for i, w := range want {
		if !same(mean[i], w[0]) || !same(std[i], w[1]) {
			t.Errorf("MeanStd at %d = %v ± %v; want %v ± %v", i, mean[i], std[i], w[0], w[1])
		}
	}
}

func same(a, b float64) bool {
	return a == b || math.IsNaN(a) && math.IsNaN(b) || math.Abs(a-b) < 1e-12
}

// ravine is ½(x² + 20y²) with two descent paths across it.
func ravineSpec() ContourSpec {
	path := func(lr float64) [][2]float64 {
		p := [][2]float64{{-4, 1.5}}
		for range 40 {
			q := p[len(p)-1]
			p = append(p, [2]float64{q[0] - lr*q[0], q[1] - lr*20*q[1]})
		}
		return p
	}
	return ContourSpec{
		Title:  "ravine",
		F:      func(x, y float64) float64 { return 0.5 * (x*x + 20*y*y) },
		Domain: Rect{-5, 5, -2, 2},
		Paths:  []Path{{Name: "slow", Points: path(0.02)}, {Name: "fast", Points: path(0.09)}},
		Minima: [][2]float64{{0, 0}},
	}
}

func TestContour(t *testing.T) {
	holes := ravineSpec()
	holes.F = func(x, y float64) float64 {
		if x > 2 {
			return nan
		}
		if y > 1 {
			return inf
		}
		return x*x + y*y
	}
	diverged := ravineSpec()
	diverged.Paths = append(diverged.Paths, Path{Name: "diverged", Points: [][2]float64{{0, 0}, {1, 1}, {1e200, -1e300}, {nan, 1}, {inf, inf}}})
	bare := ravineSpec()
	bare.Paths, bare.Minima = nil, nil
	constant := ravineSpec()
	constant.F = func(x, y float64) float64 { return 3 }
	levels := ravineSpec()
	levels.Levels = []float64{1, 2, 4, 8}
	levels.Grid = 2
	onePoint := ravineSpec()
	onePoint.Paths = []Path{{Name: "start only", Points: [][2]float64{{1, 1}}}}
	onePoint.Width, onePoint.Height = 300, 200
	for name, spec := range map[string]ContourSpec{
		"typical": ravineSpec(), "holes": holes, "diverged path": diverged, "no paths": bare,
		"constant": constant, "levels": levels, "one point": onePoint,
	} {
		var buf bytes.Buffer
		if err := Contour(&buf, spec); err != nil {
			t.Errorf("%s: Contour = %v; want no error", name, err)
			continue
		}
		w, h := spec.Width, spec.Height
		if w == 0 {
			w, h = DefaultWidth, DefaultHeight
		}
		checkPNG(t, name, buf.Bytes(), w, h)
	}
}

func TestContourErrors(t *testing.T) {
	noF := ravineSpec()
	noF.F = nil
	allNaN := ravineSpec()
	allNaN.F = func(x, y float64) float64 { return nan }
	badDomain := ravineSpec()
	badDomain.Domain = Rect{1, 1, 0, 1}
	nanPath := ravineSpec()
	nanPath.Paths = append(nanPath.Paths, Path{Name: "lost", Points: [][2]float64{{nan, 0}}})
	grid := ravineSpec()
	grid.Grid = 1
	for _, c := range []struct {
		name string
		spec ContourSpec
		want string
	}{
		{"no function", noF, "has no function"},
		{"all NaN", allNaN, "no drawable values"},
		{"domain", badDomain, "need finite bounds"},
		{"NaN path", nanPath, `path "lost": no drawable values`},
		{"grid", grid, "grid of 1 samples"},
	} {
		var buf bytes.Buffer
		if err := Contour(&buf, c.spec); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: Contour = %v; want an error containing %q", c.name, err, c.want)
		}
		if err := PathsGIF(&buf, c.spec, Animation{}); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: PathsGIF = %v; want an error containing %q", c.name, err, c.want)
		}
	}
}

func TestPathsGIF(t *testing.T) {
	spec := ravineSpec()
	spec.Width, spec.Height = 400, 300
	var buf bytes.Buffer
	if err := PathsGIF(&buf, spec, Animation{Frames: 20}); err != nil {
		t.Fatalf("PathsGIF = %v", err)
	}
	g, err := gif.DecodeAll(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatalf("not a GIF: %v", err)
	}
	if g.Config.Width != 400 || g.Config.Height != 300 {
		t.Errorf("GIF is %d×%d; want 400×300", g.Config.Width, g.Config.Height)
	}
	if n := len(g.Image); n < 2 || n > 20 {
		t.Errorf("GIF has %d frames; want 2 to 20", n)
	}
	if last := g.Delay[len(g.Delay)-1]; last < 200 {
		t.Errorf("last frame is held %d/100 s; want at least 2 s", last)
	}
	for i, f := range g.Image {
		if !f.Bounds().In(g.Image[0].Bounds()) {
			t.Errorf("frame %d at %v lies outside the first frame %v", i, f.Bounds(), g.Image[0].Bounds())
		}
	}

	// The default: at most 60 frames, however long the paths.
	long := ravineSpec()
	long.Paths[0].Points = append(long.Paths[0].Points, make([][2]float64, 500)...)
	buf.Reset()
	if err := PathsGIF(&buf, long, Animation{}); err != nil {
		t.Fatalf("PathsGIF = %v", err)
	}
	g, err = gif.DecodeAll(&buf)
	if err != nil {
		t.Fatalf("not a GIF: %v", err)
	}
	if len(g.Image) > 60 || g.Config.Width != DefaultWidth || g.Config.Height != DefaultHeight {
		t.Errorf("default GIF: %d frames of %d×%d; want at most 60 of %d×%d", len(g.Image), g.Config.Width, g.Config.Height, DefaultWidth, DefaultHeight)
	}

	bare := ravineSpec()
	bare.Paths = nil
	if err := PathsGIF(&buf, bare, Animation{}); err == nil || !strings.Contains(err.Error(), "no path") {
		t.Errorf("PathsGIF without paths = %v; want an error saying there is no path", err)
	}
	if err := PathsGIF(&buf, spec, Animation{Frames: -1}); err == nil {
		t.Errorf("PathsGIF with −1 frames succeeded; want an error")
	}
}

func heatSpec() HeatmapSpec {
	grid := func(shift float64) [][]float64 {
		v := make([][]float64, 3)
		for r := range v {
			v[r] = seq(4, func(c int) float64 { return 0.1 + 0.01*math.Pow(float64(c)-shift, 2) + 0.02*float64(r) })
		}
		return v
	}
	return HeatmapSpec{
		Title: "validation error", XLabel: "learning rate", YLabel: "weight decay",
		XTicks: []string{"1e-4", "1e-3", "1e-2", "1e-1"}, YTicks: []string{"0", "1e-4", "1e-2"},
		Panels: []Panel{{Title: "Adam + L2", Values: grid(1)}, {Title: "AdamW", Values: grid(2)}},
	}
}

func TestHeatmap(t *testing.T) {
	withNaN := heatSpec()
	withNaN.Panels[0].Values[1][1] = nan
	withNaN.Panels[1].Values[0][0] = inf
	withNaN.Panels[1].Values[0][1] = -inf
	allNaN := heatSpec()
	allNaN.Panels = []Panel{{Values: [][]float64{{nan, nan}}}}
	allNaN.XTicks, allNaN.YTicks = nil, nil
	constant := heatSpec()
	constant.Panels = []Panel{{Values: [][]float64{{1, 1}, {1, 1}}}}
	constant.XTicks, constant.YTicks = []string{"a", "b"}, nil
	fixed := heatSpec()
	fixed.Min, fixed.Max, fixed.HighIsGood, fixed.Format = 0, 1, true, "%.2f"
	one := HeatmapSpec{Panels: []Panel{{Values: [][]float64{{0.5}}}}, Width: 200, Height: 200}
	for name, spec := range map[string]HeatmapSpec{
		"typical": heatSpec(), "NaN and Inf": withNaN, "all NaN": allNaN, "constant": constant, "fixed scale": fixed, "one cell": one,
	} {
		var buf bytes.Buffer
		if err := Heatmap(&buf, spec); err != nil {
			t.Errorf("%s: Heatmap = %v; want no error", name, err)
			continue
		}
		w, h := spec.Width, spec.Height
		if w == 0 {
			w = 560*len(spec.Panels) + 90
		}
		if h == 0 {
			h = DefaultHeight
		}
		checkPNG(t, name, buf.Bytes(), w, h)
	}
}

func TestHeatmapErrors(t *testing.T) {
	ragged := heatSpec()
	ragged.Panels[1].Values[2] = ragged.Panels[1].Values[2][:3]
	rows := heatSpec()
	rows.Panels[1].Values = rows.Panels[1].Values[:2]
	ticks := heatSpec()
	ticks.XTicks = ticks.XTicks[:2]
	scale := heatSpec()
	scale.Min, scale.Max = 2, 1
	for _, c := range []struct {
		name string
		spec HeatmapSpec
		want string
	}{
		{"no panels", HeatmapSpec{Title: "t"}, "no panels"},
		{"empty", HeatmapSpec{Panels: []Panel{{Title: "e"}}}, `panel "e" has no rows`},
		{"ragged", ragged, `panel "AdamW": row 2 has 3 values; want 4`},
		{"rows", rows, `panel "AdamW" has 2 rows; the first panel has 3`},
		{"ticks", ticks, "4 columns but 2 x tick labels"},
		{"scale", scale, "colour scale [2, 1]"},
	} {
		var buf bytes.Buffer
		if err := Heatmap(&buf, c.spec); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: Heatmap = %v; want an error containing %q", c.name, err, c.want)
		}
	}
}

// Every figure is a function of its input: drawing it twice gives the
// same bytes.
func TestDeterministic(t *testing.T) {
	x := seq(30, func(i int) float64 { return float64(i) })
	lines := LinesSpec{X: x, LogY: true, Series: []Series{
		{Name: "a", Y: seq(30, func(i int) float64 { return 1 / float64(i+1) }), Std: seq(30, func(int) float64 { return 0.01 })},
		{Name: "b", Y: seq(30, func(i int) float64 { return 2 / float64(i+1) })},
	}}
	draws := map[string]func(*bytes.Buffer) error{
		"Lines":    func(b *bytes.Buffer) error { return Lines(b, lines) },
		"Contour":  func(b *bytes.Buffer) error { return Contour(b, ravineSpec()) },
		"PathsGIF": func(b *bytes.Buffer) error { return PathsGIF(b, ravineSpec(), Animation{Frames: 10}) },
		"Heatmap":  func(b *bytes.Buffer) error { return Heatmap(b, heatSpec()) },
	}
	for name, draw := range draws {
		var a, b bytes.Buffer
		if err := draw(&a); err != nil {
			t.Fatalf("%s = %v", name, err)
		}
		if err := draw(&b); err != nil {
			t.Fatalf("%s = %v", name, err)
		}
		if !bytes.Equal(a.Bytes(), b.Bytes()) {
			t.Errorf("%s drew different bytes for the same input", name)
		}
	}
}

// TestLogAxisEndsLabelled checks that both ends of a log axis carry a
// labelled tick (a loss plot's top was an unlabelled 0.9), and that the
// axis still holds the data.
func TestLogAxisEndsLabelled(t *testing.T) {
	for _, r := range [][2]float64{{0.073, 0.91}, {0.0099, 0.5}, {1e-5, 3}, {2.1, 2.3}, {0.05, 2}, {7, 7}, {3e-300, 1e300}} {
		p, _, err := linesPlot(LinesSpec{LogY: true, X: []float64{1, 2}, Series: []Series{{Name: "loss", Y: r[:]}}})
		if err != nil {
			t.Fatal(err)
		}
		lo, hi := p.Y.Min, p.Y.Max
		if !(lo <= r[0] && hi >= r[1]) {
			t.Errorf("log axis of data in %v = [%v, %v]; want it to hold the data", r, lo, hi)
		}
		ticks := p.Y.Tick.Marker.Ticks(lo, hi)
		if len(ticks) == 0 {
			t.Fatalf("log axis [%v, %v]: no ticks", lo, hi)
		}
		for _, end := range []gplot.Tick{ticks[0], ticks[len(ticks)-1]} {
			if end.Label == "" || !(math.Abs(end.Value-lo) <= 1e-9*lo || math.Abs(end.Value-hi) <= 1e-9*hi) {
				t.Errorf("log axis of data in %v = [%v, %v]: end tick %+v; want a labelled tick at each end", r, lo, hi, end)
			}
		}
	}
}

// TestLinearTicksRound checks that a linear axis is labelled at a round
// step, 1, 2 or 5 times a power of ten: an accuracy axis from 0.81 to 0.99
// was labelled 0.81, 0.9, 0.99, which reads as a log-of-error axis.
func TestLinearTicksRound(t *testing.T) {
	for _, r := range [][2]float64{{0.806, 0.994}, {0.1, 0.98}, {1, 4}, {0.62, 20.38}, {-3.5, 2}, {1e-4, 1.2e-4}, {42, 4200}} {
		p, _, err := linesPlot(LinesSpec{X: []float64{1, 2}, Series: []Series{{Name: "accuracy", Y: r[:]}}})
		if err != nil {
			t.Fatal(err)
		}
		var labelled []float64
		for _, tk := range p.Y.Tick.Marker.Ticks(p.Y.Min, p.Y.Max) {
			if tk.Label != "" {
				labelled = append(labelled, tk.Value)
			}
		}
		if len(labelled) < 2 || len(labelled) > 6 {
			t.Fatalf("axis [%v, %v]: labels at %v; want 2 to 6", p.Y.Min, p.Y.Max, labelled)
		}
		step := labelled[1] - labelled[0]
		m := step / math.Pow(10, math.Floor(math.Log10(step)+1e-9))
		if !(same1(m, 1) || same1(m, 2) || same1(m, 5)) {
			t.Errorf("axis [%v, %v]: labels at %v, a step of %v; want 1, 2 or 5 times a power of ten", p.Y.Min, p.Y.Max, labelled, step)
		}
		for i := 1; i < len(labelled); i++ {
			if !same1(labelled[i]-labelled[i-1], step) {
				t.Errorf("axis [%v, %v]: labels at %v are not evenly spaced", p.Y.Min, p.Y.Max, labelled)
			}
		}
	}
}

// same1 reports whether a and b agree to 1e-6 relative.
func same1(a, b float64) bool { return math.Abs(a-b) <= 1e-6*math.Max(math.Abs(a), math.Abs(b)) }

// TestLegendFits checks that a legend lies inside its part of the figure,
// and that long names (optimizer specs, as compare and tune name series)
// do not squeeze the plot: its part of the width stays above 1 −
// maxLegendShare.
func TestLegendFits(t *testing.T) {
	for _, names := range [][]string{
		{"trial", "best so far"},
		{"1 epoch", "3 epochs", "9 epochs", "27 epochs"},
		{"adamw lr=0.001 wd=0.05 beta2=0.95 eps=1e-6", "sgd lr=0.1 momentum=0.9 nesterov=true wd=5e-4"},
	} {
		spec := LinesSpec{X: []float64{1, 2, 3}}
		for _, n := range names {
			spec.Series = append(spec.Series, Series{Name: n, Y: []float64{3, 2, 1}})
		}
		_, l, err := linesPlot(spec)
		if err != nil {
			t.Fatal(err)
		}
		c := draw.New(newCanvas(DefaultWidth, DefaultHeight, color.White))
		pc, lc := legendLayout(l, c)
		r := l.Rectangle(lc)
		w := c.Max.X - c.Min.X
		// Entries are drawn from the left of lc (newLegend sets Left).
		if right := lc.Min.X + r.Max.X - r.Min.X; right > lc.Max.X || lc.Min.X < c.Min.X || lc.Max.X > c.Max.X {
			t.Errorf("legend of %q: %.0f points wide from %.0f, in its part %v of the figure %v; want it inside", names, r.Max.X-r.Min.X, lc.Min.X, lc.Rectangle, c.Rectangle)
		}
		if pw := pc.Max.X - pc.Min.X; pw < (1-maxLegendShare)*w {
			t.Errorf("legend of %q leaves the plot %.0f of %.0f points of width; want at least %.0f", names, pw, w, (1-maxLegendShare)*w)
		}
		if lh, ph := r.Max.Y-r.Min.Y, lc.Max.Y-lc.Min.Y; lh > ph {
			t.Errorf("legend of %q is %.0f points high in a part %.0f high", names, lh, ph)
		}
	}
}

// TestNilWriter checks that every drawing function given a nil writer
// returns an error, as the package doc promises, rather than panicking.
func TestNilWriter(t *testing.T) {
	lines := LinesSpec{X: []float64{1, 2}, Series: []Series{{Name: "a", Y: []float64{1, 2}}}}
	for name, draw := range map[string]func() error{
		"Lines":    func() error { return Lines(nil, lines) },
		"Heatmap":  func() error { return Heatmap(nil, HeatmapSpec{}) },
		"Contour":  func() error { return Contour(nil, ContourSpec{}) },
		"PathsGIF": func() error { return PathsGIF(nil, ContourSpec{}, Animation{}) },
	} {
		if err := draw(); !errors.Is(err, errNilWriter) {
			t.Errorf("%s(nil, …) = %v; want %v", name, err, errNilWriter)
		}
	}
}
