package optim

import (
	"fmt"
	"math"
	"unsafe"
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
// Go has no generic methods, so a method builds its chain for each element
// type through chain32 and chain64, which call one generic builder in the
// method's file. A method is validated before either is called.
type Method interface {
	Validate() error
	defaultLR() float64 // 0: none; Config.LR is then required
	chain32() Chain[float32]
	chain64() Chain[float64]
}

// DefaultLR returns the learning rate m takes when Config.LR is nil
// (PyTorch's default for the method), or 0 if it has none.
func DefaultLR(m Method) float64 { return m.defaultLR() }

var (
	_ Method = SGD{}
	_ Method = RMSprop{}
	_ Method = Adam{}
	_ Method = AdamW{}
	_ Method = Adagrad{}
	_ Method = Adadelta{}
	_ Method = Adamax{}
	_ Method = NAdam{}
	_ Method = RAdam{}
	_ Method = Lion{}
	_ Method = ADOPT{}
	_ Method = AdEMAMix{}
	_ Method = ScheduleFreeAdamW{}
	_ Method = ScheduleFreeSGD{}
	_ Method = Chain[float32]{}
)

// chainOf validates m and builds its transforms for parameters of type T.
func chainOf[T Float](m Method) (Chain[T], error) {
	if err := m.Validate(); err != nil {
		return nil, err
	}
	var c any
	var zero T
	if unsafe.Sizeof(zero) == 4 {
		c = m.chain32()
	} else {
		c = m.chain64()
	}
	chain, ok := c.(Chain[T])
	if !ok || chain == nil {
		return nil, fmt.Errorf("optim: method %T cannot update %T parameters", m, zero)
	}
	return chain, nil
}

// coupled returns the head of a chain that adds L2 regularization to the
// gradient: wd·θ for PyTorch's weight_decay plus 2λ·θ for a penalty λ‖θ‖².
func coupled[T Float](wd, l2 float64) Chain[T] {
	if r := wd + 2*l2; r != 0 {
		return Chain[T]{&AddDecayedWeights[T]{Rate: r}}
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
