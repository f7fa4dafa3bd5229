package spec

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/descentml/descent/optim"
	"github.com/descentml/descent/schedule"
)

// optimizers is the name → optimizer table, in the order help lists them.
// "momentum" and "nesterov" are SGD with momentum 0.9 (PyTorch's heavy ball,
// or Nesterov's), the names people use when comparing them with plain
// gradient descent.
var optimizers = []entry{
	def("sgd", "gradient descent; momentum and nesterov optional", optim.DefaultSGD),
	def("momentum", "SGD with heavy-ball momentum (beta = momentum)", func() optim.SGD { return optim.SGD{Momentum: 0.9} }, "momentum", "dampening", "ema", "wd", "l2"),
	def("nesterov", "SGD with Nesterov momentum", func() optim.SGD { return optim.SGD{Momentum: 0.9, Nesterov: true} }, "momentum", "wd", "l2"),
	def("rmsprop", "RMSprop", optim.DefaultRMSprop),
	def("adam", "Adam (L2 regularization coupled into the gradient)", optim.DefaultAdam),
	def("adamw", "AdamW (decoupled weight decay)", func() AdamW { return AdamW{AdamW: optim.DefaultAdamW()} }),
	def("adagrad", "Adagrad", optim.DefaultAdagrad),
	def("adadelta", "Adadelta", optim.DefaultAdadelta),
	def("adamax", "Adamax", optim.DefaultAdamax),
	def("nadam", "NAdam", optim.DefaultNAdam),
	def("radam", "RAdam", optim.DefaultRAdam),
	def("lion", "Lion: the sign of interpolated momentum, decoupled decay", optim.DefaultLion),
	def("adopt", "ADOPT: Adam with the update normalised by the previous second moment", optim.DefaultADOPT),
	def("ademamix", "AdEMAMix: Adam with a second, slow momentum mixed in", optim.DefaultAdEMAMix),
	def("sf-adamw", "Schedule-Free AdamW: no schedule; evaluates and saves the averaged point x", optim.DefaultScheduleFreeAdamW),
	def("sf-sgd", "Schedule-Free SGD: no schedule; evaluates and saves the averaged point x", optim.DefaultScheduleFreeSGD),
	def("muon", "Muon on the hidden weight matrices, AdamW (adamw-lr, adamw-wd) on every other parameter", DefaultMuon),
	def("prodigy", "Prodigy: Adam that estimates its own step size d (leave lr at 1)", optim.DefaultProdigy),
	def("soap", "SOAP: Adam in the eigenbasis of Shampoo's preconditioner (2-D parameters; others as Adam)", optim.DefaultSOAP),
	withLR(def("lamb", "LAMB: Adam scaled by a per-tensor trust ratio ‖θ‖/‖u‖", optim.DefaultLAMB), LAMBLR),
	withLR(def("lars", "LARS: SGD with momentum scaled by a per-tensor trust ratio η‖θ‖/‖u‖", optim.DefaultLARS), LARSLR),
}

// LAMBLR and LARSLR are the rates of "lamb" and "lars", which have none in
// optax or PyTorch: LAMB's 1e-2 is the rate its paper trains BERT at
// scaled to small batches; LARS's 1 moves each tensor by about
// trust-coefficient (η = 1e-3) of its norm a step, and is the order of
// the base rates of LARS's ImageNet recipes.
const (
	LAMBLR = 1e-2
	LARSLR = 1.0
)

// FallbackLR is the learning rate of an optimizer that has no default one
// in PyTorch (optim.DefaultLR is 0: SGD).
const FallbackLR = 0.01

// entry is one line of the table.
type entry struct {
	name, doc string
	defaults  func() optim.Method
	keys      []key   // the keys it exposes, lr not included
	hidden    []key   // tagged fields a preset fixes
	lr        float64 // the default rate, if the method has none (optim.DefaultLR is 0)
}

// withLR gives e the default rate lr, for a method that has none.
func withLR(e entry, lr float64) entry {
	e.lr = lr
	return e
}

