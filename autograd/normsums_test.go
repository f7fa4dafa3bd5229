package autograd

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/descentml/descent/tensor"
)

// TestNormSumsMatchesUnfused checks a Linear layer that takes the backward
// sums of the batch norm before it (normSums) against the batch norm's own
// pass for them (fuseNormSums off) on one thread: the loss's every
// gradient the same bits on 1, 2 and 3 threads. The cases cover
// BatchNormReLU and BatchNorm before Linear and LinearReLU, with and
// without γ and β, the batch norm's input an intermediate (its gradient
// set) or a leaf (added to), NaN and ±Inf among the values, rows not
// divisible by the workers, a narrow layer (10 units), and work too small
// to spread; and that the sums are taken exactly where they may be: not
// when the batch norm's output is also read elsewhere, or through a ReLU
// of its own.
func TestNormSumsMatchesUnfused(t *testing.T) {
	for _, c := range []normSumsCase{
		{rows: 128, c: 256, out: 256, relu: true, affine: true}, // the MLP's
		{rows: 128, c: 256, out: 10, relu: true, affine: true},
		{rows: 131, c: 263, out: 100, relu: true, linReLU: true, affine: true, special: true},
		{rows: 127, c: 200, out: 64, leaf: true},
		{rows: 130, c: 129, out: 257, relu: true, leaf: true, special: true, affine: true},
		{rows: 5, c: 7, out: 3, relu: true, affine: true}, // not spread
		{rows: 128, c: 256, out: 256, relu: true, affine: true, twice: true},
		{rows: 128, c: 256, out: 256, affine: true, between: true},
	} {
		testNormSums[float32](t, c)
		testNormSums[float64](t, c)
	}
}

type normSumsCase struct {
	rows, c, out   int
	relu, linReLU  bool // BatchNormReLU, not BatchNorm; LinearReLU, not Linear
	affine, leaf   bool // γ and β; the batch norm's input a leaf
	special        bool // NaN and ±Inf in the input
	twice, between bool // the batch norm's output also in the loss; a ReLU after it
}

func testNormSums[T tensor.Float](t *testing.T, c normSumsCase) {
	t.Helper()
	defer func() { fuseNormSums = true }()
	defer tensor.SetThreads(0)
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(max(3, runtime.GOMAXPROCS(0))))
	rng := rand.New(rand.NewPCG(41, 42))
	param := func(grad bool, shape ...int) *Var[T] { return normalVar[T](rng, grad, shape...) }
	x, w0 := param(true, c.rows, 9), param(true, c.c, 9)
	z0 := param(true, c.rows, c.c)
	w, b := param(true, c.out, c.c), param(true, c.out)
	var gamma, beta *Var[T]
	if c.affine {
		gamma, beta = param(true, c.c), param(true, c.c)
	}
	if c.special {
		z0.Value().Data()[3*c.c+1] = T(math.NaN())
		z0.Value().Data()[4*c.c+2] = T(math.Inf(1))
		x.Value().Data()[7] = T(math.Inf(-1))
	}
	weights := param(false, c.rows, c.out).Value()
	leaves := []*Var[T]{x, w0, z0, w, b, gamma, beta}
	name := fmt.Sprintf("%T %+v", T(0), c)
	run := func(threads int, fused bool) [][]T {
		fuseNormSums = fused
		tensor.SetThreads(threads)
		for _, v := range leaves {
			if v != nil {
				v.ZeroGrad()
			}
		}
		tape := NewTape[T]()
		z := z0
		if !c.leaf {
			z = tape.MatMul(x, tape.Transpose(w0))
		}
		bm, bv := make([]T, c.c), make([]T, c.c)
		var y *Var[T]
		if c.relu {
			y = tape.BatchNormReLU(z, gamma, beta, 1e-5, bm, bv)
		} else {
			y = tape.BatchNorm(z, gamma, beta, 1e-5, bm, bv)
		}
		h := y
		if c.between {
			h = tape.ReLU(y)
		}
		var o *Var[T]
		if c.linReLU {
			o = tape.LinearReLU(h, w, b)
		} else {
			o = tape.Linear(h, w, b)
		}
		loss := tape.Sum(tape.Mul(o, tape.Const(weights)))
		if c.twice {
			loss = tape.Add(loss, tape.Sum(tape.Scale(y, 0.5)))
		}
		if err := tape.Backward(loss); err != nil {
			t.Fatal(err)
		}
		if took, want := tape.sums.seq.Load() > 0, fused && !c.twice && !c.between; took != want {
			t.Fatalf("%s with %d threads: sums taken by the Linear layer %v; want %v", name, threads, took, want)
		}
		return append([][]T{append([]T(nil), loss.Value().Data()...), bm, bv}, gradsOf(leaves...)...)
	}
	matchOnThreads(t, name, run)
}
