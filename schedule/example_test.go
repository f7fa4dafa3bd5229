package schedule_test

import (
	"fmt"

	"github.com/descentml/descent/schedule"
)

// show prints a schedule's values at the given steps.
func show(s schedule.Schedule, steps ...int) {
	for i, t := range steps {
		if i > 0 {
			fmt.Print(" ")
		}
		fmt.Printf("%d:%.4g", t, s.At(t))
	}
	fmt.Println()
}

func ExampleConstant() {
	show(schedule.Constant(0.01), 0, 1000)
	// Output:
	// 0:0.01 1000:0.01
}

func ExampleStep() {
	show(schedule.Step{Base: 0.1, Size: 30, Gamma: 0.1}, 0, 29, 30, 60, 90)
	// Output:
	// 0:0.1 29:0.1 30:0.01 60:0.001 90:0.0001
}

func ExampleMultiStep() {
	show(schedule.MultiStep{Base: 0.1, Milestones: []int{30, 80}, Gamma: 0.1}, 0, 29, 30, 79, 80)
	// Output:
	// 0:0.1 29:0.1 30:0.01 79:0.01 80:0.001
}

func ExampleExponential() {
	show(schedule.Exponential{Base: 0.1, Gamma: 0.9}, 0, 1, 2, 10)
	// Output:
	// 0:0.1 1:0.09 2:0.081 10:0.03487
}

// Past TMax, PyTorch's cosine climbs back up.
func ExampleCosine() {
	show(schedule.Cosine{Base: 0.1, TMax: 100, Min: 0.001}, 0, 25, 50, 100, 150, 200)
	// Output:
	// 0:0.1 25:0.0855 50:0.0505 100:0.001 150:0.0505 200:0.1
}

func ExampleCosineRestarts() {
	show(schedule.CosineRestarts{Base: 0.1, T0: 10, Mult: 2}, 0, 5, 9, 10, 20, 29, 30)
	// Output:
	// 0:0.1 5:0.05 9:0.002447 10:0.1 20:0.05 29:0.0006156 30:0.1
}

// A linear warmup from 10% of the rate over 5 steps.
func ExampleLinear() {
	show(schedule.Linear{Base: 0.1, Start: 0.1, End: 1, Steps: 5}, 0, 1, 2, 5, 100)
	// Output:
	// 0:0.01 1:0.028 2:0.046 5:0.1 100:0.1
}

func ExamplePolynomial() {
	show(schedule.Polynomial{Base: 0.1, Steps: 10, Power: 2}, 0, 5, 9, 10, 20)
	// Output:
	// 0:0.1 5:0.025 9:0.001 10:0 20:0
}

// The one-cycle policy: the rate rises for 30% of the steps then anneals,
// while the momentum moves the other way.
func ExampleOneCycle() {
	s := schedule.DefaultOneCycle(0.1, 100)
	show(s, 0, 15, 29, 60, 99)
	show(s.Momentum(), 0, 15, 29, 60, 99)
	// Output:
	// 0:0.004 15:0.0546 29:0.1 60:0.05893 99:4e-07
	// 0:0.95 15:0.8973 29:0.85 60:0.8911 99:0.95
}

func ExampleCyclic() {
	s := schedule.DefaultCyclic(0.001, 0.01)
	s.Up = 4
	show(s, 0, 2, 4, 6, 8)
	show(s.Momentum(), 0, 2, 4, 6, 8)
	// Output:
	// 0:0.001 2:0.0055 4:0.01 6:0.0055 8:0.001
	// 0:0.9 2:0.85 4:0.8 6:0.85 8:0.9
}

// Warmup then cosine decay: a Join of a Linear and a Cosine.
func ExampleJoin() {
	s := schedule.Join{
		Schedules:  []schedule.Schedule{schedule.Linear{Base: 0.1, Start: 0.1, End: 1, Steps: 5}, schedule.Cosine{Base: 0.1, TMax: 15}},
		Boundaries: []int{5},
	}
	show(s, 0, 2, 4, 5, 10, 19)
	// Output:
	// 0:0.01 2:0.046 4:0.082 5:0.1 10:0.075 19:0.001093
}

// Reduce-on-plateau is fed a metric, usually the validation loss each epoch.
func ExamplePlateau() {
	p, err := schedule.NewPlateau(schedule.PlateauConfig{Base: 0.1, Factor: 0.5, Patience: 1, Threshold: 1e-4, Eps: 1e-8})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, loss := range []float64{1.0, 0.8, 0.81, 0.82, 0.7, 0.71, 0.72} {
		reduced := p.Observe(loss)
		fmt.Printf("loss %.2f → rate %.3f (reduced %v)\n", loss, p.At(0), reduced)
	}
	// Output:
	// loss 1.00 → rate 0.100 (reduced false)
	// loss 0.80 → rate 0.100 (reduced false)
	// loss 0.81 → rate 0.100 (reduced false)
	// loss 0.82 → rate 0.050 (reduced true)
	// loss 0.70 → rate 0.050 (reduced false)
	// loss 0.71 → rate 0.050 (reduced false)
	// loss 0.72 → rate 0.025 (reduced true)
}

// The multiplier η_t of a learning-rate schedule: Scale by 1/base, as the
// AdamW paper's weight decay follows the schedule but not the base rate.
func ExampleScale() {
	lr := schedule.Cosine{Base: 0.01, TMax: 10}
	show(schedule.Scale{S: lr, Factor: 1 / 0.01}, 0, 5, 10)
	// Output:
	// 0:1 5:0.5 10:0
}

// A schedule written in epochs, for an optimizer that counts batches: with
// 100 batches per epoch, the rate halves every 2 epochs.
func ExampleEvery() {
	show(schedule.Every{S: schedule.Step{Base: 0.1, Size: 2, Gamma: 0.5}, N: 100}, 0, 199, 200, 399, 400)
	// Output:
	// 0:0.1 199:0.1 200:0.05 399:0.05 400:0.025
}

// SWA's rate: a cosine until step 6, then SWALR from the cosine's rate
// there to 0.01 over 4 steps, as a PyTorch user steps swa_scheduler
// instead of scheduler once SWA has begun.
func ExampleSWALR() {
	base := schedule.Cosine{Base: 0.1, TMax: 20}
	s := schedule.Join{
		Schedules:  []schedule.Schedule{base, schedule.SWALR{From: base.At(6), To: 0.01, Anneal: 4}},
		Boundaries: []int{6},
	}
	show(s, 0, 5, 6, 7, 8, 10, 30)
	// Output:
	// 0:0.1 5:0.08536 6:0.07939 7:0.06923 8:0.04469 10:0.01 30:0.01
}
