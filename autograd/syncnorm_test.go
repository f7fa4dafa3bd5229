package autograd

import (
	"math"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/descentml/descent/tensor"
)

// group is an in-process all-reduce over n participants (goroutines), each
// with its rank's reducer: it sums in rank order, as package comm does.
type group struct {
	n  int
	in []chan []float64
	up chan struct{}
}

type member struct {
	g    *group
	rank int
}

func newGroup(n int) *group {
	g := &group{n: n, up: make(chan struct{})}
	for range n {
		g.in = append(g.in, make(chan []float64))
	}
	return g
}

// run sums rounds of contributions until stop is closed.
func (g *group) run(stop <-chan struct{}) {
	for {
		xs := make([][]float64, g.n)
		for r := range g.n {
			select {
			case xs[r] = <-g.in[r]:
			case <-stop:
				return
			}
		}
		sum := make([]float64, len(xs[0]))
		for _, x := range xs {
			for i, v := range x {
				sum[i] += v
			}
		}
		for _, x := range xs {
			copy(x, sum)
		}
		for range g.n {
			g.up <- struct{}{}
		}
	}
}

func (m member) AllReduceSum(x []float64) error {
	m.g.in[m.rank] <- x
	<-m.g.up
	return nil
}

// TestSyncBatchNorm checks that synchronised batch norm over shards of a
// batch (3 and 4 examples) is batch norm of the whole batch: the same
// outputs and statistics, and parameter and input gradients that add up,
// weighted by the shards' shares as train weights them, to the whole
// batch's.
func TestSyncBatchNorm(t *testing.T) {
	for _, shape := range [][]int{{7, 4}, {7, 3, 5}} {
		rng := rand.New(rand.NewPCG(1, 2))
		c := shape[1]
		inner := tensor.Size(shape[2:])
		rnd := func(n int) []float64 {
			x := make([]float64, n)
			for i := range x {
				x[i] = rng.NormFloat64()*2 + 0.5
			}
			return x
		}
		x, r := rnd(tensor.Size(shape)), rnd(tensor.Size(shape))
		gamma, beta := rnd(c), rnd(c)
		row := c * inner // values per example

		// run normalizes examples lo…hi of x with reducer red, with the
		// upstream gradient of the shard's mean loss Σ r·y / n.
		type result struct {
			y, dx, dgamma, dbeta, mean, variance []float64
			count                                int
		}
		run := func(lo, hi int, red BatchReducer, twice bool) result {
			tp := NewTape[float64]()
			tp.SetBatchReducer(red)
			sh := append([]int{hi - lo}, shape[1:]...)
			xv := NewVar(tensor.FromSlice(append([]float64(nil), x[lo*row:hi*row]...), sh...), true)
			g := NewVar(tensor.FromSlice(append([]float64(nil), gamma...), c), true)
			b := NewVar(tensor.FromSlice(append([]float64(nil), beta...), c), true)
			mean, variance := make([]float64, c), make([]float64, c)
			y := tp.BatchNorm(xv, g, b, 1e-5, mean, variance)
			count := tp.SyncedCount()
			if twice { // ∂x is then added to x's gradient from the other use
				y = tp.Add(y, xv)
			}
			dy := make([]float64, len(y.Value().Data()))
			for i := range dy {
				dy[i] = r[lo*row+i] / float64(hi-lo)
			}
			if err := tp.BackwardWith(y, tensor.FromSlice(dy, sh...)); err != nil {
				t.Fatal(err)
			}
			return result{y.Value().Data(), xv.Grad().Data(), g.Grad().Data(), b.Grad().Data(), mean, variance, count}
		}
		for _, twice := range []bool{false, true} {
			whole := run(0, 7, nil, twice)
			g := newGroup(2)
			stop := make(chan struct{})
			go g.run(stop)
			var parts [2]result
			var wg sync.WaitGroup
			bounds := [][2]int{{0, 3}, {3, 7}}
			for k := range 2 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					parts[k] = run(bounds[k][0], bounds[k][1], member{g, k}, twice)
				}()
			}
			wg.Wait()
			close(stop)

			near := func(what string, got, want float64) {
				t.Helper()
				if math.Abs(got-want) > 1e-12*max(1, math.Abs(want)) {
					t.Fatalf("%v twice=%v: %s = %.17g, want %.17g", shape, twice, what, got, want)
				}
			}
			dgamma, dbeta := make([]float64, c), make([]float64, c)
			for k, p := range parts {
				lo, hi := bounds[k][0], bounds[k][1]
				w := float64(hi-lo) / 7
				if p.count != 7*inner {
					t.Fatalf("%v: SyncedCount = %d, want %d", shape, p.count, 7*inner)
				}
				for i := range p.y {
					near("y", p.y[i], whole.y[lo*row+i])
					near("w·∂x", w*p.dx[i], whole.dx[lo*row+i])
				}
				for ch := range c {
					near("mean", p.mean[ch], whole.mean[ch])
					near("variance", p.variance[ch], whole.variance[ch])
					dgamma[ch] += w * p.dgamma[ch]
					dbeta[ch] += w * p.dbeta[ch]
				}
			}
			for ch := range c {
				near("Σw·∂γ", dgamma[ch], whole.dgamma[ch])
				near("Σw·∂β", dbeta[ch], whole.dbeta[ch])
			}
		}
	}
}
