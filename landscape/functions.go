package landscape

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/descentml/descent/plot"
)

// Function is a test function of two variables with its analytic gradient,
// what is known of its minima, and the defaults that make a good picture.
type Function struct {
	// Name is the key Lookup knows it by.
	Name string
	// Formula is f written out, for titles and tables.
	Formula string
	// F is f(x, y); Grad is its gradient (∂f/∂x, ∂f/∂y).
	F    func(x, y float64) float64
	Grad func(x, y float64) (gx, gy float64)
	// Minima are the global minima, where f = MinValue. None for a
	// function unbounded below (the saddle); see Escape.
	Minima   [][2]float64
	MinValue float64
	// Escape matters for a function without minima: a run has escaped at
	// the first step where f falls below it.
	Escape float64
	// Domain is the rectangle drawn, and Start a start point inside it
	// from which the optimizers behave in telling ways.
	Domain plot.Rect
	Start  [2]float64
	// Steep is a unit vector along the direction of highest curvature (the
	// Hessian's leading eigenvector at the first minimum; for the saddle,
	// the direction of escape). Oscillation is measured along it.
	Steep [2]float64
	// Tol is the default distance to a minimum that counts as reached.
	Tol float64
	// LR is a learning rate at which plain gradient descent is stable and
	// shows the function's character; AdaptiveLR is one for Adam and
	// RMSprop, whose steps are about LR long whatever the gradient's size.
	LR, AdaptiveLR float64
}

// RavineKappa is the condition number κ of the ravine, ½(x² + κ·y²): the
// steep axis is y, κ times as curved as x. Gradient descent is stable
// for learning rates below 2/κ ≈ 0.0202; at 0.02 it crosses the ravine at
// every step (each step multiplies y by 1 − 0.02κ = −0.98), while the
// shallow axis converges as 0.98ᵗ.
const RavineKappa = 99

var functions = []Function{
	{
		Name:    "ravine",
		Formula: "½(x² + 99y²)",
		F:       func(x, y float64) float64 { return 0.5 * (x*x + RavineKappa*y*y) },
		Grad:    func(x, y float64) (float64, float64) { return x, RavineKappa * y },
		Minima:  [][2]float64{{0, 0}},
		Domain:  plot.Rect{XMin: -10, XMax: 10, YMin: -1.5, YMax: 1.5},
		Start:   [2]float64{-9, 1},
		Steep:   [2]float64{0, 1},
		Tol:     1e-2,
		LR:      0.02, AdaptiveLR: 0.1,
	},
	{
		Name:    "rosenbrock",
		Formula: "(1 − x)² + 100(y − x²)²",
		F: func(x, y float64) float64 {
			a, b := 1-x, y-x*x
			return a*a + 100*b*b
		},
		Grad: func(x, y float64) (float64, float64) {
			b := y - x*x
			return -2*(1-x) - 400*x*b, 200 * b
		},
		Minima: [][2]float64{{1, 1}},
		Domain: plot.Rect{XMin: -2, XMax: 2, YMin: -1, YMax: 3},
		Start:  [2]float64{-1.5, 2},
		Tol:    1e-2,
		LR:     1e-3, AdaptiveLR: 0.05,
	},
	{
		Name:    "beale",
		Formula: "(1.5 − x + xy)² + (2.25 − x + xy²)² + (2.625 − x + xy³)²",
		F: func(x, y float64) float64 {
			a, b, c := 1.5-x+x*y, 2.25-x+x*y*y, 2.625-x+x*y*y*y
			return a*a + b*b + c*c
		},
		Grad: func(x, y float64) (float64, float64) {
			a, b, c := 1.5-x+x*y, 2.25-x+x*y*y, 2.625-x+x*y*y*y
			gx := 2*a*(y-1) + 2*b*(y*y-1) + 2*c*(y*y*y-1)
			gy := 2*a*x + 2*b*2*x*y + 2*c*3*x*y*y
			return gx, gy
		},
		Minima: [][2]float64{{3, 0.5}},
		Domain: plot.Rect{XMin: -4.5, XMax: 4.5, YMin: -4.5, YMax: 4.5},
		Start:  [2]float64{1, 1.5},
		Tol:    1e-2,
		LR:     5e-3, AdaptiveLR: 0.05,
	},
	{
		Name:    "himmelblau",
		Formula: "(x² + y − 11)² + (x + y² − 7)²",
		F: func(x, y float64) float64 {
			a, b := x*x+y-11, x+y*y-7
			return a*a + b*b
		},
		Grad: func(x, y float64) (float64, float64) {
			a, b := x*x+y-11, x+y*y-7
			return 4*a*x + 2*b, 2*a + 4*b*y
		},
		Minima: [][2]float64{
			{3, 2},
			{-2.805118086952745, 3.131312518250573},
			{-3.779310253377747, -3.283185991286170},
			{3.584428340330492, -1.848126526964404},
		},
		Domain: plot.Rect{XMin: -5, XMax: 5, YMin: -5, YMax: 5},
		Start:  [2]float64{-0.5, -0.5},
		Tol:    1e-2,
		LR:     5e-3, AdaptiveLR: 0.1,
	},
	{
		Name:    "saddle",
		Formula: "x² − y²",
		F:       func(x, y float64) float64 { return x*x - y*y },
		Grad:    func(x, y float64) (float64, float64) { return 2 * x, -2 * y },
		Escape:  -1,
		Domain:  plot.Rect{XMin: -2, XMax: 2, YMin: -2, YMax: 2},
		Start:   [2]float64{-1.5, 1e-3},
		Steep:   [2]float64{0, 1},
		Tol:     1e-2,
		LR:      0.02, AdaptiveLR: 0.05,
	},
	{
		Name:    "rastrigin",
		Formula: "20 + x² + y² − 10(cos 2πx + cos 2πy)",
		F: func(x, y float64) float64 {
			return 20 + x*x + y*y - 10*(math.Cos(2*math.Pi*x)+math.Cos(2*math.Pi*y))
		},
		Grad: func(x, y float64) (float64, float64) {
			return 2*x + 20*math.Pi*math.Sin(2*math.Pi*x), 2*y + 20*math.Pi*math.Sin(2*math.Pi*y)
		},
		Minima: [][2]float64{{0, 0}},
		Domain: plot.Rect{XMin: -5.12, XMax: 5.12, YMin: -5.12, YMax: 5.12},
		Start:  [2]float64{-3.3, 2.6},
		Steep:  [2]float64{1, 0}, // the Hessian at the minimum is (2 + 40π²)·I: every axis is as steep
		Tol:    1e-2,
		LR:     2e-3, AdaptiveLR: 0.1,
	},
}

