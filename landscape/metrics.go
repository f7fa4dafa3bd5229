package landscape

import (
	"encoding/json"
	"math"

	"github.com/descentml/descent/internal/jsonfloat"
)

// Metrics summarise a run.
type Metrics struct {
	// Steps is the number of steps taken (fewer than asked if the run
	// diverged).
	Steps int `json:"steps"`
	// Reached is the first step at which the iterate lies within the
	// tolerance — a Euclidean distance in (x, y), not a gap in f — of a
	// global minimum (the start is step 0); −1 if it never does, or the
	// function has no minimum.
	Reached int `json:"reached"`
	// Minimum is the index in Function.Minima of the minimum nearest the
	// last iterate; −1 without minima.
	Minimum int `json:"minimum"`
	// FinalDist is the distance from the last iterate to that minimum;
	// NaN without minima (null in JSON).
	FinalDist float64 `json:"final_dist"`
	// FinalF is f at the last iterate.
	FinalF float64 `json:"final_f"`
	// Escaped, for a function without minima, is the first step at which
	// f fell below Function.Escape; −1 if it never did, or the function
	// has minima.
	Escaped int `json:"escaped"`
	// SteepTravel is Σ|⟨Δθ, s⟩| over the steps, s being Function.Steep:
	// how far the iterate moved back and forth across the steep axis.
	// SteepFlips is the number of times ⟨Δθ, s⟩ changed sign between
	// successive (non-zero) steps: one a step for an iterate bouncing
	// from wall to wall of a ravine.
	SteepTravel float64 `json:"steep_travel"`
	SteepFlips  int     `json:"steep_flips"`
}

// Measure computes the metrics of a path on fn, with tol the distance to a
// minimum that counts as reaching it (0 means fn.Tol).
func Measure(fn Function, p Path, tol float64) Metrics {
	if tol == 0 {
		tol = fn.Tol
	}
	m := Metrics{Steps: p.Steps(), Reached: -1, Minimum: -1, Escaped: -1, FinalDist: math.NaN(), FinalF: math.NaN()}
	if len(p.Points) == 0 {
		return m
	}
	for k, q := range p.Points {
		if m.Reached < 0 && len(fn.Minima) > 0 {
			if _, d := nearest(fn.Minima, q); d <= tol {
				m.Reached = k
			}
		}
		if m.Escaped < 0 && len(fn.Minima) == 0 && k < len(p.Values) && p.Values[k] < fn.Escape {
			m.Escaped = k
		}
	}
	last := p.Points[len(p.Points)-1]
	if len(fn.Minima) > 0 {
		m.Minimum, m.FinalDist = nearest(fn.Minima, last)
	}
	if len(p.Values) > 0 {
		m.FinalF = p.Values[len(p.Values)-1]
	}
	prev := 0.0
	for k := 1; k < len(p.Points); k++ {
		d := (p.Points[k][0]-p.Points[k-1][0])*fn.Steep[0] + (p.Points[k][1]-p.Points[k-1][1])*fn.Steep[1]
		m.SteepTravel += math.Abs(d)
		if d == 0 {
			continue
		}
		if prev != 0 && (d > 0) != (prev > 0) {
			m.SteepFlips++
		}
		prev = d
	}
	return m
}

// nearest returns the index of the point of ps nearest q, and its distance.
func nearest(ps [][2]float64, q [2]float64) (int, float64) {
	best, dist := -1, math.Inf(1)
	for i, p := range ps {
		if d := math.Hypot(q[0]-p[0], q[1]-p[1]); d < dist {
			best, dist = i, d
		}
	}
	return best, dist
}

// MarshalJSON writes the metrics with NaN and infinite values as null,
// which JSON has no numbers for.
func (m Metrics) MarshalJSON() ([]byte, error) {
	type plain Metrics
	return json.Marshal(struct {
		plain
		FinalDist jsonfloat.Float `json:"final_dist"`
		FinalF    jsonfloat.Float `json:"final_f"`
	}{plain(m), jsonfloat.Float(m.FinalDist), jsonfloat.Float(m.FinalF)})
}

// UnmarshalJSON reads what MarshalJSON writes, null (or a missing key) as
// NaN.
func (m *Metrics) UnmarshalJSON(b []byte) error {
	type plain Metrics
	nan := jsonfloat.Float(math.NaN())
	v := struct {
		plain
		FinalDist jsonfloat.Float `json:"final_dist"`
		FinalF    jsonfloat.Float `json:"final_f"`
	}{FinalDist: nan, FinalF: nan}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*m = Metrics(v.plain)
	m.FinalDist, m.FinalF = float64(v.FinalDist), float64(v.FinalF)
	return nil
}
