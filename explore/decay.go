package explore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/descentml/descent/optim/spec"
	"github.com/descentml/descent/plot"
	"github.com/descentml/descent/recipe"
)

// DecayGridConfig sets up a learning rate × weight decay grid: the
// experiment of Loshchilov & Hutter (2019), Fig. 2, which compares Adam
// with L2 regularization (PyTorch's coupled weight_decay, "adam wd=λ")
// and AdamW's decoupled weight decay ("adamw wd=λ") by the validation error
// each (learning rate, weight decay) reaches on the same budget.
type DecayGridConfig struct {
	// Recipe is what every cell trains: data, model, schedule, epochs,
	// batch size and seed. Its optimizer is replaced.
	Recipe recipe.Recipe
	// Optimizers are the methods compared, one panel each; every cell
	// sets their lr and wd. Each must take wd. Nil means DecayOptimizers().
	Optimizers []spec.Optimizer
	// LRs and WDs are the rows and columns of each panel, ascending; both
	// are required.
	LRs, WDs []float64
	// Workers is the number of cells trained at once; 0 means one per
	// core (see Parallelism).
	Workers int
	// OnRun, if not nil, is called as each cell finishes, in the order they
	// finish, never concurrently: for progress reports.
	OnRun func(c Cell)
}

// DecayOptimizers returns the pair the paper compares, with PyTorch's
// defaults: Adam, whose weight decay is L2 regularization coupled into
// the gradient (and so scaled by Adam's per-weight step sizes), and AdamW,
// which decays the weights directly by α·λ·θ a step.
func DecayOptimizers() []spec.Optimizer {
	adam, _ := spec.NewOptimizer("adam", nil)
	adamw, _ := spec.NewOptimizer("adamw", nil)
	return []spec.Optimizer{adam, adamw}
}

// DecayGrid is what RunDecayGrid found. It encodes to JSON as is.
type DecayGrid struct {
	// Recipe is the recipe every cell trained; its optimizer is the first
	// panel's, at the first cell.
	Recipe recipe.Recipe `json:"recipe"`
	// TrainExamples is the size of the training set the cells trained on
	// (the recipe's data may have been subsampled).
	TrainExamples int          `json:"train_examples"`
	LRs           []float64    `json:"lrs"`
	WDs           []float64    `json:"wds"`
	Panels        []DecayPanel `json:"panels"`
}

// DecayPanel is one optimizer's grid.
type DecayPanel struct {
	// Optimizer is the method's name, as spec.ParseOptimizer reads it.
	Optimizer string `json:"optimizer"`
	// Cells[i][j] trained with learning rate LRs[i] and weight decay
	// WDs[j].
	Cells [][]Cell `json:"cells"`
}

// Cell is one training run of the grid.
type Cell struct {
	Spec    string  `json:"spec"` // the optimizer, as spec.ParseOptimizer reads it, wd always given
	LR      float64 `json:"lr"`
	WD      float64 `json:"wd"`
	Outcome Outcome `json:"outcome"`
}

// cellSpec is o's spec with its weight decay, which o.String() leaves out
// when it is the method's default.
func cellSpec(o spec.Optimizer) string {
	s := o.String()
	if !strings.Contains(s, " wd=") {
		wd, _ := o.Get("wd")
		s += " wd=" + wd
	}
	return s
}

// ValError is the cell's final validation error, 1 − accuracy: the score
// of the grid. NaN for a failed run.
func (c Cell) ValError() float64 { return 1 - c.Outcome.Final.ValAccuracy }

