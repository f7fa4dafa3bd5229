package spec

import (
	"fmt"

	"github.com/descentml/descent/optim"
	"github.com/descentml/descent/schedule"
)

// AdamW is the vocabulary's "adamw": optim.AdamW, and the key
// schedule-decay for the paper's form of the decay, which needs the run's
// schedule and so is not a hyperparameter optim's struct can hold.
//
// With ScheduleDecay the decay follows the schedule's multiplier
// η_t = α_t/α rather than the learning rate α_t (Loshchilov & Hutter 2019):
//
//	θ ← θ − α_t·m̂/(√v̂ + ε) − η_t·λ·θ
//
// Build sets optim.AdamW.DecaySchedule to η_t, the run's multiplier
// (Rate.Multiplier: the schedule built at base 1, not α_t divided by α).
type AdamW struct {
	optim.AdamW
	ScheduleDecay bool `key:"schedule-decay" help:"weight decay follows the schedule's multiplier lr_t/lr, not the learning rate (the AdamW paper's form)"`
}

var _ Builder = AdamW{}

// Build returns the optim.AdamW for the run's learning rate: with
// ScheduleDecay, its DecaySchedule is lr.Multiplier (Schedule.BuildRate
// makes it for every positive lr; Validate refuses lr ≤ 0 with
// schedule-decay); a rate without one, built by a caller, gets its
// schedule divided by its base.
func (m AdamW) Build(lr Rate) optim.Method {
	w := m.AdamW
	if m.ScheduleDecay {
		w.DecaySchedule = lr.Multiplier
		if lr.Multiplier == nil && lr.Base > 0 { // a caller's own schedule: its rate over its base
			w.DecaySchedule = schedule.Scale{S: lr.Schedule, Factor: 1 / lr.Base}
		}
	}
	return w
}

func (m AdamW) checkLR(lr float64) error {
	if m.ScheduleDecay && !(lr > 0) {
		return fmt.Errorf("schedule-decay measures the schedule against lr, which must be positive (lr = %v)", lr)
	}
	return nil
}
