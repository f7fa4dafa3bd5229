package explore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"

	"github.com/descentml/descent/data"
	"github.com/descentml/descent/internal/jsonfloat"
	"github.com/descentml/descent/optim/spec"
	"github.com/descentml/descent/plot"
	"github.com/descentml/descent/recipe"
	"github.com/descentml/descent/train"
)

// FindLRConfig sets up a learning-rate range test. Start from
// DefaultFindLR: a Smoothing of 0 is a real value (no smoothing).
type FindLRConfig struct {
	// MinLR and MaxLR are the first and the last rate; 0 < MinLR < MaxLR.
	MinLR, MaxLR float64
	// Steps is the number of optimizer steps (a batch each, or the
	// recipe's Accumulate batches), the rate growing by the same factor at
	// each, (MaxLR/MinLR)^(1/(Steps−1)), to reach MaxLR at the last; at
	// least 2.
	Steps int
	// Smoothing is β of the exponential moving average of the loss, with
	// bias correction (as fast.ai's): smoothed_t = avg_t/(1 − βᵗ⁺¹), avg_t
	// = β·avg_{t−1} + (1 − β)·loss_t. In [0, 1); 0 does not smooth. The
	// average lags about β/(1 − β) steps behind the loss.
	Smoothing float64
	// Explode stops the test once the smoothed loss exceeds Explode times
	// its lowest value; it must be > 1. A loss that is not finite stops
	// it too.
	Explode float64
}

// DefaultFindLR returns fast.ai's settings — rates from 1e-7 to 10 over
// 100 steps, stopping at four times the lowest loss — but a smoothing β
// of 0.9 where fast.ai has 0.98: over 100 steps fast.ai's average lags
// some 50 steps, three and a half decades of rate, which moves its
// minimum far to the right of the loss's; 0.9 lags 9 steps.
func DefaultFindLR() FindLRConfig {
	return FindLRConfig{MinLR: 1e-7, MaxLR: 10, Steps: 100, Smoothing: 0.9, Explode: 4}
}

// Validate reports the first setting out of its range.
func (c FindLRConfig) Validate() error {
	switch {
	case !(c.MinLR > 0 && c.MaxLR > c.MinLR) || math.IsInf(c.MaxLR, 0):
		return fmt.Errorf("explore: learning rates from %g to %g: want 0 < min < max", c.MinLR, c.MaxLR)
	case c.Steps < 2:
		return fmt.Errorf("explore: a range test of %d steps: want at least 2", c.Steps)
	case !(c.Smoothing >= 0 && c.Smoothing < 1):
		return fmt.Errorf("explore: smoothing %v: want 0 ≤ β < 1", c.Smoothing)
	case !(c.Explode > 1):
		return fmt.Errorf("explore: explode factor %v: want more than 1", c.Explode)
	}
	return nil
}

// LRFind is the record of a range test. It encodes to JSON as is, a loss
// or a suggested rate that is NaN or infinite as null, which reads back as
// NaN.
type LRFind struct {
	// Recipe is the run that was tested: its optimizer, model, data and
	// batch size. Its rate and schedule are the test's.
	Recipe recipe.Recipe `json:"recipe"`
	Config FindLRConfig  `json:"config"`
	// LRs, Losses and Smoothed hold, for each optimizer step, the rate it
	// used, its loss (the mean of its batches', with accumulation) and the
	// smoothed loss.
	LRs      []float64         `json:"lrs"`
	Losses   []jsonfloat.Float `json:"losses"`
	Smoothed []jsonfloat.Float `json:"smoothed"`
	// Stopped says why the test ended before Steps steps: the loss
	// exploded, or became NaN; "" if it ran them all.
	Stopped string `json:"stopped,omitempty"`
	// Suggested is the rate where the smoothed loss falls fastest against
	// log(rate), before its minimum: the steepest descent, fast.ai's
	// "steep" suggestion. NaN (null in JSON) if there is no rate to
	// suggest, and NoSuggestion says why: no smoothed loss was finite,
	// fewer than MinSuggestSteps were, or the smoothed loss never fell
	// below its first value.
	Suggested float64 `json:"suggested"`
	// MinLossLR is the rate of the lowest smoothed loss (a rate, not a
	// loss); MinLossLR/10 is the other common choice. NaN, as Suggested,
	// if there is none. Files written before it was named so call it
	// "min_loss".
	MinLossLR float64 `json:"min_loss_lr"`
	// NoSuggestion says why no rate is suggested ("" if one is).
	NoSuggestion string `json:"no_suggestion,omitempty"`
}

