package optim_test

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/descentml/descent/optim"
	"github.com/descentml/descent/schedule"
)

// TestAccumulateEqualsLargeBatch trains a linear least-squares model with
// the mean loss, once on batches of 12 and once on 4 micro-batches of 3
// accumulated, and checks that every step agrees.
func TestAccumulateEqualsLargeBatch(t *testing.T) {
	const n, d, micro = 12, 5, 4
	rng := rand.New(rand.NewPCG(3, 3))
	x, y := make([][]float64, 10*n), make([]float64, 10*n)
	for i := range x {
		x[i] = make([]float64, d)
		for j := range x[i] {
			x[i][j] = rng.NormFloat64()
		}
		y[i] = rng.NormFloat64()
	}
	// grad sets g to the gradient of the mean of ½(w·x − y)² over rows.
	grad := func(w, g []float64, rows [][]float64, ys []float64) {
		clear(g)
		for i, r := range rows {
			e := -ys[i]
			for j := range r {
				e += w[j] * r[j]
			}
			for j := range r {
				g[j] += e * r[j] / float64(len(rows))
			}
		}
	}
	for _, m := range []optim.Method{optim.SGD{Momentum: 0.9}, optim.DefaultAdamW()} {
		wa, ga := make([]float64, d), make([]float64, d)
		wb, gb := make([]float64, d), make([]float64, d)
		cfg := optim.Config{Method: m, LR: schedule.Cosine{Base: 0.05, TMax: 10}, ClipNorm: 1}
		oa, _ := optim.New([]optim.Param[float64]{{Name: "w", Shape: []int{d}, Value: wa, Grad: ga}}, cfg)
		ob, _ := optim.New([]optim.Param[float64]{{Name: "w", Shape: []int{d}, Value: wb, Grad: gb}}, cfg)
		acc, err := optim.NewAccumulator(ob, micro)
		if err != nil {
			t.Fatal(err)
		}
		for s := range 10 {
			grad(wa, ga, x[s*n:(s+1)*n], y[s*n:(s+1)*n])
			if err := oa.Step(); err != nil {
				t.Fatal(err)
			}
			for k := range micro {
				lo := s*n + k*n/micro
				grad(wb, gb, x[lo:lo+n/micro], y[lo:lo+n/micro])
				stepped, err := acc.Step()
				if err != nil || stepped != (k == micro-1) {
					t.Fatalf("micro-batch %d: Step = %v, %v", k, stepped, err)
				}
			}
			for j := range wa {
				if diff := math.Abs(wa[j] - wb[j]); diff > 1e-13 {
					t.Fatalf("%T step %d: accumulated w[%d] = %v; large batch %v", m, s, j, wb[j], wa[j])
				}
			}
		}
		if ob.Steps() != 10 || acc.Pending() != 0 {
			t.Errorf("%T: %d optimizer steps, %d pending; want 10, 0", m, ob.Steps(), acc.Pending())
		}
	}
	if _, err := optim.NewAccumulator[float64](nil, 0); err == nil {
		t.Error("NewAccumulator(k = 0) succeeded; want an error")
	}
}

// Four micro-batches of one sample make one step on their mean gradient.
func ExampleAccumulator() {
	w := []float64{0}
	g := []float64{0}
	opt, _ := optim.New([]optim.Param[float64]{{Name: "w", Shape: []int{1}, Value: w, Grad: g}},
		optim.Config{Method: optim.SGD{}, LR: schedule.Constant(1)})
	acc, _ := optim.NewAccumulator(opt, 4)
	for _, sample := range []float64{1, 2, 3, 4} {
		g[0] = w[0] - sample // gradient of ½(w − sample)²
		stepped, _ := acc.Step()
		fmt.Println("stepped:", stepped, "w =", w[0])
	}
	// Output:
	// stepped: false w = 0
	// stepped: false w = 0
	// stepped: false w = 0
	// stepped: true w = 2.5
}

