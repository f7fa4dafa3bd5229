package nn

import (
	"fmt"
	"math/rand/v2"

	"github.com/descentml/descent/autograd"
	"github.com/descentml/descent/tensor"
)

// Conv2DConfig describes a 2-D convolution layer.
type Conv2DConfig struct {
	In, Out int // input and output channels; both must be positive
	Kernel  int // the side of the square kernel; must be positive
	Stride  int // the step between windows; 0 means 1 (PyTorch's default)
	Padding int // rows and columns of zeros added on each side; 0 means none
	NoBias  bool
}

// Conv2D is a 2-D convolution layer over images [N, In, H, W], PyTorch's
// nn.Conv2d with a square kernel: the output is [N, Out, OH, OW] with
// OH = (H + 2·Padding − Kernel)/Stride + 1 and OW likewise. Its parameters
// are "weight" [Out, In, Kernel, Kernel] and "bias" [Out] (unless NoBias).
type Conv2D[T tensor.Float] struct {
	cfg          Conv2DConfig
	weight, bias *autograd.Var[T]
	params       []Param[T]
}

var _ Module[float32] = (*Conv2D[float32])(nil)

// NewConv2D returns a convolution layer with PyTorch's default
// initialisation, drawn from rng: weight and bias from U(−1/√fan_in,
// 1/√fan_in), fan_in = In·Kernel². It panics if a size is not positive or
// rng is nil.
func NewConv2D[T tensor.Float](cfg Conv2DConfig, rng *rand.Rand) *Conv2D[T] {
	if cfg.In <= 0 || cfg.Out <= 0 || cfg.Kernel <= 0 || cfg.Stride < 0 || cfg.Padding < 0 {
		panic("nn: invalid Conv2DConfig")
	}
	if cfg.Stride == 0 {
		cfg.Stride = 1
	}
	fanIn := cfg.In * cfg.Kernel * cfg.Kernel
	w := tensor.New[T](cfg.Out, cfg.In, cfg.Kernel, cfg.Kernel)
	kaimingUniform(w.Data(), fanIn, rng)
	c := &Conv2D[T]{cfg: cfg, params: []Param[T]{newParam("weight", w)}}
	c.weight = c.params[0].Var
	if !cfg.NoBias {
		b := tensor.New[T](cfg.Out)
		kaimingUniform(b.Data(), fanIn, rng)
		c.params = append(c.params, newParam("bias", b))
		c.bias = c.params[1].Var
	}
	return c
}

// Forward convolves the images x. Images with the wrong number of channels,
// or smaller than the kernel, are an error naming the shapes.
func (c *Conv2D[T]) Forward(t *autograd.Tape[T], x *autograd.Var[T]) (*autograd.Var[T], error) {
	s := x.Shape()
	if len(s) != 4 || s[1] != c.cfg.In {
		return fail(t, fmt.Errorf("nn: %v: input of shape %v: want [N, %d, H, W]", c, s, c.cfg.In))
	}
	if p, k := c.cfg.Padding, c.cfg.Kernel; s[2]+2*p < k || s[3]+2*p < k {
		return fail(t, fmt.Errorf("nn: %v: input of shape %v: a %d×%d image with padding %d is smaller than the %d×%d kernel", c, s, s[2], s[3], p, k, k))
	}
	st, p := [2]int{c.cfg.Stride, c.cfg.Stride}, [2]int{c.cfg.Padding, c.cfg.Padding}
	return t.Conv2D(x, c.weight, c.bias, st, p), t.Err()
}

// outSize returns the height and width of the output for an input of shape
// s, and whether s is one that Forward takes.
func (c *Conv2D[T]) outSize(s []int) (oh, ow int, ok bool) {
	p, k, st := c.cfg.Padding, c.cfg.Kernel, c.cfg.Stride
	if len(s) != 4 || s[1] != c.cfg.In || s[2]+2*p < k || s[3]+2*p < k {
		return 0, 0, false
	}
	return (s[2]+2*p-k)/st + 1, (s[3]+2*p-k)/st + 1, true
}

// Weight returns the filters [Out, In, Kernel, Kernel].
func (c *Conv2D[T]) Weight() *autograd.Var[T] { return c.weight }

// Bias returns the bias [Out], or nil with NoBias.
func (c *Conv2D[T]) Bias() *autograd.Var[T] { return c.bias }

// Params returns "weight" and, unless NoBias, "bias".
func (c *Conv2D[T]) Params() []Param[T] { return c.params }

// Buffers returns nil: Conv2D has none.
func (c *Conv2D[T]) Buffers() []Buffer[T] { return nil }

// String describes the layer as PyTorch prints it.
func (c *Conv2D[T]) String() string {
	return fmt.Sprintf("Conv2D(%d, %d, kernel_size=%d, stride=%d, padding=%d)", c.cfg.In, c.cfg.Out, c.cfg.Kernel, c.cfg.Stride, c.cfg.Padding)
}

// MaxPool2D takes the maximum of each Kernel×Kernel window of images
// [N, C, H, W], as PyTorch's nn.MaxPool2d (floor mode): the output is
// [N, C, OH, OW] with OH = (H + 2·Padding − Kernel)/Stride + 1. The zero
// value is not usable: set Kernel, or use NewMaxPool2D.
type MaxPool2D[T tensor.Float] struct {
	Kernel  int // the side of the square window; must be positive
	Stride  int // the step between windows; 0 means Kernel (PyTorch's default)
	Padding int // −∞ padding on each side, at most Kernel/2; 0 means none
}

var _ Module[float32] = (*MaxPool2D[float32])(nil)

// NewMaxPool2D returns a max-pooling layer with non-overlapping
// kernel×kernel windows.
func NewMaxPool2D[T tensor.Float](kernel int) *MaxPool2D[T] {
	return &MaxPool2D[T]{Kernel: kernel}
}

func (m *MaxPool2D[T]) stride() int {
	if m.Stride == 0 {
		return m.Kernel
	}
	return m.Stride
}

// Forward pools the images x.
func (m *MaxPool2D[T]) Forward(t *autograd.Tape[T], x *autograd.Var[T]) (*autograd.Var[T], error) {
	if s := x.Shape(); len(s) != 4 {
		return fail(t, fmt.Errorf("nn: %v: input of shape %v: want [N, C, H, W]", m, s))
	}
	k, s, p := [2]int{m.Kernel, m.Kernel}, [2]int{m.stride(), m.stride()}, [2]int{m.Padding, m.Padding}
	return t.MaxPool2D(x, k, s, p), t.Err()
}

// Params returns nil: the layer has none.
func (*MaxPool2D[T]) Params() []Param[T] { return nil }

// Buffers returns nil: the layer has none.
func (*MaxPool2D[T]) Buffers() []Buffer[T] { return nil }

// String describes the layer as PyTorch prints it.
func (m *MaxPool2D[T]) String() string {
	return fmt.Sprintf("MaxPool2D(kernel_size=%d, stride=%d, padding=%d)", m.Kernel, m.stride(), m.Padding)
}
