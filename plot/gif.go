package plot

import (
	"cmp"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/gif"
	"io"
	"slices"
	"time"

	gplot "gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"
	vgdraw "gonum.org/v1/plot/vg/draw"
)

// Animation sets the pace and length of an animated GIF.
type Animation struct {
	// Frames is the number of frames; 0 means 60, or one a step when the
	// longest path has fewer points. Frame k shows each path's first
	// ⌈(k+1)·n/Frames⌉ points, n being the longest path's length.
	Frames int
	// Delay is the time each frame is shown; 0 means 80 ms. GIF counts
	// time in hundredths of a second.
	Delay time.Duration
	// Hold is the time the last, complete frame is shown; 0 means 2 s.
	Hold time.Duration
}

// maxFrames bounds the length of an animation.
const maxFrames = 600

// PathsGIF draws an animated GIF to w: the contour plot of spec, drawn
// once, with the paths growing step by step over it. Each frame is
// quantised to one 256-colour palette made from the contour image and the
// path colours, and stores only the pixels that changed since the one
// before, which keeps a 60-frame 640×480 animation to a few hundred
// kilobytes.
func PathsGIF(w io.Writer, spec ContourSpec, anim Animation) error {
	if w == nil {
		return errNilWriter
	}
	width, height, err := size(spec.Width, spec.Height)
	if err != nil {
		return err
	}
	if anim.Frames < 0 || anim.Frames > maxFrames || anim.Delay < 0 || anim.Hold < 0 {
		return fmt.Errorf("plot: animation %+v: need 0 ≤ Frames ≤ %d and non-negative times", anim, maxFrames)
	}
	longest := 0
	for _, p := range spec.Paths {
		longest = max(longest, len(p.Points))
	}
	if longest == 0 {
		return fmt.Errorf("plot: animation %q has no path to draw", spec.Title)
	}
	frames := anim.Frames
	if frames == 0 {
		frames = 60
	}
	frames = min(frames, longest)
	delay, hold := centis(anim.Delay, 80*time.Millisecond), centis(anim.Hold, 2*time.Second)

	var out gif.GIF
	err = safely("animation", func() error {
		f, err := newContourFigure(spec)
		if err != nil {
			return err
		}
		// The contours, axes and legend are drawn once; a plotter that
		// draws nothing notes where the data area fell.
		cap := &dataArea{}
		f.plot.Add(cap)
		base := newCanvas(width, height, color.White)
		drawWithLegend(f.plot, f.legend, vgdraw.New(base))
		pal := gifPalette(base.Image(), len(spec.Paths))
		q := newQuantizer(pal)

		var prev *image.Paletted
		for k := range frames {
			f.top.upto = (k + 1) * longest / frames
			if (k+1)*longest%frames != 0 {
				f.top.upto++
			}
			over := newCanvas(width, height, color.Transparent)
			f.top.Plot(vgdraw.Canvas{Canvas: over, Rectangle: cap.rect}, f.plot)
			img := image.NewRGBA(base.Image().Bounds())
			draw.Draw(img, img.Bounds(), base.Image(), image.Point{}, draw.Src)
			draw.Draw(img, img.Bounds(), over.Image(), image.Point{}, draw.Over)
			cur := q.quantize(img)
			d := delay
			if k == frames-1 {
				d = hold
			}
			frame, changed := changedPart(prev, cur)
			if !changed {
				out.Delay[len(out.Delay)-1] += d
				continue
			}
			out.Image = append(out.Image, frame)
			out.Delay = append(out.Delay, d)
			out.Disposal = append(out.Disposal, gif.DisposalNone)
			prev = cur
		}
		return nil
	})
	if err != nil {
		return err
	}
	if err := gif.EncodeAll(w, &out); err != nil {
		return fmt.Errorf("plot: encoding GIF: %w", err)
	}
	return nil
}

// centis converts a duration to hundredths of a second, at least one.
func centis(d, def time.Duration) int {
	if d == 0 {
		d = def
	}
	return max(1, int((d+5*time.Millisecond)/(10*time.Millisecond)))
}

