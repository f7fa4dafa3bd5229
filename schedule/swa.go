package schedule

import (
	"fmt"
	"math"
)

// SWALR is the learning rate of stochastic weight averaging (PyTorch's
// torch.optim.swa_utils.SWALR, Izmailov et al. 2018): from the rate From
// in force when SWA begins, it anneals to To over Anneal steps, along half
// a cosine or a line, then holds To:
//
//	lr(k) = To·α(k) + From·(1 − α(k)),  τ = min(k/max(Anneal, 1), 1)
//	α = (1 − cos(π·τ))/2   (cos, the default)
//	α = τ                  (Linear)
//
// k counts the steps since SWA began: At(0) = From, the rate of the step
// at which it begins, and At(Anneal) = To. A run switches to it with a
// [Join] at that step, From being the base schedule's value there, as a
// PyTorch user calls swa_scheduler.step() instead of scheduler.step()
// once SWA has begun.
//
// PyTorch computes each rate from the previous one: it recovers From as
// (lr − α(k−1)·To)/(1 − α(k−1)) and mixes it again with α(k). That is
// the formula above up to rounding (the two agree to 1e-14, relatively);
// here the rate is a function of k alone. PyTorch's constructor with
// anneal_epochs = 0 sets the rate to swa_lr at once, even before SWA
// begins; here Anneal = 0 reaches To at k = 1, the first step after the
// switch, as PyTorch's does, and leaves the steps before alone.
type SWALR struct {
	From   float64 // the rate when SWA begins (k = 0)
	To     float64 // swa_lr: the rate after the anneal
	Anneal int     // anneal_epochs: steps from From to To; 0 switches at once. PyTorch's default is 10
	Linear bool    // anneal along a line (anneal_strategy "linear"); false: half a cosine ("cos")
}

// At returns the rate k steps after SWA began.
func (s SWALR) At(k int) float64 {
	t := min(float64(k)/float64(max(s.Anneal, 1)), 1)
	a := t
	if !s.Linear {
		a = (1 - math.Cos(math.Pi*t)) / 2
	}
	return s.To*a + s.From*(1-a)
}

// Validate reports a negative Anneal, and a From or To that is negative
// or not finite.
func (s SWALR) Validate() error {
	if s.Anneal < 0 {
		return fmt.Errorf("schedule: SWALR.Anneal = %d: must not be negative", s.Anneal)
	}
	if err := checkNonNegative("SWALR.From", s.From); err != nil {
		return err
	}
	return checkNonNegative("SWALR.To", s.To)
}
