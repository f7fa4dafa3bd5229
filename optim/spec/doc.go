// Package spec is descent's vocabulary: the names of its optimizers,
// schedules and averages of the weights (ema, swa), their keys, defaults and one-line docs, and the text form that
// names them, a name followed by key=value pairs:
//
//	adamw lr=1e-3 wd=0.01
//	momentum lr=0.05 beta=0.9
//	cosine min=1e-5 warmup=100
//	swa start=30 lr=0.05 anneal=10
//
// `descent train`'s flags and their help, the --opt strings of compare,
// landscape and tune, a search space's names and config.json all derive from
// it; nothing else restates it.
//
// The optimizer table holds one line an optimizer: its name, a one-line doc
// and the constructor of its defaults (optim.DefaultAdam). Everything else is
// read from the value the constructor returns: each exported field tagged
// `key:"beta1" help:"…"` is a hyperparameter, its Go type says whether it is
// a number, a whole number or a flag, and its value is the default; the
// default learning rate is optim.DefaultLR's. A new hyperparameter is a
// tagged field in its optimizer's file, and a new optimizer is its file and
// one line in [optimizers]. A line may name a preset ("momentum" is SGD with
// μ = 0.9) and restrict the keys it exposes.
//
// The package imports only optim and schedule (and the standard library), so
// that any program that parses a name can use it without the rest of
// descent.
package spec
