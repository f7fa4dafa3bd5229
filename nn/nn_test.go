package nn

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"unsafe"

	"github.com/descentml/descent/autograd"
	"github.com/descentml/descent/tensor"
)

func mlpWithBatchNorm(rng *rand.Rand) *Sequential[float64] {
	return NewSequential(
		NewLinear[float64](6, 16, rng),
		NewBatchNorm1d[float64](16),
		NewReLU[float64](),
		NewDropout[float64](0.5, rng),
		NewLinear[float64](16, 4, rng),
	)
}

func TestPyTorchNames(t *testing.T) {
	m := mlpWithBatchNorm(rand.New(rand.NewPCG(1, 1)))
	var params, buffers []string
	for _, p := range m.Params() {
		params = append(params, p.Name)
		if tensor.Size(p.Shape) != len(p.Value) || len(p.Grad) != len(p.Value) {
			t.Errorf("param %s: shape %v, %d values, %d grads", p.Name, p.Shape, len(p.Value), len(p.Grad))
		}
		if &p.Var.Value().Data()[0] != &p.Value[0] || &p.Var.Grad().Data()[0] != &p.Grad[0] {
			t.Errorf("param %s: Value and Grad do not alias the Var's buffers", p.Name)
		}
	}
	for _, b := range m.Buffers() {
		buffers = append(buffers, b.Name)
	}
	if got, want := strings.Join(params, " "), "0.weight 0.bias 1.weight 1.bias 4.weight 4.bias"; got != want {
		t.Errorf("Params() names = %s; want %s", got, want)
	}
	if got, want := strings.Join(buffers, " "), "1.running_mean 1.running_var 1.num_batches_tracked"; got != want {
		t.Errorf("Buffers() names = %s; want %s", got, want)
	}
}

// TestDefaultInit checks PyTorch's default initialisation: weights and
// biases within ±1/√fan_in, spread over the interval, and reproducible from
// the seed.
func TestDefaultInit(t *testing.T) {
	for _, tc := range []struct {
		name  string
		build func(*rand.Rand) Module[float32]
		fanIn int
	}{
		{"Linear", func(r *rand.Rand) Module[float32] { return NewLinear[float32](200, 300, r) }, 200},
		{"Conv2D", func(r *rand.Rand) Module[float32] {
			return NewConv2D[float32](Conv2DConfig{In: 8, Out: 64, Kernel: 5}, r)
		}, 8 * 25},
	} {
		a, b := tc.build(rand.New(rand.NewPCG(9, 9))), tc.build(rand.New(rand.NewPCG(9, 9)))
		bound := 1 / math.Sqrt(float64(tc.fanIn))
		for i, p := range a.Params() {
			lo, hi := math.Inf(1), math.Inf(-1)
			for j, v := range p.Value {
				lo, hi = min(lo, float64(v)), max(hi, float64(v))
				if v != b.Params()[i].Value[j] {
					t.Fatalf("%s %s: two builds from the same seed differ at %d", tc.name, p.Name, j)
				}
			}
			if lo < -bound || hi > bound || lo > -0.9*bound || hi < 0.9*bound {
				t.Errorf("%s %s: values in [%v, %v]; want them to fill [−%v, %v]", tc.name, p.Name, lo, hi, bound, bound)
			}
		}
	}
}

func TestModeReachesLayers(t *testing.T) {
	m := mlpWithBatchNorm(rand.New(rand.NewPCG(1, 1)))
	x := tensor.New[float64](8, 6)
	for i := range x.Data() {
		x.Data()[i] = float64(i%7) - 3
	}
	bn := m.Layers()[1].(*BatchNorm[float64])
	tape := autograd.NewTape[float64]()
	if _, err := m.Forward(tape, tape.Const(x)); err != nil {
		t.Fatal(err)
	}
	if bn.NumBatchesTracked() != 1 {
		t.Fatalf("num_batches_tracked after a training pass = %d; want 1", bn.NumBatchesTracked())
	}
	m.SetMode(Eval)
	mean := append([]float64(nil), bn.RunningMean()...)
	tape.Reset()
	y1, _ := m.Forward(tape, tape.Const(x))
	tape2 := autograd.NewTape[float64]()
	y2, _ := m.Forward(tape2, tape2.Const(x))
	for i := range y1.Value().Data() {
		if y1.Value().Data()[i] != y2.Value().Data()[i] {
			t.Fatal("two eval passes differ: dropout or batch statistics still active")
		}
	}
	if bn.NumBatchesTracked() != 1 || bn.RunningMean()[0] != mean[0] {
		t.Error("an eval pass moved the running statistics")
	}
}

