package optim

import "fmt"

// Float is the element type of parameters: float32 or float64.
type Float interface {
	~float32 | ~float64
}

// Param is one parameter tensor as an optimizer sees it: a name, a shape, and
// two buffers of the same length. Step reads Grad and updates Value in place;
// it never writes Grad. The buffers must keep their backing arrays for the
// optimizer's life (zero gradients in place; never reallocate).
//
// Names key the saved state, so they must be unique within an optimizer; an
// empty name is replaced by the parameter's position ("0", "1", …).
type Param[T Float] struct {
	Name  string
	Shape []int
	Value []T
	Grad  []T
}

// ParamInfo is what a transform learns of a parameter when it is set up.
type ParamInfo struct {
	Name  string
	Shape []int
	Size  int  // number of elements
	Decay bool // weight decay applies to it (see Config.DecayMask)
}

// WeightsOnly is a decay mask that decays parameters of two or more
// dimensions — weight matrices and convolution kernels — and leaves biases
// and normalization scales and shifts alone, the usual practice for AdamW.
func WeightsOnly(name string, shape []int) bool { return len(shape) >= 2 }

// checkParam returns an error unless p's Value and, if grad, its Grad
// have the elements of its shape (a nil slice has none).
func checkParam[T Float](p *Param[T], grad bool) error {
	n := 1
	for _, d := range p.Shape {
		if d < 0 {
			return fmt.Errorf("optim: parameter %q has negative dimension in shape %v", p.Name, p.Shape)
		}
		n *= d
	}
	if len(p.Value) != n {
		return fmt.Errorf("optim: parameter %q: shape %v has %d elements, Value has %d", p.Name, p.Shape, n, len(p.Value))
	}
	if grad && len(p.Grad) != n {
		return fmt.Errorf("optim: parameter %q: shape %v has %d elements, Grad has %d", p.Name, p.Shape, n, len(p.Grad))
	}
	return nil
}
