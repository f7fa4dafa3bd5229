package train

import (
	"maps"
	"math"

	"github.com/descentml/descent/internal/jsonfloat"
	"github.com/descentml/descent/internal/kernel"
	"github.com/descentml/descent/nn"
	"github.com/descentml/descent/optim"
	"github.com/descentml/descent/tensor"
)

// This file gathers what the optimizer did between two evaluations
// (Diagnostics) at a cost that lets it stay on: the gradient norm is the
// one clipping measured, or one pass over the gradients a step; the
// weights are copied once an evaluation, before its last step. None of it
// changes what a step computes.

// Diagnostics is what the optimizer did over the steps since the last
// evaluation, as metrics.jsonl records it beside each epoch (Epoch) or
// each evaluation of a steps-based run (SeqMetrics).
type Diagnostics struct {
	// GradNormMean and GradNormMax are the mean and the largest global
	// 2-norm of the gradients before clipping (optim.GradStats) over the
	// optimizer steps since the last evaluation; NaN without one. In a
	// data-parallel run it is the norm of the averaged gradient, the same
	// on every rank.
	GradNormMean, GradNormMax float64
	// ClipFraction is the fraction of those steps in which clipping
	// changed the gradients; NaN when the optimizer does not clip.
	ClipFraction float64
	// UpdateRatio is ‖Δθ‖/‖θ‖ (2-norms) of each parameter tensor, by name,
	// at the last step before the evaluation: θ the weights before that
	// step (the training point y for Schedule-Free), Δθ what the step
	// changed. A tensor of norm 0 is left out (its ratio is undefined);
	// nil if no step was watched.
	UpdateRatio map[string]float64
	// Optimizer holds the optimizer's own signals after that step
	// (optim.Optimizer.Diagnostics): "sf_c", "muon_update_rms",
	// "prodigy_d" (which Epoch keeps in ProdigyD instead).
	Optimizer map[string]float64
}

// noDiagnostics is the Diagnostics of an evaluation that has none: a
// metrics.jsonl from before they were recorded.
var noDiagnostics = Diagnostics{GradNormMean: math.NaN(), GradNormMax: math.NaN(), ClipFraction: math.NaN()}

// diagJSON is Diagnostics as metrics.jsonl holds it, inside an epoch's or
// an evaluation's object; a field not recorded (NaN) is left out, and a
// number of a map that is not finite (a ratio or a signal beyond
// float64's range) is null.
type diagJSON struct {
	GradNormMean jsonfloat.Optional         `json:"grad_norm_mean,omitzero"`
	GradNormMax  jsonfloat.Optional         `json:"grad_norm_max,omitzero"`
	ClipFraction jsonfloat.Optional         `json:"clip_fraction,omitzero"`
	UpdateRatio  map[string]jsonfloat.Float `json:"update_ratio,omitempty"`
	Optimizer    map[string]jsonfloat.Float `json:"optimizer,omitempty"`
}

func (d Diagnostics) json() diagJSON {
	return diagJSON{jsonfloat.Finite(d.GradNormMean), jsonfloat.Finite(d.GradNormMax), jsonfloat.Finite(d.ClipFraction),
		floatMap[jsonfloat.Float](d.UpdateRatio), floatMap[jsonfloat.Float](d.Optimizer)}
}

func (j diagJSON) diagnostics() Diagnostics {
	nan := math.NaN()
	return Diagnostics{j.GradNormMean.Or(nan), j.GradNormMax.Or(nan), j.ClipFraction.Or(nan),
		floatMap[float64](j.UpdateRatio), floatMap[float64](j.Optimizer)}
}

// floatMap converts the values of m to To (nil for nil).
func floatMap[To, From ~float64](m map[string]From) map[string]To {
	if m == nil {
		return nil
	}
	c := make(map[string]To, len(m))
	for k, v := range m {
		c[k] = To(v)
	}
	return c
}

// gradSums are the running sums of the gradients' statistics since the
// last evaluation, part of a checkpoint's position so that an interrupted
// epoch reports all its steps.
type gradSums struct {
	GradNormSum float64 `json:"grad_norm_sum,omitempty"`
	GradNormMax float64 `json:"grad_norm_max,omitempty"`
	GradSteps   int     `json:"grad_steps,omitempty"`
	Clipped     int     `json:"clipped,omitempty"`
	Clips       bool    `json:"clips,omitempty"`
}

