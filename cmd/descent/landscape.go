package main

import (
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/descentml/descent/landscape"
	"github.com/descentml/descent/plot"
	"github.com/descentml/descent/run"
)

var aboutLandscape = `Runs optimizers on a two-variable test function from one start point and
shows how they move: writes landscape.png (the contours with every path),
landscape.gif (the paths growing step by step) and landscape.json (every
path and its metrics) into the output directory, and prints a table: the
step at which each run came within --tol of a minimum ("never" if it did
not), its final distance and value, how far it travelled back and forth
across the steep axis and how many times it turned there.

--fn is one of ` + strings.Join(landscape.Names(), ", ") + `. Each --opt is
an optimizer as "descent train" names it, in one string, its rate held
constant: --opt "sgd lr=0.02" --opt "momentum lr=0.02 beta=0.9". With no
--opt, the function's ` + strconv.Itoa(len(landscapeDefaults())) + ` defaults, each at a rate that suits the function:
  ` + strings.Join(landscapeDefaults(), ", ")

// landscapeDefaults names the optimizers that run with no --opt
// (landscape.DefaultOptimizers; their rates depend on the function, not
// which they are).
func landscapeDefaults() []string {
	var names []string
	for _, o := range landscape.DefaultOptimizers(landscape.Ravine()) {
		names = append(names, o.Name)
	}
	return names
}

// pointFlag is a flag of a point "x,y".
type pointFlag struct {
	p   [2]float64
	set bool
}

func (p *pointFlag) String() string {
	if !p.set {
		return ""
	}
	return fmtNum(p.p[0]) + "," + fmtNum(p.p[1])
}

func (p *pointFlag) Set(v string) error {
	xs, ys, ok := strings.Cut(v, ",")
	x, err1 := strconv.ParseFloat(strings.TrimSpace(xs), 64)
	y, err2 := strconv.ParseFloat(strings.TrimSpace(ys), 64)
	if !ok || err1 != nil || err2 != nil || math.IsNaN(x+y) || math.IsInf(x+y, 0) {
		return fmt.Errorf("want two numbers x,y, as -1.5,2")
	}
	p.p, p.set = [2]float64{x, y}, true
	return nil
}

func runLandscape(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("landscape", "[--fn NAME] [--opt SPEC]... [flags]", aboutLandscape)
	fn := fs.String("fn", "ravine", "the function: "+strings.Join(landscape.Names(), ", "))
	var specs specsFlag
	fs.Var(&specs, "opt", `an optimizer and its hyperparameters, as "momentum lr=0.02 beta=0.9"; repeat for each (default: the function's `+strconv.Itoa(len(landscapeDefaults()))+`: `+strings.Join(landscapeDefaults(), ", ")+`)`)
	steps := fs.Int("steps", landscape.DefaultSteps, "steps each optimizer takes")
	var start pointFlag
	fs.Var(&start, "start", "the start point x,y (default: the function's)")
	tol := fs.Float64("tol", 0, "the distance to a minimum that counts as reaching it (0: the function's)")
	frames := fs.Int("frames", 60, "frames of the animation")
	width := fs.Int("width", plot.DefaultWidth, "figure width in pixels")
	height := fs.Int("height", plot.DefaultHeight, "figure height in pixels")
	out := fs.String("out", "", "output directory (default: runs/landscape-<date>-<time>)")
	maxMem := maxMemoryFlag(fs, "the paths")
	if err := parseFlags(fs, args, stdout, stderr); err != nil {
		return err
	}
	limit, err := maxMemory(*maxMem)
	if err != nil {
		return err
	}
	f, err := landscape.Lookup(*fn)
	if err != nil {
		return err
	}
	e := landscape.DefaultExperiment(f)
	if len(specs) > 0 {
		e.Optimizers = nil
		for _, s := range specs {
			o, err := landscape.ParseOptimizer(s)
			if err != nil {
				return fmt.Errorf("--opt %q: %w", s, err)
			}
			e.Optimizers = append(e.Optimizers, o)
		}
	}
	if start.set {
		e.Start = start.p
	}
	e.Steps, e.Tol = *steps, *tol
	if *steps < 1 || *steps > landscape.MaxSteps {
		return fmt.Errorf("--steps %d: want 1 to %d", *steps, landscape.MaxSteps)
	}
	if *frames < 1 {
		return fmt.Errorf("--frames %d: want at least 1", *frames)
	}
	if err := checkLandscape(e, limit); err != nil {
		return err
	}
	res, err := e.Run()
	if err != nil {
		return err
	}
	o, err := run.OpenOutput("landscape", *out, landscape.File)
	if err != nil {
		return err
	}
	defer o.Close()
	dir := o.Dir
	if err := res.Save(dir, *width, *height, *frames); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s, %s, from (%g, %g), %d steps; reached = within %g of a minimum:\n\n", res.Function, res.Formula, res.Start[0], res.Start[1], res.Steps, res.Tol)
	if err := res.WriteTable(stdout); err != nil {
		return err
	}
	for _, r := range res.Runs {
		if r.Error != "" {
			fmt.Fprintf(stdout, "%s: %s\n", r.Description, r.Error)
		}
	}
	fmt.Fprintf(stdout, "\nwrote %s\n", dir)
	return nil
}

// checkLandscape refuses an experiment whose paths need more memory than
// limit (--max-memory; 0: what the machine has available), with the
// estimate (landscape.Experiment.Size), as descent train refuses a run.
func checkLandscape(e landscape.Experiment, limit int64) error {
	need, out := e.Size()
	limit, what, ok := run.MemoryLimit(limit)
	if !ok || need <= float64(limit) {
		return nil
	}
	return fmt.Errorf("%s of %d steps need about %s of memory for their paths, and would write about %s of %s; %s is %s (fewer --steps or --opt need less; --max-memory SIZE overrides the check)",
		plural(len(e.Optimizers), "optimizer"), e.Steps, run.FormatSize(need), run.FormatSize(out), landscape.File, what, run.FormatSize(float64(limit)))
}
