package landscape

import (
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"text/tabwriter"

	"github.com/descentml/descent/plot"
)

// DefaultSteps is the number of steps a landscape run takes by default.
const DefaultSteps = 200

// MaxSteps is the most steps an experiment's optimizers may take: a
// million steps of the default six optimizers take a minute and a half
// and write over half a gigabyte of landscape.json, and a figure a
// thousand pixels wide shows no more of them than of far fewer.
const MaxSteps = 1_000_000

// Bytes a step of one optimizer takes: in landscape.json (its point and
// value in full precision, as measured: 99 bytes), and in memory while the
// result is kept and encoded (four times that, as measured).
const (
	stepOutputBytes = 100
	stepMemoryBytes = 4 * stepOutputBytes
)

// Experiment runs several optimizers on one function from one start.
// Start from DefaultExperiment: (0, 0) is a real start point, so a zero
// field is taken as given.
type Experiment struct {
	Function   Function
	Optimizers []Optimizer
	Start      [2]float64
	// Steps is the number of steps each optimizer takes; it must be
	// positive and at most MaxSteps.
	Steps int
	// Tol is the distance to a minimum that counts as reaching it (see
	// Metrics.Reached); 0 means Function.Tol.
	Tol float64
}

// DefaultExperiment returns fn's experiment with everything defaulted: its
// start point, DefaultOptimizers(fn), DefaultSteps steps and its tolerance.
// DefaultExperiment(Ravine()) is what runs when nothing is chosen.
func DefaultExperiment(fn Function) Experiment {
	return Experiment{Function: fn, Optimizers: DefaultOptimizers(fn), Start: fn.Start, Steps: DefaultSteps, Tol: fn.Tol}
}

// Size estimates what the experiment needs: memory, the bytes of its
// paths while they are kept and encoded, and output, the bytes of its
// landscape.json (Save), for a command to refuse an experiment larger than
// the machine before running it.
func (e Experiment) Size() (memory, output float64) {
	points := float64(len(e.Optimizers)) * float64(max(e.Steps, 0)+1)
	return points * stepMemoryBytes, points * stepOutputBytes
}

// Result is what an experiment found: one run per optimizer. It encodes to
// JSON as is.
type Result struct {
	Function string       `json:"function"`
	Formula  string       `json:"formula"`
	Minima   [][2]float64 `json:"minima"`
	Start    [2]float64   `json:"start"`
	Steps    int          `json:"steps"`
	Tol      float64      `json:"tol"`
	Runs     []RunResult  `json:"runs"`

	fn Function // the function itself, for the figures; found by name after decoding
}

// RunResult is one optimizer's run.
type RunResult struct {
	Optimizer   string  `json:"optimizer"`
	Description string  `json:"description"`
	Path        Path    `json:"path"`
	Metrics     Metrics `json:"metrics"`
	// Error is why the run stopped early ("" if it did not): divergence,
	// or a configuration the optimizer refused.
	Error string `json:"error,omitempty"`
}

// Run runs every optimizer of the experiment in turn. A run that diverges
// or whose configuration is refused is recorded with its error and the
// path so far; the error returned is for an experiment that cannot run at
// all.
func (e Experiment) Run() (Result, error) {
	fn := e.Function
	if fn.F == nil || fn.Grad == nil {
		return Result{}, errors.New("landscape: the experiment has no function: start from DefaultExperiment")
	}
	if e.Steps <= 0 || e.Steps > MaxSteps {
		return Result{}, fmt.Errorf("landscape: Steps = %d: must be from 1 to %d", e.Steps, MaxSteps)
	}
	if len(e.Optimizers) == 0 {
		return Result{}, errors.New("landscape: the experiment has no optimizers: start from DefaultExperiment")
	}
	if !(e.Tol >= 0) {
		return Result{}, fmt.Errorf("landscape: Tol = %v: must be ≥ 0", e.Tol)
	}
	tol := e.Tol
	if tol == 0 {
		tol = fn.Tol
	}
	res := Result{Function: fn.Name, Formula: fn.Formula, Minima: fn.Minima, Start: e.Start, Steps: e.Steps, Tol: tol, fn: fn}
	for _, o := range e.Optimizers {
		p, err := Run(fn, o.Config, e.Start, e.Steps)
		r := RunResult{Optimizer: o.Name, Description: o.Describe(), Path: p, Metrics: Measure(fn, p, tol)}
		if err != nil {
			r.Error = err.Error()
		}
		res.Runs = append(res.Runs, r)
	}
	return res, nil
}

