package landscape

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/descentml/descent/optim"
	"github.com/descentml/descent/optim/spec"
	"github.com/descentml/descent/schedule"
)

// Optimizer is a named optimizer configuration to run on a landscape.
type Optimizer struct {
	// Name labels the optimizer in legends and tables; ParseOptimizer
	// names it by its spec.
	Name string
	// Spec is the description ParseOptimizer read it from, if any.
	Spec   string
	Config optim.Config
}

// Describe returns the optimizer's spec, or its method and learning rate
// spelled out when it was not parsed from one.
func (o Optimizer) Describe() string {
	if o.Spec != "" {
		return o.Spec
	}
	lr := "default lr"
	if c, ok := o.Config.LR.(schedule.Constant); ok {
		lr = "lr=" + strconv.FormatFloat(float64(c), 'g', -1, 64)
	} else if o.Config.LR != nil {
		lr = fmt.Sprintf("lr=%+v", o.Config.LR)
	}
	return fmt.Sprintf("%T%+v %s", o.Config.Method, o.Config.Method, lr)
}

// DefaultOptimizers returns the optimizers a landscape is explored with
// when none are named: plain gradient descent; momentum (μ = 0.9) as PyTorch
// writes it, the heavy ball, whose steps are 1/(1 − μ) = 10 times larger at
// the same rate, and as the textbook's moving average of the gradients,
// which shows best how averaging cancels the oscillation across a ravine;
// Nesterov momentum; RMSprop and Adam. The first three use
// fn.LR, except Nesterov, which gets half: its look-ahead makes it
// unstable on a quadratic of curvature h once αh > 2(1 + μ)/(1 + 2μ) ≈ 1.36,
// where heavy-ball momentum holds to 2(1 + μ) = 3.8 and plain descent to 2.
// RMSprop and Adam use fn.AdaptiveLR. Each is named by its kind ("sgd",
// "momentum", …); Describe gives its settings.
func DefaultOptimizers(fn Function) []Optimizer {
	specs := []struct{ name, spec string }{
		{"sgd", fmt.Sprintf("sgd lr=%g", fn.LR)},
		{"momentum", fmt.Sprintf("momentum lr=%g beta=0.9", fn.LR)},
		{"momentum (ema)", fmt.Sprintf("momentum lr=%g beta=0.9 ema=true", fn.LR)},
		{"nesterov", fmt.Sprintf("nesterov lr=%g beta=0.9", fn.LR/2)},
		{"rmsprop", fmt.Sprintf("rmsprop lr=%g", fn.AdaptiveLR)},
		{"adam", fmt.Sprintf("adam lr=%g", fn.AdaptiveLR)},
	}
	opts := make([]Optimizer, len(specs))
	for i, s := range specs {
		o, err := ParseOptimizer(s.spec)
		if err != nil {
			panic("landscape: bad default optimizer: " + err.Error())
		}
		o.Name = s.name // the defaults are told apart by kind
		opts[i] = o
	}
	return opts
}

// ParseOptimizer reads an optimizer spec in the vocabulary of the whole
// project, package spec's (the one `descent train` and `descent compare`
// read): a name and key=value hyperparameters, such as "momentum
// lr=0.02 beta=0.9" or "adam lr=0.1 beta1=0.8". Hyperparameters not given
// take the method's PyTorch defaults, the learning rate included; the
// rate is held constant over the run. Name and Spec are the spec with
// the name lower-cased and single spaces.
func ParseOptimizer(s string) (Optimizer, error) {
	o, err := spec.ParseOptimizer(s)
	if err != nil {
		return Optimizer{}, err
	}
	lr := spec.ConstantRate(o.LR)
	fields := strings.Fields(s)
	s = strings.Join(append([]string{strings.ToLower(fields[0])}, fields[1:]...), " ")
	return Optimizer{Name: s, Spec: s, Config: optim.Config{Method: o.Build(lr), LR: lr.Schedule}}, nil
}
