package tune_test

import (
	"context"
	"fmt"
	"math"
	"os"

	"github.com/descentml/descent/tune"
)

func ExampleParseSpace() {
	space, err := tune.ParseSpace("lr=log(1e-4,1e-1) batch=choice(64,128) beta1=uniform(0.8,0.99) layers=int(1,4) act=relu")
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, d := range space.Dims {
		fmt.Println(d)
	}
	_, err = tune.ParseSpace("lr=log(1e-4) wd=0")
	fmt.Println(err)
	// Output:
	// lr=log(0.0001,0.1)
	// batch=choice(64,128)
	// beta1=uniform(0.8,0.99)
	// layers=int(1,4)
	// act=relu
	// tune: space: column 4: log takes 2 bounds, got 1 in "log(1e-4)": want name=log(low,high) with 0 < low < high
	// 	lr=log(1e-4) wd=0
	// 	   ^
}

// A small random search on a synthetic objective whose best learning rate
// is 10^-2.5 ≈ 0.0032. With Journal set, an interrupted run picks up where
// it stopped.
func ExampleSearch() {
	space, _ := tune.ParseSpace("lr=log(1e-4,1e-1) batch=choice(64,128)")
	search := tune.Search{
		Space:  space,
		Method: tune.Random{Trials: 6},
		Seed:   1,
		Budget: 10, // epochs for every trial
		// Journal: "tune.jsonl",
	}
	report, err := search.Run(context.Background(), func(ctx context.Context, t tune.Trial) (tune.Outcome, error) {
		loss := math.Pow(math.Log10(t.Config.Float("lr"))+2.5, 2) + float64(t.Config.Int("batch"))/1000
		return tune.Outcome{Value: loss, Metrics: map[string]float64{"epochs": float64(t.Budget)}}, nil
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	report.WriteTable(os.Stdout)
	best, _ := report.Best()
	fmt.Printf("best: lr=%.2g batch=%s\n", best.Config.Float("lr"), best.Config.String("batch"))
	// Output:
	// rank  id  budget  value   lr         batch  epochs
	// 1     3   10      0.1407  0.004098   128    10
	// 2     2   10      0.3442  0.0107     64     10
	// 3     1   10      0.3576  0.001049   128    10
	// 4     0   10      0.6798  0.0005191  64     10
	// 5     5   10      0.9921  0.0003719  128    10
	// 6     4   10      1.635   0.05343    128    10
	// best: lr=0.0041 batch=128
}
