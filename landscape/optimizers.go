package landscape

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/descentml/descent/optim"
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
// when none are named: plain gradient descent, heavy-ball momentum and
// Nesterov momentum (μ = 0.9), RMSprop and Adam. The first three use
// fn.LR, except Nesterov, which gets half: its look-ahead makes it
// unstable on a quadratic of curvature h once αh > 2(1 + μ)/(1 + 2μ) ≈ 1.36,
// where heavy-ball momentum holds to 2(1 + μ) = 3.8 and plain descent to 2.
// RMSprop and Adam use fn.AdaptiveLR. Each is named by its kind ("sgd",
// "momentum", …); Describe gives its settings.
func DefaultOptimizers(fn Function) []Optimizer {
	specs := []string{
		fmt.Sprintf("sgd lr=%g", fn.LR),
		fmt.Sprintf("momentum lr=%g beta=0.9", fn.LR),
		fmt.Sprintf("nesterov lr=%g beta=0.9", fn.LR/2),
		fmt.Sprintf("rmsprop lr=%g", fn.AdaptiveLR),
		fmt.Sprintf("adam lr=%g", fn.AdaptiveLR),
	}
	opts := make([]Optimizer, len(specs))
	for i, s := range specs {
		o, err := ParseOptimizer(s)
		if err != nil {
			panic("landscape: bad default optimizer: " + err.Error())
		}
		o.Name, _, _ = strings.Cut(s, " ") // the defaults are told apart by kind
		opts[i] = o
	}
	return opts
}

type optimizerKind struct {
	name string
	keys string // the settings it takes besides lr
	make func() optim.Method
}

// optimizerKinds are the names ParseOptimizer knows, with the keys each
// takes besides lr.
var optimizerKinds = []optimizerKind{
	{"sgd", "wd", func() optim.Method { return optim.DefaultSGD() }},
	{"momentum", "beta wd ema", func() optim.Method { return optim.SGD{Momentum: 0.9} }},
	{"nesterov", "beta wd", func() optim.Method { return optim.SGD{Momentum: 0.9, Nesterov: true} }},
	{"rmsprop", "alpha eps beta wd", func() optim.Method { return optim.DefaultRMSprop() }},
	{"adagrad", "eps wd", func() optim.Method { return optim.DefaultAdagrad() }},
	{"adadelta", "rho eps wd", func() optim.Method { return optim.DefaultAdadelta() }},
	{"adam", "beta1 beta2 eps wd", func() optim.Method { return optim.DefaultAdam() }},
	{"adamw", "beta1 beta2 eps wd", func() optim.Method { return optim.DefaultAdamW() }},
	{"adamax", "beta1 beta2 eps wd", func() optim.Method { return optim.DefaultAdamax() }},
	{"nadam", "beta1 beta2 eps wd", func() optim.Method { return optim.DefaultNAdam() }},
	{"radam", "beta1 beta2 eps wd", func() optim.Method { return optim.DefaultRAdam() }},
}

// OptimizerNames returns the optimizer names ParseOptimizer knows.
func OptimizerNames() []string {
	names := make([]string, len(optimizerKinds))
	for i, k := range optimizerKinds {
		names[i] = k.name
	}
	return names
}

