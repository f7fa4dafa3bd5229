package nn

import (
	"fmt"
	"math/rand/v2"

	"github.com/descentml/descent/autograd"
	"github.com/descentml/descent/tensor"
)

// Cell names a recurrent cell.
type Cell uint8

const (
	// CellLSTM is PyTorch's LSTM cell: gate blocks i, f, g, o;
	// c ← σ(f)·c + σ(i)·tanh(g), h ← σ(o)·tanh(c).
	CellLSTM Cell = iota + 1
	// CellGRU is PyTorch's GRU cell: gate blocks r, z, n;
	// n = tanh(gi_n + r·gh_n), h ← (1 − z)·n + z·h.
	CellGRU
	// CellRNN is PyTorch's plain RNN cell with tanh: h ← tanh(gi + gh).
	CellRNN
)

// String returns "LSTM", "GRU" or "RNN".
func (c Cell) String() string {
	switch c {
	case CellLSTM:
		return "LSTM"
	case CellGRU:
		return "GRU"
	case CellRNN:
		return "RNN"
	}
	return fmt.Sprintf("Cell(%d)", uint8(c))
}

// gates returns the number of gate blocks of the cell.
func (c Cell) gates() int {
	switch c {
	case CellLSTM:
		return 4
	case CellGRU:
		return 3
	}
	return 1
}

// Recurrent is one layer of PyTorch's nn.LSTM, nn.GRU or nn.RNN (tanh) with
// batch_first=True: an input [B, T, In] gives every step's hidden state,
// [B, T, Hidden]. Layers stack by composition ([Sequential], or a model
// that keeps the final states of each).
//
// With G gate blocks (4, 3, 1), per step gi = x_t·W_ihᵀ + b_ih and
// gh = h·W_hhᵀ + b_hh. The input projections of all steps are one matrix
// multiply; each step is one more, of the batch by W_hh. The parameters
// have PyTorch's names for layer 0 (layer k of a stack built by a model
// ends in _lk): "weight_ih_l0" [G·H, In], "weight_hh_l0" [G·H, H],
// "bias_ih_l0" and "bias_hh_l0" [G·H].
type Recurrent[T tensor.Float] struct {
	cell               Cell
	in, hidden         int
	wih, whh, bih, bhh *autograd.Var[T]
	params             []Param[T]
}

var _ Module[float32] = (*Recurrent[float32])(nil)

// NewLSTM returns one LSTM layer from in to hidden features, initialised
// as PyTorch's: every weight and bias from U(−1/√hidden, 1/√hidden), drawn
// from rng. It panics if a size is not positive or rng is nil.
func NewLSTM[T tensor.Float](in, hidden int, rng *rand.Rand) *Recurrent[T] {
	return NewRecurrent[T](CellLSTM, in, hidden, 0, rng)
}

// NewGRU returns one GRU layer, as NewLSTM.
func NewGRU[T tensor.Float](in, hidden int, rng *rand.Rand) *Recurrent[T] {
	return NewRecurrent[T](CellGRU, in, hidden, 0, rng)
}

// NewRNN returns one tanh RNN layer, as NewLSTM.
func NewRNN[T tensor.Float](in, hidden int, rng *rand.Rand) *Recurrent[T] {
	return NewRecurrent[T](CellRNN, in, hidden, 0, rng)
}

// NewRecurrent returns a layer of the given cell whose parameters are
// named for layer index layer of a PyTorch stack ("weight_ih_l1" for 1):
// the second layer of a 2-layer nn.LSTM is NewRecurrent(CellLSTM, hidden,
// hidden, 1, rng). It panics if a size is not positive, the cell unknown
// or rng nil.
func NewRecurrent[T tensor.Float](cell Cell, in, hidden, layer int, rng *rand.Rand) *Recurrent[T] {
	if in <= 0 || hidden <= 0 || layer < 0 || cell < CellLSTM || cell > CellRNN {
		panic("nn: invalid recurrent layer")
	}
	g := cell.gates() * hidden
	r := &Recurrent[T]{cell: cell, in: in, hidden: hidden}
	for _, p := range []struct {
		name  string
		shape []int
	}{{"weight_ih", []int{g, in}}, {"weight_hh", []int{g, hidden}}, {"bias_ih", []int{g}}, {"bias_hh", []int{g}}} {
		v := tensor.New[T](p.shape...)
		kaimingUniform(v.Data(), hidden, rng)
		r.params = append(r.params, newParam(fmt.Sprintf("%s_l%d", p.name, layer), v))
	}
	r.wih, r.whh, r.bih, r.bhh = r.params[0].Var, r.params[1].Var, r.params[2].Var, r.params[3].Var
	return r
}