func init() {
	for i := range functions {
		f := &functions[i]
		if f.Steep == ([2]float64{}) {
			f.Steep = steepest(f.Grad, f.Minima[0])
		}
	}
}

// steepest returns the leading eigenvector of the Hessian at p (from central
// differences of the gradient), with a non-negative x component.
func steepest(grad func(x, y float64) (float64, float64), p [2]float64) [2]float64 {
	const h = 1e-5
	ax, ay := grad(p[0]+h, p[1])
	bx, by := grad(p[0]-h, p[1])
	cx, cy := grad(p[0], p[1]+h)
	dx, dy := grad(p[0], p[1]-h)
	hxx, hyx := (ax-bx)/(2*h), (ay-by)/(2*h)
	hxy, hyy := (cx-dx)/(2*h), (cy-dy)/(2*h)
	off := (hyx + hxy) / 2
	// For a symmetric 2×2 matrix the eigenvector of the larger eigenvalue
	// is at angle ½·atan2(2b, a − c).
	theta := 0.5 * math.Atan2(2*off, hxx-hyy)
	v := [2]float64{math.Cos(theta), math.Sin(theta)}
	if v[0] < 0 {
		v[0], v[1] = -v[0], -v[1]
	}
	return v
}

// Names returns the names of the functions Lookup knows, in the order
// they are documented: ravine, rosenbrock, beale, himmelblau, saddle,
// rastrigin.
func Names() []string {
	names := make([]string, len(functions))
	for i, f := range functions {
		names[i] = f.Name
	}
	return names
}

// Lookup returns the function called name (any case): one of Names().
func Lookup(name string) (Function, error) {
	i := slices.IndexFunc(functions, func(f Function) bool { return strings.EqualFold(f.Name, name) })
	if i < 0 {
		return Function{}, fmt.Errorf("landscape: unknown function %q: valid names are %s", name, strings.Join(Names(), ", "))
	}
	return functions[i], nil
}

// Ravine returns the default function: ½(x² + κ·y²) with κ = RavineKappa.
func Ravine() Function { return functions[0] }
