package optim

import (
	"fmt"
	"math"

	"github.com/descentml/descent/schedule"
)

// A Method is an update rule: one of the named optimizers (each in its own
// file, sgd.go, adamw.go, …), with its hyperparameters, or a custom
// [Chain]. The optimizer turns it into a chain of transforms for each
// parameter group. The learning rate is not part of a method: it is
// Config.LR, a schedule.
//
// Each named method's doc comment gives its update rule in full with the
// learning rate α_t = Config.LR.At(t−1), states where ε goes and how weight
// decay enters, and names where PyTorch, optax and the textbook differ.
// Start from the DefaultX constructors: zero is a real value for momentum,
// β₁ and weight decay, so a zero field is taken as given, not as "default".
//
// A method's hyperparameters are its exported fields tagged `key:"name"`,
// with a one-line `help:"…"`: the vocabulary (package optim/spec) reads
// them from there, so a new hyperparameter is a tagged field and nothing
// else. Fields without a key (NAdam.Torch113, AdamW.DecaySchedule) are for
// Go programs only.
//
// Each named method builds its own chain (see builder in build.go), from
// one generic function in its file, so that a new optimizer is one file. A
// method is validated before it is built.
type Method interface {
	Validate() error
	defaultLR() float64 // 0: none; Config.LR is then required
}

// DefaultLR returns the learning rate m takes when Config.LR is nil
// (PyTorch's default for the method), or 0 if it has none.
func DefaultLR(m Method) float64 { return m.defaultLR() }

var (
	_ builder = SGD{}
	_ builder = RMSprop{}
	_ builder = Adam{}
	_ builder = AdamW{}
	_ builder = Adagrad{}
	_ builder = Adadelta{}
	_ builder = Adamax{}
	_ builder = NAdam{}
	_ builder = RAdam{}
	_ builder = Lion{}
	_ builder = ADOPT{}
	_ builder = AdEMAMix{}
	_ builder = ScheduleFreeAdamW{}
	_ builder = ScheduleFreeSGD{}
	_ Method  = Chain[float32]{}
)

// chainOf validates m and builds its transforms for parameters of type T.
func chainOf[T Float](m Method) (Chain[T], error) {
	if err := m.Validate(); err != nil {
		return nil, err
	}
	switch m := m.(type) {
	case Chain[T]:
		return m, nil
	case builder:
		return buildChain[T](m)
	}
	var zero T
	return nil, fmt.Errorf("optim: method %T cannot update %T parameters", m, zero)
}

// coupled returns the head of a chain that adds L2 regularization to the
// gradient: wd·θ for PyTorch's weight_decay plus 2λ·θ for a penalty λ‖θ‖².
func coupled[T Float](wd, l2 float64) Chain[T] {
	if r := wd + 2*l2; r != 0 {
		return Chain[T]{&AddDecayedWeights[T]{WeightDecay: r}}
	}
	return nil
}

func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// optionalSchedule validates s, a schedule that may be nil, naming field.
func optionalSchedule(field string, s schedule.Schedule) error {
	if s == nil {
		return nil
	}
	if err := schedule.Validate(s); err != nil {
		return fmt.Errorf("optim: %s: %w", field, err)
	}
	return nil
}

func unitInterval(field string, v float64) error {
	if !(v >= 0 && v < 1) {
		return fmt.Errorf("optim: %s = %v: must be in [0, 1)", field, v)
	}
	return nil
}

func openUnit(field string, v float64) error {
	if !(v > 0 && v < 1) {
		return fmt.Errorf("optim: %s = %v: must be in (0, 1)", field, v)
	}
	return nil
}

func closedUnit(field string, v float64) error {
	if !(v >= 0 && v <= 1) {
		return fmt.Errorf("optim: %s = %v: must be in [0, 1]", field, v)
	}
	return nil
}

func positive(field string, v float64) error {
	if !(v > 0) || math.IsInf(v, 1) {
		return fmt.Errorf("optim: %s = %v: must be positive and finite", field, v)
	}
	return nil
}

func nonNegative(field string, v float64) error {
	if !(v >= 0) || math.IsInf(v, 1) {
		return fmt.Errorf("optim: %s = %v: must be finite and ≥ 0", field, v)
	}
	return nil
}

// allFinite checks a list of coefficients, naming the first bad one by its
// index.
func allFinite(field string, vs []float64) error {
	for i, v := range vs {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("optim: %s[%d] = %v: must be finite", field, i, v)
		}
	}
	return nil
}

// atLeast checks an integer setting (a count of steps, a period): "≥ 0"
// as nonNegative words it for a float, "at least 1" for a count that
// must not be 0.
func atLeast(field string, n, lo int) error {
	switch {
	case n >= lo:
		return nil
	case lo == 0:
		return fmt.Errorf("optim: %s = %d: must be ≥ 0", field, n)
	}
	return fmt.Errorf("optim: %s = %d: must be at least %d", field, n, lo)
}