// RunDecayGrid trains every cell of the grid on splits, Workers at a time.
// Each cell is evaluated once, after its last epoch (its history has no
// validation metrics), unless the recipe stops early, which needs them
// every epoch. The results do not depend on Workers. A cell that fails (a loss that
// becomes NaN at a large learning rate) is recorded with its error and a
// NaN score; the error returned is for a grid that cannot run or that ctx
// cancelled.
func RunDecayGrid(ctx context.Context, d Data, cfg DecayGridConfig) (*DecayGrid, error) {
	if len(cfg.LRs) == 0 || len(cfg.WDs) == 0 {
		return nil, errors.New("explore: the grid needs learning rates and weight decays")
	}
	if cfg.Recipe.IsText() {
		return nil, errors.New("explore: the grid is scored by the validation error of a classifier; for a language model compare optimizers (Compare) or search (Tune) on its validation loss")
	}
	if err := d.check(cfg.Recipe); err != nil {
		return nil, err
	}
	if !d.hasVal() {
		return nil, errors.New("explore: the grid is scored on the validation set, and the data has none")
	}
	for _, axis := range []struct {
		name string
		vs   []float64
	}{{"learning rates", cfg.LRs}, {"weight decays", cfg.WDs}} {
		for i, v := range axis.vs {
			if !(v >= 0) || math.IsInf(v, 0) || (i > 0 && v <= axis.vs[i-1]) {
				return nil, fmt.Errorf("explore: %s %v: want finite values ≥ 0 in ascending order", axis.name, axis.vs)
			}
		}
	}
	opts := cfg.Optimizers
	if opts == nil {
		opts = DecayOptimizers()
	}
	g := &DecayGrid{Recipe: cfg.Recipe, TrainExamples: d.TrainLen(), LRs: cfg.LRs, WDs: cfg.WDs}
	var recipes []recipe.Recipe
	var cells []*Cell
	for _, o := range opts {
		if !spec.Takes(o.Name, "wd") {
			return nil, fmt.Errorf("explore: optimizer %s takes no weight decay (wd)", o.Name)
		}
		p := DecayPanel{Optimizer: o.Name, Cells: make([][]Cell, len(cfg.LRs))}
		for i, lr := range cfg.LRs {
			p.Cells[i] = make([]Cell, len(cfg.WDs))
			for j, wd := range cfg.WDs {
				oc, err := o.Set("wd", strconv.FormatFloat(wd, 'g', -1, 64))
				if err != nil {
					return nil, err
				}
				oc.LR = lr
				r := cfg.Recipe
				r.Optimizer = oc
				if err := r.Validate(); err != nil {
					return nil, err
				}
				p.Cells[i][j] = Cell{Spec: cellSpec(oc), LR: lr, WD: wd}
				recipes = append(recipes, r)
			}
		}
		g.Panels = append(g.Panels, p)
	}
	for k := range g.Panels {
		for i := range g.Panels[k].Cells {
			for j := range g.Panels[k].Cells[i] {
				cells = append(cells, &g.Panels[k].Cells[i][j])
			}
		}
	}
	g.Recipe.Optimizer = recipes[0].Optimizer
	outs, err := trainAll(ctx, d, recipes, cfg.Workers, true, func(i int, o Outcome) {
		if cfg.OnRun != nil {
			c := *cells[i]
			c.Outcome = o
			cfg.OnRun(c)
		}
	})
	if err != nil {
		return nil, err
	}
	for i, o := range outs {
		cells[i].Outcome = o
	}
	return g, nil
}

// ValErrors returns panel k's validation errors, [lr][wd].
func (g *DecayGrid) ValErrors(k int) [][]float64 {
	vs := make([][]float64, len(g.LRs))
	for i, row := range g.Panels[k].Cells {
		vs[i] = make([]float64, len(row))
		for j, c := range row {
			vs[i][j] = c.ValError()
		}
	}
	return vs
}

// Best returns panel k's cell with the lowest validation error (the first
// of equals, by learning rate then weight decay), and false if every cell
// failed.
func (g *DecayGrid) Best(k int) (Cell, bool) {
	var best Cell
	found := false
	for _, row := range g.Panels[k].Cells {
		for _, c := range row {
			if e := c.ValError(); !math.IsNaN(e) && (!found || e < best.ValError()) {
				best, found = c, true
			}
		}
	}
	return best, found
}

// Near returns the number of panel k's cells whose validation error is
// within margin of the best (margin 0.01: one percentage point): the size
// of the good region.
func (g *DecayGrid) Near(k int, margin float64) int {
	best, ok := g.Best(k)
	if !ok {
		return 0
	}
	n := 0
	for _, row := range g.ValErrors(k) {
		for _, e := range row {
			if e <= best.ValError()+margin {
				n++
			}
		}
	}
	return n
}

// BestWD returns, for each learning rate, the index in WDs of panel k's
// best weight decay (−1 where every cell of the row failed): how the
// optimal decay moves with the learning rate.
func (g *DecayGrid) BestWD(k int) []int {
	idx := make([]int, len(g.LRs))
	for i, row := range g.ValErrors(k) {
		idx[i] = -1
		for j, e := range row {
			if !math.IsNaN(e) && (idx[i] < 0 || e < row[idx[i]]) {
				idx[i] = j
			}
		}
	}
	return idx
}

