package optim_test

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/descentml/descent/optim"
	"github.com/descentml/descent/schedule"
)

// setGrads sets the gradients of p to g, in order over its parameters.
func setGrads(p *problem, g ...float64) {
	for _, q := range p.params {
		for j := range q.Grad {
			q.Grad[j], g = g[0], g[1:]
		}
	}
}

// TestLastGradStats checks the gradient norm before clipping and whether
// clipping fired, for every way of clipping: the 2-norm is of the
// gradients as given, whatever the clipping's order or clamp.
func TestLastGradStats(t *testing.T) {
	grads := []float64{3, 0, 0, 4} // 2-norm 5, 1-norm 7, ∞-norm 4
	for _, c := range []struct {
		name           string
		cfg            optim.Config
		clips, clipped bool
	}{
		{"no clipping", optim.Config{}, false, false},
		{"clip-norm 1", optim.Config{ClipNorm: 1}, true, true},
		{"clip-norm 6", optim.Config{ClipNorm: 6}, true, false},
		{"clip-norm 6, 1-norm", optim.Config{ClipNorm: 6, ClipNormType: 1}, true, true},
		{"clip-norm 5, ∞-norm", optim.Config{ClipNorm: 5, ClipNormType: math.Inf(1)}, true, false},
		{"clip-value 3.5", optim.Config{ClipValue: 3.5}, true, true},
		{"clip-value 4", optim.Config{ClipValue: 4}, true, false},
		{"clip-value 3.5, clip-norm 6", optim.Config{ClipValue: 3.5, ClipNorm: 6}, true, true},
		{"maximize", optim.Config{Maximize: true, ClipNorm: 4}, true, true},
	} {
		for _, measure := range []bool{false, true} {
			p := newProblem(1, 2, 2)
			c.cfg.Method, c.cfg.LR = optim.DefaultAdamW(), schedule.Constant(0.01)
			o := mustNew(t, p.params, c.cfg)
			o.MeasureGradNorm(measure)
			if s := o.LastGradStats(); !math.IsNaN(s.Norm) {
				t.Errorf("%s: LastGradStats() before a step = %+v; want a NaN norm", c.name, s)
			}
			setGrads(p, grads...)
			if err := o.Step(); err != nil {
				t.Fatal(err)
			}
			s := o.LastGradStats()
			if math.Abs(s.Norm-5) > 1e-12 || s.Clips != c.clips || s.Clipped != c.clipped {
				t.Errorf("%s (MeasureGradNorm(%v)): LastGradStats() = %+v; want norm 5, clips %v, clipped %v", c.name, measure, s, c.clips, c.clipped)
			}
		}
	}
}

// With MeasureGradNorm the norm is the finiteness check: a NaN gradient
// is still refused, naming the parameter, and finite gradients whose norm
// overflows are not.
func TestMeasureGradNormChecksFinite(t *testing.T) {
	p := newProblem(1, 2, 2)
	o := mustNew(t, p.params, optim.Config{Method: optim.SGD{}, LR: schedule.Constant(1e-300)})
	o.MeasureGradNorm(true)
	setGrads(p, 1, 2, math.NaN(), 4)
	if err := o.Step(); err == nil || !strings.Contains(err.Error(), `"fc1.bias"`) {
		t.Errorf("Step with a NaN gradient = %v; want an error naming fc1.bias", err)
	}
	setGrads(p, 1e200, 1e200, 0, 0)
	if err := o.Step(); err != nil {
		t.Errorf("Step with finite gradients of norm beyond float64: %v; want none", err)
	}
	if s := o.LastGradStats(); !math.IsInf(s.Norm, 1) {
		t.Errorf("LastGradStats() = %+v; want the overflowing norm, +Inf", s)
	}
}

// TestDiagnostics checks the optimizers' own signals: Schedule-Free's
// weight c = 1/t (R = 0, no warmup, a constant rate), Muon's update RMS
// against the update it applied, and none for AdamW.
func TestDiagnostics(t *testing.T) {
	p := newProblem(2, 16, 4)
	o := mustNew(t, p.params, optim.Config{Method: optim.DefaultScheduleFreeAdamW()})
	for step := 1; step <= 4; step++ {
		run(t, p, o, 1)
		if got, want := o.Diagnostics()["sf_c"], 1/float64(step); math.Abs(got-want) > 1e-12 {
			t.Errorf("Schedule-Free after step %d: sf_c = %v; want %v", step, got, want)
		}
	}

	q := newProblem(3, 64) // one 4×16 matrix
	m := optim.DefaultMuon()
	m.WeightDecay = 0
	om := mustNew(t, q.params, optim.Config{Method: m, LR: schedule.Constant(1)})
	if d := om.Diagnostics(); len(d) != 0 {
		t.Errorf("Muon before a step: Diagnostics() = %v; want none", d)
	}
	before := q.values()
	run(t, q, om, 1)
	sum := 0.0
	for j, v := range q.params[0].Value {
		d := v - before[0][j] // −α·s·X with α = 1
		sum += d * d
	}
	want := math.Sqrt(sum / 64)
	if got := om.Diagnostics()["muon_update_rms"]; math.Abs(got-want) > 1e-12*want {
		t.Errorf("Muon: muon_update_rms = %v; want %v, the RMS of the step it took", got, want)
	}

	oa := mustNew(t, newProblem(4, 8).params, optim.Config{Method: optim.DefaultAdamW()})
	if d := oa.Diagnostics(); d != nil {
		t.Errorf("AdamW: Diagnostics() = %v; want nil", d)
	}
}

// A loop logs what each step saw of the gradients, and the optimizer's own
// signals, here Schedule-Free's averaging weight c = 1/t.
func ExampleOptimizer_LastGradStats() {
	w, g := []float64{1, 2}, []float64{0, 0}
	o, err := optim.New([]optim.Param[float64]{{Name: "w", Shape: []int{2}, Value: w, Grad: g}},
		optim.Config{Method: optim.DefaultScheduleFreeAdamW(), ClipNorm: 1})
	if err != nil {
		panic(err)
	}
	for _, grad := range [][]float64{{3, 4}, {0.3, 0.4}} {
		copy(g, grad)
		if err := o.Step(); err != nil {
			panic(err)
		}
		s := o.LastGradStats()
		fmt.Printf("norm %.1f, clipped %v, sf_c %.2f\n", s.Norm, s.Clipped, o.Diagnostics()["sf_c"])
	}
	// Output:
	// norm 5.0, clipped true, sf_c 1.00
	// norm 0.5, clipped false, sf_c 0.50
}
