package autograd

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"testing"
	"time"

	"github.com/descentml/descent/tensor"
)

// TestNormSumsMatchesUnfused checks a Linear layer that takes the backward
// sums of the batch norm before it (normSums) against the batch norm's own
// pass for them (fuseNormSums off) on one thread: the loss's every
// gradient the same bits on 1 to 4 threads. The cases cover BatchNormReLU,
// BatchNorm and LinearBatchNormReLU before Linear and LinearReLU, with and
// without γ and β (and γ without a gradient), the batch norm's input an
// intermediate (its gradient set), a leaf (added to) or a constant (no
// ∂x), the leaves' gradients zeroed (added to) or discarded (set), NaN and
// ±Inf among the values, rows not divisible by the workers and fewer rows
// than workers, a narrow layer (10 units), and work too small to spread;
// and that the sums are taken exactly where they may be: not when the
// batch norm's output is also read elsewhere, or through a ReLU of its
// own, or when its β is the Linear layer's bias (both gradients written
// in the Linear layer's pass).
func TestNormSumsMatchesUnfused(t *testing.T) {
	for _, c := range []normSumsCase{
		{rows: 128, c: 256, out: 256, relu: true, affine: true}, // the MLP's
		{rows: 128, c: 256, out: 256, relu: true, affine: true, discard: true},
		{rows: 128, c: 256, out: 10, relu: true, affine: true},
		{rows: 131, c: 263, out: 100, relu: true, linReLU: true, affine: true, special: true},
		{rows: 127, c: 200, out: 64, in: leafIn},
		{rows: 130, c: 129, out: 257, relu: true, in: leafIn, special: true, affine: true, discard: true},
		{rows: 129, c: 140, out: 70, relu: true, in: constIn, affine: true},
		{rows: 128, c: 256, out: 256, relu: true, in: linearIn, affine: true, fixedGamma: true},
		{rows: 128, c: 256, out: 256, relu: true, in: linearIn, affine: true, discard: true},
		{rows: 3, c: 300, out: 300, relu: true, affine: true}, // fewer rows than workers
		{rows: 5, c: 7, out: 3, relu: true, affine: true},     // not spread
		{rows: 128, c: 256, out: 256, relu: true, affine: true, twice: true},
		{rows: 128, c: 256, out: 256, affine: true, between: true},
		{rows: 128, c: 256, out: 256, relu: true, affine: true, tied: true},
		{rows: 128, c: 256, out: 256, relu: true, affine: true, tied: true, discard: true},
	} {
		testNormSums[float32](t, c)
		testNormSums[float64](t, c)
	}
}

// The batch norm's input in a normSumsCase.
const (
	matMulIn = iota // an intermediate: x·w0ᵀ
	leafIn          // a leaf needing a gradient
	constIn         // a leaf needing none
	linearIn        // LinearBatchNormReLU's, from x
)

type normSumsCase struct {
	rows, c, out       int
	in                 int  // the batch norm's input (matMulIn, …)
	relu, linReLU      bool // BatchNormReLU, not BatchNorm; LinearReLU, not Linear
	affine, fixedGamma bool // γ and β; γ needing no gradient
	special            bool // NaN and ±Inf in the input
	discard            bool // the leaves' gradients discarded, not zeroed
	twice, between     bool // the batch norm's output also in the loss; a ReLU after it
	tied               bool // β the Linear layer's bias (out = c)
}

func testNormSums[T tensor.Float](t *testing.T, c normSumsCase) {
	t.Helper()
	defer func() { fuseNormSums = true }()
	defer tensor.SetThreads(0)
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(max(4, runtime.GOMAXPROCS(0))))
	rng := rand.New(rand.NewPCG(41, 42))
	param := func(grad bool, shape ...int) *Var[T] { return normalVar[T](rng, grad, shape...) }
	x, w0, b0 := param(true, c.rows, 9), param(true, c.c, 9), param(true, c.c)
	z0 := param(c.in != constIn, c.rows, c.c)
	w, b := param(true, c.out, c.c), param(true, c.out)
	var gamma, beta *Var[T]
	if c.affine {
		gamma, beta = param(!c.fixedGamma, c.c), param(true, c.c)
	}
	if c.tied {
		b = beta
	}
	if c.special {
		z0.Value().Data()[3*c.c+1] = T(math.NaN())
		z0.Value().Data()[4*c.c+2] = T(math.Inf(1))
		x.Value().Data()[7] = T(math.Inf(-1))
	}
	weights := param(false, c.rows, c.out).Value()
	var leaves []*Var[T]
	for _, v := range []*Var[T]{x, w0, b0, z0, w, b, gamma, beta} {
		if v != nil && v.needGrad {
			leaves = append(leaves, v)
		}
	}
	resetGrads(leaves, false) // every leaf has a gradient buffer
	name := fmt.Sprintf("%T %+v", T(0), c)
	run := func(threads int, fused bool) (T, [][]T) {
		fuseNormSums = fused
		tensor.SetThreads(threads)
		resetGrads(leaves, c.discard && fused)
		tape := NewTape[T]()
		bm, bv := make([]T, c.c), make([]T, c.c)
		var y *Var[T]
		switch {
		case c.in == linearIn:
			y = tape.LinearBatchNormReLU(x, w0, b0, gamma, beta, 1e-5, bm, bv)
		default:
			z := z0
			if c.in == matMulIn {
				z = tape.MatMul(x, tape.Transpose(w0))
			}
			if c.relu {
				y = tape.BatchNormReLU(z, gamma, beta, 1e-5, bm, bv)
			} else {
				y = tape.BatchNorm(z, gamma, beta, 1e-5, bm, bv)
			}
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
		if took, want := tape.sums.seq.Load() > 0, fused && !c.twice && !c.between && !c.tied; took != want {
			t.Fatalf("%s with %d threads: sums taken by the Linear layer %v; want %v", name, threads, took, want)
		}
		return loss.Value().Item(), append([][]T{bm, bv}, gradsOf(leaves...)...)
	}
	l1, want := run(1, false)
	for _, threads := range []int{1, 2, 3, 4} {
		l, got := run(threads, true)
		if l != l1 && !(l != l && l1 != l1) {
			t.Fatalf("%s with %d threads: loss %v; unfused %v", name, threads, l, l1)
		}
		for i := range got {
			for k := range got[i] {
				if g, w := got[i][k], want[i][k]; !sameGrad(g, w) && !(g != g && w != w) {
					t.Fatalf("%s with %d threads: result %d [%d] = %v; unfused on one thread %v", name, threads, i, k, g, w)
				}
			}
		}
	}
}

// TestNormSumsAbandon checks that a part waiting to add to a batch norm's
// sums gives up when the part before it panicked, instead of waiting
// forever (the panic is then Spread's caller's to report).
func TestNormSumsAbandon(t *testing.T) {
	var s normSums[float32]
	gaveUp := make(chan struct{})
	go func() {
		s.add(1, 2) // waits for part 0
		close(gaveUp)
	}()
	func() {
		defer func() { _ = recover() }()
		done := false
		defer s.abandon(&done)
		panic("part 0")
	}()
	select {
	case <-gaveUp:
	case <-time.After(10 * time.Second):
		t.Fatal("a part waiting for a part that panicked still waits")
	}
}
