package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"

	"github.com/descentml/descent/autograd"
	"github.com/descentml/descent/tensor"
)

// TransformerConfig describes a decoder-only (GPT-style) language model:
// token and learned position embeddings, Layers pre-LN blocks, a final
// LayerNorm and a linear head to the vocabulary.
type TransformerConfig struct {
	Vocab   int // tokens V; must be positive
	Dim     int // the embedding width d; must be a positive multiple of Heads
	Context int // the longest sequence (rows of the position table); must be positive
	Heads   int // attention heads; must be positive
	Layers  int // blocks; must be positive
	FF      int // the MLP's hidden width; 0 means 4·Dim

	// Eps is the LayerNorms' eps; 0 means PyTorch's 1e-5.
	Eps float64
	// AttnBias gives the attention in_proj and out_proj biases
	// (PyTorch's bias=True); false leaves them out, as nanoGPT does.
	AttnBias bool
	// ExactGELU uses the erf form of GELU in the MLP; false (the zero
	// value) uses the tanh approximation, as GPT-2.
	ExactGELU bool
	// Tied makes the head's weight the token embedding (weight tying,
	// Press & Wolf 2017): one parameter, listed once, as "tok_emb.weight".
	Tied bool
	// Dropout is the probability of dropping after the embeddings, the
	// attention and the MLP in training mode; 0 means none.
	Dropout float64
	// PyTorchInit draws the weights as PyTorch's layers do by default:
	// embeddings from N(0, 1), Linear weights and biases from
	// U(±1/√fan_in), the attention's in_proj from Xavier's uniform.
	// False (the zero value) uses GPT-2's initialisation, as nanoGPT,
	// minGPT and Hugging Face's GPT2Model do: every matrix and embedding
	// from N(0, 0.02²), the two projections back into the residual stream
	// (attn.out_proj.weight, fc2.weight) from N(0, (0.02/√(2·Layers))²),
	// biases 0, LayerNorms 1 and 0. With PyTorch's N(0, 1) embeddings an
	// Adam step of 3e-3 barely moves them, and the model learns slowly.
	PyTorchInit bool
}

// Validate returns an error naming the first size of c that is not
// usable, or nil.
func (c TransformerConfig) Validate() error {
	switch {
	case c.Vocab <= 0 || c.Dim <= 0 || c.Context <= 0 || c.Layers <= 0 || c.FF < 0:
		return fmt.Errorf("nn: transformer with vocabulary %d, width %d, context %d, %d layers and MLP width %d: want all positive",
			c.Vocab, c.Dim, c.Context, c.Layers, c.FF)
	case !(c.Dropout >= 0 && c.Dropout < 1):
		return fmt.Errorf("nn: transformer dropout %v: want a value in [0, 1)", c.Dropout)
	case !(c.Eps >= 0): // NaN too
		return fmt.Errorf("nn: transformer LayerNorm eps %v: want a positive value (0 for 1e-5)", c.Eps)
	}
	return AttentionConfig{Dim: c.Dim, Heads: c.Heads}.Validate()
}

// Block is a pre-LN transformer block:
//
//	x ← x + Dropout(Attn(LN1(x)))
//	x ← x + Dropout(FC2(GELU(FC1(LN2(x)))))
//
// with causal self-attention. Its parameters are named "ln1.weight",
// "ln1.bias", "attn.in_proj_weight" (and the attention's others, as
// [MultiheadAttention]), "ln2.…", "fc1.weight", "fc1.bias", "fc2.weight",
// "fc2.bias".
type Block[T tensor.Float] struct {
	ln1, ln2 *LayerNorm[T]
	attn     *MultiheadAttention[T]
	fc1, fc2 *Linear[T]
	act      *GELU[T]
	drop     *Dropout[T] // nil without dropout
	params   []Param[T]
}

var (
	_ Module[float32] = (*Block[float32])(nil)
	_ ModeSetter      = (*Block[float32])(nil)
)

