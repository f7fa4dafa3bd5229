package nn

import (
	"bytes"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/descentml/descent/autograd"
	"github.com/descentml/descent/tensor"
)

// The sequence-model layers join the finite-difference check here.
func init() {
	tiny := TransformerConfig{Vocab: 7, Dim: 6, Context: 5, Heads: 2, Layers: 2, FF: 8}
	tied := tiny
	tied.Tied, tied.AttnBias, tied.Layers = true, true, 1
	layerCases = append(layerCases,
		layerCase{name: "Dropout/3d", build: func(*rand.Rand) Module[float64] { return NewDropout[float64](0.3, rand.New(dropSrc)) }, input: []int{2, 3, 4},
			before: func() { dropSrc.Seed(5, 6) }},
		layerCase{name: "Embedding", build: func(r *rand.Rand) Module[float64] { return NewEmbedding[float64](5, 3, r) }, input: []int{2, 4}, tokens: 5},
		layerCase{name: "LayerNorm/3d", build: func(*rand.Rand) Module[float64] { return NewLayerNorm[float64](4) }, input: []int{2, 3, 4}},
		layerCase{name: "RMSNorm", build: func(*rand.Rand) Module[float64] { return NewRMSNorm[float64](5) }, input: []int{3, 5}},
		layerCase{name: "GELUTanh", build: func(*rand.Rand) Module[float64] { return NewGELUTanh[float64]() }, input: []int{3, 4}},
		layerCase{name: "SiLU", build: func(*rand.Rand) Module[float64] { return NewSiLU[float64]() }, input: []int{3, 4}},
		layerCase{name: "MultiheadAttention/causal", build: func(r *rand.Rand) Module[float64] {
			return NewMultiheadAttention[float64](AttentionConfig{Dim: 6, Heads: 2, Causal: true}, r)
		}, input: []int{2, 4, 6}},
		layerCase{name: "MultiheadAttention/nobias-h3", build: func(r *rand.Rand) Module[float64] {
			return NewMultiheadAttention[float64](AttentionConfig{Dim: 6, Heads: 3, NoBias: true}, r)
		}, input: []int{1, 3, 6}},
		layerCase{name: "LSTM", build: func(r *rand.Rand) Module[float64] { return NewLSTM[float64](3, 4, r) }, input: []int{2, 3, 3}},
		layerCase{name: "GRU", build: func(r *rand.Rand) Module[float64] { return NewGRU[float64](3, 4, r) }, input: []int{2, 3, 3}},
		layerCase{name: "RNN", build: func(r *rand.Rand) Module[float64] { return NewRNN[float64](3, 4, r) }, input: []int{2, 3, 3}},
		layerCase{name: "Sequential/stacked-LSTM", build: func(r *rand.Rand) Module[float64] {
			return NewSequential[float64](NewLSTM[float64](3, 4, r), NewRecurrent[float64](CellLSTM, 4, 2, 1, r))
		}, input: []int{2, 3, 3}},
		layerCase{name: "Residual", build: func(r *rand.Rand) Module[float64] { return NewResidual[float64](NewLinear[float64](4, 4, r)) }, input: []int{3, 4}},
		layerCase{name: "Block", build: func(r *rand.Rand) Module[float64] { return NewBlock[float64](tiny, r) }, input: []int{2, 3, 6}},
		layerCase{name: "Transformer", build: func(r *rand.Rand) Module[float64] { return must(NewTransformer[float64](tiny, r)) }, input: []int{2, 4}, tokens: 7},
		layerCase{name: "Transformer/tied", build: func(r *rand.Rand) Module[float64] { return must(NewTransformer[float64](tied, r)) }, input: []int{2, 5}, tokens: 7},
		layerCase{name: "RecurrentLM/lstm-2-tied", build: func(r *rand.Rand) Module[float64] {
			return must(NewRecurrentLM[float64](RecurrentLMConfig{Cell: CellLSTM, Vocab: 6, Embed: 4, Hidden: 4, Layers: 2, Tied: true}, r))
		}, input: []int{2, 3}, tokens: 6},
		layerCase{name: "RecurrentLM/gru", build: func(r *rand.Rand) Module[float64] {
			return must(NewRecurrentLM[float64](RecurrentLMConfig{Cell: CellGRU, Vocab: 6, Embed: 3, Hidden: 4}, r))
		}, input: []int{2, 3}, tokens: 6},
	)
}

