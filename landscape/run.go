package landscape

import (
	"errors"
	"fmt"
	"math"

	"github.com/descentml/descent/optim"
)

// Path is the record of one run: the iterates θ₀ (the start), θ₁, … and f
// at each.
type Path struct {
	Points [][2]float64 `json:"points"`
	Values []float64    `json:"values"`
}

// Steps returns the number of steps the path records.
func (p Path) Steps() int { return max(0, len(p.Points)-1) }

// ErrDiverged is matched by errors.Is for every *DivergedError.
var ErrDiverged = errors.New("landscape: diverged")

// DivergedError reports a run stopped because its iterate blew up.
type DivergedError struct {
	Step  int        // the step that produced the bad iterate
	Point [2]float64 // the iterate (the last finite one, if it was not finite)
	Why   string
}

// Error says at which step and why the run diverged.
func (e *DivergedError) Error() string {
	return fmt.Sprintf("landscape: diverged at step %d: %s", e.Step, e.Why)
}

// Is reports whether target is ErrDiverged.
func (e *DivergedError) Is(target error) bool { return target == ErrDiverged }

// boxScale is how far beyond its domain an iterate may wander, in domain
// sizes from the domain's centre, before a run counts as diverged.
const boxScale = 1000

// Run minimises fn from start with the optimizer cfg sets up, for steps
// steps, and returns the path: steps+1 points, the start first. The
// optimizer sees one float64 parameter of shape [2], θ = (x, y).
//
// A run whose iterate, value or gradient becomes NaN or infinite, or whose
// iterate leaves a box a thousand domain sizes across, stops with a
// *DivergedError (matching ErrDiverged); the path so far is returned with
// it, ending at the last finite iterate. A config optim.New refuses is an
// error with an empty path.
func Run(fn Function, cfg optim.Config, start [2]float64, steps int) (Path, error) {
	if fn.F == nil || fn.Grad == nil {
		return Path{}, fmt.Errorf("landscape: function %q has no F or Grad", fn.Name)
	}
	if steps < 0 {
		return Path{}, fmt.Errorf("landscape: %d steps: must not be negative", steps)
	}
	if !finite(start[0]) || !finite(start[1]) {
		return Path{}, fmt.Errorf("landscape: start %v is not finite", start)
	}
	// θ is a 1×2 matrix, so that the optimizers that work on matrices run
	// too: Muon orthogonalizes the 1×2 momentum, which divides it by its
	// norm (normalized momentum: every step has length lr); SOAP rotates
	// into the eigenbasis of the 2×2 preconditioner R. The elementwise
	// methods do not see the shape.
	theta, grad := []float64{start[0], start[1]}, make([]float64, 2)
	opt, err := optim.New([]optim.Param[float64]{{Name: "theta", Shape: []int{1, 2}, Value: theta, Grad: grad}}, cfg)
	if err != nil {
		return Path{}, fmt.Errorf("landscape: %w", err)
	}
	p := Path{Points: make([][2]float64, 1, steps+1), Values: make([]float64, 1, steps+1)}
	p.Points[0], p.Values[0] = start, fn.F(start[0], start[1])
	d := fn.Domain
	cx, cy := (d.XMin+d.XMax)/2, (d.YMin+d.YMax)/2
	reach := boxScale * max(d.XMax-d.XMin, d.YMax-d.YMin, 1)
	for step := 1; step <= steps; step++ {
		grad[0], grad[1] = fn.Grad(theta[0], theta[1])
		if err := opt.Step(); err != nil {
			if errors.Is(err, optim.ErrNonFinite) {
				return p, &DivergedError{Step: step, Point: p.Points[len(p.Points)-1], Why: fmt.Sprintf("the gradient at %v is (%v, %v)", p.Points[len(p.Points)-1], grad[0], grad[1])}
			}
			return p, fmt.Errorf("landscape: step %d: %w", step, err)
		}
		q := [2]float64{theta[0], theta[1]}
		if !finite(q[0]) || !finite(q[1]) {
			return p, &DivergedError{Step: step, Point: p.Points[len(p.Points)-1], Why: fmt.Sprintf("the iterate became %v", q)}
		}
		v := fn.F(q[0], q[1])
		if !finite(v) {
			return p, &DivergedError{Step: step, Point: p.Points[len(p.Points)-1], Why: fmt.Sprintf("f%v = %v", q, v)}
		}
		p.Points, p.Values = append(p.Points, q), append(p.Values, v)
		if math.Abs(q[0]-cx) > reach || math.Abs(q[1]-cy) > reach {
			return p, &DivergedError{Step: step, Point: q, Why: fmt.Sprintf("the iterate %v left the box of half-width %g around the domain's centre", q, reach)}
		}
	}
	return p, nil
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
