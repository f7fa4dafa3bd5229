// Package landscape runs optimizers on classic two-variable test functions
// and measures how they move, for the pictures that show why momentum and
// adaptive methods exist.
//
// A [Function] carries f, its analytic gradient, its global minima, a
// domain to draw, a start point, its steep axis and learning rates that
// suit it; [Lookup] finds one by name: ravine (the default, ½(x² + 99y²),
// an ill-conditioned quadratic whose steep axis is y), rosenbrock, beale,
// himmelblau (four minima), saddle (x² − y², unbounded below: no minimum,
// so runs report when they escape instead) and rastrigin (a lattice of
// local minima).
//
// [Run] minimises a function with any optim.Config from a start point and
// records the [Path]; a run that blows up stops with a *[DivergedError]
// and keeps the path so far. [Measure] summarises a path: the step at which
// it came within a distance of a minimum, the final distance and value,
// and how it oscillated across the steep axis (the distance travelled
// along it and the number of reversals).
//
// An [Experiment] runs several optimizers ([DefaultOptimizers], or
// [ParseOptimizer] specs such as "momentum lr=0.02 beta=0.9", in the
// vocabulary of spec.ParseOptimizer that every descent command reads)
// from one start; its [Result] encodes to JSON, prints as a table, and draws itself
// with package plot as a contour plot with the paths or as an animated GIF:
//
//	res, err := landscape.DefaultExperiment(landscape.Ravine()).Run()
//	…
//	res.WriteTable(os.Stdout)
//	res.Contour(png, 0, 0)                  // 640×480
//	res.GIF(gif, 0, 0, plot.Animation{})    // 60 frames
//	json.NewEncoder(out).Encode(res)
package landscape