// def makes an entry from a constructor of the defaults; only, if given,
// restricts the keys the name exposes (a preset).
func def[M optim.Method](name, doc string, defaults func() M, only ...string) entry {
	e := entry{name: name, doc: doc, defaults: func() optim.Method { return defaults() }}
	for _, k := range keysOf(e.defaults()) {
		if only == nil || slices.Contains(only, k.Name) {
			e.keys = append(e.keys, k)
		} else {
			e.hidden = append(e.hidden, k)
		}
	}
	return e
}

func lookup(name string) (*entry, error) {
	for i := range optimizers {
		if optimizers[i].name == name {
			return &optimizers[i], nil
		}
	}
	return nil, fmt.Errorf("unknown optimizer %q (valid: %s)", name, strings.Join(OptimizerNames(), ", "))
}

// OptimizerNames returns the optimizer names, sorted.
func OptimizerNames() []string {
	names := make([]string, len(optimizers))
	for i, e := range optimizers {
		names[i] = e.name
	}
	slices.Sort(names)
	return names
}

// OptimizerDoc returns the one-line description of optimizer name, or "".
func OptimizerDoc(name string) string {
	if e, err := lookup(name); err == nil {
		return e.doc
	}
	return ""
}

// OptimizerKeys returns the hyperparameters optimizer name takes, lr
// first, or nil for an unknown name.
func OptimizerKeys(name string) []Key {
	e, err := lookup(name)
	if err != nil {
		return nil
	}
	keys := []Key{lrKey(e)}
	for _, k := range e.keys {
		keys = append(keys, k.Key)
	}
	return keys
}

// KeyNames returns the names of keys.
func KeyNames(keys []Key) []string {
	names := make([]string, len(keys))
	for i, k := range keys {
		names[i] = k.Name
	}
	return names
}

// takes reports whether optimizer name has key k.
func takes(name, k string) bool {
	return slices.Contains(KeyNames(OptimizerKeys(name)), k)
}

// Takes reports whether optimizer name takes hyperparameter key (in any
// spelling CanonicalKey reads).
func Takes(name, key string) bool { return takes(name, CanonicalKey(key)) }

func lrKey(e *entry) Key {
	return Key{Name: "lr", Kind: Float, Help: "learning rate (default: the optimizer's)", Default: formatFloat(e.defaultLR())}
}

// defaultLR is e's default rate: its method's (PyTorch's), the table's if
// the method has none, or else FallbackLR.
func (e *entry) defaultLR() float64 {
	if lr := optim.DefaultLR(e.defaults()); lr > 0 {
		return lr
	}
	if e.lr > 0 {
		return e.lr
	}
	return FallbackLR
}

// Flags returns every hyperparameter key of every optimizer once, lr
// first, then in the order the table first names them: the flags of
// `descent train`. A key's Help joins the help of the optimizers that take
// it, each followed by their names unless one help is every optimizer's;
// its Default is "" (the default depends on the optimizer).
func Flags() []Key {
	var flags []Key
	type help struct{ text, names string }
	helps := map[string][]help{}
	count := map[string]int{}
	for _, e := range optimizers {
		for _, k := range OptimizerKeys(e.name) {
			if count[k.Name] == 0 {
				flags = append(flags, k)
			}
			count[k.Name]++
			hs := helps[k.Name]
			if i := slices.IndexFunc(hs, func(h help) bool { return h.text == k.Help }); i >= 0 {
				hs[i].names += ", " + e.name
			} else {
				helps[k.Name] = append(hs, help{k.Help, e.name})
			}
		}
	}
	for i := range flags {
		f := &flags[i]
		f.Default = ""
		hs := helps[f.Name]
		if len(hs) == 1 && count[f.Name] == len(optimizers) {
			f.Help = hs[0].text
			continue
		}
		parts := make([]string, len(hs))
		for j, h := range hs {
			parts[j] = h.text + " (" + h.names + ")"
		}
		f.Help = strings.Join(parts, "; ")
	}
	return flags
}

// aliases are other names for keys: "beta" is the momentum of "momentum",
// as in `--opt "momentum lr=0.05 beta=0.9"`.
var aliases = map[string]string{"beta": "momentum", "weight-decay": "wd"}

// CanonicalKey returns the key of an optimizer hyperparameter as the
// vocabulary spells it, from any accepted spelling: "beta" is "momentum",
// "weight_decay" is "wd", and underscores stand for dashes ("eps_in_sqrt" is
// "eps-in-sqrt"), for places whose syntax cannot hold a dash.
func CanonicalKey(key string) string {
	key = strings.ReplaceAll(strings.ToLower(key), "_", "-")
	if a, ok := aliases[key]; ok {
		return a
	}
	return key
}

