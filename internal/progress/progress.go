// Package progress reports a training run as it goes, for the command: on
// a terminal, a progress bar over the batches of each epoch (or over the
// steps of a language model's run) with the loss, the speed and the time
// left; one line per epoch (or evaluation) in any case. It prints only:
// the run's numbers come from train's hooks.
package progress

import (
	"fmt"
	"io"
	"math"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/descentml/descent/train"
)

// Reporter reports one run. Its methods are train's hooks; a Reporter is
// not safe for concurrent use, as the hooks are not called concurrently.
type Reporter struct {
	w     io.Writer
	total int // epochs, or steps of a language model's run
	quiet bool
	tty   bool
	bar   *progressbar.ProgressBar
	barEp int
	start time.Time // of the run (or its resumption)
	first int       // epochs (steps) already done when it started
	// Since the start of the epoch (the last evaluation):
	samples   int
	epStart   time.Time
	lossSum   float64
	lossN     int
	prevToken int64 // tokens at the last evaluation

	// BitsUnit names what a language model's bits are per in its
	// evaluation lines: "bits/char" if "", "bits/byte" for a byte-level
	// vocabulary (recipe.Recipe.BitsUnit).
	BitsUnit string
}

// New returns a reporter to w of a run of total epochs (steps, for a
// language model's run). quiet reports nothing; the bar is drawn only if w
// is a terminal.
func New(w io.Writer, total int, quiet bool) *Reporter {
	p := &Reporter{w: w, total: total, quiet: quiet}
	if f, ok := w.(*os.File); ok {
		p.tty = term.IsTerminal(int(f.Fd()))
	}
	return p
}

// SetLength sets the length of the run: its epochs (steps).
func (p *Reporter) SetLength(total int) { p.total = total }

// StartAt starts the clock of a run with done epochs (steps) done, and,
// for a language model's run, tokens trained on.
func (p *Reporter) StartAt(done int, tokens int64) {
	p.first, p.start, p.epStart, p.prevToken = done, time.Now(), time.Now(), tokens
}

// Batch reports a batch of an epoch.
func (p *Reporter) Batch(b train.Batch) {
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
		p.newBar(b.Batches)
		p.barEp = b.Epoch
	}
	rate := float64(p.samples) / time.Since(p.epStart).Seconds()
	done := float64(b.Epoch-1-p.first) + float64(b.Index)/float64(b.Batches)
	left := float64(p.total-b.Epoch+1) - float64(b.Index)/float64(b.Batches)
	p.bar.Describe(fmt.Sprintf("epoch %d/%d  loss %.4f  %s samples/s  %s left", b.Epoch, p.total, p.lossSum/float64(p.lossN), Rate(rate), p.left(done, left)))
	p.bar.Set(b.Index)
}

// Step reports a step of a language model's run: on a terminal, a bar over
// the run's steps.
func (p *Reporter) Step(s train.SeqStep) {
	if p.quiet {
		return
	}
	if p.epStart.IsZero() {
		p.epStart, p.samples, p.lossSum, p.lossN = time.Now(), 0, 0, 0
	}
	p.samples += s.Tokens
	p.lossSum += s.Loss
	p.lossN++
	if !p.tty {
		return
	}
	if p.bar == nil {
		p.newBar(s.Steps)
	}
	rate := float64(p.samples) / time.Since(p.epStart).Seconds()
	p.bar.Describe(fmt.Sprintf("step %d/%d  loss %.4f  %s tokens/s  %s left", s.Step, s.Steps, p.lossSum/float64(p.lossN), Rate(rate),
		p.left(float64(s.Step-p.first), float64(s.Steps-s.Step))))
	p.bar.Set(s.Step)
}

func (p *Reporter) newBar(n int) {
	if p.bar != nil {
		p.bar.Finish()
	}
	p.bar = progressbar.NewOptions(n,
		progressbar.OptionSetWriter(p.w),
		progressbar.OptionSetWidth(30),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionShowCount(),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionClearOnFinish(),
		progressbar.OptionSetRenderBlankState(true),
	)
}

// left estimates the time left in the run, after done units of work in
// this part of it, with left units to go.
func (p *Reporter) left(done, left float64) string {
	if done <= 0 {
		return "?"
	}
	secs := time.Since(p.start).Seconds() / done * left
	return (time.Duration(secs) * time.Second).Round(time.Second).String()
}

// Epoch reports the end of an epoch: one line.
func (p *Reporter) Epoch(e train.Epoch) {
	if p.quiet {
		return
	}
	p.Done()
	rate := float64(p.samples) / e.Seconds
	fmt.Fprintf(p.w, "epoch %*d/%d  train loss %.4f acc %s  val loss %s acc %s  lr %.3g  %.1fs (%s samples/s)\n",
		len(fmt.Sprint(p.total)), e.Epoch, p.total, e.TrainLoss, Percent(e.TrainAccuracy), Num(e.ValLoss), Percent(e.ValAccuracy), e.LR, e.Seconds, Rate(rate))
	p.epStart = time.Time{}
}

// Eval reports an evaluation of a language model's run: one line, above
// the bar, which goes on.
func (p *Reporter) Eval(m train.SeqMetrics) {
	if p.quiet {
		return
	}
	if p.bar != nil {
		p.bar.Clear()
	}
	unit := p.BitsUnit
	if unit == "" {
		unit = "bits/char"
	}
	fmt.Fprintf(p.w, "step %d: train %.4f (%.3f %s), val %s (%s %s), %.0f tokens/s\n",
		m.Step, m.TrainLoss, m.TrainBPC, unit, Num(m.ValLoss), Num(m.ValBPC), unit, float64(m.Tokens-p.prevToken)/m.Seconds)
	p.prevToken = m.Tokens
	p.epStart = time.Time{}
}

// Done removes the bar.
func (p *Reporter) Done() {
	if p.bar != nil {
		p.bar.Finish()
		p.bar = nil
	}
}

// Rate writes a rate per second in a few characters: 950, 12k.
func Rate(r float64) string {
	switch {
	case math.IsNaN(r) || math.IsInf(r, 0):
		return "?"
	case r >= 1e4:
		return fmt.Sprintf("%.0fk", r/1e3)
	default:
		return fmt.Sprintf("%.0f", r)
	}
}

// Percent writes a fraction as a percentage, NaN as a dash.
func Percent(v float64) string {
	if math.IsNaN(v) {
		return "—"
	}
	return fmt.Sprintf("%.2f%%", 100*v)
}

// Num writes a loss, NaN as a dash.
func Num(v float64) string {
	if math.IsNaN(v) {
		return "—"
	}
	return fmt.Sprintf("%.4f", v)
}
