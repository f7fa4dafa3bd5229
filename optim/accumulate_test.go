package optim_test

import (
	"fmt"
	"math"
	"math/rand/v2"
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
