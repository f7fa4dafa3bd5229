package descent_test

import (
	"math"
	"math/rand/v2"
	"sort"

	"github.com/descentml/descent/autograd"
	"github.com/descentml/descent/loss"
	"github.com/descentml/descent/nn"
	"github.com/descentml/descent/tensor"
)

// The checkers for the files of kind layer and loss (testdata/conformance/nn):
// each builds the PyTorch module or loss the file names, in the file's
// dtype, runs it forward and backward, and compares every output, gradient
// and state tensor the file gives.

func init() {
	checkers["layer"] = checkLayer
	checkers["loss"] = checkLoss
}

type layerFile struct {
	Layer       layerConfig           `json:"layer"`
	Training    bool                  `json:"training"`
	StateBefore map[string]jsonTensor `json:"state_before"`
	X           jsonTensor            `json:"x"`
	Y           jsonTensor            `json:"y"`
	Dy          jsonTensor            `json:"dy"`
	Dx          *jsonTensor           `json:"dx"` // absent for Embedding (integer input)
	ParamGrads  map[string]jsonTensor `json:"param_grads"`
	StateAfter  map[string]jsonTensor `json:"state_after"`

	// Recurrent layers: initial states (absent = zeros), final states,
	// their upstream gradients and the initial states' gradients.
	H0  *jsonTensor `json:"h0"`
	C0  *jsonTensor `json:"c0"`
	Hn  *jsonTensor `json:"h_n"`
	Cn  *jsonTensor `json:"c_n"`
	DHn *jsonTensor `json:"dh_n"`
	DCn *jsonTensor `json:"dc_n"`
	DH0 *jsonTensor `json:"dh0"`
	DC0 *jsonTensor `json:"dc0"`
}

// layerConfig holds the settings of every layer type the files use; each
// type reads the ones it has. Pointers tell a missing setting from zero.
type layerConfig struct {
	Type     string   `json:"type"`
	In       int      `json:"in"`
	Out      int      `json:"out"`
	Kernel   int      `json:"kernel"`
	Stride   int      `json:"stride"`
	Padding  int      `json:"padding"`
	Features int      `json:"features"`
	Eps      *float64 `json:"eps"`
	Momentum *float64 `json:"momentum"`

	// Sequence-model layers.
	NumEmbeddings   int      `json:"num_embeddings"`
	EmbeddingDim    int      `json:"embedding_dim"`
	PaddingIdx      *int     `json:"padding_idx"`
	MaxNorm         *float64 `json:"max_norm"`
	ScaleGradByFreq bool     `json:"scale_grad_by_freq"`
	Sparse          bool     `json:"sparse"`
	NormalizedShape []int    `json:"normalized_shape"`
	Affine          *bool    `json:"elementwise_affine"`
	Approximate     string   `json:"approximate"`
	EmbedDim        int      `json:"embed_dim"`
	NumHeads        int      `json:"num_heads"`
	BatchFirst      *bool    `json:"batch_first"`
	Bias            *bool    `json:"bias"`
	Dropout         float64  `json:"dropout"`
	AddBiasKV       bool     `json:"add_bias_kv"`
	AddZeroAttn     bool     `json:"add_zero_attn"`
	SelfAttention   *bool    `json:"self_attention"`
	AttnMask        *string  `json:"attn_mask"`
	InputSize       int      `json:"input_size"`
	HiddenSize      int      `json:"hidden_size"`
	NumLayers       int      `json:"num_layers"`
	Bidirectional   bool     `json:"bidirectional"`
	Nonlinearity    string   `json:"nonlinearity"`
}

func checkLayer(c *conf, raw []byte) {
	var f layerFile
	if !c.decode(raw, &f) {
		return
	}
	if c.dtype == "float32" {
		runLayer[float32](c, &f)
	} else {
		runLayer[float64](c, &f)
	}
}

