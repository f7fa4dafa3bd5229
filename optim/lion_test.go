package optim_test

import (
	"math"
	"testing"

	"github.com/descentml/descent/internal/kernel"
	"github.com/descentml/descent/optim"
	"github.com/descentml/descent/schedule"
)

// TestCautiousLionSumsWholeTensors checks the per-tensor reduction on a
// parameter spread over several chunks and threads against a plain loop:
// cautious Lion's mask count is over the whole tensor.
func TestCautiousLionSumsWholeTensors(t *testing.T) {
	if testing.Short() {
		t.Skip("large parameters")
	}
	defer kernel.SetThreads(0)
	const n, lr, b1, b2, wd = 600_001, 0.01, 0.9, 0.99, 0.1
	for _, threads := range []int{1, 3} {
		kernel.SetThreads(threads)
		p := newProblem(13, n, 5)
		want := p.values()
		m := [][]float64{make([]float64, n), make([]float64, 5)}
		c := optim.DefaultLion()
		c.Cautious, c.WeightDecay = true, wd
		o := mustNew(t, p.params, optim.Config{Method: c, LR: schedule.Constant(lr)})
		for range 3 {
			p.grad()
			for i, q := range p.params {
				sum, dir := 0.0, make([]float64, len(q.Grad))
				for j, g := range q.Grad {
					s := math.Copysign(1, b1*m[i][j]+(1-b1)*g)
					if s*g > 0 {
						dir[j], sum = s, sum+1
					}
					m[i][j] = b2*m[i][j] + (1-b2)*g
				}
				scale := float64(len(dir)) / (sum + 1)
				for j := range dir {
					want[i][j] -= lr * (dir[j]*scale + wd*want[i][j])
				}
			}
			if err := o.Step(); err != nil {
				t.Fatal(err)
			}
		}
		for i, v := range p.values() {
			for j := range v {
				if d := math.Abs(v[j] - want[i][j]); d > 1e-12 {
					t.Fatalf("threads=%d: params[%d][%d] = %v; want %v", threads, i, j, v[j], want[i][j])
				}
			}
		}
	}
}

func ExampleLion() {
	minimize(optim.DefaultLion(), 0.05)
	// Output:
	// step   1: x =  0.0500, y = -0.0500
	// step  10: x =  0.5000, y = -0.5000
	// step 100: x =  4.5000, y = -1.0000
}

// A cautious AdamW skips the coordinates where its momentum still points
// against the gradient.
func ExampleAdamW_cautious() {
	m := optim.DefaultAdamW()
	m.Cautious = true
	minimize(m, 0.1)
	// Output:
	// step   1: x =  0.1000, y = -0.1000
	// step  10: x =  0.9814, y = -0.9198
	// step 100: x =  2.9703, y = -0.9983
}

func ExampleLion_cautious() {
	m := optim.DefaultLion()
	m.Cautious = true
	minimize(m, 0.05)
	// Output:
	// step   1: x =  0.0333, y = -0.0333
	// step  10: x =  0.3333, y = -0.3333
	// step 100: x =  3.0333, y = -1.0333
}
