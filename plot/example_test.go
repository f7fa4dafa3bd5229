package plot_test

import (
	"bytes"
	"fmt"
	"image/png"
	"math"

	"github.com/descentml/descent/plot"
)

// Training curves over several seeds: the mean as a line, ± one standard
// deviation as a shaded band.
func ExampleLines() {
	epochs := []float64{1, 2, 3, 4, 5}
	seeds := [][]float64{
		{2.3, 1.1, 0.70, 0.52, 0.44},
		{2.2, 1.3, 0.80, 0.60, 0.47},
		{2.4, 1.2, 0.75, 0.55, 0.41},
	}
	mean, std := plot.MeanStd(seeds)
	var png bytes.Buffer
	err := plot.Lines(&png, plot.LinesSpec{
		Title: "training", XLabel: "epoch", YLabel: "loss", LogY: true,
		X:      epochs,
		Series: []plot.Series{{Name: "adamw", Y: mean, Std: std}},
	})
	fmt.Println(err, decodeSize(png.Bytes()))
	fmt.Printf("epoch 5: %.2f ± %.2f\n", mean[4], std[4])
	// Output:
	// <nil> 640×480
	// epoch 5: 0.44 ± 0.03
}

// Two paths over the contours of a ravine; writing the GIF instead takes
// the same spec: plot.PathsGIF(w, spec, plot.Animation{}).
func ExampleContour() {
	spec := plot.ContourSpec{
		Title:  "½(x² + 10y²)",
		F:      func(x, y float64) float64 { return 0.5 * (x*x + 10*y*y) },
		Domain: plot.Rect{XMin: -3, XMax: 3, YMin: -2, YMax: 2},
		Paths: []plot.Path{
			{Name: "a", Points: [][2]float64{{-2.5, 1.5}, {-2, -1}, {-1, 0.5}, {0, 0}}},
			{Name: "b", Points: [][2]float64{{2.5, 1.5}, {1, math.NaN()}, {0.5, 0.2}, {0, 0}}},
		},
		Minima: [][2]float64{{0, 0}},
	}
	var png bytes.Buffer
	err := plot.Contour(&png, spec)
	fmt.Println(err, decodeSize(png.Bytes()))
	// Output:
	// <nil> 640×480
}

func decodeSize(b []byte) string {
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		return err.Error()
	}
	return fmt.Sprintf("%d×%d", img.Bounds().Dx(), img.Bounds().Dy())
}
