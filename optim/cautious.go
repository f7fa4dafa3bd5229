package optim

import (
	"errors"
	"fmt"
	"math"
)

// Cautious is a cautious update (Liang et al. 2024, "Cautious Optimizers:
// Improving Training with One Line of Code"; kyleliang919/C-Optim): where
// the update that Base would make disagrees in sign with the incoming
// gradient, the update is zeroed, and what is left is rescaled per
// parameter tensor so that the step keeps its size:
//
//	φ = [Base's update · g > 0]           1 where they agree, else 0
//	u ← Base's update · φ · s(Σφ, n)      s from CautiousScale, per tensor of n elements
//
// A g of exactly 0 gives φ = 0. Base's state moves as it would without the
// mask. The sum Σφ over each whole tensor makes Cautious a [Reducer]; put
// decay after it, so that the decay is never masked.
type Cautious[T Float] struct {
	Base          CautiousBase[T]
	CautiousScale CautiousScale // the normalisation s; zero: CautiousMean

	s []T       // per parameter: this step's s
	n []float64 // per parameter: its element count
	claim
}

// A CautiousBase is a transform that [Cautious] can mask: [ScaleByAdam]
// and [ScaleByLion].
type CautiousBase[T Float] interface {
	Transform[T]
	// Agree returns how many elements of the block the mask keeps — where
	// the update Update would make agrees in sign with u — and changes
	// nothing.
	Agree(k, off int, u []T) float64
	// UpdateMasked is Update with the mask applied: the kept elements are
	// multiplied by s, the others set to 0.
	UpdateMasked(k, off int, u []T, s T)
}

var (
	_ Reducer[float32]      = (*Cautious[float32])(nil)
	_ CautiousBase[float32] = (*ScaleByAdam[float32])(nil)
	_ CautiousBase[float32] = (*ScaleByLion[float32])(nil)
)

// CautiousScale is how [Cautious] rescales its mask φ over a tensor of n
// elements.
type CautiousScale int

const (
	// CautiousDefault is the method's own: CautiousMean for AdamW (and
	// Cautious itself), CautiousCountPlusOne for Lion.
	CautiousDefault CautiousScale = iota
	// CautiousMean divides by the mean of the mask, at least 10⁻³:
	// s = 1/max(Σφ/n, 10⁻³) (C-Optim's c_adamw.py).
	CautiousMean
	// CautiousCountPlusOne is s = n/(Σφ + 1) (C-Optim's c_lion.py): a
	// one-element tensor whose mask is 1 moves by half a step.
	CautiousCountPlusOne
	// CautiousNone leaves the kept elements as they are: s = 1.
	CautiousNone
)

func (c CautiousScale) or(def CautiousScale) CautiousScale {
	if c == CautiousDefault {
		return def
	}
	return c
}

func (c CautiousScale) validate(field string) error {
	if c < CautiousDefault || c > CautiousNone {
		return fmt.Errorf("optim: %s = %d: unknown mask normalisation", field, c)
	}
	return nil
}

// factor returns s for a mask of sum ones over n elements.
func (c CautiousScale) factor(sum, n float64) float64 {
	switch c {
	case CautiousCountPlusOne:
		return n / (sum + 1)
	case CautiousNone:
		return 1
	}
	return 1 / math.Max(sum/n, 1e-3)
}

// claims returns Cautious's claim and its Base's: Base's state is Cautious's.
func (c *Cautious[T]) claims() []*claim {
	all := c.claim.claims()
	if b, ok := c.Base.(claimer); ok {
		all = append(all, b.claims()...)
	}
	return all
}

func (c *Cautious[T]) Name() string { return "cautious(" + Name[T](c.Base) + ")" }

// Validate checks that there is a Base, the CautiousScale, and Base's own
// hyperparameters if it has a Validate method (see [Transform]).
func (c *Cautious[T]) Validate() error {
	if c.Base == nil {
		return errors.New("optim: Cautious.Base is nil")
	}
	if err := c.CautiousScale.validate("Cautious.CautiousScale"); err != nil {
		return err
	}
	if v, ok := c.Base.(validator); ok {
		return v.Validate()
	}
	return nil
}

func (c *Cautious[T]) Init(s *State[T], params []ParamInfo) error {
	c.s, c.n = make([]T, len(params)), make([]float64, len(params))
	for k, p := range params {
		c.n[k] = float64(p.Size)
	}
	return c.Base.Init(s, params)
}

func (c *Cautious[T]) Begin(i *StepInfo) { c.Base.Begin(i) }

// Sums is 1: the count of the mask.
func (c *Cautious[T]) Sums() int { return 1 }

func (c *Cautious[T]) Gather(k, off int, u, _ []T, acc []float64) {
	acc[0] += c.Base.Agree(k, off, u)
}

func (c *Cautious[T]) Reduce(sums [][]float64, _, _ [][]T) {
	scale := c.CautiousScale.or(CautiousMean)
	for k, s := range sums {
		c.s[k] = T(scale.factor(s[0], c.n[k]))
	}
}

func (c *Cautious[T]) Update(k, off int, u, _ []T) { c.Base.UpdateMasked(k, off, u, c.s[k]) }