// newLayer builds the module a file names, or reports that it cannot.
func newLayer[T tensor.Float](c *conf, cfg layerConfig) nn.Module[T] {
	bn := func(b *nn.BatchNorm[T]) nn.Module[T] {
		if cfg.Eps != nil {
			b.Eps = *cfg.Eps
		}
		if cfg.Momentum != nil {
			b.Momentum = *cfg.Momentum
		}
		return b
	}
	switch cfg.Type {
	case "Linear":
		return nn.NewLinear[T](cfg.In, cfg.Out, rng())
	case "Conv2d":
		return nn.NewConv2D[T](nn.Conv2DConfig{In: cfg.In, Out: cfg.Out, Kernel: cfg.Kernel, Stride: cfg.Stride, Padding: cfg.Padding}, rng())
	case "MaxPool2d":
		return &nn.MaxPool2D[T]{Kernel: cfg.Kernel, Stride: cfg.Stride, Padding: cfg.Padding}
	case "BatchNorm1d":
		return bn(nn.NewBatchNorm1d[T](cfg.Features))
	case "BatchNorm2d":
		return bn(nn.NewBatchNorm2d[T](cfg.Features))
	case "ReLU":
		return nn.NewReLU[T]()
	case "Tanh":
		return nn.NewTanh[T]()
	case "Sigmoid":
		return nn.NewSigmoid[T]()
	case "GELU":
		switch cfg.Approximate {
		case "", "none":
			return nn.NewGELU[T]()
		case "tanh":
			return nn.NewGELUTanh[T]()
		}
		c.Errorf("GELU: unsupported approximate %q", cfg.Approximate)
		return nil
	case "SiLU":
		return nn.NewSiLU[T]()
	case "Embedding":
		if cfg.MaxNorm != nil || cfg.ScaleGradByFreq || cfg.Sparse {
			c.Errorf("Embedding: max_norm, scale_grad_by_freq and sparse are not supported")
			return nil
		}
		pad := -1
		if cfg.PaddingIdx != nil {
			pad = *cfg.PaddingIdx
		}
		return nn.NewEmbeddingPadding[T](cfg.NumEmbeddings, cfg.EmbeddingDim, pad, rng())
	case "LayerNorm", "RMSNorm":
		if len(cfg.NormalizedShape) != 1 || (cfg.Affine != nil && !*cfg.Affine) {
			c.Errorf("%s: normalized_shape %v, elementwise_affine %v: only one dimension, affine, is supported", cfg.Type, cfg.NormalizedShape, cfg.Affine)
			return nil
		}
		if cfg.Type == "RMSNorm" {
			l := nn.NewRMSNorm[T](cfg.NormalizedShape[0])
			if cfg.Eps != nil {
				l.Eps = *cfg.Eps
			}
			return l
		}
		l := nn.NewLayerNorm[T](cfg.NormalizedShape[0])
		if cfg.Eps != nil {
			l.Eps = *cfg.Eps
		}
		return l
	case "MultiheadAttention":
		if cfg.BatchFirst == nil || !*cfg.BatchFirst || cfg.Dropout != 0 || cfg.AddBiasKV || cfg.AddZeroAttn ||
			(cfg.SelfAttention != nil && !*cfg.SelfAttention) {
			c.Errorf("MultiheadAttention: only batch_first self-attention without dropout, bias_kv or zero_attn is supported")
			return nil
		}
		ac := nn.AttentionConfig{Dim: cfg.EmbedDim, Heads: cfg.NumHeads, NoBias: cfg.Bias != nil && !*cfg.Bias}
		switch {
		case cfg.AttnMask == nil:
		case *cfg.AttnMask == "causal":
			ac.Causal = true
		default:
			c.Errorf("MultiheadAttention: unsupported attn_mask %q", *cfg.AttnMask)
			return nil
		}
		if err := ac.Validate(); err != nil {
			c.Errorf("%v", err)
			return nil
		}
		return nn.NewMultiheadAttention[T](ac, rng())
	case "LSTM", "GRU", "RNN":
		if cfg.NumLayers != 1 || cfg.Bidirectional || (cfg.BatchFirst != nil && !*cfg.BatchFirst) || (cfg.Bias != nil && !*cfg.Bias) {
			c.Errorf("%s: only one batch_first, unidirectional layer with biases is supported", cfg.Type)
			return nil
		}
		cell := map[string]nn.Cell{"LSTM": nn.CellLSTM, "GRU": nn.CellGRU, "RNN": nn.CellRNN}[cfg.Type]
		if cell == nn.CellRNN && cfg.Nonlinearity != "" && cfg.Nonlinearity != "tanh" {
			c.Errorf("RNN: unsupported nonlinearity %q", cfg.Nonlinearity)
			return nil
		}
		return nn.NewRecurrent[T](cell, cfg.InputSize, cfg.HiddenSize, 0, rng())
	}
	c.Errorf("unsupported layer type %q", cfg.Type)
	return nil
}

