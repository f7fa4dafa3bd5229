package recipe

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/descentml/descent/optim"
)

// Optimizer is an optimizer by name with its hyperparameters, every one
// resolved (see ParseOptimizer). Fields that the method does not have are
// zero.
type Optimizer struct {
	Name string `json:"name"`

	LR          float64 `json:"lr"`
	WeightDecay float64 `json:"wd,omitempty"` // PyTorch's weight_decay (decoupled for adamw)
	L2          float64 `json:"l2,omitempty"` // a penalty λ‖θ‖² on the loss
	Beta1       float64 `json:"beta1,omitempty"`
	Beta2       float64 `json:"beta2,omitempty"`
	Eps         float64 `json:"eps,omitempty"`
	Momentum    float64 `json:"momentum,omitempty"`
	Dampening   float64 `json:"dampening,omitempty"`
	Nesterov    bool    `json:"nesterov,omitempty"`
	EMA         bool    `json:"ema,omitempty"`
	AMSGrad     bool    `json:"amsgrad,omitempty"`
	Alpha       float64 `json:"alpha,omitempty"` // RMSprop's decay
	Centered    bool    `json:"centered,omitempty"`
	// ScheduleDecay (adamw): the weight decay follows the schedule's
	// multiplier η_t = lr_t/lr, not the learning rate, as in the AdamW paper:
	// θ ← θ − lr_t·Adam − η_t·λ·θ.
	ScheduleDecay bool    `json:"schedule_decay,omitempty"`
	EpsInSqrt     bool    `json:"eps_in_sqrt,omitempty"`
	Rho           float64 `json:"rho,omitempty"` // Adadelta's decay
	LRDecay       float64 `json:"lr_decay,omitempty"`
	InitialAcc    float64 `json:"initial_accumulator,omitempty"`
	MomentumDec   float64 `json:"momentum_decay,omitempty"`
}

// method describes one optimizer name: its keys and how to build it.
type method struct {
	doc  string
	keys []string // hyperparameters it takes, besides lr
	// base returns the method's defaults (PyTorch's) as an Optimizer.
	base func() Optimizer
}

// The optimizer names of the command. "momentum" and "nesterov" are SGD with
// momentum 0.9 (PyTorch's heavy ball, or Nesterov's), the names people use
// when comparing them with plain gradient descent.
var methods = map[string]method{
	"sgd": {"gradient descent; momentum and nesterov optional", []string{"momentum", "dampening", "nesterov", "ema", "wd", "l2"},
		func() Optimizer { return Optimizer{LR: 0.01} }},
	"momentum": {"SGD with heavy-ball momentum (beta = momentum)", []string{"momentum", "dampening", "ema", "wd", "l2"},
		func() Optimizer { return Optimizer{LR: 0.01, Momentum: 0.9} }},
	"nesterov": {"SGD with Nesterov momentum", []string{"momentum", "wd", "l2"},
		func() Optimizer { return Optimizer{LR: 0.01, Momentum: 0.9, Nesterov: true} }},
	"rmsprop": {"RMSprop", []string{"alpha", "eps", "momentum", "centered", "eps-in-sqrt", "wd", "l2"},
		func() Optimizer { m := optim.DefaultRMSprop(); return Optimizer{LR: 0.01, Alpha: m.Alpha, Eps: m.Eps} }},
	"adam": {"Adam (L2 regularization coupled into the gradient)", []string{"beta1", "beta2", "eps", "amsgrad", "wd", "l2"},
		func() Optimizer {
			m := optim.DefaultAdam()
			return Optimizer{LR: 1e-3, Beta1: m.Beta1, Beta2: m.Beta2, Eps: m.Eps}
		}},
	"adamw": {"AdamW (decoupled weight decay)", []string{"beta1", "beta2", "eps", "amsgrad", "wd", "schedule-decay"},
		func() Optimizer {
			m := optim.DefaultAdamW()
			return Optimizer{LR: 1e-3, Beta1: m.Beta1, Beta2: m.Beta2, Eps: m.Eps, WeightDecay: m.WeightDecay}
		}},
	"adagrad": {"Adagrad", []string{"eps", "lr-decay", "initial-accumulator", "wd", "l2"},
		func() Optimizer { return Optimizer{LR: 0.01, Eps: optim.DefaultAdagrad().Eps} }},
	"adadelta": {"Adadelta", []string{"rho", "eps", "wd", "l2"},
		func() Optimizer { m := optim.DefaultAdadelta(); return Optimizer{LR: 1, Rho: m.Rho, Eps: m.Eps} }},
	"adamax": {"Adamax", []string{"beta1", "beta2", "eps", "wd", "l2"},
		func() Optimizer {
			m := optim.DefaultAdamax()
			return Optimizer{LR: 2e-3, Beta1: m.Beta1, Beta2: m.Beta2, Eps: m.Eps}
		}},
	"nadam": {"NAdam", []string{"beta1", "beta2", "eps", "momentum-decay", "wd", "l2"},
		func() Optimizer {
			m := optim.DefaultNAdam()
			return Optimizer{LR: 2e-3, Beta1: m.Beta1, Beta2: m.Beta2, Eps: m.Eps, MomentumDec: m.MomentumDecay}
		}},
	"radam": {"RAdam", []string{"beta1", "beta2", "eps", "wd", "l2"},
		func() Optimizer {
			m := optim.DefaultRAdam()
			return Optimizer{LR: 1e-3, Beta1: m.Beta1, Beta2: m.Beta2, Eps: m.Eps}
		}},
}

