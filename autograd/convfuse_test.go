package autograd

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/descentml/descent/tensor"
)

func init() {
	fused := func(t *Tape[float64], in []*Var[float64]) *Var[float64] {
		return t.Conv2DReLUPool(in[0], in[1], in[2], [2]int{1, 1}, [2]int{1, 0})
	}
	for _, c := range []struct {
		name   string
		shapes [][]int
	}{
		{"Conv2DReLUPool", [][]int{{2, 2, 5, 6}, {3, 2, 3, 2}, {3}}},
		{"Conv2DReLUPool/one-channel", [][]int{{3, 1, 6, 7}, {2, 1, 3, 3}, {2}}},
		{"Conv2DReLUPool/more-filters-than-taps", [][]int{{3, 1, 6, 7}, {5, 1, 2, 2}, {5}}},
	} {
		opCases = append(opCases,
			opCase{name: c.name + "/fresh", shapes: c.shapes, op: fresh(fused)},
			opCase{name: c.name + "/twice", shapes: c.shapes, op: twice(fused)})
	}
}

// TestConv2DReLUPoolMatchesUnfused checks Conv2DReLUPool against Conv2D,
// ReLU and a 2×2 MaxPool2D one after another, with 1, 2 and 3 threads: the
// output and every gradient the same bit for bit, with and without a bias,
// with the images' gradient wanted or not, and added to another's. Odd
// batches (1, 3, 127) leave the workers' static shares of images unequal
// and cut the last chunk short.
func TestConv2DReLUPoolMatchesUnfused(t *testing.T) {
	defer tensor.SetThreads(0)
	rng := rand.New(rand.NewPCG(9, 10))
	param := func(grad bool, shape ...int) *Var[float32] {
		x := tensor.New[float32](shape...)
		for i := range x.Data() {
			x.Data()[i] = float32(rng.NormFloat64())
		}
		return NewVar(x, grad)
	}
	for _, c := range []struct {
		n, c, h, w, o, k, stride, pad int
		bias, gradX                   bool
	}{
		{37, 1, 28, 28, 16, 3, 1, 0, true, false}, // the small CNN's first block, many chunks
		{127, 1, 28, 28, 16, 3, 1, 0, true, true},
		{1, 1, 28, 28, 16, 3, 1, 0, true, true},
		{40, 1, 28, 28, 16, 3, 1, 0, false, true},
		{9, 16, 13, 13, 32, 3, 1, 0, true, true}, // its second, odd sides
		{127, 16, 13, 13, 32, 3, 1, 0, true, true},
		{3, 16, 13, 13, 32, 3, 1, 0, true, true},
		{3, 3, 9, 8, 5, 3, 2, 1, false, true},
		{2, 2, 6, 7, 4, 2, 1, 1, true, true},
	} {
		name := fmt.Sprintf("%+v", c)
		x, w := param(c.gradX, c.n, c.c, c.h, c.w), param(true, c.o, c.c, c.k, c.k)
		var b *Var[float32]
		if c.bias {
			b = param(true, c.o)
		}
		st, pad := [2]int{c.stride, c.stride}, [2]int{c.pad, c.pad}
		run := func(threads int, fused bool) [][]float32 {
			tensor.SetThreads(threads)
			for _, v := range []*Var[float32]{x, w, b} {
				if v != nil {
					v.ZeroGrad()
				}
			}
			tape := NewTape[float32]()
			var y *Var[float32]
			if fused {
				y = tape.Conv2DReLUPool(x, w, b, st, pad)
			} else {
				y = tape.MaxPool2D(tape.ReLU(tape.Conv2D(x, w, b, st, pad)), [2]int{2, 2}, [2]int{2, 2}, [2]int{})
			}
			// x's gradient also gets a second term, so that the convolution's adds to it.
			loss := tape.Add(tape.Sum(tape.Mul(y, tape.Const(weightsLike(y)))), tape.Sum(tape.Scale(x, 0.5)))
			if err := tape.Backward(loss); err != nil {
				t.Fatal(err)
			}
			out := [][]float32{append([]float32(nil), y.Value().Data()...)}
			for _, v := range []*Var[float32]{x, w, b} {
				if v != nil && v.Grad() != nil {
					out = append(out, append([]float32(nil), v.Grad().Data()...))
				}
			}
			return out
		}
		want := run(1, false)
		for _, threads := range []int{1, 2, 3} {
			got := run(threads, true)
			if len(got) != len(want) {
				t.Fatalf("Conv2DReLUPool %s: %d results; unfused %d", name, len(got), len(want))
			}
			for i := range want {
				for j := range want[i] {
					if math.Float32bits(got[i][j]) != math.Float32bits(want[i][j]) {
						t.Fatalf("Conv2DReLUPool %s with %d threads: result %d [%d] = %v; unfused %v", name, threads, i, j, got[i][j], want[i][j])
					}
				}
			}
		}
	}
}

// weightsLike returns fixed weights of y's shape: 1, −2, 3, … modulo 7.
func weightsLike(y *Var[float32]) *tensor.Tensor[float32] {
	r := tensor.New[float32](y.Shape()...)
	for i := range r.Data() {
		r.Data()[i] = float32(i%7 - 3)
	}
	return r
}

// TestConv2DReLUPoolTooSmall checks that a convolution whose outputs are
// smaller than the pooling window is an error.
func TestConv2DReLUPoolTooSmall(t *testing.T) {
	tape := NewTape[float32]()
	x := NewVar(tensor.New[float32](1, 1, 3, 4), false)
	w := NewVar(tensor.New[float32](2, 1, 3, 3), true)
	tape.Conv2DReLUPool(x, w, nil, [2]int{1, 1}, [2]int{0, 0})
	if tape.Err() == nil {
		t.Fatal("Conv2DReLUPool of 1×2 outputs: no error")
	}
}
