package optim

import "fmt"

// An Accumulator makes k micro-batches one optimizer step: it sums their
// gradients and, after the k-th, steps the optimizer with their mean. With
// a loss that is a mean over the batch and micro-batches of equal size, the
// step equals one step on the k-times-larger batch, up to rounding of the
// sums (a model with batch normalization differs: its statistics are per
// micro-batch). Schedules count optimizer steps, not micro-batches.
//
// A loop computes each micro-batch's gradient into the parameters' Grad
// slices as usual (overwriting or zeroed first) and calls Step after each;
// Step rewrites Grad with the mean before the optimizer step. The sum is
// kept in the parameters' element type.
type Accumulator[T Float] struct {
	o   *Optimizer[T]
	k   int
	n   int // micro-batches added since the last step
	sum [][]T
	ps  []Param[T]
}

// NewAccumulator returns an accumulator of k ≥ 1 micro-batches for o.
func NewAccumulator[T Float](o *Optimizer[T], k int) (*Accumulator[T], error) {
	if k < 1 {
		return nil, fmt.Errorf("optim: accumulating %d micro-batches: must be ≥ 1", k)
	}
	a := &Accumulator[T]{o: o, k: k}
	for g := range o.Groups() {
		for _, p := range o.Params(g) {
			a.ps = append(a.ps, p)
			if k > 1 {
				a.sum = append(a.sum, make([]T, len(p.Grad)))
			}
		}
	}
	return a, nil
}

// Step adds the parameters' current gradients to the sum. On the k-th call
// since the last optimizer step it sets each gradient to the mean of the k,
// steps the optimizer, and reports stepped = true with the step's error;
// the sum starts again either way.
func (a *Accumulator[T]) Step() (stepped bool, err error) {
	a.n++
	if a.n < a.k {
		for i, p := range a.ps {
			if a.n == 1 {
				copy(a.sum[i], p.Grad)
				continue
			}
			s := a.sum[i]
			for j, g := range p.Grad {
				s[j] += g
			}
		}
		return false, nil
	}
	if a.k > 1 {
		k := T(a.k)
		for i, p := range a.ps {
			s := a.sum[i]
			for j, g := range p.Grad {
				p.Grad[j] = (s[j] + g) / k
			}
		}
	}
	a.n = 0
	return true, a.o.Step()
}

// Pending returns the number of micro-batches added since the last
// optimizer step.
func (a *Accumulator[T]) Pending() int { return a.n }