func runLayer[T tensor.Float](c *conf, f *layerFile) {
	m := newLayer[T](c, f.Layer)
	if m == nil {
		return
	}
	if ms, ok := m.(nn.ModeSetter); ok && !f.Training {
		ms.SetMode(nn.Eval)
	}
	matchState(c, "state_before", moduleState(m), f.StateBefore, func(_ string, s stateTensor, want jsonTensor) {
		s.set(want.Data)
	})

	tape := autograd.NewTape[T]()
	_, ids := m.(*nn.Embedding[T])
	x := autograd.NewVar(toTensor[T](c, "x", f.X), !ids)
	if r, ok := m.(*nn.Recurrent[T]); ok {
		if !runRecurrent(c, f, tape, r, x) {
			return
		}
	} else {
		y, err := m.Forward(tape, x)
		if err != nil {
			c.Errorf("forward: %v", err)
			return
		}
		checkTensor(c, "y", y.Value(), f.Y)
		if err := tape.BackwardWith(y, toTensor[T](c, "dy", f.Dy)); err != nil {
			c.Errorf("backward: %v", err)
			return
		}
	}
	switch {
	case ids && f.Dx != nil:
		c.Errorf("the file gives dx for integer input")
	case !ids && f.Dx == nil:
		c.Errorf("the file gives no dx")
	case !ids:
		checkTensor(c, "dx", x.Grad(), *f.Dx)
	}

	grads := make(map[string]stateTensor)
	for _, p := range m.Params() {
		grads[p.Name] = stateTensor{shape: p.Shape, get: func() []float64 { return toFloat64(p.Grad) }}
	}
	matchState(c, "param_grads", grads, f.ParamGrads, func(name string, s stateTensor, want jsonTensor) {
		c.near("param_grads."+name, s.get(), want.Data)
	})
	matchState(c, "state_after", moduleState(m), f.StateAfter, func(name string, s stateTensor, want jsonTensor) {
		c.near("state_after."+name, s.get(), want.Data)
	})
}

// runRecurrent runs a recurrent layer from the file's initial states (if
// any), compares y, h_n and c_n, and runs backward from
// L = Σ y·dy + Σ h_n·dh_n + Σ c_n·dc_n, comparing dh0 and dc0. It reports
// whether the caller should go on to dx and the parameters' gradients.
func runRecurrent[T tensor.Float](c *conf, f *layerFile, tape *autograd.Tape[T], r *nn.Recurrent[T], x *autograd.Var[T]) bool {
	state := func(what string, j *jsonTensor) *autograd.Var[T] {
		if j == nil {
			return nil
		}
		return autograd.NewVar(toTensor[T](c, what, *j), true)
	}
	h0, c0 := state("h0", f.H0), state("c0", f.C0)
	y, hn, cn, err := r.ForwardState(tape, x, h0, c0)
	if err != nil {
		c.Errorf("forward: %v", err)
		return false
	}
	checkTensor(c, "y", y.Value(), f.Y)
	l := tape.Sum(tape.Mul(y, tape.Const(toTensor[T](c, "dy", f.Dy))))
	for _, o := range []struct {
		name    string
		got     *autograd.Var[T]
		want, d *jsonTensor
	}{{"h_n", hn, f.Hn, f.DHn}, {"c_n", cn, f.Cn, f.DCn}} {
		switch {
		case (o.got == nil) != (o.want == nil) || (o.want == nil) != (o.d == nil):
			c.Errorf("%s: the layer and the file disagree on whether it exists", o.name)
			return false
		case o.got != nil:
			checkTensor(c, o.name, o.got.Value(), *o.want)
			l = tape.Add(l, tape.Sum(tape.Mul(o.got, tape.Const(toTensor[T](c, "d"+o.name, *o.d)))))
		}
	}
	if err := tape.Backward(l); err != nil {
		c.Errorf("backward: %v", err)
		return false
	}
	for _, s := range []struct {
		name string
		v    *autograd.Var[T]
		want *jsonTensor
	}{{"dh0", h0, f.DH0}, {"dc0", c0, f.DC0}} {
		switch {
		case (s.v == nil) != (s.want == nil):
			c.Errorf("%s: given without its initial state, or missing", s.name)
		case s.v != nil:
			checkTensor(c, s.name, s.v.Grad(), *s.want)
		}
	}
	return true
}

// stateTensor is one parameter or buffer of a module, by name, as float64s.
type stateTensor struct {
	shape []int
	get   func() []float64
	set   func([]float64)
}

func moduleState[T tensor.Float](m nn.Module[T]) map[string]stateTensor {
	st := make(map[string]stateTensor)
	floats := func(shape []int, v []T) stateTensor {
		return stateTensor{shape: shape,
			get: func() []float64 { return toFloat64(v) },
			set: func(d []float64) {
				for i := range v {
					v[i] = T(d[i])
				}
			}}
	}
	for _, p := range m.Params() {
		st[p.Name] = floats(p.Shape, p.Value)
	}
	for _, b := range m.Buffers() {
		if b.Value != nil {
			st[b.Name] = floats(b.Shape, b.Value)
			continue
		}
		ints := b.Int
		st[b.Name] = stateTensor{shape: b.Shape,
			get: func() []float64 {
				out := make([]float64, len(ints))
				for i, v := range ints {
					out[i] = float64(v)
				}
				return out
			},
			set: func(d []float64) {
				for i := range ints {
					ints[i] = int64(d[i])
				}
			}}
	}
	return st
}

