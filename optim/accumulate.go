package optim

import (
	"errors"
	"fmt"
	"io"
	"strconv"
)

// An Accumulator makes k micro-batches one optimizer step: it sums their
// gradients and, after the k-th, steps the optimizer with their mean. With
// a loss that is a mean over the batch and micro-batches of equal size, the
// step equals one step on the k-times-larger batch, up to rounding of the
// sums (a model with batch normalization differs: its statistics are per
// micro-batch). Schedules count optimizer steps, not micro-batches.
//
// A loop computes each micro-batch's gradient into the parameters' Grad
// slices as usual (overwriting or zeroed first) and calls Step after each;
// Step rewrites Grad with the mean before the optimizer step. Flush steps
// on fewer than k, as at the end of an epoch whose batches are not a
// multiple of k. The sum is kept in the parameters' element type; Save and
// Load keep it with a checkpoint taken between two micro-batches, so that
// a resumed run continues bit for bit.
type Accumulator[T Float] struct {
	o   *Optimizer[T]
	k   int
	n   int // micro-batches added since the last step
	sum [][]T
	ps  []Param[T]
}

// NewAccumulator returns an accumulator of k ≥ 1 micro-batches for o,
// which must not be nil.
func NewAccumulator[T Float](o *Optimizer[T], k int) (*Accumulator[T], error) {
	if k < 1 {
		return nil, fmt.Errorf("optim: accumulating %d micro-batches: must be ≥ 1", k)
	}
	if o == nil {
		return nil, errors.New("optim: accumulating for no optimizer (nil)")
	}
	var ps []Param[T]
	for g := range o.Groups() {
		ps = append(ps, o.Params(g)...)
	}
	ps, err := named(ps)
	if err != nil {
		return nil, err
	}
	a := &Accumulator[T]{o: o, k: k, ps: ps}
	if k > 1 {
		for _, p := range ps {
			a.sum = append(a.sum, make([]T, len(p.Grad)))
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
		a.add()
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

// add adds the gradients to the sum, the first of an accumulation copied.
func (a *Accumulator[T]) add() {
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
}

// Flush steps the optimizer on the mean of the m < k micro-batches added
// since the last step, if there are any (m > 0): it sets each gradient to
// their sum over m, whatever Grad held, and reports stepped = true with
// the step's error; with none pending it does nothing.
func (a *Accumulator[T]) Flush() (stepped bool, err error) {
	if a.n == 0 {
		return false, nil
	}
	m := T(a.n)
	for i, p := range a.ps {
		s := a.sum[i]
		for j := range p.Grad {
			p.Grad[j] = s[j] / m
		}
	}
	a.n = 0
	return true, a.o.Step()
}

// Pending returns the number of micro-batches added since the last
// optimizer step.
func (a *Accumulator[T]) Pending() int { return a.n }

const accumulationFormat = "descent.accumulation"

// Save writes the micro-batches pending and their gradients' sum as a
// safetensors file, one tensor per parameter by name, with k and the count
// in the metadata.
func (a *Accumulator[T]) Save(w io.Writer) error {
	meta := map[string]string{"format": accumulationFormat, "k": strconv.Itoa(a.k), "pending": strconv.Itoa(a.n)}
	sum := a.sum
	if a.k == 1 {
		sum = make([][]T, len(a.ps)) // nothing is ever pending
		for i, p := range a.ps {
			sum[i] = make([]T, len(p.Grad))
		}
	}
	return saveBuffers(w, a.ps, sum, meta, "the accumulation")
}

// Load restores what Save wrote into an accumulator of the same k for the
// same parameters (matched by name). On any error the accumulator is left
// unchanged.
func (a *Accumulator[T]) Load(r io.Reader) error {
	st, meta, err := readSafetensors(r, "the accumulation")
	if err != nil {
		return err
	}
	if f := meta["format"]; f != accumulationFormat {
		return fmt.Errorf("optim: not a gradient accumulation (format %q, want %q)", f, accumulationFormat)
	}
	if meta["k"] != strconv.Itoa(a.k) {
		return fmt.Errorf("optim: the accumulation was of %s micro-batches a step, the accumulator's is of %d", meta["k"], a.k)
	}
	n, err := strconv.Atoi(meta["pending"])
	if err != nil || n < 0 || n >= a.k {
		return fmt.Errorf("optim: the accumulation has a corrupt count %q of micro-batches pending (k = %d)", meta["pending"], a.k)
	}
	if err := checkBuffers(st, a.ps, "the accumulation"); err != nil {
		return err
	}
	if a.k > 1 {
		loadBuffers(st, a.ps, a.sum)
	}
	a.n = n
	return nil
}

// Reset forgets the micro-batches pending, as after an optimizer step.
func (a *Accumulator[T]) Reset() { a.n = 0 }