// MinSuggestSteps is the fewest steps of finite loss from which a range
// test suggests a rate: fewer show no slope to read.
const MinSuggestSteps = 5

// lrFindPlain is LRFind without its JSON methods.
type lrFindPlain LRFind

// MarshalJSON writes the record, Suggested and MinLossLR as null when
// they are NaN (as Losses and Smoothed): the fields of the same name at
// the top level replace the embedded ones.
func (f LRFind) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		lrFindPlain
		Suggested jsonfloat.Float `json:"suggested"`
		MinLossLR jsonfloat.Float `json:"min_loss_lr"`
	}{lrFindPlain(f), jsonfloat.Float(f.Suggested), jsonfloat.Float(f.MinLossLR)})
}

// UnmarshalJSON reads what MarshalJSON writes, null as NaN.
func (f *LRFind) UnmarshalJSON(b []byte) error {
	j := struct {
		*lrFindPlain
		Suggested jsonfloat.Float `json:"suggested"`
		MinLossLR jsonfloat.Float `json:"min_loss_lr"`
	}{lrFindPlain: (*lrFindPlain)(f)}
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	f.Suggested, f.MinLossLR = float64(j.Suggested), float64(j.MinLossLR)
	return nil
}

// FindLR runs the learning-rate range test of Smith (2017), as fast.ai's
// lr_find does: it trains r's model with r's optimizer on the training
// split for cfg.Steps optimizer steps from a fresh start, the rate
// growing exponentially from MinLR to MaxLR, and records the loss of every
// step (with r.Accumulate, the mean loss of the step's batches). It stops
// early when the smoothed loss explodes or the loss becomes NaN — which is
// expected near the top of the range and not an error — and suggests a
// rate (see LRFind). r's own rate and schedule are replaced; the rest
// (optimizer hyperparameters, batch size, accumulation, seed, clipping) is
// used as is. A language model's test (d.Text) trains on batches of
// random windows of its training text. The error returned is for a test
// that cannot run, or that ctx cancelled.
func FindLR(ctx context.Context, r recipe.Recipe, d Data, cfg FindLRConfig) (*LRFind, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := d.check(r); err != nil {
		return nil, err
	}
	if r.IsText() {
		r.Steps = cfg.Steps
	} else {
		steps := r.StepsPerEpoch(d.Splits.Train.Len())
		r.Epochs = (cfg.Steps + steps - 1) / max(steps, 1)
	}
	r.Patience = 0
	r.Optimizer.LR = cfg.MinLR
	r.Schedule = spec.Schedule{Name: "exponential", Gamma: new(math.Pow(cfg.MaxLR/cfg.MinLR, 1/float64(cfg.Steps-1)))}
	f := &LRFind{Recipe: r, Config: cfg}
	stop, cancel := context.WithCancel(ctx)
	defer cancel()
	var avg, best float64
	record := func(loss, lr float64) {
		if len(f.LRs) == cfg.Steps || f.Stopped != "" {
			return
		}
		t := len(f.LRs)
		avg = cfg.Smoothing*avg + (1-cfg.Smoothing)*loss
		s := avg / (1 - math.Pow(cfg.Smoothing, float64(t+1)))
		f.LRs = append(f.LRs, lr)
		f.Losses = append(f.Losses, jsonfloat.Float(loss))
		f.Smoothed = append(f.Smoothed, jsonfloat.Float(s))
		switch {
		case math.IsNaN(s) || math.IsInf(s, 0):
			f.Stopped = fmt.Sprintf("the loss became %v at rate %.3g", loss, lr)
		case t == 0 || s < best:
			best = s
		case s > cfg.Explode*best:
			f.Stopped = fmt.Sprintf("the smoothed loss %.4g exceeded %g× its lowest, %.4g, at rate %.3g", s, cfg.Explode, best, lr)
		}
		if len(f.LRs) == cfg.Steps || f.Stopped != "" {
			cancel()
		}
	}
	var opt interface{ LR(group int) float64 }
	var err error
	if r.IsText() {
		// No validation text: the test evaluates nothing.
		text := &data.Text{Name: d.Text.Name, Vocab: d.Text.Vocab, Train: d.Text.Train}
		var run *recipe.SeqRun
		if run, err = r.BuildSeq(text, train.SeqConfig{OnStep: func(s train.SeqStep) { record(s.Loss, s.LR) }}); err != nil {
			return nil, err
		}
		opt = run.Optimizer
		err = run.Trainer.Run(stop)
	} else {
		// With accumulation, the batches of an optimizer step (the rate
		// moves once a step) make one point, their mean loss, as a
		// language model's step is the mean of its batches of windows.
		var sum float64
		var batches, steps int
		onBatch := func(b train.Batch) {
			sum, batches = sum+b.Loss, batches+1
			if b.Step > steps {
				record(sum/float64(batches), b.LR)
				sum, batches, steps = 0, 0, b.Step
			}
		}
		var run *recipe.Run
		if run, err = r.Build(&data.Splits{Train: d.Splits.Train}, train.Config{OnBatch: onBatch}); err != nil {
			return nil, err
		}
		opt = run.Optimizer
		err = run.Trainer.Run(stop)
	}
	switch {
	case ctx.Err() != nil:
		return nil, ctx.Err()
	case errors.Is(err, context.Canceled), err == nil:
	default:
		// A step that failed: the loss (or a gradient) stopped being
		// finite. That ends the test like an explosion does.
		f.LRs = append(f.LRs, opt.LR(0))
		f.Losses = append(f.Losses, jsonfloat.Float(math.NaN()))
		f.Smoothed = append(f.Smoothed, jsonfloat.Float(math.NaN()))
		f.Stopped = fmt.Sprintf("the step at rate %.3g failed: %v", opt.LR(0), err)
	}
	f.suggest()
	return f, nil
}

