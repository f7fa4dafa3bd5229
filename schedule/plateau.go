package schedule

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
)

// PlateauConfig configures a [Plateau] schedule. Start from
// [DefaultPlateau]: zero is a real value for several fields.
type PlateauConfig struct {
	Base     float64 // initial rate
	Maximize bool    // the metric improves upward (accuracy), not downward (loss)
	Factor   float64 // the rate is multiplied by Factor on a plateau; in (0, 1); default 0.1
	// Patience is the number of observations without improvement tolerated
	// before the rate drops; default 10.
	Patience int
	// Threshold is the least improvement that counts: relative
	// (best·(1 ∓ Threshold)) unless AbsThreshold (best ∓ Threshold); default 1e-4.
	Threshold    float64
	AbsThreshold bool
	Cooldown     int     // observations to wait after a drop before counting again; default 0
	Min          float64 // the rate never drops below Min; default 0
	// Eps: a drop smaller than Eps is not made; default 1e-8.
	Eps float64
}

// DefaultPlateau returns PyTorch's ReduceLROnPlateau defaults for a metric to
// minimize, starting from rate base.
func DefaultPlateau(base float64) PlateauConfig {
	return PlateauConfig{Base: base, Factor: 0.1, Patience: 10, Threshold: 1e-4, Eps: 1e-8}
}

// Validate reports settings PyTorch rejects, and a Threshold, Min, Eps or
// Base that is negative or not finite (a NaN Eps would never let the rate
// drop).
func (c PlateauConfig) Validate() error {
	switch {
	case !(c.Factor > 0 && c.Factor < 1):
		return fmt.Errorf("schedule: Plateau.Factor = %v: must be in (0, 1)", c.Factor)
	case c.Patience < 0:
		return fmt.Errorf("schedule: Plateau.Patience = %d: must not be negative", c.Patience)
	case c.Cooldown < 0:
		return fmt.Errorf("schedule: Plateau.Cooldown = %d: must not be negative", c.Cooldown)
	}
	if err := checkNonNegative("Plateau.Threshold", c.Threshold); err != nil {
		return err
	}
	return firstErr(checkNonNegative("Plateau.Min", c.Min), checkNonNegative("Plateau.Eps", c.Eps), checkNonNegative("Plateau.Base", c.Base))
}

// Plateau lowers the rate when a metric has stopped improving (PyTorch's
// ReduceLROnPlateau). Unlike the other schedules it is stateful: its value
// is set by the metrics passed to Observe, typically the validation loss once
// per epoch, not by the step. Its state is saved with the optimizer's
// (MarshalBinary, UnmarshalBinary).
type Plateau struct {
	cfg  PlateauConfig
	lr   float64
	best float64 // best metric seen
	bad  int     // observations since the last improvement
	cool int     // cooldown observations left
	seen int     // observations so far
}

// NewPlateau returns a plateau schedule at its initial rate.
func NewPlateau(c PlateauConfig) (*Plateau, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	p := &Plateau{cfg: c, lr: c.Base, best: math.Inf(1)}
	if c.Maximize {
		p.best = math.Inf(-1)
	}
	return p, nil
}

// At returns the current rate, whatever the step.
func (p *Plateau) At(int) float64 { return p.lr }

// Config returns the schedule's configuration.
func (p *Plateau) Config() PlateauConfig { return p.cfg }

// Observe records one value of the metric and reports whether it lowered
// the rate. A NaN metric never counts as an improvement.
func (p *Plateau) Observe(metric float64) (reduced bool) {
	p.seen++
	if p.better(metric) {
		p.best, p.bad = metric, 0
	} else {
		p.bad++
	}
	if p.cool > 0 {
		p.cool--
		p.bad = 0
	}
	if p.bad > p.cfg.Patience {
		lr := max(p.lr*p.cfg.Factor, p.cfg.Min)
		if p.lr-lr > p.cfg.Eps {
			p.lr, reduced = lr, true
		}
		p.cool, p.bad = p.cfg.Cooldown, 0
	}
	return reduced
}

func (p *Plateau) better(a float64) bool {
	c := p.cfg
	switch {
	case !c.Maximize && !c.AbsThreshold:
		return a < p.best*(1-c.Threshold)
	case !c.Maximize:
		return a < p.best-c.Threshold
	case !c.AbsThreshold:
		return a > p.best*(1+c.Threshold)
	default:
		return a > p.best+c.Threshold
	}
}

// plateauState is the saved form of a Plateau's state. Floats are strings so
// that ±Inf survive and every bit round-trips.
type plateauState struct {
	LR       string `json:"lr"`
	Best     string `json:"best"`
	Bad      int    `json:"bad_epochs"`
	Cooldown int    `json:"cooldown_left"`
	Seen     int    `json:"observations"`
}

// MarshalBinary encodes the schedule's state (not its configuration) as
// JSON.
func (p *Plateau) MarshalBinary() ([]byte, error) {
	return json.Marshal(plateauState{
		LR: formatFloat(p.lr), Best: formatFloat(p.best),
		Bad: p.bad, Cooldown: p.cool, Seen: p.seen,
	})
}

// UnmarshalBinary restores state written by MarshalBinary.
func (p *Plateau) UnmarshalBinary(b []byte) error {
	var s plateauState
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("schedule: plateau state: %v", err)
	}
	lr, err1 := strconv.ParseFloat(s.LR, 64)
	best, err2 := strconv.ParseFloat(s.Best, 64)
	// A rate must be one a run can use; best may be +Inf (nothing seen yet).
	if err1 != nil || err2 != nil || checkNonNegative("lr", lr) != nil || math.IsNaN(best) || s.Bad < 0 || s.Cooldown < 0 || s.Seen < 0 {
		return fmt.Errorf("schedule: plateau state is corrupt: %s", b)
	}
	p.lr, p.best, p.bad, p.cool, p.seen = lr, best, s.Bad, s.Cooldown, s.Seen
	return nil
}

func formatFloat(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