// Optimizer is an optimizer of the vocabulary with every hyperparameter
// resolved: what a spec string names and config.json records. Its zero
// value is no optimizer; make one with ParseOptimizer or NewOptimizer.
type Optimizer struct {
	Name string  // a name of the table: "adamw"
	LR   float64 // the base learning rate
	// Method holds the hyperparameters, as the table's constructor
	// returns it (optim.Adam, or a type of this package that wraps one,
	// such as AdamW). Use Build for the method optim.New takes.
	Method optim.Method
}

// ParseOptimizer reads an optimizer spec, a name followed by key=value
// hyperparameters: "adamw lr=1e-3 wd=0.05", "momentum lr=0.05 beta=0.9".
// Hyperparameters not given take the method's PyTorch defaults; SGD, which
// has no default rate in PyTorch, takes lr 0.01 (FallbackLR).
func ParseOptimizer(s string) (Optimizer, error) {
	name, kv, err := SplitOptimizer(s)
	if err != nil {
		return Optimizer{}, err
	}
	return NewOptimizer(name, kv)
}

// SplitOptimizer splits an optimizer spec, "adamw lr=1e-3 wd=0.01", into
// its name and its hyperparameters (by key as given, lowercased), for a
// caller that merges them with settings of its own before NewOptimizer.
func SplitOptimizer(s string) (name string, set map[string]string, err error) {
	name, set, err = split(s)
	if err != nil {
		return "", nil, fmt.Errorf("spec: optimizer %q: %w (want a name and key=value pairs, as \"adamw lr=1e-3 wd=0.01\")", s, err)
	}
	return name, set, nil
}

// NewOptimizer resolves optimizer name with the hyperparameters set (by
// key, as strings: "lr" → "1e-3"); the rest take the method's defaults. An
// unknown name or key, or a value that does not parse, is an error listing
// the valid ones.
func NewOptimizer(name string, set map[string]string) (Optimizer, error) {
	e, err := lookup(name)
	if err != nil {
		return Optimizer{}, fmt.Errorf("spec: %w", err)
	}
	o := Optimizer{Name: name, LR: e.defaultLR(), Method: e.defaults()}
	given := map[string]string{} // canonical key → the key as given
	for _, key := range sortedKeys(set) {
		val := set[key]
		k := CanonicalKey(key)
		if prev, dup := given[k]; dup {
			return Optimizer{}, fmt.Errorf("spec: optimizer %s: %s and %s are the same hyperparameter", name, prev, key)
		}
		given[k] = key
		if !takes(name, k) {
			return Optimizer{}, fmt.Errorf("spec: optimizer %s has no hyperparameter %q (valid: %s)", name, key, strings.Join(KeyNames(OptimizerKeys(name)), ", "))
		}
		if o, err = o.set(k, val); err != nil {
			return Optimizer{}, fmt.Errorf("spec: optimizer %s: %s=%s: %w", name, key, val, err)
		}
	}
	if err := o.Validate(); err != nil {
		return Optimizer{}, err
	}
	return o, nil
}

func (o Optimizer) set(k, val string) (Optimizer, error) {
	if k == "lr" {
		v, err := parseValue(Float, val)
		if err != nil {
			return o, err
		}
		o.LR = v.(float64)
		return o, nil
	}
	e, err := lookup(o.Name)
	if err != nil {
		return o, err
	}
	i := slices.IndexFunc(e.keys, func(kk key) bool { return kk.Name == k })
	if i < 0 {
		return o, fmt.Errorf("no such hyperparameter")
	}
	v, err := parseValue(e.keys[i].Kind, val)
	if err != nil {
		return o, err
	}
	o.Method = setField(o.Method, e.keys[i], v)
	return o, nil
}

