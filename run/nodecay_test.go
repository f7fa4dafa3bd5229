package run_test

import (
	"context"
	"math"
	"os"
	"slices"
	"testing"

	"github.com/descentml/descent/nn"
	"github.com/descentml/descent/run"
)

// TestResumeDecayWeightsOnly continues a run written before --no-decay
// (testdata/v1-decay-weights-only: two epochs of mlp:16 without batch
// norm, "adamw lr=0.01 wd=0.5", cosine, whose config.json says
// decay_weights_only) to a third epoch. Its weights must be bit for bit
// those that version wrote when it extended the same run
// (testdata/v1-decay-weights-only-epoch3.safetensors): decaying the biases
// too moves them by 0.0059. (Without batch norm: with it, the bias before
// it has a gradient that is rounding noise, which AdamW turns into steps of
// the learning rate, so that the run's result hangs on the last bit of
// every sum; CI saw it 0.0086 away.)
func TestResumeDecayWeightsOnly(t *testing.T) {
	dir := copyDir(t, "testdata/v1-decay-weights-only")
	r, _, err := run.Read(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !r.DecayWeightsOnly || r.NoDecay != nil || r.NoDecayParams != nil {
		t.Errorf("the v1 recipe reads as DecayWeightsOnly %v, NoDecay %q, NoDecayParams %q; want true, nil, nil", r.DecayWeightsOnly, r.NoDecay, r.NoDecayParams)
	}
	rn, err := run.Resume(dir, 3, run.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer rn.Close()
	// Bit for bit with the kernels that wrote it (AVX-512); others sum in
	// another order, hence the tolerance, far below the decay's effect.
	trainAndCompare(t, rn, "testdata/v1-decay-weights-only-epoch3.safetensors", 1e-4)
}

// trainAndCompare trains and finishes rn, and compares its weights with
// those an earlier version wrote in the safetensors file golden after the
// same training, loaded into a model of the recipe (the file's metadata
// may differ between versions): they must differ by at most tol.
func trainAndCompare(t *testing.T, rn *run.Run, golden string, tol float64) {
	t.Helper()
	if err := rn.Train(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := rn.Finish(false); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	old, _, _, err := rn.Recipe.Model.Build(rn.Data.Shape, rn.Splits.Train.Classes(), rn.Recipe.Seed)
	if err != nil {
		t.Fatal(err)
	}
	if err := nn.Load[float32](old, b); err != nil {
		t.Fatal(err)
	}
	got, want := rn.Built.Model.Params(), old.Params()
	worst, exact := 0.0, true
	for i := range want {
		for j := range want[i].Value {
			g, w := got[i].Value[j], want[i].Value[j]
			exact = exact && math.Float32bits(g) == math.Float32bits(w)
			worst = max(worst, math.Abs(float64(g-w)))
		}
	}
	t.Logf("largest difference from %s: %g (bit for bit: %v)", golden, worst, exact)
	if worst > tol {
		t.Errorf("the weights differ from %s by up to %g; want ≤ %g", golden, worst, tol)
	}
}

// A new run records the parameters it leaves out of weight decay in
// config.json, and resumes with them.
func TestNoDecayInConfig(t *testing.T) {
	r := small()
	r.NoDecay = []string{"bias", "norm"}
	dir := t.TempDir() + "/r"
	rn, err := run.New(r, dir, run.Options{})
	if err != nil {
		t.Fatal(err)
	}
	rn.Close()
	saved, _, err := run.Read(dir)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"1.bias", "2.weight", "2.bias", "4.bias"}; !slices.Equal(saved.NoDecayParams, want) {
		t.Errorf("config.json's no_decay_params = %q; want %q", saved.NoDecayParams, want)
	}
}
