package schedule

// A Schedule gives a hyperparameter's value at each step. At(step) is the
// value used by the optimizer step that follows step earlier steps; step is
// never negative.
type Schedule interface {
	At(step int) float64
}

// Constant is a schedule whose value never changes.
type Constant float64

// At returns c.
func (c Constant) At(int) float64 { return float64(c) }

// Validate reports a value that is negative or not finite.
func (c Constant) Validate() error { return checkNonNegative("Constant", float64(c)) }

var (
	_ Schedule = Constant(0)
	_ Schedule = Step{}
	_ Schedule = MultiStep{}
	_ Schedule = Exponential{}
	_ Schedule = Cosine{}
	_ Schedule = CosineRestarts{}
	_ Schedule = Linear{}
	_ Schedule = Polynomial{}
	_ Schedule = OneCycle{}
	_ Schedule = Cyclic{}
	_ Schedule = Join{}
	_ Schedule = Every{}
	_ Schedule = Scale{}
	_ Schedule = SWALR{}
	_ Schedule = (*Plateau)(nil)
)
