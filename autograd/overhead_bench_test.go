package autograd

import (
	"testing"

	"github.com/descentml/descent/tensor"
)

// BenchmarkSmallOps times a step of small operations (2×2: add, mul,
// tanh, matmul, sum, backward, reset), whose cost is the tape's
// bookkeeping per operation rather than arithmetic: what a check on
// every operand adds shows here first.
func BenchmarkSmallOps(b *testing.B) {
	w := NewVar(tensor.FromSlice([]float32{0.5, -1, 2, 0.25}, 2, 2), true)
	u := NewVar(tensor.FromSlice([]float32{1, 2, -0.5, 3}, 2, 2), true)
	x := tensor.FromSlice([]float32{0.1, 0.2, 0.3, 0.4}, 2, 2)
	tape := NewTape[float32]()
	b.ReportAllocs()
	for b.Loop() {
		c := tape.Const(x)
		h := tape.Tanh(tape.Add(tape.MatMul(c, w), u))
		h = tape.Mul(h, tape.Sub(h, c))
		if err := tape.Backward(tape.Sum(tape.Scale(h, 0.5))); err != nil {
			b.Fatal(err)
		}
		tape.Reset()
	}
}