// suggest sets Suggested and MinLossLR from the smoothed losses, or
// NoSuggestion.
func (f *LRFind) suggest() {
	f.Suggested, f.MinLossLR, f.NoSuggestion = math.NaN(), math.NaN(), ""
	lo, finite := -1, 0
	for i, s := range f.Smoothed {
		if v := float64(s); !math.IsNaN(v) && !math.IsInf(v, 0) {
			finite++
			if lo < 0 || v < float64(f.Smoothed[lo]) {
				lo = i
			}
		}
	}
	switch {
	case lo < 0:
		f.NoSuggestion = "no loss was a finite number"
		return
	case finite < MinSuggestSteps && f.Stopped != "":
		f.NoSuggestion = fmt.Sprintf("the test stopped after %d steps, too few to show where the loss falls fastest: the range is too high (lower --min-lr and --max-lr)", len(f.Smoothed))
		return
	case finite < MinSuggestSteps && finite == len(f.Smoothed):
		f.NoSuggestion = fmt.Sprintf("%d steps are too few to show where the loss falls fastest (more --steps)", finite)
		return
	case finite < MinSuggestSteps:
		f.NoSuggestion = fmt.Sprintf("the loss was finite for only %d of %d steps, too few to show where it falls fastest: the range is too high (lower --min-lr and --max-lr)", finite, len(f.Smoothed))
		return
	case lo == 0:
		f.NoSuggestion = "the smoothed loss never fell below its first step's: the range is too high (lower --min-lr and --max-lr)"
		return
	}
	f.MinLossLR = f.LRs[lo]
	// The slope against log(rate), by differences over a window of a few
	// points on each side, which the smoothing alone leaves noisy. The
	// first points are skipped: the moving average is still settling.
	w := max(1, len(f.LRs)/25)
	best, at := math.Inf(1), -1
	for i := w; i+w <= lo; i++ {
		d := (float64(f.Smoothed[i+w]) - float64(f.Smoothed[i-w])) / (math.Log(f.LRs[i+w]) - math.Log(f.LRs[i-w]))
		if d < best {
			best, at = d, i
		}
	}
	if at < 0 { // the loss fell no more after the first points
		at = lo
	}
	f.Suggested = f.LRs[at]
}