// Set returns o with one hyperparameter changed, by key (in any spelling
// CanonicalKey reads), as tune does; the result is validated.
func (o Optimizer) Set(key, val string) (Optimizer, error) {
	k := CanonicalKey(key)
	if !takes(o.Name, k) {
		return o, fmt.Errorf("spec: optimizer %s has no hyperparameter %q (valid: %s)", o.Name, key, strings.Join(KeyNames(OptimizerKeys(o.Name)), ", "))
	}
	n, err := o.set(k, val)
	if err != nil {
		return o, fmt.Errorf("spec: optimizer %s: %s=%s: %w", o.Name, key, val, err)
	}
	if err := n.Validate(); err != nil {
		return o, err
	}
	return n, nil
}

// Get returns the value of hyperparameter key as a spec writes it, and
// whether o has it.
func (o Optimizer) Get(key string) (string, bool) {
	k := CanonicalKey(key)
	if k == "lr" {
		return formatFloat(o.LR), true
	}
	e, err := lookup(o.Name)
	if err != nil {
		return "", false
	}
	for _, kk := range e.keys {
		if kk.Name == k {
			return format(getField(o.Method, kk)), true
		}
	}
	return "", false
}

// Validate checks the name, the rate and the method's hyperparameters,
// naming the first bad one.
func (o Optimizer) Validate() error {
	e, err := lookup(o.Name)
	if err != nil {
		return fmt.Errorf("spec: %w", err)
	}
	if o.Method == nil {
		return fmt.Errorf("spec: optimizer %s has no hyperparameters", o.Name)
	}
	for _, k := range e.hidden {
		if got, want := getField(o.Method, k), getField(e.defaults(), k); got != want {
			return fmt.Errorf("spec: optimizer %s fixes %s = %v (have %v)", o.Name, k.Name, want, got)
		}
	}
	if err := o.Method.Validate(); err != nil {
		return err
	}
	if !(o.LR >= 0) || math.IsInf(o.LR, 1) {
		return fmt.Errorf("spec: optimizer %s: lr = %v: must be a finite number ≥ 0", o.Name, o.LR)
	}
	if c, ok := o.Method.(interface{ checkLR(float64) error }); ok {
		if err := c.checkLR(o.LR); err != nil {
			return fmt.Errorf("spec: optimizer %s: %w", o.Name, err)
		}
	}
	return nil
}

// String returns the spec that ParseOptimizer reads back: the name, the
// rate and every hyperparameter that differs from the method's default.
func (o Optimizer) String() string {
	parts := []string{o.Name, "lr=" + formatFloat(o.LR)}
	e, err := lookup(o.Name)
	if err != nil || o.Method == nil {
		return strings.Join(parts, " ")
	}
	d := e.defaults()
	for _, k := range e.keys {
		if v := getField(o.Method, k); v != getField(d, k) {
			parts = append(parts, k.Name+"="+format(v))
		}
	}
	return strings.Join(parts, " ")
}

// HasMomentum reports whether the method has a momentum coefficient that a
// one-cycle or cyclic schedule can cycle (optim.Config.Momentum): β₁ of the
// Adam family, or a momentum above 0.
func (o Optimizer) HasMomentum() bool {
	if _, ok := o.Get("beta1"); ok {
		return true
	}
	m, ok := o.Get("momentum")
	return ok && m != "0"
}

// A Builder is a method of this package that stands for an optim method
// with settings that need the run's learning-rate schedule (AdamW's
// schedule-decay). Build returns what optim.New takes.
type Builder interface {
	Build(lr Rate) optim.Method
}

// Rate is a run's learning rate: its schedule α_t, its base value α, and
// the schedule's multiplier η_t = α_t/α as a schedule of its own, built at
// base 1 (rate.go): what the paper's AdamW decays by. Schedule.BuildRate
// makes all three; Multiplier is nil when α is not positive.
type Rate struct {
	Schedule   schedule.Schedule
	Base       float64
	Multiplier schedule.Schedule
}

// Build returns the method optim.New takes for a run whose learning rate
// is lr.
func (o Optimizer) Build(lr Rate) optim.Method {
	if b, ok := o.Method.(Builder); ok {
		return b.Build(lr)
	}
	return o.Method
}

// split splits "name k=v k=v" into the name and the pairs.
func split(s string) (string, map[string]string, error) {
	fields := strings.Fields(s)
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
		k = strings.ToLower(k)
		if _, dup := kv[k]; dup {
			return "", nil, fmt.Errorf("%s given twice", k)
		}
		kv[k] = v
	}
	return name, kv, nil
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
