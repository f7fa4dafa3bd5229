package main

import (
	"fmt"
	"io"
	"math"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/descentml/descent/recipe"
	"github.com/descentml/descent/run"
	"github.com/descentml/descent/train"
)

// progress reports a run as it goes: a progress bar per epoch on a
// terminal (samples/s, loss, time left), one line per epoch otherwise.
type progress struct {
	w       io.Writer
	epochs  int
	quiet   bool
	tty     bool
	bar     *progressbar.ProgressBar
	barEp   int
	start   time.Time // of the run (or its resumption)
	first   int       // epochs already done when it started
	samples int       // since the start of the epoch
	epStart time.Time
	lossSum float64
	lossN   int
}

func newProgress(w io.Writer, epochs int, quiet bool) *progress {
	p := &progress{w: w, epochs: epochs, quiet: quiet}
	if f, ok := w.(*os.File); ok {
		p.tty = term.IsTerminal(int(f.Fd()))
	}
	return p
}

func (p *progress) startAt(done int) {
	p.first, p.start, p.epStart = done, time.Now(), time.Now()
}

func (p *progress) batch(b train.Batch) {
	if p.quiet {
		return
	}
	if b.Index == 1 || p.epStart.IsZero() {
		p.epStart, p.samples, p.lossSum, p.lossN = time.Now(), 0, 0, 0
	}
	p.samples += b.Examples
	p.lossSum += b.Loss
	p.lossN++
	if !p.tty {
		return
	}
	if p.bar == nil || p.barEp != b.Epoch {
		if p.bar != nil {
			p.bar.Finish()
		}
		p.bar = progressbar.NewOptions(b.Batches,
			progressbar.OptionSetWriter(p.w),
			progressbar.OptionSetWidth(30),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionShowCount(),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionClearOnFinish(),
			progressbar.OptionSetRenderBlankState(true),
		)
		p.barEp = b.Epoch
	}
	rate := float64(p.samples) / time.Since(p.epStart).Seconds()
	p.bar.Describe(fmt.Sprintf("epoch %d/%d  loss %.4f  %s samples/s  %s left", b.Epoch, p.epochs, p.lossSum/float64(p.lossN), humanRate(rate), p.runLeft(b)))
	p.bar.Set(b.Index)
}

// runLeft estimates the time left in the whole run.
func (p *progress) runLeft(b train.Batch) string {
	doneEpochs := float64(b.Epoch-1-p.first) + float64(b.Index)/float64(b.Batches)
	if doneEpochs <= 0 {
		return "?"
	}
	left := time.Since(p.start).Seconds() / doneEpochs * (float64(p.epochs-b.Epoch+1) - float64(b.Index)/float64(b.Batches))
	return (time.Duration(left) * time.Second).Round(time.Second).String()
}

func (p *progress) epoch(e train.Epoch) {
	if p.quiet {
		return
	}
	if p.bar != nil {
		p.bar.Finish()
		p.bar = nil
	}
	rate := float64(p.samples) / e.Seconds
	fmt.Fprintf(p.w, "epoch %*d/%d  train loss %.4f acc %s  val loss %s acc %s  lr %.3g  %.1fs (%s samples/s)\n",
		len(fmt.Sprint(p.epochs)), e.Epoch, p.epochs, e.TrainLoss, pct(e.TrainAccuracy), num(e.ValLoss), pct(e.ValAccuracy), e.LR, e.Seconds, humanRate(rate))
	p.epStart = time.Time{}
}

func (p *progress) done() {
	if p.bar != nil {
		p.bar.Finish()
		p.bar = nil
	}
}

func humanRate(r float64) string {
	switch {
	case math.IsNaN(r) || math.IsInf(r, 0):
		return "?"
	case r >= 1e4:
		return fmt.Sprintf("%.0fk", r/1e3)
	default:
		return fmt.Sprintf("%.0f", r)
	}
}

func pct(v float64) string {
	if math.IsNaN(v) {
		return "—"
	}
	return fmt.Sprintf("%.2f%%", 100*v)
}

func num(v float64) string {
	if math.IsNaN(v) {
		return "—"
	}
	return fmt.Sprintf("%.4f", v)
}

// printSummary prints the table of a finished run.
func printSummary(w io.Writer, r recipe.Recipe, hist []train.Epoch, s run.Summary, dir string, elapsed time.Duration) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "epoch\tstep\tlr\ttrain loss\ttrain acc\tval loss\tval acc\tseconds\t")
	for _, e := range hist {
		fmt.Fprintf(tw, "%d\t%d\t%.3g\t%.4f\t%s\t%s\t%s\t%.1f\t\n", e.Epoch, e.Step, e.LR, e.TrainLoss, pct(e.TrainAccuracy), num(e.ValLoss), pct(e.ValAccuracy), e.Seconds)
	}
	tw.Flush()
	var b strings.Builder
	fmt.Fprintf(&b, "\n%s, %s, %d parameters: %d epochs, %d steps in %.1fs", r.Model, r.Optimizer, s.Params, s.Epochs, s.Steps, s.Seconds)
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
	_ = elapsed
}