// dataArea is a plotter that draws nothing and records the data area of
// the plot it is drawn in.
type dataArea struct{ rect vg.Rectangle }

var _ gplot.Plotter = (*dataArea)(nil)

func (d *dataArea) Plot(c vgdraw.Canvas, _ *gplot.Plot) { d.rect = c.Rectangle }

// changedPart returns the part of cur that differs from prev (all of cur
// for the first frame), and whether anything changed.
func changedPart(prev, cur *image.Paletted) (*image.Paletted, bool) {
	if prev == nil {
		return cur, true
	}
	b := cur.Bounds()
	r := image.Rectangle{Min: b.Max, Max: b.Min}
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if i := cur.PixOffset(x, y); cur.Pix[i] != prev.Pix[i] {
				r.Min.X, r.Max.X = min(r.Min.X, x), max(r.Max.X, x+1)
				r.Min.Y, r.Max.Y = min(r.Min.Y, y), max(r.Max.Y, y+1)
			}
		}
	}
	if r.Empty() {
		return nil, false
	}
	return cur.SubImage(r).(*image.Paletted), true
}

// gifPalette returns up to 256 colours: white and black, each path colour
// with two blends towards white for anti-aliased edges, and then the most
// frequent colours of the base image.
func gifPalette(base image.Image, paths int) color.Palette {
	pal := color.Palette{color.RGBA{0xff, 0xff, 0xff, 0xff}, color.RGBA{0, 0, 0, 0xff}}
	seen := map[color.RGBA]bool{}
	add := func(c color.RGBA) {
		if !seen[c] && len(pal) < 256 {
			seen[c] = true
			pal = append(pal, c)
		}
	}
	for _, c := range pal {
		seen[c.(color.RGBA)] = true
	}
	for i := range min(paths, len(Colors)) {
		c := colorOf(i)
		add(c)
		for _, t := range []uint32{3, 6} { // 3/9 and 6/9 of the way to white
			add(color.RGBA{blend(c.R, t), blend(c.G, t), blend(c.B, t), 0xff})
		}
	}
	counts := map[color.RGBA]int{}
	b := base.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			counts[color.RGBAModel.Convert(base.At(x, y)).(color.RGBA)]++
		}
	}
	type entry struct {
		c color.RGBA
		n int
	}
	var byCount []entry
	for c, n := range counts {
		byCount = append(byCount, entry{c, n})
	}
	// Most frequent first; ties broken by the colour so that the palette,
	// and so the file, does not depend on map order.
	slices.SortFunc(byCount, func(a, b entry) int {
		if a.n != b.n {
			return cmp.Compare(b.n, a.n)
		}
		return cmp.Compare(rgbaKey(a.c), rgbaKey(b.c))
	})
	for _, e := range byCount {
		add(e.c)
	}
	return pal
}

func blend(v uint8, t uint32) uint8 { return uint8((uint32(v)*(9-t) + 255*t) / 9) }

func rgbaKey(c color.RGBA) uint32 {
	return uint32(c.R)<<24 | uint32(c.G)<<16 | uint32(c.B)<<8 | uint32(c.A)
}

// quantizer maps colours to the nearest palette entry, remembering each
// answer: a figure has few distinct colours, so a frame costs a map lookup
// a pixel.
type quantizer struct {
	pal   color.Palette
	cache map[color.RGBA]uint8
}

func newQuantizer(pal color.Palette) *quantizer {
	return &quantizer{pal: pal, cache: map[color.RGBA]uint8{}}
}

func (q *quantizer) quantize(img *image.RGBA) *image.Paletted {
	b := img.Bounds()
	out := image.NewPaletted(b, q.pal)
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			i := img.PixOffset(x, y)
			c := color.RGBA{img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3]}
			idx, ok := q.cache[c]
			if !ok {
				idx = uint8(q.pal.Index(c))
				q.cache[c] = idx
			}
			out.Pix[out.PixOffset(x, y)] = idx
		}
	}
	return out
}
