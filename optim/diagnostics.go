package optim

import (
	"fmt"
	"math"
)

// This file holds what an optimizer can say about what it is doing, for a
// training loop to log: the gradients a step saw (GradStats) and each
// transform's own signal (Diagnoser). Reading them changes nothing a step
// computes.

// A Diagnoser is a transform with a signal of its own worth watching
// during training: Prodigy's estimate d, Schedule-Free's averaging weight
// c, the RMS of Muon's orthogonalized update. It is optional; a transform
// that implements it is asked after a step.
type Diagnoser interface {
	// Diagnostics calls report with each of its signals, by a name in
	// snake_case, as they stand after the last step.
	Diagnostics(report func(name string, value float64))
}

var (
	_ Diagnoser = (*ScheduleFree[float32])(nil)
	_ Diagnoser = (*Orthogonalize[float32])(nil)
	_ Diagnoser = (*ScaleByProdigy[float32])(nil)
)

// Diagnostics returns the signals of the transforms of every group that
// implement [Diagnoser], by name; a name reported by a later group than
// the first that reports it is suffixed with its group (".group1"). nil
// if no transform has a signal. It allocates: call it once an evaluation,
// not once a step.
func (o *Optimizer[T]) Diagnostics() map[string]float64 {
	var out map[string]float64
	for gi, g := range o.groups {
		for _, tr := range g.chain {
			d, ok := tr.(Diagnoser)
			if !ok {
				continue
			}
			d.Diagnostics(func(name string, v float64) {
				if out == nil {
					out = map[string]float64{}
				}
				if _, dup := out[name]; dup {
					name = fmt.Sprintf("%s.group%d", name, gi)
				}
				out[name] = v
			})
		}
	}
	return out
}

// GradStats is what the last step saw of the gradients.
type GradStats struct {
	// Norm is the global 2-norm of the gradients of every group, before
	// clipping (and before Config.Maximize's negation, which keeps it).
	Norm float64
	// Clips reports whether the optimizer clips at all (Config.ClipNorm or
	// ClipValue); Clipped whether clipping changed the gradients of the
	// last step: their norm (as clipping measures it) above ClipNorm, or
	// an element beyond ±ClipValue.
	Clips, Clipped bool
}

// LastGradStats returns the statistics of the gradients the last Step
// used. Call it after Step and before the gradients change (Step leaves
// them as they were). With clipping by the 2-norm alone, or without
// clipping after MeasureGradNorm(true), it costs nothing: it is the norm
// clipping or the finiteness check measured. Otherwise it takes a pass
// over the gradients, two with ClipValue. Before the first step it
// returns NaN.
func (o *Optimizer[T]) LastGradStats() GradStats {
	if o.t == 0 {
		return GradStats{Norm: math.NaN()}
	}
	var s GradStats
	maxNorm := o.clipMax()
	s.Clips = maxNorm > 0 || o.clipValue > 0
	switch {
	case maxNorm > 0 && o.clipP == 2 && o.clipValue == 0:
		s.Norm = o.clipNorm
	case o.normOK && o.normP == 2 && o.normClamp == 0:
		s.Norm = o.normVal // measured by the step's finiteness check (MeasureGradNorm)
	default:
		s.Norm = o.GradNorm()
	}
	s.Clipped = maxNorm > 0 && o.clipNorm > maxNorm
	if o.clipValue > 0 && !s.Clipped {
		o.normOK, o.normClamp = false, 0
		s.Clipped = o.gradNorm(math.Inf(1)) > o.clipValue
	}
	return s
}

// MeasureGradNorm makes each Step check that the gradients are finite by
// measuring their 2-norm (finite exactly when they are) instead of by a
// pass of its own, so that LastGradStats has it at no cost: a loop that
// logs the norm every step calls it once. The pass costs the same; only a
// float64 norm that overflows over finite gradients is looked at twice.
func (o *Optimizer[T]) MeasureGradNorm(on bool) { o.measureNorm = on }

// clipMax returns Config.ClipNorm, as the clipping transform at the head
// of the chains holds it; 0 without clipping by norm.
func (o *Optimizer[T]) clipMax() float64 {
	if o.clipP == 0 || len(o.groups) == 0 {
		return 0
	}
	for _, tr := range o.groups[0].chain {
		if c, ok := tr.(*ClipByGlobalNorm[T]); ok {
			return c.ClipNorm
		}
	}
	return 0
}

// Diagnostics reports "sf_c", the weight c = w_t/Σw of the last step's
// point in the average x (1 at the first step, then falling as 1/t for
// R = 0 without warmup).
func (s *ScheduleFree[T]) Diagnostics(report func(string, float64)) {
	report("sf_c", float64(s.c))
}

// Diagnostics reports "muon_update_rms", the root mean square of the last
// step's orthogonalized update s·X over every matrix of the group, before
// the learning rate: about √max(1, A/B)/√min(A, B) per matrix by default,
// 0.2 with MatchRMSAdamW.
func (o *Orthogonalize[T]) Diagnostics(report func(string, float64)) {
	if o.count > 0 {
		report("muon_update_rms", math.Sqrt(o.sumSq/float64(o.count)))
	}
}

// Diagnostics reports "prodigy_d", the estimate d the next step will use
// (as [ProdigyD]).
func (p *ScaleByProdigy[T]) Diagnostics(report func(string, float64)) {
	report("prodigy_d", p.D())
}