// ParseOptimizer reads an optimizer from a name and key=value settings,
// such as "momentum lr=0.02 beta=0.9" or "adam lr=0.1 beta1=0.8". The
// names are those of OptimizerNames: sgd (plain), momentum (heavy ball,
// PyTorch's form; ema=1 for the moving-average form), nesterov, rmsprop,
// adagrad, adadelta, adam, adamw, adamax, nadam, radam. Unset values are
// PyTorch's defaults (μ = 0.9 for momentum and nesterov); lr is required
// for the sgd family and defaults to PyTorch's rate for the others. The
// keys are lr; beta (the momentum μ of the sgd family and rmsprop); beta1,
// beta2, eps and alpha (rmsprop's a), rho (adadelta); and wd, the weight
// decay (coupled, as PyTorch's weight_decay, except for adamw).
func ParseOptimizer(spec string) (Optimizer, error) {
	fields := strings.Fields(spec)
	if len(fields) == 0 {
		return Optimizer{}, fmt.Errorf("landscape: empty optimizer: want a name (%s) and settings such as lr=0.01", strings.Join(OptimizerNames(), ", "))
	}
	name := strings.ToLower(fields[0])
	k := slices.IndexFunc(optimizerKinds, func(k optimizerKind) bool { return k.name == name })
	if k < 0 {
		return Optimizer{}, fmt.Errorf("landscape: unknown optimizer %q: valid names are %s", fields[0], strings.Join(OptimizerNames(), ", "))
	}
	kind := optimizerKinds[k]
	m := kind.make()
	cfg := optim.Config{}
	for _, f := range fields[1:] {
		key, val, ok := strings.Cut(f, "=")
		v, err := strconv.ParseFloat(val, 64)
		if !ok || err != nil {
			return Optimizer{}, fmt.Errorf("landscape: optimizer %q: setting %q: want key=number, such as lr=0.01", spec, f)
		}
		if key == "lr" {
			cfg.LR = schedule.Constant(v)
			continue
		}
		if !slices.Contains(strings.Fields(kind.keys), key) {
			return Optimizer{}, fmt.Errorf("landscape: optimizer %q: %s takes lr, %s; not %q", spec, kind.name, strings.ReplaceAll(kind.keys, " ", ", "), key)
		}
		m = set(m, key, v)
	}
	if err := m.Validate(); err != nil {
		return Optimizer{}, fmt.Errorf("landscape: optimizer %q: %w", spec, err)
	}
	if _, isSGD := m.(optim.SGD); isSGD && cfg.LR == nil {
		return Optimizer{}, fmt.Errorf("landscape: optimizer %q: %s has no default learning rate: set lr=…", spec, kind.name)
	}
	cfg.Method = m
	spec = strings.Join(append([]string{name}, fields[1:]...), " ")
	return Optimizer{Name: spec, Spec: spec, Config: cfg}, nil
}

// set returns m with the setting key = v; the keys were checked against
// the method's list.
func set(m optim.Method, key string, v float64) optim.Method {
	switch m := m.(type) {
	case optim.SGD:
		switch key {
		case "beta":
			m.Momentum = v
		case "wd":
			m.WeightDecay = v
		case "ema":
			m.EMA = v != 0
		}
		return m
	case optim.RMSprop:
		switch key {
		case "alpha":
			m.Alpha = v
		case "eps":
			m.Eps = v
		case "beta":
			m.Momentum = v
		case "wd":
			m.WeightDecay = v
		}
		return m
	case optim.Adagrad:
		setEpsWD(&m.Eps, &m.WeightDecay, key, v)
		return m
	case optim.Adadelta:
		if key == "rho" {
			m.Rho = v
		}
		setEpsWD(&m.Eps, &m.WeightDecay, key, v)
		return m
	case optim.Adam:
		setAdam(&m.Beta1, &m.Beta2, &m.Eps, &m.WeightDecay, key, v)
		return m
	case optim.AdamW:
		setAdam(&m.Beta1, &m.Beta2, &m.Eps, &m.WeightDecay, key, v)
		return m
	case optim.Adamax:
		setAdam(&m.Beta1, &m.Beta2, &m.Eps, &m.WeightDecay, key, v)
		return m
	case optim.NAdam:
		setAdam(&m.Beta1, &m.Beta2, &m.Eps, &m.WeightDecay, key, v)
		return m
	case optim.RAdam:
		setAdam(&m.Beta1, &m.Beta2, &m.Eps, &m.WeightDecay, key, v)
		return m
	}
	return m
}

func setEpsWD(eps, wd *float64, key string, v float64) {
	switch key {
	case "eps":
		*eps = v
	case "wd":
		*wd = v
	}
}

func setAdam(b1, b2, eps, wd *float64, key string, v float64) {
	switch key {
	case "beta1":
		*b1 = v
	case "beta2":
		*b2 = v
	}
	setEpsWD(eps, wd, key, v)
}
