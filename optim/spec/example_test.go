package spec_test

import (
	"fmt"

	"github.com/descentml/descent/optim"
	"github.com/descentml/descent/optim/spec"
)

// A spec string, as --opt takes it, parsed, read back and built into the
// method optim.New takes.
func ExampleParseOptimizer() {
	o, err := spec.ParseOptimizer("adamw lr=3e-4 wd=0.1")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(o)
	wd, _ := o.Get("wd")
	fmt.Println("name", o.Name, "lr", o.LR, "wd", wd)
	rate := spec.ConstantRate(o.LR) // or a Schedule's BuildRate
	params := []optim.Param[float32]{{Name: "w", Shape: []int{2}, Value: []float32{1, -1}, Grad: []float32{0.5, 0.5}}}
	opt, err := optim.New(params, optim.Config{Method: o.Build(rate), LR: rate.Schedule})
	if err == nil {
		err = opt.Step()
	}
	fmt.Printf("after a step: %.5f %v\n", params[0].Value, err)

	_, err = spec.ParseOptimizer("adamw beta=0.9")
	fmt.Println(err)
	// Output:
	// adamw lr=0.0003 wd=0.1
	// name adamw lr 0.0003 wd 0.1
	// after a step: [0.99967 -1.00027] <nil>
	// spec: optimizer adamw has no hyperparameter "beta" (valid: lr, beta1, beta2, eps, amsgrad, wd, cautious, schedule-decay)
}