// TestLSTMState checks that running a sequence in two halves, carrying the
// final states over, gives the outputs of one run over the whole.
func TestLSTMState(t *testing.T) {
	for _, cell := range []Cell{CellLSTM, CellGRU, CellRNN} {
		rng := rand.New(rand.NewPCG(1, 2))
		l := NewRecurrent[float64](cell, 3, 4, 0, rng)
		x := tensor.New[float64](2, 6, 3)
		for i := range x.Data() {
			x.Data()[i] = rng.NormFloat64()
		}
		tape := autograd.NewTape[float64]()
		whole, _, _, err := l.ForwardState(tape, tape.Const(x), nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		first, hn, cn, err := l.ForwardState(tape, tape.Narrow(tape.Const(x), 1, 0, 3), nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		second, _, _, err := l.ForwardState(tape, tape.Narrow(tape.Const(x), 1, 3, 3), hn, cn)
		if err != nil {
			t.Fatal(err)
		}
		for b := range 2 {
			for s := range 6 {
				for j := range 4 {
					got := first.Value()
					ss := s
					if s >= 3 {
						got, ss = second.Value(), s-3
					}
					if g, w := got.At(b, ss, j), whole.Value().At(b, s, j); g != w {
						t.Errorf("%v in two halves: y[%d, %d, %d] = %v; want %v", cell, b, s, j, g, w)
					}
				}
			}
		}
	}
}

// TestTiedParams checks that a tied head is one parameter, listed once.
func TestTiedParams(t *testing.T) {
	m, err := NewTransformer[float32](TransformerConfig{Vocab: 5, Dim: 4, Context: 3, Heads: 2, Layers: 1, Tied: true}, rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range m.Params() {
		if p.Name == "head.weight" {
			t.Errorf("tied model lists head.weight")
		}
	}
	if _, err := NewTransformer[float32](TransformerConfig{Vocab: 5, Dim: 6, Context: 3, Heads: 4, Layers: 1}, rand.New(rand.NewPCG(1, 1))); err == nil {
		t.Errorf("NewTransformer with 4 heads of width 6: no error")
	}
	tape := autograd.NewTape[float32]()
	if _, err := m.Forward(tape, tape.Const(tensor.New[float32](1, 4))); err == nil {
		t.Errorf("Forward of 4 tokens with context 3: no error")
	}
	tape.Reset()
	if _, err := m.Forward(tape, tape.Const(tensor.FromSlice([]float32{1, 5}, 1, 2))); err == nil {
		t.Errorf("Forward of token 5 with vocabulary 5: no error")
	}
}

// TestTransformerSaveLoad checks that a language model's weights move
// through a model file under PyTorch's names and give the same logits.
func TestTransformerSaveLoad(t *testing.T) {
	cfg := TransformerConfig{Vocab: 7, Dim: 8, Context: 4, Heads: 2, Layers: 2, AttnBias: true}
	src, _ := NewTransformer[float32](cfg, rand.New(rand.NewPCG(1, 2)))
	dst, _ := NewTransformer[float32](cfg, rand.New(rand.NewPCG(3, 4)))
	var buf bytes.Buffer
	if err := Save(&buf, src); err != nil {
		t.Fatal(err)
	}
	if err := Load(dst, buf.Bytes()); err != nil {
		t.Fatal(err)
	}
	x := tensor.FromSlice([]float32{1, 2, 3, 6, 0, 5, 4, 1}, 2, 4)
	tape := autograd.NewTape[float32]()
	a, err := src.Forward(tape, tape.Const(x))
	if err != nil {
		t.Fatal(err)
	}
	b, err := dst.Forward(tape, tape.Const(x))
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range a.Value().Data() {
		if w := b.Value().Data()[i]; v != w {
			t.Fatalf("logits[%d] after a save and load = %v; want %v", i, w, v)
		}
	}
	names := map[string]bool{}
	for _, p := range dst.Params() {
		names[p.Name] = true
	}
	for _, want := range []string{"tok_emb.weight", "pos_emb.weight", "blocks.1.attn.in_proj_weight", "blocks.1.attn.in_proj_bias",
		"blocks.0.attn.out_proj.weight", "blocks.0.fc2.bias", "ln_f.weight", "head.weight", "head.bias"} {
		if !names[want] {
			t.Errorf("Transformer has no parameter %q", want)
		}
	}
}

// must returns m, panicking on err: for models built from valid configs.
func must[M any](m M, err error) M {
	if err != nil {
		panic(err)
	}
	return m
}

// TestEmptyBatch checks that the language models take a batch of no
// sequences and return empty logits [0, T, V], forward and backward.
func TestEmptyBatch(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	models := map[string]Module[float32]{
		"Transformer": must(NewTransformer[float32](TransformerConfig{Vocab: 5, Dim: 4, Context: 3, Heads: 2, Layers: 1}, r)),
	}
	for _, cell := range []Cell{CellLSTM, CellGRU, CellRNN} {
		models["RecurrentLM/"+cell.String()] = must(NewRecurrentLM[float32](RecurrentLMConfig{Cell: cell, Vocab: 5, Embed: 3, Hidden: 4, Layers: 2}, r))
	}
	for name, m := range models {
		tape := autograd.NewTape[float32]()
		y, err := m.Forward(tape, tape.Const(tensor.New[float32](0, 3)))
		if err != nil {
			t.Errorf("%s.Forward(ids [0, 3]) = %v; want empty logits", name, err)
			continue
		}
		if want := []int{0, 3, 5}; !slices.Equal(y.Shape(), want) {
			t.Errorf("%s.Forward(ids [0, 3]) has shape %v; want %v", name, y.Shape(), want)
		}
		if err := tape.Backward(tape.Sum(y)); err != nil {
			t.Errorf("%s: backward of an empty batch: %v", name, err)
		}
	}
}

// TestTransformerConfigNaN checks that a NaN eps is refused, not read as
// a positive value.
func TestTransformerConfigNaN(t *testing.T) {
	c := TransformerConfig{Vocab: 5, Dim: 4, Context: 3, Heads: 2, Layers: 1}
	for _, eps := range []float64{math.NaN(), -1} {
		c.Eps = eps
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "eps") {
			t.Errorf("TransformerConfig{Eps: %v}.Validate() = %v; want an error naming eps", eps, err)
		}
	}
}

// TestTransformerInit checks GPT-2's initialisation, the default, and
// PyTorch's, the option: the spread of each parameter's values.
func TestTransformerInit(t *testing.T) {
	std := func(w []float32) (mean, sd float64) {
		for _, v := range w {
			mean += float64(v)
		}
		mean /= float64(len(w))
		for _, v := range w {
			sd += (float64(v) - mean) * (float64(v) - mean)
		}
		return mean, math.Sqrt(sd / float64(len(w)))
	}
	cfg := TransformerConfig{Vocab: 65, Dim: 64, Context: 64, Heads: 4, Layers: 2}
	m := must(NewTransformer[float32](cfg, rand.New(rand.NewPCG(1, 2))))
	resid := 0.02 / math.Sqrt(4)
	want := map[string]float64{"tok_emb.weight": 0.02, "pos_emb.weight": 0.02, "blocks.0.attn.in_proj_weight": 0.02,
		"blocks.1.attn.out_proj.weight": resid, "blocks.0.fc1.weight": 0.02, "blocks.1.fc2.weight": resid, "head.weight": 0.02}
	for _, p := range m.Params() {
		mean, sd := std(p.Value)
		switch w, ok := want[p.Name]; {
		case ok:
			if math.Abs(sd-w) > 0.1*w || math.Abs(mean) > 0.1*w {
				t.Errorf("GPT-2 init: %s has mean %.4g, std %.4g; want 0, %.4g", p.Name, mean, sd, w)
			}
		case strings.HasSuffix(p.Name, "ln1.weight") || strings.HasSuffix(p.Name, "ln_f.weight"):
			if mean != 1 || sd != 0 {
				t.Errorf("GPT-2 init: %s has mean %v, std %v; want all 1", p.Name, mean, sd)
			}
		case strings.HasSuffix(p.Name, "bias"):
			if mean != 0 || sd != 0 {
				t.Errorf("GPT-2 init: %s has mean %v, std %v; want all 0", p.Name, mean, sd)
			}
		}
	}
	cfg.PyTorchInit = true
	m = must(NewTransformer[float32](cfg, rand.New(rand.NewPCG(1, 2))))
	for _, p := range m.Params() {
		_, sd := std(p.Value)
		var w float64
		switch p.Name {
		case "tok_emb.weight":
			w = 1 // N(0, 1)
		case "blocks.0.fc1.weight", "blocks.0.fc1.bias":
			w = 1 / math.Sqrt(3*64) // U(±1/√fan_in)
		default:
			continue
		}
		if math.Abs(sd-w) > 0.15*w {
			t.Errorf("PyTorch init: %s has std %.4g; want %.4g", p.Name, sd, w)
		}
	}
}