// NewBlock returns a block of the width, heads, MLP width, eps, biases,
// GELU and dropout of cfg, initialised as PyTorch's layers from rng. It
// panics if cfg is invalid.
func NewBlock[T tensor.Float](cfg TransformerConfig, rng *rand.Rand) *Block[T] {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		panic(err.Error())
	}
	b := &Block[T]{
		ln1:  NewLayerNorm[T](cfg.Dim),
		attn: NewMultiheadAttention[T](AttentionConfig{Dim: cfg.Dim, Heads: cfg.Heads, Causal: true, NoBias: !cfg.AttnBias}, rng),
		ln2:  NewLayerNorm[T](cfg.Dim),
		fc1:  NewLinear[T](cfg.Dim, cfg.FF, rng),
		fc2:  NewLinear[T](cfg.FF, cfg.Dim, rng),
		act:  &GELU[T]{Tanh: !cfg.ExactGELU},
	}
	b.ln1.Eps, b.ln2.Eps = cfg.Eps, cfg.Eps
	if cfg.Dropout > 0 {
		b.drop = NewDropout[T](cfg.Dropout, rng)
	}
	b.params = prefixed(nil, "ln1.", b.ln1.Params())
	b.params = prefixed(b.params, "attn.", b.attn.Params())
	b.params = prefixed(b.params, "ln2.", b.ln2.Params())
	b.params = prefixed(b.params, "fc1.", b.fc1.Params())
	b.params = prefixed(b.params, "fc2.", b.fc2.Params())
	return b
}

// Forward applies the block to x [B, T, Dim].
func (b *Block[T]) Forward(t *autograd.Tape[T], x *autograd.Var[T]) (*autograd.Var[T], error) {
	return b.forward(t, x, true)
}

// forward is Forward, dropping as the mode says if dropout is set and
// never otherwise (an evaluation that reads no mode).
func (b *Block[T]) forward(t *autograd.Tape[T], x *autograd.Var[T], dropout bool) (*autograd.Var[T], error) {
	a, err := b.ln1.Forward(t, x)
	if err != nil {
		return a, err
	}
	if a, err = b.attn.Forward(t, a); err != nil {
		return a, err
	}
	x = t.Add(x, b.dropout(t, a, dropout))
	m, err := b.ln2.Forward(t, x)
	if err != nil {
		return m, err
	}
	m = t.Linear(m, b.fc1.weight, b.fc1.bias)
	if m, err = b.act.Forward(t, m); err != nil {
		return m, err
	}
	m = t.Linear(m, b.fc2.weight, b.fc2.bias)
	return t.Add(x, b.dropout(t, m, dropout)), t.Err()
}

func (b *Block[T]) dropout(t *autograd.Tape[T], x *autograd.Var[T], on bool) *autograd.Var[T] {
	if b.drop == nil || !on {
		return x
	}
	y, _ := b.drop.Forward(t, x)
	return y
}

// SetMode sets whether the block's dropout drops.
func (b *Block[T]) SetMode(m Mode) {
	if b.drop != nil {
		b.drop.SetMode(m)
	}
}

// Params returns the parameters of ln1, attn, ln2, fc1 and fc2, in order.
func (b *Block[T]) Params() []Param[T] { return b.params }

// Buffers returns nil: a block has none.
func (*Block[T]) Buffers() []Buffer[T] { return nil }

// String describes the block.
func (b *Block[T]) String() string {
	return fmt.Sprintf("PreLNBlock(%v, %v, %v, %v, %v, %v)", b.ln1, b.attn, b.ln2, b.fc1, b.act, b.fc2)
}

func (c TransformerConfig) withDefaults() TransformerConfig {
	if c.FF == 0 {
		c.FF = 4 * c.Dim
	}
	if c.Eps == 0 {
		c.Eps = 1e-5
	}
	return c
}