// Tick writes an axis value as a heatmap labels it: 1e-04 as "1e-4",
// 0.003 as "3e-3", 0.5 as "0.5".
func Tick(v float64) string {
	if v == 0 {
		return "0"
	}
	if e := math.Floor(math.Log10(math.Abs(v))); e < -1 || e > 2 {
		m := v / math.Pow(10, e)
		return strconv.FormatFloat(m, 'g', 2, 64) + "e" + strconv.Itoa(int(e))
	}
	return strconv.FormatFloat(v, 'g', 3, 64)
}

func ticks(vs []float64) []string {
	ts := make([]string, len(vs))
	for i, v := range vs {
		ts[i] = Tick(v)
	}
	return ts
}

// HeatmapSpec returns the figure: one heatmap per optimizer of the
// validation error in percent, learning rate up, weight decay across, with
// one colour scale for all. The scale runs from the best cell to three
// times its error, so that the good region shows in detail; worse cells
// (runs that barely learned) all take the worst colour, and the title says
// so.
func (g *DecayGrid) HeatmapSpec() plot.HeatmapSpec {
	spec := plot.HeatmapSpec{
		Title:  fmt.Sprintf("validation error (%%): %s, %d epochs", g.Recipe.Model, g.Recipe.Epochs),
		XLabel: "weight decay λ (wd)",
		YLabel: "learning rate α (lr)",
		XTicks: ticks(g.WDs),
		YTicks: ticks(g.LRs),
		Format: "%.1f",
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for k, p := range g.Panels {
		vs := g.ValErrors(k)
		for _, row := range vs {
			for j := range row {
				row[j] *= 100
				if !math.IsNaN(row[j]) {
					lo, hi = min(lo, row[j]), max(hi, row[j])
				}
			}
		}
		spec.Panels = append(spec.Panels, plot.Panel{Title: panelTitle(p.Optimizer), Values: vs})
	}
	if lo > 0 && hi > 3*lo {
		spec.Min, spec.Max = lo, 3*lo
		spec.Title += fmt.Sprintf("; colours capped at %.3g%%", spec.Max)
	}
	return spec
}

func panelTitle(name string) string {
	switch name {
	case "adam":
		return "Adam + L2 (coupled: gradient += λθ)"
	case "adamw":
		return "AdamW (decoupled: θ −= αλθ)"
	}
	return name
}

// WriteTable writes each panel's validation errors (in percent, learning
// rates down, weight decays across, the best cell starred), then a summary:
// each panel's best cell, its best weight decay at each learning rate, and
// how many cells come within one percentage point of its best.
func (g *DecayGrid) WriteTable(w io.Writer) error {
	for k, p := range g.Panels {
		best, ok := g.Best(k)
		fmt.Fprintf(w, "%s: validation error (%%)\n", panelTitle(p.Optimizer))
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintf(tw, "lr \\ wd\t%s\t\n", strings.Join(ticks(g.WDs), "\t"))
		for i, row := range p.Cells {
			cols := make([]string, len(row))
			for j, c := range row {
				cols[j] = fmt.Sprintf("%.2f", 100*c.ValError())
				if c.Failed() {
					cols[j] = "failed"
				} else if ok && c.LR == best.LR && c.WD == best.WD {
					cols[j] = "*" + cols[j]
				}
			}
			fmt.Fprintf(tw, "%s\t%s\t\n", Tick(g.LRs[i]), strings.Join(cols, "\t"))
		}
		tw.Flush()
		fmt.Fprintln(w)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "optimizer\tbest val error\tat lr\tat wd\tcells within 1 point\tbest wd at each lr (low to high)")
	for k, p := range g.Panels {
		best, ok := g.Best(k)
		if !ok {
			fmt.Fprintf(tw, "%s\tevery cell failed\n", p.Optimizer)
			continue
		}
		var wds []string
		for _, j := range g.BestWD(k) {
			if j < 0 {
				wds = append(wds, "—")
			} else {
				wds = append(wds, Tick(g.WDs[j]))
			}
		}
		fmt.Fprintf(tw, "%s\t%.2f%%\t%s\t%s\t%d of %d\t%s\n", p.Optimizer, 100*best.ValError(), Tick(best.LR), Tick(best.WD),
			g.Near(k, 0.01), len(g.LRs)*len(g.WDs), strings.Join(wds, " "))
	}
	return tw.Flush()
}

// Failures returns how many of the grid's cells failed, of how many.
func (g *DecayGrid) Failures() (failed, cells int) {
	for _, p := range g.Panels {
		for _, row := range p.Cells {
			for _, c := range row {
				if c.Failed() {
					failed++
				}
				cells++
			}
		}
	}
	return failed, cells
}

// Failed reports whether the cell's run failed.
func (c Cell) Failed() bool { return c.Outcome.Failed() }