// TestShapeErrors checks that the input problems a user's data can cause
// are returned errors naming the layer and both shapes, recorded on the
// tape too.
func TestShapeErrors(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	for _, tc := range []struct {
		m     Module[float32]
		input []int
		want  string
	}{
		{NewSequential(NewLinear[float32](784, 128, rng), NewReLU[float32](), NewLinear[float32](128, 10, rng)), []int{32, 100},
			"nn: Linear(784, 128): input of shape [32 100]: want [..., 784] (layer 0)"},
		{NewConv2D[float32](Conv2DConfig{In: 1, Out: 4, Kernel: 5}, rng), []int{8, 3, 28, 28},
			"nn: Conv2D(1, 4, kernel_size=5, stride=1, padding=0): input of shape [8 3 28 28]: want [N, 1, H, W]"},
		{NewConv2D[float32](Conv2DConfig{In: 1, Out: 4, Kernel: 5}, rng), []int{8, 1, 3, 3},
			"nn: Conv2D(1, 4, kernel_size=5, stride=1, padding=0): input of shape [8 1 3 3]: a 3×3 image with padding 0 is smaller than the 5×5 kernel"},
		{NewBatchNorm1d[float32](16), []int{1, 16},
			"nn: BatchNorm1d(16): input of shape [1 16]: training needs more than one value per channel"},
		{NewBatchNorm2d[float32](3), []int{4, 3, 8},
			"nn: BatchNorm2d(3): input of shape [4 3 8]: want [N, 3, H, W]"},
		{NewMaxPool2D[float32](2), []int{4, 8},
			"nn: MaxPool2D(kernel_size=2, stride=2, padding=0): input of shape [4 8]: want [N, C, H, W]"},
	} {
		tape := autograd.NewTape[float32]()
		_, err := tc.m.Forward(tape, tape.Const(tensor.New[float32](tc.input...)))
		if err == nil || err.Error() != tc.want {
			t.Errorf("%v.Forward(%v) error = %v;\nwant %s", tc.m, tc.input, err, tc.want)
		}
		if tape.Err() == nil {
			t.Errorf("%v.Forward(%v): the error is not recorded on the tape", tc.m, tc.input)
		}
	}
}

// TestGradientsAccumulate checks that two backward passes add up, that
// ZeroGrad clears the gradient in place, that after DiscardGrads the first
// pass writes the gradient and the second adds to it, and that
// ZeroDiscardedGrads clears a discarded gradient no pass wrote.
func TestGradientsAccumulate(t *testing.T) {
	l := NewLinear[float64](3, 2, rand.New(rand.NewPCG(1, 1)))
	x := tensor.FromSlice([]float64{1, 2, 3, -1, 0, 2}, 2, 3)
	tape := autograd.NewTape[float64]()
	pass := func() {
		tape.Reset()
		y, err := l.Forward(tape, tape.Const(x))
		if err != nil {
			t.Fatal(err)
		}
		if err := tape.Backward(tape.Sum(y)); err != nil {
			t.Fatal(err)
		}
	}
	pass()
	g := l.Params()[0].Grad
	first := append([]float64(nil), g...)
	pass()
	for i := range g {
		if g[i] != 2*first[i] {
			t.Fatalf("grad after two passes [%d] = %v; want %v", i, g[i], 2*first[i])
		}
	}
	ZeroGrad(l.Params())
	if &l.Params()[0].Grad[0] != &g[0] || g[0] != 0 {
		t.Error("ZeroGrad did not clear the gradient in place")
	}
	for _, scale := range []float64{1, 2} { // after DiscardGrads, one pass then two
		pass()
		DiscardGrads(l.Params())
		pass()
		if scale == 2 {
			pass()
		}
		ZeroDiscardedGrads(l.Params()) // nothing to do: the passes wrote every gradient
		for i := range g {
			if g[i] != scale*first[i] {
				t.Fatalf("grad after DiscardGrads and %v passes [%d] = %v; want %v", scale, i, g[i], scale*first[i])
			}
		}
	}
	DiscardGrads(l.Params())
	ZeroDiscardedGrads(l.Params())
	if g[0] != 0 || l.Params()[1].Grad[0] != 0 {
		t.Errorf("grads discarded, not written, then ZeroDiscardedGrads: [0] = %v and %v; want 0", g[0], l.Params()[1].Grad[0])
	}
}

// TestLargeParamsDoNotAlias checks that a large parameter's gradient starts
// half a page from its value (modulo 4 KiB), and that the two do not
// overlap, while small parameters keep buffers of their own.
func TestLargeParamsDoNotAlias(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, tc := range []struct {
		name string
		p    []Param[float32]
	}{
		{"Linear(784, 256)", NewLinear[float32](784, 256, rng).Params()},
		{"Linear(311, 223)", NewLinear[float32](311, 223, rng).Params()},
		{"Conv2D(64, 128, 3)", NewConv2D[float32](Conv2DConfig{In: 64, Out: 128, Kernel: 3}, rng).Params()},
	} {
		w := tc.p[0]
		val, grad := uintptr(unsafe.Pointer(&w.Value[0])), uintptr(unsafe.Pointer(&w.Grad[0]))
		if d := grad - val; d%4096 != 2048 || d < uintptr(4*len(w.Value)) {
			t.Errorf("%s: gradient starts %d bytes after the value (%d bytes long); want at least its length, and 2048 modulo 4096", tc.name, d, 4*len(w.Value))
		}
		if cap(w.Value) != len(w.Value) || cap(w.Grad) != len(w.Grad) {
			t.Errorf("%s: value and gradient have capacities %d and %d beyond their lengths %d", tc.name, cap(w.Value), cap(w.Grad), len(w.Value))
		}
		if b := tc.p[1]; cap(b.Value) != len(b.Value) {
			t.Errorf("%s: the bias has capacity %d for %d values", tc.name, cap(b.Value), len(b.Value))
		}
	}
}
