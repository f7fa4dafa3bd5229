package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/descentml/descent/internal/progress"
	"github.com/descentml/descent/recipe"
	"github.com/descentml/descent/run"
	"github.com/descentml/descent/train"
)

// pct and num write a fraction and a loss, NaN as a dash.
var pct, num = progress.Percent, progress.Num

// printSummary prints the table of a finished run.
func printSummary(w io.Writer, r recipe.Recipe, hist []train.Epoch, s run.Summary, dir string) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "epoch\tstep\tlr\ttrain loss\ttrain acc\tval loss\tval acc\tseconds\t")
	for _, e := range hist {
		fmt.Fprintf(tw, "%d\t%d\t%.3g\t%.4f\t%s\t%s\t%s\t%.1f\t\n", e.Epoch, e.Step, e.LR, e.TrainLoss, pct(e.TrainAccuracy), num(e.ValLoss), pct(e.ValAccuracy), e.Seconds)
	}
	tw.Flush()
	var b strings.Builder
	fmt.Fprintf(&b, "\n%s, %s, %d parameters: %s, %s in %.1fs", r.Model, r.Optimizer, s.Params, plural(s.Epochs, "epoch"), plural(s.Steps, "step"), s.Seconds)
	if s.StoppedEarly {
		b.WriteString(" (stopped early)")
	}
	b.WriteString("\n")
	if s.BestValAccuracy != nil {
		fmt.Fprintf(&b, "best validation accuracy %s\n", pct(*s.BestValAccuracy))
	}
	if s.TestAccuracy != nil {
		fmt.Fprintf(&b, "test loss %.4f, test accuracy %s\n", *s.TestLoss, pct(*s.TestAccuracy))
	}
	fmt.Fprintf(&b, "wrote %s\n", dir)
	fmt.Fprint(w, b.String())
}