// Plot returns the chart: the loss and the smoothed loss against the rate
// on a log axis, with markers at the suggested rate and at the rate of the
// lowest loss divided by 10. Losses above twice the highest smoothed loss
// before its minimum (about the loss at the start) are left out, so that
// the blow-up at the end does not flatten the rest.
func (f *LRFind) Plot() plot.LinesSpec {
	raw, smooth := make([]float64, len(f.Losses)), make([]float64, len(f.Smoothed))
	top := math.Inf(1)
	if !math.IsNaN(f.MinLossLR) {
		top = 0
		for i, s := range f.Smoothed {
			if f.LRs[i] > f.MinLossLR {
				break
			}
			top = max(top, 2*float64(s))
		}
	}
	for i := range raw {
		raw[i], smooth[i] = float64(f.Losses[i]), float64(f.Smoothed[i])
		if raw[i] > top {
			raw[i] = math.NaN()
		}
	}
	spec := plot.LinesSpec{
		Title:  fmt.Sprintf("learning-rate range test: %s, %s, batch %d", f.Recipe.Optimizer.Name, f.Recipe.Model, f.Recipe.Batch),
		XLabel: "learning rate", YLabel: "training loss",
		X: f.LRs, LogX: true,
		Series: []plot.Series{{Name: "loss", Y: raw}, {Name: "smoothed", Y: smooth}},
	}
	if !math.IsNaN(f.Suggested) {
		spec.Markers = append(spec.Markers, plot.Marker{Label: fmt.Sprintf("steepest: %.2g", f.Suggested), X: f.Suggested, Y: f.at(f.Suggested)})
	}
	if !math.IsNaN(f.MinLossLR) {
		spec.Markers = append(spec.Markers, plot.Marker{Label: fmt.Sprintf("min/10: %.2g", f.MinLossLR/10), X: f.MinLossLR / 10, Y: math.NaN()})
	}
	return spec
}

// at returns the smoothed loss at rate lr, one of LRs.
func (f *LRFind) at(lr float64) float64 {
	for i, x := range f.LRs {
		if x == lr {
			return float64(f.Smoothed[i])
		}
	}
	return math.NaN()
}

// WriteSummary writes what the test found in a few lines.
func (f *LRFind) WriteSummary(w io.Writer) error {
	_, err := fmt.Fprintf(w, "%d steps, rates %.3g to %.3g", len(f.LRs), f.Config.MinLR, f.lastLR())
	if err != nil {
		return err
	}
	if f.Stopped != "" {
		fmt.Fprintf(w, " (stopped: %s)", f.Stopped)
	}
	fmt.Fprintln(w)
	if f.NoSuggestion != "" {
		_, err = fmt.Fprintf(w, "no learning rate suggested: %s\n", f.NoSuggestion)
		return err
	}
	fmt.Fprintf(w, "suggested learning rate: %.3g (steepest descent of the smoothed loss)\n", f.Suggested)
	_, err = fmt.Fprintf(w, "lowest smoothed loss %.4g at %.3g; a tenth of that: %.3g\n", f.at(f.MinLossLR), f.MinLossLR, f.MinLossLR/10)
	return err
}

// finite reports whether any loss was finite: whether the test has a curve
// to draw.
func (f *LRFind) finite() bool {
	for _, s := range f.Smoothed {
		if v := float64(s); !math.IsNaN(v) && !math.IsInf(v, 0) {
			return true
		}
	}
	return false
}

func (f *LRFind) lastLR() float64 {
	if len(f.LRs) == 0 {
		return math.NaN()
	}
	return f.LRs[len(f.LRs)-1]
}