// newHead makes a language model's output layer, Linear(in, vocab) drawn
// from rng, and appends its parameters to params as "head.weight" and
// "head.bias". When tied, the weight is emb's table instead (weight tying)
// and only "head.bias" is appended.
func newHead[T tensor.Float](params []Param[T], in, vocab int, emb *Embedding[T], tied bool, rng *rand.Rand) (w, b *autograd.Var[T], _ []Param[T]) {
	head := NewLinear[T](in, vocab, rng)
	if tied {
		return emb.weight, head.bias, prefixed(params, "head.", head.Params()[1:])
	}
	return head.weight, head.bias, prefixed(params, "head.", head.Params())
}

// prefixed appends ps to dst with prefix before each name.
func prefixed[T tensor.Float](dst []Param[T], prefix string, ps []Param[T]) []Param[T] {
	for _, p := range ps {
		p.Name = prefix + p.Name
		dst = append(dst, p)
	}
	return dst
}

// Transformer is a decoder-only language model (GPT-2's layout, pre-LN):
//
//	x = tok_emb[ids] + pos_emb[0 … T−1]
//	x = blocks(x)                           (each a [Block])
//	logits = head(ln_f(x))
//
// Its input is token ids [B, T] (T ≤ Context; as values, see [Embedding]),
// its output the logits [B, T, Vocab] of the next token at every position.
// Parameters, in order: "tok_emb.weight" [V, d], "pos_emb.weight"
// [Context, d], "blocks.0.…" (as [Block]), …, "ln_f.weight", "ln_f.bias",
// "head.weight" [V, d] (absent when Tied) and "head.bias" [V]. A PyTorch
// module with these attribute names (nn.Embedding, nn.ModuleList of
// blocks with ln1, attn = nn.MultiheadAttention(batch_first=True), ln2,
// fc1, fc2, then nn.LayerNorm and nn.Linear) has the same state_dict.
type Transformer[T tensor.Float] struct {
	cfg            TransformerConfig
	tokEmb, posEmb *Embedding[T]
	blocks         []*Block[T]
	lnF            *LayerNorm[T]
	headW, headB   *autograd.Var[T]
	drop           *Dropout[T]
	params         []Param[T]
	pos            []int // 0, 1, …, Context−1
}

var (
	_ Module[float32] = (*Transformer[float32])(nil)
	_ ModeSetter      = (*Transformer[float32])(nil)
)

// NewTransformer returns a decoder-only language model initialised as
// GPT-2 (or, with cfg.PyTorchInit, as PyTorch's layers are by default),
// drawn from rng in the order of the parameters. It returns an error
// naming the problem if cfg is invalid.
func NewTransformer[T tensor.Float](cfg TransformerConfig, rng *rand.Rand) (*Transformer[T], error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if rng == nil {
		panic("nn: nil rng for initialisation")
	}
	cfg = cfg.withDefaults()
	m := &Transformer[T]{cfg: cfg, pos: make([]int, cfg.Context)}
	for i := range m.pos {
		m.pos[i] = i
	}
	m.tokEmb = NewEmbedding[T](cfg.Vocab, cfg.Dim, rng)
	m.posEmb = NewEmbedding[T](cfg.Context, cfg.Dim, rng)
	m.params = prefixed(nil, "tok_emb.", m.tokEmb.Params())
	m.params = prefixed(m.params, "pos_emb.", m.posEmb.Params())
	for i := range cfg.Layers {
		b := NewBlock[T](cfg, rng)
		m.blocks = append(m.blocks, b)
		m.params = prefixed(m.params, fmt.Sprintf("blocks.%d.", i), b.Params())
	}
	m.lnF = NewLayerNorm[T](cfg.Dim)
	m.lnF.Eps = cfg.Eps
	m.params = prefixed(m.params, "ln_f.", m.lnF.Params())
	m.headW, m.headB, m.params = newHead(m.params, cfg.Dim, cfg.Vocab, m.tokEmb, cfg.Tied, rng)
	if !cfg.PyTorchInit {
		initGPT2(m.params, cfg.Layers, rng)
	}
	if cfg.Dropout > 0 {
		m.drop = NewDropout[T](cfg.Dropout, rng)
	}
	return m, nil
}