// matchState pairs the tensors of st with a file's tensors of the same
// names, reporting missing, extra and mis-shaped ones under what, and calls
// fn for each pair that fits.
func matchState(c *conf, what string, st map[string]stateTensor, file map[string]jsonTensor, fn func(name string, s stateTensor, want jsonTensor)) {
	for _, name := range sortedKeys(st) {
		want, ok := file[name]
		if !ok {
			c.Errorf("%s: no value given for %q", what, name)
			continue
		}
		if !tensor.SameShape(st[name].shape, want.Shape) {
			c.Errorf("%s.%s: the file's shape is %v; the module's is %v", what, name, want.Shape, st[name].shape)
			continue
		}
		fn(name, st[name], want)
	}
	for _, name := range sortedKeys(file) {
		if _, ok := st[name]; !ok {
			c.Errorf("%s: the module has no %q", what, name)
		}
	}
}

type lossFile struct {
	Loss struct {
		Type        string `json:"type"`
		Reduction   string `json:"reduction"`
		IgnoreIndex *int   `json:"ignore_index"`
	} `json:"loss"`
	Input  jsonTensor `json:"input"`
	Target jsonTensor `json:"target"`
	Value  float64    `json:"value"`
	Dinput jsonTensor `json:"dinput"`
}

func checkLoss(c *conf, raw []byte) {
	var f lossFile
	if !c.decode(raw, &f) {
		return
	}
	if f.Loss.Reduction != "mean" {
		c.Errorf("unsupported reduction %q for loss %q (want mean)", f.Loss.Reduction, f.Loss.Type)
		return
	}
	if c.dtype == "float32" {
		runLoss[float32](c, &f)
	} else {
		runLoss[float64](c, &f)
	}
}

func runLoss[T tensor.Float](c *conf, f *lossFile) {
	tape := autograd.NewTape[T]()
	input := autograd.NewVar(toTensor[T](c, "input", f.Input), true)
	var (
		l   *autograd.Var[T]
		err error
	)
	switch f.Loss.Type {
	case "cross_entropy":
		labels := make([]int, len(f.Target.Data))
		for i, v := range f.Target.Data {
			if v != math.Trunc(v) {
				c.Errorf("target[%d] = %v is not a class index", i, v)
				return
			}
			labels[i] = int(v)
		}
		if f.Loss.IgnoreIndex != nil {
			l, err = loss.CrossEntropyIgnore(tape, input, labels, *f.Loss.IgnoreIndex)
		} else {
			l, err = loss.CrossEntropy(tape, input, labels)
		}
	case "mse":
		l, err = loss.MSE(tape, input, tape.Const(toTensor[T](c, "target", f.Target)))
	case "bce_with_logits":
		l, err = loss.BCEWithLogits(tape, input, tape.Const(toTensor[T](c, "target", f.Target)))
	default:
		c.Errorf("unsupported loss type %q", f.Loss.Type)
		return
	}
	if err != nil {
		c.Errorf("%s: %v", f.Loss.Type, err)
		return
	}
	c.scalar("value", float64(l.Value().Item()), f.Value)
	if err := tape.Backward(l); err != nil {
		c.Errorf("backward: %v", err)
		return
	}
	checkTensor(c, "dinput", input.Grad(), f.Dinput)
}

// checkTensor compares a tensor's shape and values with a file's.
func checkTensor[T tensor.Float](c *conf, what string, got *tensor.Tensor[T], want jsonTensor) {
	if got == nil {
		c.Errorf("%s: no value computed", what)
		return
	}
	if !tensor.SameShape(got.Shape(), want.Shape) {
		c.Errorf("%s: shape %v; want %v", what, got.Shape(), want.Shape)
		return
	}
	c.near(what, toFloat64(got.Data()), want.Data)
}

// toTensor converts a file's tensor to the dtype under test, reporting a
// tensor whose data does not fill its shape.
func toTensor[T tensor.Float](c *conf, what string, j jsonTensor) *tensor.Tensor[T] {
	x := tensor.New[T](j.Shape...)
	if len(j.Data) != x.Len() {
		c.Errorf("malformed file: %s has %d values for shape %v", what, len(j.Data), j.Shape)
	}
	for i, v := range j.Data[:min(len(j.Data), x.Len())] {
		x.Data()[i] = T(v)
	}
	return x
}

// rng is the source for the layers' initial weights, which every file
// overwrites from its state_before.
func rng() *rand.Rand { return rand.New(rand.NewPCG(1, 2)) }

func toFloat64[T tensor.Float](x []T) []float64 {
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = float64(v)
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
