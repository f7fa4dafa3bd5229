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
	Dx          jsonTensor            `json:"dx"`
	ParamGrads  map[string]jsonTensor `json:"param_grads"`
	StateAfter  map[string]jsonTensor `json:"state_after"`
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
		return nn.NewGELU[T]()
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
	x := autograd.NewVar(toTensor[T](c, "x", f.X), true)
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
	checkTensor(c, "dx", x.Grad(), f.Dx)

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
		Type      string `json:"type"`
		Reduction string `json:"reduction"`
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
		l, err = loss.CrossEntropy(tape, input, labels)
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
