package optim_test

import (
	"bytes"
	"fmt"
	"math"
	"slices"
	"testing"

	"github.com/descentml/descent/optim"
	"github.com/descentml/descent/schedule"
)

// TestAveragerFormulas checks SWA and EMA against their definitions, the
// first update's copy and Start.
func TestAveragerFormulas(t *testing.T) {
	for _, c := range []optim.Averaging{{Start: 2}, {EMA: true, Decay: 0.9, Start: 1}} {
		w := []float64{0}
		a, err := optim.NewAverager([]optim.Param[float64]{{Name: "w", Shape: []int{1}, Value: w, Grad: []float64{0}}}, c)
		if err != nil {
			t.Fatal(err)
		}
		want, n := 0.0, 0
		for step := 1; step <= 6; step++ {
			w[0] = float64(step * step)
			if err := a.Update(step); err != nil {
				t.Fatal(err)
			}
			if step > c.Start {
				switch {
				case n == 0:
					want = w[0]
				case c.EMA:
					want = c.Decay*want + (1-c.Decay)*w[0]
				default:
					want += (w[0] - want) / float64(n+1)
				}
				n++
			}
			if got := a.Average(0)[0]; math.Abs(got-want) > 1e-12 || a.Count() != n {
				t.Errorf("%+v after step %d: average %v, count %d; want %v, %d", c, step, got, a.Count(), want, n)
			}
		}
	}
	if _, err := optim.NewAverager[float64](nil, optim.Averaging{EMA: true, Decay: 1}); err == nil {
		t.Error("EMA with decay 1: NewAverager succeeded; want an error")
	}
}

// TestAveragerSwapAndResume checks that Swap exchanges exactly, that Update
// and Save refuse while swapped, and that a run resumed from saved optimizer
// and averager states continues bit for bit.
func TestAveragerSwapAndResume(t *testing.T) {
	cfg := optim.Averaging{EMA: true, Decay: 0.99, Start: 3}
	newRun := func() (*problem, *optim.Optimizer[float64], *optim.Averager[float64]) {
		p := newProblem(21, 12, 4)
		o := mustNew(t, p.params, optim.Config{Method: optim.DefaultAdamW(), LR: schedule.Constant(0.01)})
		a, err := optim.NewAverager(o.Params(0), cfg)
		if err != nil {
			t.Fatal(err)
		}
		return p, o, a
	}
	step := func(p *problem, o *optim.Optimizer[float64], a *optim.Averager[float64]) {
		run(t, p, o, 1)
		if err := a.Update(o.Steps()); err != nil {
			t.Fatal(err)
		}
	}
	fp, fo, fa := newRun()
	hp, ho, ha := newRun()
	for range 6 {
		step(fp, fo, fa)
		step(hp, ho, ha)
	}
	theta := hp.values()
	avg := [][]float64{slices.Clone(ha.Average(0)), slices.Clone(ha.Average(1))}
	ha.Swap()
	sameBits(t, "parameters after Swap", hp.values(), avg)
	if err := ha.Update(ho.Steps()); err == nil {
		t.Error("Update while swapped succeeded; want an error")
	}
	var buf bytes.Buffer
	if err := ha.Save(&buf); err == nil {
		t.Error("Save while swapped succeeded; want an error")
	}
	ha.Swap()
	sameBits(t, "parameters after two Swaps", hp.values(), theta)

	var os, as bytes.Buffer
	if err := ho.Save(&os); err != nil {
		t.Fatal(err)
	}
	if err := ha.Save(&as); err != nil {
		t.Fatal(err)
	}
	rp, ro, ra := newRun()
	for i := range rp.params {
		copy(rp.params[i].Value, hp.params[i].Value)
	}
	rp.rng = hp.rng
	if err := ro.Load(&os); err != nil {
		t.Fatal(err)
	}
	if err := ra.Load(&as); err != nil {
		t.Fatal(err)
	}
	for range 6 {
		step(fp, fo, fa)
		step(rp, ro, ra)
	}
	sameBits(t, "resumed parameters", rp.values(), fp.values())
	sameBits(t, "resumed average", [][]float64{ra.Average(0), ra.Average(1)}, [][]float64{fa.Average(0), fa.Average(1)})
	if ra.Count() != fa.Count() || fa.Count() != 9 {
		t.Errorf("counts %d (resumed), %d; want 9", ra.Count(), fa.Count())
	}

	other, _ := optim.NewAverager(rp.params, optim.Averaging{Start: 3})
	as.Reset()
	fa.Save(&as)
	if err := other.Load(&as); err == nil {
		t.Error("loading an EMA average into an SWA averager succeeded; want an error")
	}
}

// An exponential moving average of the weights: evaluate and save with the
// average swapped in, train with the weights.
func ExampleAverager() {
	w := []float64{0}
	g := []float64{0}
	params := []optim.Param[float64]{{Name: "w", Shape: []int{1}, Value: w, Grad: g}}
	opt, _ := optim.New(params, optim.Config{Method: optim.SGD{}, LR: schedule.Constant(0.5)})
	avg, _ := optim.NewAverager(params, optim.Averaging{EMA: true, Decay: 0.9})
	for step := range 50 {
		g[0] = w[0] - 1 + []float64{0.4, -0.4}[step%2] // noisy gradient of (w − 1)²/2
		opt.Step()
		avg.Update(opt.Steps())
	}
	fmt.Printf("weights %.4f\n", w[0])
	avg.Swap()
	fmt.Printf("average %.4f after %d updates\n", w[0], avg.Count())
	avg.Swap()
	fmt.Printf("weights %.4f again\n", w[0])
	// Output:
	// weights 1.1333
	// average 1.0026 after 50 updates
	// weights 1.1333 again
}
