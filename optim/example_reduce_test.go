package optim_test

import (
	"fmt"

	"github.com/descentml/descent/optim"
	"github.com/descentml/descent/schedule"
)

// fitMatrix runs an optimizer on f(W) = ‖W − T‖²_F for a 2×3 matrix W
// starting at 0.5 everywhere, and prints the loss after some steps.
func fitMatrix(m optim.Method, lr schedule.Schedule, steps int) *optim.Optimizer[float64] {
	target := []float64{1, -2, 0.5, 3, 0, -1}
	w, g := []float64{0.5, 0.5, 0.5, 0.5, 0.5, 0.5}, make([]float64, 6)
	opt, err := optim.New([]optim.Param[float64]{{Name: "w", Shape: []int{2, 3}, Value: w, Grad: g}},
		optim.Config{Method: m, LR: lr})
	if err != nil {
		fmt.Println(err)
		return nil
	}
	for step := 1; step <= steps; step++ {
		loss := 0.0
		for i := range w {
			g[i] = 2 * (w[i] - target[i])
			loss += (w[i] - target[i]) * (w[i] - target[i])
		}
		if err := opt.Step(); err != nil {
			fmt.Println(err)
			return nil
		}
		if step == 1 || step%(steps/4) == 0 {
			fmt.Printf("step %3d: loss %.4f\n", step, loss)
		}
	}
	return opt
}

// Muon's step has the same size whatever the gradient's scale: the
// orthogonalized update has singular values near 1.
func ExampleMuon() {
	m := optim.DefaultMuon()
	m.WeightDecay = 0
	fitMatrix(m, schedule.Cosine{Base: 0.2, TMax: 100}, 100)
	// Output:
	// step   1: loss 15.2500
	// step  25: loss 5.9386
	// step  50: loss 0.0013
	// step  75: loss 0.0005
	// step 100: loss 0.0000
}

// Prodigy needs no learning rate: it estimates the step size d itself.
// Log d as a training loop logs a metric.
func ExampleProdigy() {
	opt := fitMatrix(optim.DefaultProdigy(), nil, 200)
	d, _ := optim.ProdigyD(opt, 0)
	fmt.Printf("d = %.3g\n", d)
	// Output:
	// step   1: loss 15.2500
	// step  50: loss 0.1970
	// step 100: loss 0.0010
	// step 150: loss 0.0000
	// step 200: loss 0.0000
	// d = 0.426
}

func ExampleSOAP() {
	fitMatrix(optim.DefaultSOAP(), schedule.Constant(0.05), 100)
	// Output:
	// step   1: loss 15.2500
	// step  25: loss 5.4669
	// step  50: loss 0.7804
	// step  75: loss 0.1628
	// step 100: loss 0.1554
}

func ExampleLAMB() {
	fitMatrix(optim.DefaultLAMB(), schedule.Cosine{Base: 0.1, TMax: 100}, 100)
	// Output:
	// step   1: loss 15.2500
	// step  25: loss 0.3998
	// step  50: loss 0.1564
	// step  75: loss 0.0279
	// step 100: loss 0.0028
}

func ExampleLARS() {
	fitMatrix(optim.DefaultLARS(), schedule.Cosine{Base: 5, TMax: 100}, 100)
	// Output:
	// step   1: loss 15.2500
	// step  25: loss 8.7910
	// step  50: loss 1.9921
	// step  75: loss 0.0072
	// step 100: loss 0.0295
}

// Muon is for the weight matrices of hidden layers; everything else —
// embeddings, the output layer, biases, normalization gains — goes to
// AdamW, each group with its own learning rate.
func ExampleSplit() {
	shapes := map[string][]int{
		"embed.weight": {100, 16}, "fc1.weight": {32, 16}, "fc1.bias": {32},
		"fc2.weight": {32, 32}, "norm.weight": {32}, "head.weight": {10, 32},
	}
	var params []optim.Param[float32]
	for _, name := range []string{"embed.weight", "fc1.weight", "fc1.bias", "fc2.weight", "norm.weight", "head.weight"} {
		n := 1
		for _, d := range shapes[name] {
			n *= d
		}
		params = append(params, optim.Param[float32]{Name: name, Shape: shapes[name], Value: make([]float32, n), Grad: make([]float32, n)})
	}
	groups, err := optim.Split(params,
		optim.Route{Name: "muon", Match: optim.HiddenMatrix, Method: optim.DefaultMuon(), LR: schedule.Constant(0.02)},
		optim.Route{Name: "adamw", Method: optim.DefaultAdamW(), LR: schedule.Constant(3e-4)},
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, g := range groups {
		fmt.Printf("%T:", g.Method)
		for _, p := range g.Params {
			fmt.Printf(" %s", p.Name)
		}
		fmt.Println()
	}
	opt, err := optim.NewGroups(groups, optim.Config{})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(opt.Groups(), "groups")
	// Output:
	// optim.Muon: fc1.weight fc2.weight
	// optim.AdamW: embed.weight fc1.bias norm.weight head.weight
	// 2 groups
}
