package optim

import (
	"fmt"
	"math"

	"github.com/descentml/descent/internal/kernel"
)

// clipEps is PyTorch's guard against dividing by a zero norm:
// clip_grad_norm_ scales by max_norm / (total_norm + 1e-6).
const clipEps = 1e-6

// ClipByGlobalNorm rescales the update so that the p-norm of all the
// optimizer's gradients taken together is at most ClipNorm (Pascanu et al. 2013;
// PyTorch's clip_grad_norm_):
//
//	u ← u · min(1, ClipNorm / (‖g‖_p + 10⁻⁶))
//
// The norm is that of the gradients of every parameter group as
// [StepInfo.GradNorm] gives it — the raw gradients, or with
// Config.ClipValue those clipped by value, as PyTorch users who call
// clip_grad_value_ then clip_grad_norm_ get — so the transform belongs at
// the head of the chain (Config.ClipNorm puts it there, after the clipping
// by value), from its fields, named as Config's. ClipNormType is the
// norm's order: 2 when zero; 1, any p > 0, or math.Inf(1).
type ClipByGlobalNorm[T Float] struct {
	ClipNorm     float64
	ClipNormType float64

	scale T
	clip  bool
	norm  float64
	claim
}

func (c *ClipByGlobalNorm[T]) Name() string { return "clip_by_global_norm" }

func (c *ClipByGlobalNorm[T]) order() float64 {
	if c.ClipNormType == 0 {
		return 2
	}
	return c.ClipNormType
}

// Validate checks the bound and the order, naming the first bad one.
func (c *ClipByGlobalNorm[T]) Validate() error {
	return checkClipNorm("ClipByGlobalNorm.ClipNorm", c.ClipNorm, "ClipByGlobalNorm.ClipNormType", c.order())
}

func (c *ClipByGlobalNorm[T]) Init(*State[T], []ParamInfo) error { return nil }

func (c *ClipByGlobalNorm[T]) Begin(s *StepInfo) {
	c.norm = s.GradNorm(c.order())
	f := clipFactor(c.ClipNorm, c.norm)
	c.clip, c.scale = f < 1, T(f)
}

func (c *ClipByGlobalNorm[T]) Update(_, _ int, u, _ []T) {
	if c.clip {
		kernel.Scale(c.scale, u)
	}
}

// ClipByValue limits every element of the update to [−ClipValue,
// ClipValue] (PyTorch's clip_grad_value_; Config.ClipValue puts it at the
// head of the chain).
type ClipByValue[T Float] struct {
	ClipValue float64

	claim
}

func (c *ClipByValue[T]) Name() string { return "clip_by_value" }

// Validate checks the bound.
func (c *ClipByValue[T]) Validate() error { return c.check("ClipByValue.ClipValue") }

// check holds ClipValue to its rule, naming it field: ClipGradValue names
// its argument.
func (c *ClipByValue[T]) check(field string) error { return positive(field, c.ClipValue) }

func (c *ClipByValue[T]) Init(*State[T], []ParamInfo) error { return nil }

func (c *ClipByValue[T]) Begin(*StepInfo) {}

func (c *ClipByValue[T]) Update(_, _ int, u, _ []T) { kernel.Clamp(T(-c.ClipValue), T(c.ClipValue), u) }

// ClipGradNorm scales grads in place so that their global p-norm is at most
// maxNorm, as PyTorch's clip_grad_norm_ does, and returns the norm before
// clipping. p is 1, 2, any p > 0, or math.Inf(1). A non-finite norm is an
// error and leaves grads unchanged.
func ClipGradNorm[T Float](grads [][]T, maxNorm, p float64) (float64, error) {
	if err := checkClipNorm("ClipGradNorm maxNorm", maxNorm, "ClipGradNorm p", p); err != nil {
		return 0, err
	}
	total := 0.0
	for _, g := range grads {
		total = combineNorm(total, partialNorm(g, p), p)
	}
	total = finishNorm(total, p)
	if math.IsNaN(total) || math.IsInf(total, 0) {
		return total, fmt.Errorf("optim: gradient %v-norm is %v", p, total)
	}
	if f := clipFactor(maxNorm, total); f < 1 {
		for _, g := range grads {
			kernel.Scale(T(f), g)
		}
	}
	return total, nil
}

// ClipGradValue limits every gradient element to [−max, max] in place, as
// PyTorch's clip_grad_value_ does.
func ClipGradValue[T Float](grads [][]T, max float64) error {
	c := ClipByValue[T]{ClipValue: max}
	if err := c.check("ClipGradValue max"); err != nil {
		return err
	}
	for _, g := range grads {
		c.Update(0, 0, g, nil)
	}
	return nil
}

// checkClipNorm checks a bound on a norm and the norm's order, naming
// them maxField and pField.
func checkClipNorm(maxField string, max float64, pField string, p float64) error {
	if err := nonNegative(maxField, max); err != nil {
		return err
	}
	if !(p > 0) {
		return fmt.Errorf("optim: %s = %v: must be positive (2 for the Euclidean norm, +Inf for the max norm)", pField, p)
	}
	return nil
}

func clipFactor(max, norm float64) float64 { return max / (norm + clipEps) }

// partialNorm returns x's contribution to a p-norm: Σ|x|ᵖ, or max|x| for
// p = ∞. Partial results are combined with combineNorm and finished with
// finishNorm; a NaN anywhere makes the norm NaN.
func partialNorm[T Float](x []T, p float64) float64 {
	switch {
	case math.IsInf(p, 1):
		return kernel.MaxAbs(x)
	case p == 2:
		return kernel.SumSquares(x)
	case p == 1:
		return kernel.SumAbs(x)
	default:
		return kernel.SumPow(x, p)
	}
}

// partialNormClamped is partialNorm of x with every element clamped to
// [−max, max], computed without changing x.
func partialNormClamped[T Float](x []T, p, max float64) float64 {
	s := 0.0
	for _, v := range x {
		a := min(math.Abs(float64(v)), max)
		switch {
		case math.IsInf(p, 1):
			s = math.Max(s, a)
		case p == 2:
			s += a * a
		case p == 1:
			s += a
		default:
			s += math.Pow(a, p)
		}
	}
	return s
}

func combineNorm(a, b, p float64) float64 {
	if math.IsInf(p, 1) {
		if math.IsNaN(a) || math.IsNaN(b) {
			return math.NaN()
		}
		return math.Max(a, b)
	}
	return a + b
}

func finishNorm(s, p float64) float64 {
	switch {
	case math.IsInf(p, 1), p == 1:
		return s
	case p == 2:
		return math.Sqrt(s)
	default:
		return math.Pow(s, 1/p)
	}
}
