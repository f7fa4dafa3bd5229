package optim_test

import (
	"bytes"
	"fmt"

	"github.com/descentml/descent/optim"
	"github.com/descentml/descent/schedule"
)

// minimize runs an optimizer on f(x, y) = (x − 3)² + 10·(y + 1)², a valley
// ten times steeper across than along, from (0, 0), and prints where it is
// after some steps.
func minimize(m optim.Method, lr float64) {
	xy := []float64{0, 0}
	grad := make([]float64, 2)
	opt, err := optim.New([]optim.Param[float64]{{Name: "xy", Shape: []int{2}, Value: xy, Grad: grad}},
		optim.Config{Method: m, LR: schedule.Constant(lr)})
	if err != nil {
		fmt.Println(err)
		return
	}
	for step := 1; step <= 100; step++ {
		grad[0], grad[1] = 2*(xy[0]-3), 20*(xy[1]+1)
		if err := opt.Step(); err != nil {
			fmt.Println(err)
			return
		}
		if step == 1 || step == 10 || step == 100 {
			fmt.Printf("step %3d: x = %7.4f, y = %7.4f\n", step, xy[0], xy[1])
		}
	}
}

// A complete loop: parameters with gradients, an optimizer with a schedule,
// clipping and weight decay, and a step after each gradient.
func ExampleNew() {
	w := []float32{0.5, -0.5, 1.5}
	g := make([]float32, len(w))
	params := []optim.Param[float32]{{Name: "w", Shape: []int{3}, Value: w, Grad: g}}
	opt, err := optim.New(params, optim.Config{
		Method:    optim.DefaultAdamW(),
		LR:        schedule.Cosine{Base: 0.05, TMax: 200},
		ClipNorm:  1,
		DecayMask: optim.WeightsOnly, // w is a vector: no decay
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	for range 200 {
		for i := range w {
			g[i] = 2 * (w[i] - 1) // gradient of Σ(wᵢ − 1)²
		}
		if err := opt.Step(); err != nil {
			fmt.Println(err)
			return
		}
	}
	fmt.Printf("w = %.3f after %d steps\n", w, opt.Steps())
	// Output:
	// w = [1.000 1.000 1.000] after 200 steps
}

func ExampleSGD() {
	minimize(optim.SGD{}, 0.04)
	// Output:
	// step   1: x =  0.2400, y = -0.8000
	// step  10: x =  1.6968, y = -1.0000
	// step 100: x =  2.9993, y = -1.0000
}

// Heavy-ball momentum as PyTorch defines it.
func ExampleSGD_momentum() {
	minimize(optim.SGD{Momentum: 0.9}, 0.04)
	// Output:
	// step   1: x =  0.2400, y = -0.8000
	// step  10: x =  4.6864, y = -1.5612
	// step 100: x =  3.0146, y = -0.9991
}

func ExampleSGD_nesterov() {
	minimize(optim.SGD{Momentum: 0.9, Nesterov: true}, 0.04)
	// Output:
	// step   1: x =  0.4560, y = -1.5200
	// step  10: x =  4.1456, y = -0.9996
	// step 100: x =  3.0002, y = -1.0000
}

// The textbook's momentum: an exponential moving average of gradients.
func ExampleSGD_ema() {
	minimize(optim.SGD{Momentum: 0.9, EMA: true}, 0.04)
	// Output:
	// step   1: x =  0.0240, y = -0.0800
	// step  10: x =  0.9257, y = -1.5621
	// step 100: x =  2.9855, y = -1.0049
}

func ExampleRMSprop() {
	minimize(optim.DefaultRMSprop(), 0.1)
	// Output:
	// step   1: x =  1.0000, y = -1.0000
	// step  10: x =  2.8535, y = -1.0000
	// step 100: x =  3.0000, y = -1.0000
}

func ExampleAdam() {
	minimize(optim.DefaultAdam(), 0.1)
	// Output:
	// step   1: x =  0.1000, y = -0.1000
	// step  10: x =  0.9858, y = -0.9238
	// step 100: x =  2.9807, y = -0.9971
}

func ExampleAdamW() {
	m := optim.DefaultAdamW()
	m.WeightDecay = 0.1
	minimize(m, 0.1)
	// Output:
	// step   1: x =  0.1000, y = -0.1000
	// step  10: x =  0.9428, y = -0.8852
	// step 100: x =  2.7074, y = -0.9782
}

func ExampleAdagrad() {
	minimize(optim.DefaultAdagrad(), 0.5)
	// Output:
	// step   1: x =  0.5000, y = -0.5000
	// step  10: x =  2.0078, y = -0.9969
	// step 100: x =  2.9993, y = -1.0000
}

func ExampleAdadelta() {
	minimize(optim.DefaultAdadelta(), 1)
	// Output:
	// step   1: x =  0.0032, y = -0.0032
	// step  10: x =  0.0336, y = -0.0334
	// step 100: x =  0.3861, y = -0.3488
}

func ExampleAdamax() {
	minimize(optim.DefaultAdamax(), 0.1)
	// Output:
	// step   1: x =  0.1000, y = -0.1000
	// step  10: x =  0.9210, y = -0.7712
	// step 100: x =  3.0123, y = -1.0033
}

func ExampleNAdam() {
	minimize(optim.DefaultNAdam(), 0.1)
	// Output:
	// step   1: x =  0.1056, y = -0.1056
	// step  10: x =  0.7699, y = -0.6766
	// step 100: x =  3.0047, y = -1.0000
}

func ExampleRAdam() {
	minimize(optim.DefaultRAdam(), 0.1)
	// Output:
	// step   1: x =  0.6000, y = -2.0000
	// step  10: x =  2.4092, y = -0.3157
	// step 100: x =  2.9590, y = -1.0007
}

// ADOPT's first step only measures the gradient: nothing moves.
func ExampleADOPT() {
	minimize(optim.DefaultADOPT(), 0.1)
	// Output:
	// step   1: x =  0.0000, y =  0.0000
	// step  10: x =  0.3404, y = -0.3244
	// step 100: x =  3.0016, y = -1.0023
}

func ExampleAdEMAMix() {
	m := optim.DefaultAdEMAMix()
	m.AlphaWarmup, m.Beta3Warmup = 50, 50
	minimize(m, 0.1)
	// Output:
	// step   1: x =  0.1000, y = -0.1000
	// step  10: x =  0.9886, y = -0.9266
	// step 100: x =  3.0692, y = -1.0164
}

// A custom update rule from transforms: sign descent with momentum (Lion
// without its interpolation), written as a chain. The order is the math.
func ExampleChain() {
	minimize(optim.Chain[float64]{
		&optim.Momentum[float64]{Momentum: 0.9},
		&signOf{},
		&optim.ScaleByLR[float64]{},
	}, 0.05)
	// Output:
	// step   1: x =  0.0500, y = -0.0500
	// step  10: x =  0.5000, y = -0.5000
	// step 100: x =  2.9000, y = -1.0000
}

// signOf is a custom transform: u ← sign(u).
type signOf struct{}

func (signOf) Init(*optim.State[float64], []optim.ParamInfo) error { return nil }
func (signOf) Begin(*optim.StepInfo)                               {}
func (signOf) Update(_, _ int, u, _ []float64) {
	for i, v := range u {
		switch {
		case v > 0:
			u[i] = 1
		case v < 0:
			u[i] = -1
		}
	}
}

func ExampleClipGradNorm() {
	grads := [][]float64{{3, 0}, {0, 4}}
	norm, _ := optim.ClipGradNorm(grads, 1, 2)
	fmt.Printf("norm %.1f, clipped %.4f\n", norm, grads)
	// Output:
	// norm 5.0, clipped [[0.6000 0.0000] [0.0000 0.8000]]
}

// Saving the optimizer's state and loading it into a new optimizer for the
// same parameters continues the run exactly.
func ExampleOptimizer_Save() {
	w := []float64{1, 2}
	params := []optim.Param[float64]{{Name: "w", Shape: []int{2}, Value: w, Grad: []float64{0.5, -0.5}}}
	opt, _ := optim.New(params, optim.Config{Method: optim.DefaultAdam()})
	opt.Step()
	var buf bytes.Buffer
	if err := opt.Save(&buf); err != nil {
		fmt.Println(err)
		return
	}
	resumed, _ := optim.New(params, optim.Config{Method: optim.DefaultAdam()})
	if err := resumed.Load(&buf); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("resumed at step", resumed.Steps())
	// Output:
	// resumed at step 1
}