// initGPT2 redraws params, a Transformer's, as GPT-2 initialises them (see
// TransformerConfig.PyTorchInit), in order. The layers' constructors have
// drawn PyTorch's defaults first; those draws are discarded.
func initGPT2[T tensor.Float](params []Param[T], layers int, rng *rand.Rand) {
	resid := 0.02 / math.Sqrt(2*float64(layers))
	for _, p := range params {
		w := p.Value
		switch {
		case strings.HasSuffix(p.Name, "attn.out_proj.weight") || strings.HasSuffix(p.Name, "fc2.weight"):
			for i := range w {
				w[i] = T(rng.NormFloat64() * resid)
			}
		case len(p.Shape) >= 2:
			for i := range w {
				w[i] = T(rng.NormFloat64() * 0.02)
			}
		case strings.HasPrefix(p.Name, "ln") || strings.Contains(p.Name, ".ln"):
			// LayerNorm: weight 1, bias 0, as constructed
		default:
			clear(w) // biases
		}
	}
}

// Forward returns the logits [B, T, Vocab] for the token ids x [B, T]. A
// sequence longer than Context, or an id out of the vocabulary, is an
// error naming it.
func (m *Transformer[T]) Forward(t *autograd.Tape[T], x *autograd.Var[T]) (*autograd.Var[T], error) {
	if err := m.checkInput(x.Shape()); err != nil {
		return fail(t, err)
	}
	h, err := m.tokEmb.Forward(t, x)
	if err != nil {
		return h, err
	}
	return m.forward(t, h, true)
}

// checkInput returns an error if s is not the shape of token ids [B, T]
// the model reads.
func (m *Transformer[T]) checkInput(s []int) error {
	if len(s) != 2 || s[1] == 0 || s[1] > m.cfg.Context {
		return fmt.Errorf("nn: transformer: input of shape %v: want token ids [B, T] with 0 < T ≤ %d (the context)", s, m.cfg.Context)
	}
	return nil
}

// evaluate returns the logits [1, T, Vocab] for one sequence of token ids
// as Forward in eval mode does, reading nothing of the model but its
// parameters (not its mode, nor the embedding's scratch), so goroutines
// may evaluate one model at once, each on its own tape.
func (m *Transformer[T]) evaluate(t *autograd.Tape[T], ids []int) (*autograd.Var[T], error) {
	shape := []int{1, len(ids)}
	if err := m.checkInput(shape); err != nil {
		return fail(t, err)
	}
	h, err := m.tokEmb.Lookup(t, ids, shape)
	if err != nil {
		return h, err
	}
	return m.forward(t, h, false)
}

// forward runs the model from the token embeddings h [B, T, Dim], with
// dropout as the mode says if dropout is set and none otherwise.
func (m *Transformer[T]) forward(t *autograd.Tape[T], h *autograd.Var[T], dropout bool) (*autograd.Var[T], error) {
	n := h.Shape()[1:2] // T
	pos, err := m.posEmb.Lookup(t, m.pos[:n[0]], n)
	if err != nil {
		return pos, err
	}
	h = t.Add(h, pos)
	if m.drop != nil && dropout {
		h, _ = m.drop.Forward(t, h)
	}
	for i, b := range m.blocks {
		if h, err = b.forward(t, h, dropout); err != nil {
			return h, fmt.Errorf("%w (block %d)", err, i)
		}
	}
	if h, err = m.lnF.Forward(t, h); err != nil {
		return h, err
	}
	return t.Linear(h, m.headW, m.headB), t.Err()
}

// Config returns the model's configuration, with defaults filled in.
func (m *Transformer[T]) Config() TransformerConfig { return m.cfg }

// SetMode sets whether the model's dropout drops.
func (m *Transformer[T]) SetMode(mode Mode) {
	if m.drop != nil {
		m.drop.SetMode(mode)
	}
	for _, b := range m.blocks {
		b.SetMode(mode)
	}
}

