package nn

import (
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/descentml/descent/autograd"
	"github.com/descentml/descent/tensor"
)

// TestSequentialBatchNormReLUMatchesLayers checks that an MLP with batch
// norm, whose BatchNorm and ReLU layers run fused (Sequential.Forward),
// gives the loss, the gradients and the running statistics of the layers
// run one by one, bit for bit, in training and in eval mode, with 1, 2 and
// 3 threads.
func TestSequentialBatchNormReLUMatchesLayers(t *testing.T) {
	defer tensor.SetThreads(0)
	// Spread uses at most GOMAXPROCS workers: allow 3.
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(max(3, runtime.GOMAXPROCS(0))))
	const batch, in = 129, 50
	rng := rand.New(rand.NewPCG(17, 18))
	x := tensor.New[float32](batch, in)
	for i := range x.Data() {
		x.Data()[i] = float32(rng.NormFloat64())
	}
	labels := make([]int, batch)
	for i := range labels {
		labels[i] = rng.IntN(10)
	}
	build := func() *Sequential[float32] {
		r := rand.New(rand.NewPCG(19, 20))
		return NewSequential(
			NewLinear[float32](in, 300, r), NewBatchNorm1d[float32](300), NewReLU[float32](),
			NewLinear[float32](300, 201, r), NewBatchNorm1d[float32](201), NewReLU[float32](),
			NewLinear[float32](201, 10, r))
	}
	run := func(threads int, fused bool, mode Mode) [][]float32 {
		tensor.SetThreads(threads)
		m := build()
		var out [][]float32
		for step, mode := range []Mode{Train, mode} { // the second after the running statistics moved
			m.SetMode(mode)
			ZeroGrad(m.Params())
			out = append(out, []float32{float32(step)})
			out = append(out, lossGrads(t, m, x, labels, fused)...)
			for _, b := range m.Buffers() {
				out = append(out, slices.Clone(b.Value))
				for _, n := range b.Int { // num_batches_tracked
					out = append(out, []float32{float32(n)})
				}
			}
		}
		return out
	}
	for _, mode := range []Mode{Train, Eval} {
		want := run(1, false, mode)
		for _, threads := range []int{1, 2, 3} {
			got := run(threads, true, mode)
			if i, j := firstBitDiff(got, want); i >= 0 {
				t.Fatalf("mode %v, fused with %d threads: result %d [%d] = %v; layers %v", mode, threads, i, j, got[i][j], want[i][j])
			}
		}
	}
}

// TestSequentialBatchNormReLUErrors checks that a batch norm that rejects
// its input says so as its own layer when a ReLU follows it.
func TestSequentialBatchNormReLUErrors(t *testing.T) {
	m := NewSequential[float32](NewBatchNorm1d[float32](4), NewReLU[float32]())
	for _, shape := range [][]int{{1, 4}, {3, 5}} {
		tape := autograd.NewTape[float32]()
		_, err := m.Forward(tape, tape.Const(tensor.New[float32](shape...)))
		if err == nil || !strings.Contains(err.Error(), "(layer 0)") {
			t.Errorf("input %v: error %v; want the batch norm's, as layer 0", shape, err)
		}
	}
}

// TestForwardBatchNormReLUFits checks which inputs Sequential runs through
// BatchNormReLU: [N, C] in training (N ≥ 2) and in eval mode, and none that
// the batch norm would refuse or that is not [N, C].
func TestForwardBatchNormReLUFits(t *testing.T) {
	for _, c := range []struct {
		bn    *BatchNorm[float32]
		mode  Mode
		shape []int
		want  int
	}{
		{NewBatchNorm1d[float32](4), Train, []int{3, 4}, 2},
		{NewBatchNorm1d[float32](4), Eval, []int{3, 4}, 2},
		{NewBatchNorm1d[float32](4), Eval, []int{1, 4}, 2},
		{NewBatchNorm1d[float32](4), Train, []int{1, 4}, 0}, // too few values: the layer's error
		{NewBatchNorm1d[float32](4), Train, []int{3, 5}, 0},
		{NewBatchNorm1d[float32](4), Train, []int{3, 4, 2}, 0},
		{NewBatchNorm2d[float32](4), Train, []int{3, 4}, 0},
	} {
		c.bn.SetMode(c.mode)
		tape := autograd.NewTape[float32]()
		_, n, err := forwardBatchNormReLU(tape, []Module[float32]{c.bn, NewReLU[float32]()}, tape.Const(tensor.New[float32](c.shape...)))
		if n != c.want || err != nil {
			t.Errorf("%v in mode %v on %v: %d layers run, error %v; want %d, none", c.bn, c.mode, c.shape, n, err, c.want)
		}
	}
}