// Forward returns every step's hidden state [B, T, Hidden] for x
// [B, T, In], starting from zero states.
func (r *Recurrent[T]) Forward(t *autograd.Tape[T], x *autograd.Var[T]) (*autograd.Var[T], error) {
	y, _, _, err := r.ForwardState(t, x, nil, nil)
	return y, err
}

// ForwardState runs x [B, T, In] from the initial states h0 and (LSTM only)
// c0, each [1, B, Hidden] as PyTorch's or [B, Hidden], nil for zeros. It
// returns every step's h, [B, T, Hidden], and the final states h_n and
// (LSTM; nil otherwise) c_n, [1, B, Hidden]: to carry state across
// batches, pass them back in (as constants, to truncate backpropagation).
// Shapes that do not fit are an error naming them.
func (r *Recurrent[T]) ForwardState(t *autograd.Tape[T], x, h0, c0 *autograd.Var[T]) (y, hn, cn *autograd.Var[T], err error) {
	s := x.Shape()
	if len(s) != 3 || s[2] != r.in {
		y, err = fail(t, fmt.Errorf("nn: %v: input of shape %v: want [B, T, %d]", r, s, r.in))
		return y, nil, nil, err
	}
	b, n, h := s[0], s[1], r.hidden
	for _, st := range []*autograd.Var[T]{h0, c0} {
		if st == nil {
			continue
		}
		ss := st.Shape()
		if !tensor.SameShape(ss, []int{1, b, h}) && !tensor.SameShape(ss, []int{b, h}) {
			y, err = fail(t, fmt.Errorf("nn: %v: initial state of shape %v for input %v: want [1, %d, %d]", r, ss, s, b, h))
			return y, nil, nil, err
		}
	}
	if c0 != nil && r.cell != CellLSTM {
		y, err = fail(t, fmt.Errorf("nn: %v: an initial cell state is an LSTM's only", r))
		return y, nil, nil, err
	}
	if n == 0 {
		y, err = fail(t, fmt.Errorf("nn: %v: input of shape %v has no steps", r, s))
		return y, nil, nil, err
	}
	gi := t.Linear(x, r.wih, r.bih)
	switch r.cell {
	case CellLSTM:
		out := t.LSTM(gi, h0, c0, r.whh, r.bhh)
		y = t.Reshape(t.Slice(out, 0, 1), b, n, h)
		cs := t.Reshape(t.Slice(out, 1, 2), b, n, h)
		cn = t.Reshape(t.Narrow(cs, 1, n-1, 1), 1, b, h)
	case CellGRU:
		y = t.GRU(gi, h0, r.whh, r.bhh)
	default:
		y = t.RNN(gi, h0, r.whh, r.bhh)
	}
	hn = t.Reshape(t.Narrow(y, 1, n-1, 1), 1, b, h)
	if err := t.Err(); err != nil {
		return y, nil, nil, fmt.Errorf("nn: %v: %w", r, err)
	}
	return y, hn, cn, nil
}

// Cell returns the layer's cell.
func (r *Recurrent[T]) Cell() Cell { return r.cell }

// Params returns the weights and biases, named as PyTorch's.
func (r *Recurrent[T]) Params() []Param[T] { return r.params }

// Buffers returns nil: the layer has none.
func (*Recurrent[T]) Buffers() []Buffer[T] { return nil }

// String returns "LSTM(in, hidden)", "GRU(…)" or "RNN(…)".
func (r *Recurrent[T]) String() string { return fmt.Sprintf("%v(%d, %d)", r.cell, r.in, r.hidden) }