// OptimizerNames returns the optimizer names, sorted.
func OptimizerNames() []string {
	names := make([]string, 0, len(methods))
	for n := range methods {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// OptimizerKeys returns the hyperparameters optimizer name takes, lr first.
func OptimizerKeys(name string) []string {
	m, ok := methods[name]
	if !ok {
		return nil
	}
	return append([]string{"lr"}, m.keys...)
}

// aliases are other names for keys: "beta" is the momentum of "momentum",
// as in `--opt "momentum lr=0.05 beta=0.9"`.
var aliases = map[string]string{"beta": "momentum", "weight-decay": "wd", "weight_decay": "wd", "eps_in_sqrt": "eps-in-sqrt",
	"lr_decay": "lr-decay", "momentum_decay": "momentum-decay", "initial_accumulator": "initial-accumulator"}

// ParseOptimizer reads an optimizer spec, a name followed by key=value
// hyperparameters: "adamw lr=1e-3 wd=0.05", "momentum lr=0.05 beta=0.9".
// Hyperparameters not given take the method's PyTorch defaults; SGD, which
// has no default rate in PyTorch, takes lr 0.01 (momentum and nesterov are
// SGD with momentum 0.9).
func ParseOptimizer(spec string) (Optimizer, error) {
	name, kv, err := splitSpec(spec)
	if err != nil {
		return Optimizer{}, fmt.Errorf("recipe: optimizer %q: %w (want a name and key=value pairs, as \"adamw lr=1e-3 wd=0.01\")", spec, err)
	}
	return NewOptimizer(name, kv)
}

// NewOptimizer resolves optimizer name with the hyperparameters set (by key,
// as strings: "lr" → "1e-3"); the rest take the method's defaults. An
// unknown name or key, or a value that does not parse, is an error listing
// the valid ones.
func NewOptimizer(name string, set map[string]string) (Optimizer, error) {
	m, ok := methods[name]
	if !ok {
		return Optimizer{}, fmt.Errorf("recipe: unknown optimizer %q (valid: %s)", name, strings.Join(OptimizerNames(), ", "))
	}
	o := m.base()
	o.Name = name
	valid := OptimizerKeys(name)
	given := map[string]string{} // canonical key → the key as given
	for _, key := range sortedKeys(set) {
		val := set[key]
		k := canonical(key)
		if prev, dup := given[k]; dup {
			return Optimizer{}, fmt.Errorf("recipe: optimizer %s: %s and %s are the same hyperparameter", name, prev, key)
		}
		given[k] = key
		if !slices.Contains(valid, k) {
			return Optimizer{}, fmt.Errorf("recipe: optimizer %s has no hyperparameter %q (valid: %s)", name, key, strings.Join(valid, ", "))
		}
		if err := o.set(k, val); err != nil {
			return Optimizer{}, fmt.Errorf("recipe: optimizer %s: %s=%s: %w", name, key, val, err)
		}
	}
	if _, err := o.Method(); err != nil {
		return Optimizer{}, fmt.Errorf("recipe: %w", err)
	}
	return o, nil
}

func (o *Optimizer) set(key, val string) error {
	if p := o.boolField(key); p != nil {
		b, err := strconv.ParseBool(val)
		if err != nil {
			return fmt.Errorf("want true or false")
		}
		*p = b
		return nil
	}
	v, err := strconv.ParseFloat(val, 64)
	if err != nil {
		return fmt.Errorf("want a number")
	}
	*o.floatField(key) = v
	return nil
}

func (o *Optimizer) boolField(key string) *bool {
	switch key {
	case "nesterov":
		return &o.Nesterov
	case "ema":
		return &o.EMA
	case "amsgrad":
		return &o.AMSGrad
	case "centered":
		return &o.Centered
	case "eps-in-sqrt":
		return &o.EpsInSqrt
	case "schedule-decay":
		return &o.ScheduleDecay
	}
	return nil
}

func (o *Optimizer) floatField(key string) *float64 {
	switch key {
	case "lr":
		return &o.LR
	case "wd":
		return &o.WeightDecay
	case "l2":
		return &o.L2
	case "beta1":
		return &o.Beta1
	case "beta2":
		return &o.Beta2
	case "eps":
		return &o.Eps
	case "momentum":
		return &o.Momentum
	case "dampening":
		return &o.Dampening
	case "alpha":
		return &o.Alpha
	case "rho":
		return &o.Rho
	case "lr-decay":
		return &o.LRDecay
	case "initial-accumulator":
		return &o.InitialAcc
	case "momentum-decay":
		return &o.MomentumDec
	}
	panic("recipe: unknown optimizer key " + key)
}

// Set changes one hyperparameter by key, as tune does; the result is
// validated.
func (o Optimizer) Set(key, val string) (Optimizer, error) {
	set := o.values()
	set[canonical(key)] = val
	return NewOptimizer(o.Name, set)
}

// canonical returns the key an alias stands for.
func canonical(key string) string { return CanonicalKey(key) }

// CanonicalKey returns the key of an optimizer hyperparameter as the
// recipe spells it, from any accepted spelling: "beta" is "momentum",
// "weight_decay" is "wd", and underscores stand for dashes
// ("eps_in_sqrt" is "eps-in-sqrt"), for places whose syntax cannot hold a
// dash.
func CanonicalKey(key string) string {
	key = strings.ToLower(key)
	if a, ok := aliases[key]; ok {
		return a
	}
	return strings.ReplaceAll(key, "_", "-")
}

// values returns o's hyperparameters as strings, by key.
func (o Optimizer) values() map[string]string {
	set := map[string]string{}
	for _, k := range OptimizerKeys(o.Name) {
		if p := o.boolField(k); p != nil {
			set[k] = strconv.FormatBool(*p)
		} else {
			set[k] = strconv.FormatFloat(*o.floatField(k), 'g', -1, 64)
		}
	}
	return set
}

// String returns the spec that ParseOptimizer reads back: the name and
// every hyperparameter that differs from the method's default.
func (o Optimizer) String() string {
	parts := []string{o.Name}
	base, _ := NewOptimizer(o.Name, nil)
	def := base.values()
	vals := o.values()
	for _, k := range OptimizerKeys(o.Name) {
		if vals[k] != def[k] || k == "lr" {
			parts = append(parts, k+"="+vals[k])
		}
	}
	return strings.Join(parts, " ")
}

// Method returns the optim method the recipe names.
func (o Optimizer) Method() (optim.Method, error) {
	var m optim.Method
	switch o.Name {
	case "sgd", "momentum", "nesterov":
		m = optim.SGD{Momentum: o.Momentum, Dampening: o.Dampening, Nesterov: o.Nesterov, EMA: o.EMA, WeightDecay: o.WeightDecay, L2: o.L2}
	case "rmsprop":
		m = optim.RMSprop{Alpha: o.Alpha, Eps: o.Eps, Centered: o.Centered, EpsInSqrt: o.EpsInSqrt, Momentum: o.Momentum, WeightDecay: o.WeightDecay, L2: o.L2}
	case "adam":
		m = optim.Adam{Beta1: o.Beta1, Beta2: o.Beta2, Eps: o.Eps, AMSGrad: o.AMSGrad, WeightDecay: o.WeightDecay, L2: o.L2}
	case "adamw":
		m = optim.AdamW{Beta1: o.Beta1, Beta2: o.Beta2, Eps: o.Eps, AMSGrad: o.AMSGrad, WeightDecay: o.WeightDecay}
	case "adagrad":
		m = optim.Adagrad{LRDecay: o.LRDecay, InitialAccumulator: o.InitialAcc, Eps: o.Eps, WeightDecay: o.WeightDecay, L2: o.L2}
	case "adadelta":
		m = optim.Adadelta{Rho: o.Rho, Eps: o.Eps, WeightDecay: o.WeightDecay, L2: o.L2}
	case "adamax":
		m = optim.Adamax{Beta1: o.Beta1, Beta2: o.Beta2, Eps: o.Eps, WeightDecay: o.WeightDecay, L2: o.L2}
	case "nadam":
		m = optim.NAdam{Beta1: o.Beta1, Beta2: o.Beta2, Eps: o.Eps, MomentumDecay: o.MomentumDec, WeightDecay: o.WeightDecay, L2: o.L2}
	case "radam":
		m = optim.RAdam{Beta1: o.Beta1, Beta2: o.Beta2, Eps: o.Eps, WeightDecay: o.WeightDecay, L2: o.L2}
	default:
		return nil, fmt.Errorf("unknown optimizer %q (valid: %s)", o.Name, strings.Join(OptimizerNames(), ", "))
	}
	if err := m.Validate(); err != nil {
		return nil, err
	}
	if !(o.LR >= 0) || math.IsInf(o.LR, 1) {
		return nil, fmt.Errorf("optimizer %s: lr = %v: must be a finite number ≥ 0", o.Name, o.LR)
	}
	if o.ScheduleDecay && !(o.LR > 0) {
		return nil, fmt.Errorf("optimizer %s: schedule-decay measures the schedule against lr, which must be positive (lr = %v)", o.Name, o.LR)
	}
	return m, nil
}

// HasMomentum reports whether the method has a momentum coefficient that a
// one-cycle or cyclic schedule can cycle (SGD's momentum, Adam's β₁).
func (o Optimizer) HasMomentum() bool {
	switch o.Name {
	case "sgd", "momentum", "nesterov", "rmsprop":
		return o.Momentum > 0
	case "adam", "adamw", "adamax", "nadam", "radam":
		return true
	}
	return false
}

// splitSpec splits "name k=v k=v" into the name and the pairs.
func splitSpec(spec string) (string, map[string]string, error) {
	fields := strings.Fields(spec)
	if len(fields) == 0 {
		return "", nil, fmt.Errorf("empty")
	}
	name := strings.ToLower(fields[0])
	if strings.Contains(name, "=") {
		return "", nil, fmt.Errorf("%q: the name comes first", fields[0])
	}
	kv := map[string]string{}
	for _, f := range fields[1:] {
		k, v, ok := strings.Cut(f, "=")
		if !ok || k == "" || v == "" {
			return "", nil, fmt.Errorf("%q is not key=value", f)
		}
		if _, dup := kv[k]; dup {
			return "", nil, fmt.Errorf("%s given twice", k)
		}
		kv[strings.ToLower(k)] = v
	}
	return name, kv, nil
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
