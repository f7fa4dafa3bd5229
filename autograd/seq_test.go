package autograd

import (
	"math/rand/v2"
	"testing"

	"github.com/descentml/descent/tensor"
)

// The sequence-model operations join the finite-difference check here.
func init() {
	ids := []int{3, 1, 3, 0, 2, 3}
	emb := func(pad int) func(t *Tape[float64], in []*Var[float64]) *Var[float64] {
		return func(t *Tape[float64], in []*Var[float64]) *Var[float64] {
			return t.Embedding(in[0], ids, []int{2, 3}, pad)
		}
	}
	ln := func(t *Tape[float64], in []*Var[float64]) *Var[float64] {
		return t.LayerNorm(in[0], in[1], in[2], 1e-5)
	}
	rms := func(t *Tape[float64], in []*Var[float64]) *Var[float64] { return t.RMSNorm(in[0], in[1], 1e-2) }
	attn := func(heads int, causal bool) func(t *Tape[float64], in []*Var[float64]) *Var[float64] {
		return func(t *Tape[float64], in []*Var[float64]) *Var[float64] { return t.Attention(in[0], heads, causal) }
	}
	lstm := func(t *Tape[float64], in []*Var[float64]) *Var[float64] {
		return t.LSTM(in[0], in[3], in[4], in[1], in[2])
	}
	lstm0 := func(t *Tape[float64], in []*Var[float64]) *Var[float64] { return t.LSTM(in[0], nil, nil, in[1], in[2]) }
	gru := func(t *Tape[float64], in []*Var[float64]) *Var[float64] { return t.GRU(in[0], in[3], in[1], in[2]) }
	gru0 := func(t *Tape[float64], in []*Var[float64]) *Var[float64] { return t.GRU(in[0], nil, in[1], nil) }
	rnn := func(t *Tape[float64], in []*Var[float64]) *Var[float64] { return t.RNN(in[0], in[3], in[1], in[2]) }
	cases := []opCase{
		{name: "GELUTanh", shapes: [][]int{{3, 4}}, op: func(t *Tape[float64], in []*Var[float64]) *Var[float64] { return t.GELUTanh(in[0]) }},
		{name: "SiLU", shapes: [][]int{{3, 4}}, op: func(t *Tape[float64], in []*Var[float64]) *Var[float64] { return t.SiLU(in[0]) }},
		{name: "Embedding", shapes: [][]int{{4, 3}}, op: emb(-1)},
		// A padding row gets no gradient by rule, not by derivative:
		// TestEmbeddingPadding checks it; here, a padding index never used.
		{name: "Embedding/padding-unused", shapes: [][]int{{5, 3}}, op: emb(4)},
		{name: "LayerNorm", shapes: [][]int{{2, 3, 5}, {5}, {5}}, op: ln},
		{name: "LayerNorm/noaffine", shapes: [][]int{{4, 6}}, op: func(t *Tape[float64], in []*Var[float64]) *Var[float64] {
			return t.LayerNorm(in[0], nil, nil, 1e-2)
		}},
		{name: "RMSNorm", shapes: [][]int{{2, 3, 5}, {5}}, op: rms},
		{name: "Narrow", shapes: [][]int{{2, 4, 3}}, op: func(t *Tape[float64], in []*Var[float64]) *Var[float64] { return t.Narrow(in[0], 1, 1, 2) }},
		{name: "Attention/causal-h2", shapes: [][]int{{2, 4, 12}}, op: attn(2, true)},
		// longer than two blocks of attnBlock rows, the last one partial
		{name: "Attention/causal-blocks", shapes: [][]int{{1, 2*attnBlock + 5, 6}}, op: attn(1, true)},
		{name: "Attention/full-h1", shapes: [][]int{{1, 3, 6}}, op: attn(1, false)},
		{name: "LSTM", shapes: [][]int{{2, 3, 12}, {12, 3}, {12}, {2, 3}, {2, 3}}, op: lstm},
		{name: "LSTM/zero-state", shapes: [][]int{{3, 2, 8}, {8, 2}, {8}}, op: lstm0},
		{name: "GRU", shapes: [][]int{{2, 3, 9}, {9, 3}, {9}, {2, 3}}, op: gru},
		{name: "GRU/zero-state-nobias", shapes: [][]int{{2, 3, 6}, {6, 2}}, op: gru0},
		{name: "CrossEntropyIgnore", shapes: [][]int{{5, 4}}, op: func(t *Tape[float64], in []*Var[float64]) *Var[float64] {
			return t.CrossEntropyIgnore(in[0], []int{2, -100, 3, 1, -100}, -100)
		}},
		{name: "RNN", shapes: [][]int{{2, 4, 3}, {3, 3}, {3}, {2, 3}}, op: rnn},
	}
	for _, c := range cases {
		opCases = append(opCases, c, opCase{name: c.name + "/fresh", shapes: c.shapes, fill: c.fill, op: fresh(c.op)},
			opCase{name: c.name + "/twice", shapes: c.shapes, fill: c.fill, op: twice(c.op)})
	}
}

// TestEmbeddingPadding checks PyTorch's rules beside the derivative: the
// padding row is returned as stored but gets no gradient, and repeated
// indices accumulate.
func TestEmbeddingPadding(t *testing.T) {
	w := NewVar(tensor.FromSlice([]float64{1, 2, 3, 4, 5, 6}, 3, 2), true)
	tape := NewTape[float64]()
	y := tape.Embedding(w, []int{0, 2, 0, 1}, []int{4}, 0)
	if err := tape.BackwardWith(y, tensor.FromSlice([]float64{1, 1, 2, 2, 3, 3, 4, 4}, 4, 2)); err != nil {
		t.Fatal(err)
	}
	if got := y.Value().Data()[:2]; got[0] != 1 || got[1] != 2 {
		t.Errorf("Embedding row 0 = %v; want the stored [1 2]", got)
	}
	want := []float64{0, 0, 4, 4, 2, 2}
	for i, g := range w.Grad().Data() {
		if g != want[i] {
			t.Errorf("Embedding grad[%d] = %v; want %v", i, g, want[i])
		}
	}
	tape.Reset()
	tape.Embedding(w, []int{3}, []int{1}, -1)
	if tape.Err() == nil {
		t.Error("Embedding with index 3 of 3 rows: no error")
	}
}

// TestAttentionCausal checks that a causal attention's first position sees
// only itself: its output is its own value row.
func TestAttentionCausal(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	x := tensor.New[float32](2, 3, 6)
	for i := range x.Data() {
		x.Data()[i] = float32(rng.NormFloat64())
	}
	tape := NewTape[float32]()
	y := tape.Attention(tape.Const(x), 1, true)
	for b := range 2 {
		for j := range 2 {
			if got, want := y.Value().At(b, 0, j), x.At(b, 0, 4+j); got != want {
				t.Errorf("Attention(...)[%d, 0, %d] = %v; want %v", b, j, got, want)
			}
		}
	}
	tape.Attention(tape.Const(x), 4, true)
	if tape.Err() == nil {
		t.Error("Attention with 4 heads of width 6/4: no error")
	}
}

// TestGradientsSpread runs the finite-difference check with every
// recurrent step's rows spread over the pool, as large batches are.
func TestGradientsSpread(t *testing.T) {
	defer func(n int) { spreadRows = n }(spreadRows)
	spreadRows = 0
	TestGradients(t)
}
