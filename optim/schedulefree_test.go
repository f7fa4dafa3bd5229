package optim_test

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/descentml/descent/optim"
	"github.com/descentml/descent/schedule"
)

// TestScheduleFreeEvalTrain checks the switch between the training point y
// and the evaluation point x: Train restores y bit for bit, Step, Save and
// Load refuse to run in between, Eval before the first step changes
// nothing, and methods without an evaluation point are left alone.
func TestScheduleFreeEvalTrain(t *testing.T) {
	p := newProblem(3, 12, 4)
	o := mustNew(t, p.params, optim.Config{Method: optim.DefaultScheduleFreeAdamW(), LR: schedule.Constant(0.05)})
	if !o.HasEvalPoint() {
		t.Fatal("ScheduleFreeAdamW: HasEvalPoint() = false")
	}
	y0 := p.values()
	o.Eval()
	sameBits(t, "Eval before the first step", p.values(), y0)
	o.Train()
	run(t, p, o, 5)
	y := p.values()
	o.Eval()
	o.Eval() // twice is once
	if !o.Evaluating() {
		t.Fatal("Evaluating() = false after Eval")
	}
	x := p.values()
	if x[0][0] == y[0][0] {
		t.Errorf("Eval left params[0][0] at %v; want x ≠ y", x[0][0])
	}
	if err := o.Step(); err == nil {
		t.Errorf("Step between Eval and Train = %v; want an error", err)
	}
	var buf bytes.Buffer
	if err := o.Save(&buf); err == nil {
		t.Error("Save between Eval and Train succeeded; want an error")
	}
	sameBits(t, "x after a refused Step", p.values(), x)
	o.Train()
	sameBits(t, "y after Eval and Train", p.values(), y)
	if err := o.Step(); err != nil {
		t.Fatal(err)
	}

	q := newProblem(3, 12, 4)
	oa := mustNew(t, q.params, optim.Config{Method: optim.DefaultAdamW()})
	run(t, q, oa, 2)
	before := q.values()
	oa.Eval()
	if oa.HasEvalPoint() {
		t.Error("AdamW: HasEvalPoint() = true")
	}
	sameBits(t, "AdamW after Eval", q.values(), before)
	oa.Train()
}

// Schedule-Free trains at y and evaluates at x, a weighted average of its
// base sequence: Eval puts x in the parameters, Train puts y back exactly.
func ExampleScheduleFreeSGD() {
	w := []float64{5}
	g := make([]float64, 1)
	opt, _ := optim.New([]optim.Param[float64]{{Name: "w", Shape: []int{1}, Value: w, Grad: g}},
		optim.Config{Method: optim.DefaultScheduleFreeSGD(), LR: schedule.Constant(0.1)})
	noise := []float64{1, -1, 0.5, -0.5}
	for step := range 200 {
		g[0] = w[0] - 1 + noise[step%4] // gradient of (w − 1)²/2, noisy
		if err := opt.Step(); err != nil {
			fmt.Println(err)
			return
		}
	}
	fmt.Printf("training point y = %.4f\n", w[0])
	opt.Eval()
	fmt.Printf("evaluation point x = %.4f\n", w[0])
	opt.Train()
	fmt.Printf("back to y = %.4f\n", w[0])
	// Output:
	// training point y = 1.0837
	// evaluation point x = 1.0887
	// back to y = 1.0837
}

func ExampleScheduleFreeAdamW() {
	minimize(optim.DefaultScheduleFreeAdamW(), 0.1)
	// Output:
	// step   1: x =  0.1000, y = -0.1000
	// step  10: x =  0.5744, y = -0.5270
	// step 100: x =  3.2055, y = -0.9842
}