// TestForwardLinearBatchNormReLUFits checks which blocks Sequential runs
// through LinearBatchNormReLU: a Linear, a BatchNorm1d over its outputs in
// training mode and a ReLU, on an input [N, in] with N ≥ 2; and none in
// eval mode, under a BatchReducer, on other inputs or other layers.
func TestForwardLinearBatchNormReLUFits(t *testing.T) {
	rng := rand.New(rand.NewPCG(27, 28))
	l := NewLinear[float32](4, 3, rng)
	bn := func(mode Mode) *BatchNorm[float32] {
		b := NewBatchNorm1d[float32](3)
		b.SetMode(mode)
		return b
	}
	relu := NewReLU[float32]()
	for _, c := range []struct {
		layers  []Module[float32]
		shape   []int
		reducer bool
		want    int
	}{
		{[]Module[float32]{l, bn(Train), relu}, []int{5, 4}, false, 3},
		{[]Module[float32]{l, bn(Train), relu}, []int{2, 4}, false, 3},
		{[]Module[float32]{l, bn(Train), relu}, []int{5, 4}, true, 0},
		{[]Module[float32]{l, bn(Eval), relu}, []int{5, 4}, false, 0},
		{[]Module[float32]{l, bn(Train), relu}, []int{1, 4}, false, 0}, // too few values: the batch norm's error
		{[]Module[float32]{l, bn(Train), relu}, []int{5, 3}, false, 0}, // the Linear layer's error
		{[]Module[float32]{l, bn(Train), relu}, []int{2, 5, 4}, false, 0},
		{[]Module[float32]{l, NewBatchNorm1d[float32](4), relu}, []int{5, 4}, false, 0},
		{[]Module[float32]{l, NewBatchNorm2d[float32](3), relu}, []int{5, 4}, false, 0},
		{[]Module[float32]{l, bn(Train), NewTanh[float32]()}, []int{5, 4}, false, 0},
		{[]Module[float32]{l, bn(Train)}, []int{5, 4}, false, 0},
		{[]Module[float32]{l, relu, bn(Train)}, []int{5, 4}, false, 0},
	} {
		tape := autograd.NewTape[float32]()
		if c.reducer {
			tape.SetBatchReducer(oneProcess{})
		}
		_, n, err := forwardLinearBatchNormReLU(tape, c.layers, tape.Const(tensor.New[float32](c.shape...)))
		if n != c.want || err != nil {
			t.Errorf("%v on %v, reducer %v: %d layers run, error %v; want %d, none", c.layers, c.shape, c.reducer, n, err, c.want)
		}
	}
}

// TestSequentialLinearBatchNormReLUErrors checks that a Linear layer or a
// batch norm after it that rejects its input says so as its own layer.
func TestSequentialLinearBatchNormReLUErrors(t *testing.T) {
	rng := rand.New(rand.NewPCG(29, 30))
	m := NewSequential[float32](NewLinear[float32](4, 3, rng), NewBatchNorm1d[float32](3), NewReLU[float32]())
	for _, c := range []struct {
		shape []int
		layer string
	}{{[]int{1, 4}, "(layer 1)"}, {[]int{3, 5}, "(layer 0)"}} {
		tape := autograd.NewTape[float32]()
		_, err := m.Forward(tape, tape.Const(tensor.New[float32](c.shape...)))
		if err == nil || !strings.Contains(err.Error(), c.layer) {
			t.Errorf("input %v: error %v; want one %s", c.shape, err, c.layer)
		}
	}
}

// oneProcess is a BatchReducer of one process: the sums are its own.
type oneProcess struct{}

func (oneProcess) AllReduceSum([]float64) error { return nil }
