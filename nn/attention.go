package nn

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/descentml/descent/autograd"
	"github.com/descentml/descent/tensor"
)

// AttentionConfig describes a multi-head self-attention layer.
type AttentionConfig struct {
	Dim    int  // the embedding width E; must be a positive multiple of Heads
	Heads  int  // the number of heads H; must be positive
	Causal bool // position i attends to positions j ≤ i only (a decoder's mask)
	NoBias bool // no in_proj_bias and no out_proj.bias (PyTorch's bias=False)
}

// Validate returns an error naming what is wrong with c, or nil: the check
// a program makes on a user's sizes before calling NewMultiheadAttention.
func (c AttentionConfig) Validate() error {
	switch {
	case c.Dim <= 0 || c.Heads <= 0:
		return fmt.Errorf("nn: attention with width %d and %d heads: want both positive", c.Dim, c.Heads)
	case c.Dim%c.Heads != 0:
		return fmt.Errorf("nn: attention with width %d and %d heads: the heads do not divide the width", c.Dim, c.Heads)
	}
	return nil
}

// MultiheadAttention is self-attention over a batch of sequences
// [B, T, E], PyTorch's nn.MultiheadAttention with batch_first=True called
// as attn(x, x, x) (with attn_mask the causal mask when Causal):
//
//	[q k v] = x·in_proj_weightᵀ + in_proj_bias        (one matrix multiply)
//	o_h = softmax(q_h·k_hᵀ/√D (+ mask))·v_h          (per head h, D = E/H)
//	y = [o_1 … o_H]·out_projᵀ + out_proj.bias
//
// Its parameters have PyTorch's names and packed layout, so weights move
// both ways through a model file: "in_proj_weight" [3E, E] (the rows of
// W_q, then W_k, then W_v), "in_proj_bias" [3E], "out_proj.weight" [E, E]
// and "out_proj.bias" [E] (no biases with NoBias).
type MultiheadAttention[T tensor.Float] struct {
	cfg        AttentionConfig
	inW, inB   *autograd.Var[T]
	outW, outB *autograd.Var[T]
	params     []Param[T]
}

var _ Module[float32] = (*MultiheadAttention[float32])(nil)

// NewMultiheadAttention returns an attention layer initialised as
// PyTorch's, from rng: in_proj_weight Xavier-uniform, U(±√(6/(E + 3E))),
// out_proj.weight U(±1/√E), the biases zero. It panics if cfg is invalid
// (see [AttentionConfig.Validate]) or rng is nil.
func NewMultiheadAttention[T tensor.Float](cfg AttentionConfig, rng *rand.Rand) *MultiheadAttention[T] {
	if err := cfg.Validate(); err != nil {
		panic(err.Error())
	}
	if rng == nil {
		panic("nn: nil rng for initialisation")
	}
	e := cfg.Dim
	inW, outW := tensor.New[T](3*e, e), tensor.New[T](e, e)
	bound := math.Sqrt(6 / float64(4*e))
	for i := range inW.Data() {
		inW.Data()[i] = T((2*rng.Float64() - 1) * bound)
	}
	kaimingUniform(outW.Data(), e, rng)
	a := &MultiheadAttention[T]{cfg: cfg}
	a.params = append(a.params, newParam("in_proj_weight", inW))
	if !cfg.NoBias {
		a.params = append(a.params, newParam("in_proj_bias", tensor.New[T](3*e)))
	}
	a.params = append(a.params, newParam("out_proj.weight", outW))
	if !cfg.NoBias {
		a.params = append(a.params, newParam("out_proj.bias", tensor.New[T](e)))
	}
	a.inW, a.outW = a.params[0].Var, a.params[len(a.params)/2].Var
	if !cfg.NoBias {
		a.inB, a.outB = a.params[1].Var, a.params[3].Var
	}
	return a
}

// Forward attends x [B, T, E] to itself. An input of another shape is an
// error naming it.
func (a *MultiheadAttention[T]) Forward(t *autograd.Tape[T], x *autograd.Var[T]) (*autograd.Var[T], error) {
	if s := x.Shape(); len(s) != 3 || s[2] != a.cfg.Dim {
		return fail(t, fmt.Errorf("nn: %v: input of shape %v: want [B, T, %d]", a, s, a.cfg.Dim))
	}
	qkv := t.Linear(x, a.inW, a.inB)
	o := t.Attention(qkv, a.cfg.Heads, a.cfg.Causal)
	return t.Linear(o, a.outW, a.outB), t.Err()
}

// Config returns the layer's configuration.
func (a *MultiheadAttention[T]) Config() AttentionConfig { return a.cfg }

// Params returns "in_proj_weight", "in_proj_bias", "out_proj.weight" and
// "out_proj.bias" (without the biases under NoBias).
func (a *MultiheadAttention[T]) Params() []Param[T] { return a.params }

// Buffers returns nil: the layer has none.
func (*MultiheadAttention[T]) Buffers() []Buffer[T] { return nil }

// String returns "MultiheadAttention(E, H, causal)".
func (a *MultiheadAttention[T]) String() string {
	s := fmt.Sprintf("MultiheadAttention(%d, %d", a.cfg.Dim, a.cfg.Heads)
	if a.cfg.Causal {
		s += ", causal"
	}
	if a.cfg.NoBias {
		s += ", bias=False"
	}
	return s + ")"
}
