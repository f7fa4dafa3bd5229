package comm_test

import (
	"fmt"
	"sync"

	"github.com/descentml/descent/comm"
)

// Three ranks in one process, each a goroutine with its own Comm, sum
// their gradients: every rank ends with the same bytes, as over MPI.
func ExampleLocal() {
	ranks := comm.Local(3)
	out := make([][]float32, len(ranks))
	var wg sync.WaitGroup
	for r, c := range ranks {
		wg.Go(func() {
			grad := []float32{float32(r), 1, 10 * float32(r)} // this rank's gradient
			if err := comm.AllReduceSum(c, grad); err != nil {
				fmt.Println(err)
			}
			out[r] = grad
		})
	}
	wg.Wait()
	for r, g := range out {
		fmt.Println("rank", r, g)
	}
	// Output:
	// rank 0 [3 3 30]
	// rank 1 [3 3 30]
	// rank 2 [3 3 30]
}
