package spec

import (
	"fmt"

	"github.com/descentml/descent/schedule"
)

// ConstantRate is the rate lr throughout: η_t = 1.
func ConstantRate(lr float64) Rate {
	return Rate{Schedule: schedule.Constant(lr), Base: lr, Multiplier: schedule.Constant(1)}
}

// BuildRate returns the run's rate for a run of epochs epochs of
// stepsPerEpoch steps at base rate lr (see [Schedule.Build]) and the
// momentum schedule of the cycling schedules (nil for the others). The
// multiplier η_t is the same schedule built at base 1, its absolute
// settings (min, max, cyclic's base) measured in units of lr: η_t is
// computed as such, never as α_t/α. Reduce-on-plateau, whose rate is
// state, is the exception: its multiplier reads the plateau's current
// rate over lr. With lr ≤ 0 there is no multiplier (nil).
func (s Schedule) BuildRate(lr float64, epochs, stepsPerEpoch int) (Rate, schedule.Schedule, error) {
	lrs, mom, err := s.Build(lr, epochs, stepsPerEpoch)
	if err != nil {
		return Rate{}, nil, err
	}
	r := Rate{Schedule: lrs, Base: lr}
	if !(lr > 0) {
		return r, mom, nil
	}
	if p, ok := lrs.(*schedule.Plateau); ok {
		r.Multiplier = plateauMultiplier{p, lr}
		return r, mom, nil
	}
	s = s.Resolve(lr, epochs, stepsPerEpoch)
	s.Min /= lr
	for _, p := range []**float64{&s.Max, &s.Base} {
		if *p != nil {
			v := **p / lr
			*p = &v
		}
	}
	if r.Multiplier, _, err = s.Build(1, epochs, stepsPerEpoch); err != nil {
		return Rate{}, nil, fmt.Errorf("spec: the multiplier of schedule %s: %w", s.Name, err)
	}
	return r, mom, nil
}

// plateauMultiplier is η_t of reduce-on-plateau: its current rate over
// its base, since the rate is the plateau's state.
type plateauMultiplier struct {
	p    *schedule.Plateau
	base float64
}

func (m plateauMultiplier) At(t int) float64 { return m.p.At(t) / m.base }