// TestAccumulatorFlushAndResume checks that Flush steps on the mean of the
// micro-batches pending, and that an accumulation saved after some of its
// micro-batches and loaded into a new accumulator (and optimizer) goes on
// bit for bit as the one that was not interrupted.
func TestAccumulatorFlushAndResume(t *testing.T) {
	const d = 3
	grads := make([][]float32, 7)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range grads {
		grads[i] = make([]float32, d)
		for j := range grads[i] {
			grads[i][j] = float32(rng.NormFloat64())
		}
	}
	type run struct {
		w, g []float32
		o    *optim.Optimizer[float32]
		acc  *optim.Accumulator[float32]
	}
	newRun := func() run {
		r := run{w: make([]float32, d), g: make([]float32, d)}
		r.o, _ = optim.New([]optim.Param[float32]{{Name: "w", Shape: []int{d}, Value: r.w, Grad: r.g}},
			optim.Config{Method: optim.DefaultAdamW(), LR: schedule.Constant(0.1)})
		var err error
		if r.acc, err = optim.NewAccumulator(r.o, 3); err != nil {
			t.Fatal(err)
		}
		return r
	}
	// feed adds micro-batches lo..hi−1 and flushes after the last of
	// the seven, as a loop does at the end of an epoch of 7 batches.
	feed := func(r run, lo, hi int) {
		for i := lo; i < hi; i++ {
			copy(r.g, grads[i])
			if _, err := r.acc.Step(); err != nil {
				t.Fatal(err)
			}
			clear(r.g)
		}
		if hi == len(grads) {
			if stepped, err := r.acc.Flush(); !stepped || err != nil {
				t.Fatalf("Flush with 1 pending = %v, %v; want a step", stepped, err)
			}
		}
	}
	whole := newRun()
	feed(whole, 0, len(grads))
	if whole.o.Steps() != 3 || whole.acc.Pending() != 0 {
		t.Fatalf("7 micro-batches by 3 and a flush: %d steps, %d pending; want 3, 0", whole.o.Steps(), whole.acc.Pending())
	}
	if stepped, _ := whole.acc.Flush(); stepped {
		t.Error("Flush with none pending stepped")
	}
	for _, stop := range []int{1, 2, 3, 5, 6} {
		first := newRun()
		feed(first, 0, stop)
		var state, acc bytes.Buffer
		if err := first.o.Save(&state); err != nil {
			t.Fatal(err)
		}
		if err := first.acc.Save(&acc); err != nil {
			t.Fatal(err)
		}
		second := newRun()
		copy(second.w, first.w)
		if err := second.o.Load(&state); err != nil {
			t.Fatal(err)
		}
		if err := second.acc.Load(bytes.NewReader(acc.Bytes())); err != nil {
			t.Fatal(err)
		}
		if second.acc.Pending() != stop%3 {
			t.Errorf("stopped after %d: %d pending; want %d", stop, second.acc.Pending(), stop%3)
		}
		feed(second, stop, len(grads))
		for j := range second.w {
			if math.Float32bits(second.w[j]) != math.Float32bits(whole.w[j]) {
				t.Errorf("stopped after %d: w[%d] = %v; uninterrupted %v", stop, j, second.w[j], whole.w[j])
			}
		}
	}
	// An accumulation of another k, or a corrupt count, is refused.
	other := newRun()
	var acc bytes.Buffer
	feed(other, 0, 2)
	other.acc.Save(&acc)
	four, _ := optim.NewAccumulator(newRun().o, 4)
	if err := four.Load(bytes.NewReader(acc.Bytes())); err == nil {
		t.Error("an accumulation of 3 loaded into one of 4")
	}
	bad := bytes.Replace(acc.Bytes(), []byte(`"pending":"2"`), []byte(`"pending":"9"`), 1)
	if err := newRun().acc.Load(bytes.NewReader(bad)); err == nil || !strings.Contains(err.Error(), "corrupt count") {
		t.Errorf("9 pending of 3: %v; want a corrupt count", err)
	}
}