// Params returns the parameters in the order the type's doc gives.
func (m *Transformer[T]) Params() []Param[T] { return m.params }

// Buffers returns nil: the model has none.
func (*Transformer[T]) Buffers() []Buffer[T] { return nil }

// String describes the model.
func (m *Transformer[T]) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Transformer(\n  (tok_emb): %v\n  (pos_emb): %v\n", m.tokEmb, m.posEmb)
	for i, bl := range m.blocks {
		fmt.Fprintf(&b, "  (blocks.%d): %v\n", i, bl)
	}
	fmt.Fprintf(&b, "  (ln_f): %v\n  (head): Linear(%d, %d", m.lnF, m.cfg.Dim, m.cfg.Vocab)
	if m.cfg.Tied {
		b.WriteString(", tied to tok_emb")
	}
	b.WriteString(")\n)")
	return b.String()
}

// RecurrentLMConfig describes a recurrent language model: an embedding,
// Layers recurrent layers and a linear head to the vocabulary.
type RecurrentLMConfig struct {
	Cell   Cell // CellLSTM, CellGRU or CellRNN
	Vocab  int  // tokens V; must be positive
	Embed  int  // the embedding width; must be positive
	Hidden int  // the recurrent layers' width; must be positive
	Layers int  // recurrent layers; 0 means 1
	// Tied makes the head's weight the embedding (needs Embed = Hidden).
	Tied bool
}

// Validate returns an error naming the first problem of c, or nil.
func (c RecurrentLMConfig) Validate() error {
	switch {
	case c.Cell < CellLSTM || c.Cell > CellRNN:
		return fmt.Errorf("nn: recurrent model with unknown cell %v", c.Cell)
	case c.Vocab <= 0 || c.Embed <= 0 || c.Hidden <= 0 || c.Layers < 0:
		return fmt.Errorf("nn: recurrent model with vocabulary %d, embedding %d, hidden %d and %d layers: want all positive",
			c.Vocab, c.Embed, c.Hidden, c.Layers)
	case c.Tied && c.Embed != c.Hidden:
		return fmt.Errorf("nn: recurrent model with a tied head: embedding %d and hidden %d differ", c.Embed, c.Hidden)
	}
	return nil
}

// RecurrentLM is a recurrent language model: token ids [B, T] → embedding
// → recurrent layers (zero initial states) → a linear head applied at every
// step, logits [B, T, Vocab]. Parameters: "emb.weight", then the layers
// under the cell's lower-case name as PyTorch's multi-layer module names
// them ("lstm.weight_ih_l0", …, "lstm.bias_hh_l1"), then "head.weight"
// (absent when Tied) and "head.bias".
type RecurrentLM[T tensor.Float] struct {
	cfg          RecurrentLMConfig
	emb          *Embedding[T]
	layers       []*Recurrent[T]
	headW, headB *autograd.Var[T]
	params       []Param[T]
}

var _ Module[float32] = (*RecurrentLM[float32])(nil)

// NewRecurrentLM returns a recurrent language model initialised as
// PyTorch's layers, drawn from rng in the order of the parameters, or an
// error naming what is wrong with cfg.
func NewRecurrentLM[T tensor.Float](cfg RecurrentLMConfig, rng *rand.Rand) (*RecurrentLM[T], error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if rng == nil {
		panic("nn: nil rng for initialisation")
	}
	if cfg.Layers == 0 {
		cfg.Layers = 1
	}
	m := &RecurrentLM[T]{cfg: cfg, emb: NewEmbedding[T](cfg.Vocab, cfg.Embed, rng)}
	m.params = prefixed(nil, "emb.", m.emb.Params())
	prefix := strings.ToLower(cfg.Cell.String()) + "."
	in := cfg.Embed
	for i := range cfg.Layers {
		l := NewRecurrent[T](cfg.Cell, in, cfg.Hidden, i, rng)
		m.layers = append(m.layers, l)
		m.params = prefixed(m.params, prefix, l.Params())
		in = cfg.Hidden
	}
	m.headW, m.headB, m.params = newHead(m.params, cfg.Hidden, cfg.Vocab, m.emb, cfg.Tied, rng)
	return m, nil
}

