package spec

import (
	"testing"

	"github.com/descentml/descent/optim"
)

// withSteps stands for an optimizer with a whole-number hyperparameter
// (Muon's Newton–Schulz steps): the tags are all the vocabulary needs.
type withSteps struct {
	optim.SGD
	NSSteps int `key:"ns-steps" help:"Newton–Schulz iterations"`
}

func TestIntKey(t *testing.T) {
	saved := optimizers
	defer func() { optimizers = saved }()
	optimizers = append(optimizers, def("steps", "a test", func() withSteps { return withSteps{NSSteps: 5} }))
	o, err := ParseOptimizer("steps ns-steps=7 momentum=0.5")
	if err != nil {
		t.Fatal(err)
	}
	if m := o.Method.(withSteps); m.NSSteps != 7 || m.Momentum != 0.5 {
		t.Errorf("ParseOptimizer = %+v", o)
	}
	if got, want := o.String(), "steps lr=0.01 momentum=0.5 ns-steps=7"; got != want {
		t.Errorf("String() = %q; want %q", got, want)
	}
	if _, err := ParseOptimizer("steps ns-steps=1.5"); err == nil {
		t.Error("ns-steps=1.5 accepted")
	}
	keys := OptimizerKeys("steps")
	if k := keys[len(keys)-1]; k.Name != "ns-steps" || k.Kind != Int || k.Default != "5" {
		t.Errorf("last key %+v", k)
	}
}
