package comm

import (
	"math/rand/v2"
	"sync"
	"testing"
)

// TestLocalAllReduceSum checks that the ranks of Local all get the sum of
// their buffers added in rank order, bit for bit, for chunks that differ in
// length and for buffers shorter than the number of ranks.
func TestLocalAllReduceSum(t *testing.T) {
	for _, size := range []int{1, 2, 3} {
		for _, n := range []int{1, 2, 5, 1023, 4099} {
			rng := rand.New(rand.NewPCG(uint64(size), uint64(n)))
			bufs := make([][]float32, size)
			for r := range bufs {
				bufs[r] = make([]float32, n)
				for i := range bufs[r] {
					bufs[r][i] = float32(rng.NormFloat64()) * float32(1+r*1000)
				}
			}
			want := make([]float32, n)
			for i := range want {
				s := bufs[0][i]
				for r := 1; r < size; r++ {
					s += bufs[r][i]
				}
				want[i] = s
			}
			cs := Local(size)
			var wg sync.WaitGroup
			errs := make([]error, size)
			for r := range size {
				wg.Go(func() { errs[r] = AllReduceSum(cs[r], bufs[r]) })
			}
			wg.Wait()
			for r := range size {
				if errs[r] != nil {
					t.Fatalf("%d ranks, %d elements: rank %d: %v", size, n, r, errs[r])
				}
				for i := range want {
					if bufs[r][i] != want[i] {
						t.Fatalf("%d ranks, %d elements: rank %d element %d = %v; want %v", size, n, r, i, bufs[r][i], want[i])
					}
				}
			}
		}
	}
}