// noteStep adds the last step of o to the sums, if o took a step since it
// had taken stepsBefore (a step skipped for a non-finite gradient is not
// one). Call it after the step, before the gradients are discarded. The
// optimizer measures the norm in its finiteness check
// (optim.MeasureGradNorm), so that without clipping it costs no pass.
func noteStep[T tensor.Float](s *gradSums, o *optim.Optimizer[T], stepsBefore int) {
	if o.Steps() == stepsBefore {
		return
	}
	st := o.LastGradStats()
	if math.IsInf(st.Norm, 0) || math.IsNaN(st.Norm) {
		return // a float64 norm beyond the range, of finite gradients: left out
	}
	s.GradNormSum += st.Norm
	s.GradNormMax = max(s.GradNormMax, st.Norm)
	s.GradSteps++
	s.Clips = st.Clips
	if st.Clipped {
		s.Clipped++
	}
}

// valid reports whether sums read from a checkpoint could be a run's.
func (s gradSums) valid() bool {
	return s.GradSteps >= 0 && s.Clipped >= 0 && s.Clipped <= s.GradSteps &&
		s.GradNormSum >= 0 && s.GradNormMax >= 0 && !math.IsInf(s.GradNormSum, 0)
}

// diagnostics returns the Diagnostics of the sums, the update ratios
// watched and the optimizer's signals, and starts the sums again.
func diagnostics[T tensor.Float](s *gradSums, w *updateWatch[T], o *optim.Optimizer[T]) Diagnostics {
	d := noDiagnostics
	if s.GradSteps > 0 {
		d.GradNormMean, d.GradNormMax = s.GradNormSum/float64(s.GradSteps), s.GradNormMax
		if s.Clips {
			d.ClipFraction = float64(s.Clipped) / float64(s.GradSteps)
		}
	}
	d.UpdateRatio, w.ratio = w.ratio, nil
	d.Optimizer = o.Diagnostics()
	*s = gradSums{}
	return d
}

// updateWatch measures ‖Δθ‖/‖θ‖ of each parameter over one step: arm
// copies the weights before it, measure compares them after.
type updateWatch[T tensor.Float] struct {
	before [][]T // made by init, reused; after measure, the step's −Δθ
	armed  bool
	ratio  map[string]float64 // the last measure's, until diagnostics takes it
}

// init makes the copy of params' weights, once, so that no step allocates.
func (w *updateWatch[T]) init(params []nn.Param[T]) {
	w.before = make([][]T, len(params))
	for i, p := range params {
		w.before[i] = make([]T, len(p.Value))
	}
}

// arm copies the weights of params, to be measured after the next step.
func (w *updateWatch[T]) arm(params []nn.Param[T]) {
	if w.before == nil {
		w.init(params)
	}
	for i, p := range params {
		copy(w.before[i], p.Value)
	}
	w.armed = true
}

// measure sets the ratios of the step taken since arm, if armed.
func (w *updateWatch[T]) measure(params []nn.Param[T]) {
	if !w.armed {
		return
	}
	w.armed = false
	w.ratio = make(map[string]float64, len(params))
	for i, p := range params {
		// Vector kernels: on a small set an epoch is a few dozen steps, and
		// a scalar loop over the weights, on one core, cost one of them.
		// The difference is exact for every weight the step did not more
		// than halve or double (Sterbenz), and the sums are in float64.
		tt := kernel.SumSquares(w.before[i])
		kernel.Axpy(-1, p.Value, w.before[i])
		dd := kernel.SumSquares(w.before[i])
		if tt > 0 {
			w.ratio[p.Name] = math.Sqrt(dd / tt)
		}
	}
}

// withoutProdigyD returns m without "prodigy_d", which Epoch keeps in a
// field of its own.
func withoutProdigyD(m map[string]float64) map[string]float64 {
	if _, ok := m["prodigy_d"]; !ok {
		return m
	}
	m = maps.Clone(m)
	delete(m, "prodigy_d")
	if len(m) == 0 {
		return nil
	}
	return m
}