// Forward returns the logits [B, T, Vocab] for the token ids x [B, T].
func (m *RecurrentLM[T]) Forward(t *autograd.Tape[T], x *autograd.Var[T]) (*autograd.Var[T], error) {
	if s := x.Shape(); len(s) != 2 {
		return fail(t, fmt.Errorf("nn: recurrent model: input of shape %v: want token ids [B, T]", s))
	}
	h, err := m.emb.Forward(t, x)
	if err != nil {
		return h, err
	}
	for _, l := range m.layers {
		if h, err = l.Forward(t, h); err != nil {
			return h, err
		}
	}
	return t.Linear(h, m.headW, m.headB), t.Err()
}

// recurrentState is the state a [RecurrentLM] carries from one call of
// feed to the next: each layer's final h and, for an LSTM, c, [1, 1,
// Hidden]; nil (zeros) before the first call.
type recurrentState[T tensor.Float] struct {
	h, c []*tensor.Tensor[T]
}

// feed runs the token ids, one sequence, through the model from the states
// st holds, stores the final states in st and returns the logits of the
// next token after the last id, [Vocab], valid until t is reset. Feeding a
// text in parts gives the logits of feeding it whole, bit for bit. feed
// reads nothing of the model but its parameters, so goroutines may feed
// one model at once, each with its own tape and state.
func (m *RecurrentLM[T]) feed(t *autograd.Tape[T], ids []int, st *recurrentState[T]) ([]T, error) {
	h, err := m.emb.Lookup(t, ids, []int{1, len(ids)})
	if err != nil {
		return nil, err
	}
	if st.h == nil {
		st.h = make([]*tensor.Tensor[T], len(m.layers))
		st.c = make([]*tensor.Tensor[T], len(m.layers))
	}
	for i, l := range m.layers {
		var h0, c0, hn, cn *autograd.Var[T]
		if st.h[i] != nil {
			h0 = t.Const(st.h[i])
		}
		if st.c[i] != nil {
			c0 = t.Const(st.c[i])
		}
		if h, hn, cn, err = l.ForwardState(t, h, h0, c0); err != nil {
			return nil, err
		}
		st.h[i] = keep(st.h[i], hn)
		if cn != nil {
			st.c[i] = keep(st.c[i], cn)
		}
	}
	y := t.Linear(t.Narrow(h, 1, len(ids)-1, 1), m.headW, m.headB)
	if err := t.Err(); err != nil {
		return nil, err
	}
	return y.Value().Data(), nil
}

// keep copies the value of v, which the tape owns, into dst, allocated on
// the first call, and returns dst.
func keep[T tensor.Float](dst *tensor.Tensor[T], v *autograd.Var[T]) *tensor.Tensor[T] {
	if dst == nil {
		dst = tensor.New[T](v.Shape()...)
	}
	copy(dst.Data(), v.Value().Data())
	return dst
}

// Config returns the model's configuration.
func (m *RecurrentLM[T]) Config() RecurrentLMConfig { return m.cfg }

// Params returns the parameters in the order the type's doc gives.
func (m *RecurrentLM[T]) Params() []Param[T] { return m.params }

// Buffers returns nil: the model has none.
func (*RecurrentLM[T]) Buffers() []Buffer[T] { return nil }

// String describes the model.
func (m *RecurrentLM[T]) String() string {
	return fmt.Sprintf("RecurrentLM(%v, %d×%v(%d), Linear(%d, %d), tied=%v)",
		m.emb, m.cfg.Layers, m.cfg.Cell, m.cfg.Hidden, m.cfg.Hidden, m.cfg.Vocab, m.cfg.Tied)
}
