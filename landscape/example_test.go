package landscape_test

import (
	"fmt"
	"os"

	"github.com/descentml/descent/landscape"
)

// The default experiment: five optimizers, 200 steps, on the ravine. Plain
// gradient descent reverses across the steep axis at every step and never
// gets within 0.01 of the minimum; momentum at the same rate reverses half
// as often, travels a quarter as far across, and arrives.
func ExampleExperiment() {
	res, err := landscape.DefaultExperiment(landscape.Ravine()).Run()
	if err != nil {
		fmt.Println(err)
		return
	}
	res.WriteTable(os.Stdout)
	// Output:
	// optimizer  reached  final dist   final f  steep travel  flips  note
	//                          sgd lr=0.02    never       0.159    0.0278          97.3    199
	//            momentum lr=0.02 beta=0.9      105    4.11e-05  6.65e-08          24.9    102
	//   momentum lr=0.02 beta=0.9 ema=true    never      0.0629   0.00198          5.68     29
	//            nesterov lr=0.01 beta=0.9       61    6.28e-05  1.97e-09          2.78     94
	//                       rmsprop lr=0.1      123    1.16e-05  6.74e-11             1    198
	//                          adam lr=0.1    never      0.0498   0.00124           1.9     13
}

// A saddle has no minimum: the table tells when each run escaped, f falling
// below −1, instead.
func ExampleRun() {
	fn, _ := landscape.Lookup("saddle")
	for _, spec := range []string{"sgd lr=0.02", "adam lr=0.05"} {
		opt, _ := landscape.ParseOptimizer(spec)
		path, err := landscape.Run(fn, opt.Config, fn.Start, 200)
		m := landscape.Measure(fn, path, 0)
		fmt.Printf("%-12s escaped at step %d, f = %.3g, error: %v\n", spec, m.Escaped, m.FinalF, err)
	}
	// Output:
	// sgd lr=0.02  escaped at step 177, f = -6.51, error: <nil>
	// adam lr=0.05 escaped at step 22, f = -230, error: <nil>
}