// WriteTable writes the metrics as an aligned text table, one row per run,
// each optimizer described by its settings. For a function without minima
// (the saddle) the table gives the escape step in place of the distances.
func (r Result) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	head := "optimizer\treached\tfinal dist\tfinal f\tsteep travel\tflips\t"
	if len(r.Minima) == 0 {
		head = "optimizer\tescaped\tfinal f\tsteep travel\tflips\t"
	}
	head += "  note"
	fmt.Fprintln(tw, head)
	for _, run := range r.Runs {
		m := run.Metrics
		note := ""
		if run.Error != "" {
			note = fmt.Sprintf("  stopped at step %d", m.Steps)
		}
		if len(r.Minima) == 0 {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\n", run.Description, never(m.Escaped), num(m.FinalF), num(m.SteepTravel), m.SteepFlips, note)
			continue
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%s\n", run.Description, never(m.Reached), num(m.FinalDist), num(m.FinalF), num(m.SteepTravel), m.SteepFlips, note)
	}
	return tw.Flush()
}

func never(step int) string {
	if step < 0 {
		return "never"
	}
	return strconv.Itoa(step)
}

func num(v float64) string {
	if math.IsNaN(v) {
		return "-"
	}
	return strconv.FormatFloat(v, 'g', 3, 64)
}

// ContourSpec returns the figure of the result: fn's contours over its
// domain, every run's path and the minima. Change its fields (size, title,
// domain) before drawing it with plot.Contour or plot.PathsGIF.
func (r Result) ContourSpec() (plot.ContourSpec, error) {
	fn := r.fn
	if fn.F == nil {
		var err error
		if fn, err = Lookup(r.Function); err != nil {
			return plot.ContourSpec{}, err
		}
	}
	spec := plot.ContourSpec{
		Title:  title(fn, r.Steps),
		F:      fn.F,
		Domain: fn.Domain,
		Minima: fn.Minima,
	}
	for _, run := range r.Runs {
		if len(run.Path.Points) > 0 {
			spec.Paths = append(spec.Paths, plot.Path{Name: run.Optimizer, Points: run.Path.Points})
		}
	}
	return spec, nil
}

// Contour draws the result's contour plot with every path as a PNG image
// to w, width × height pixels (0 for plot's default).
func (r Result) Contour(w io.Writer, width, height int) error {
	spec, err := r.ContourSpec()
	if err != nil {
		return err
	}
	spec.Width, spec.Height = width, height
	return plot.Contour(w, spec)
}

// GIF draws the result as an animated GIF to w, the paths growing step by
// step over the contours; anim's zero value gives 60 frames.
func (r Result) GIF(w io.Writer, width, height int, anim plot.Animation) error {
	spec, err := r.ContourSpec()
	if err != nil {
		return err
	}
	spec.Width, spec.Height = width, height
	return plot.PathsGIF(w, spec, anim)
}

// title names the function, with its formula when that is short enough
// to sit over the plot.
func title(fn Function, steps int) string {
	if len([]rune(fn.Formula)) <= 28 {
		return fmt.Sprintf("%s: %s, %d steps", fn.Name, fn.Formula, steps)
	}
	return fmt.Sprintf("%s, %d steps", fn.Name, steps)
}
