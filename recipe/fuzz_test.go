package recipe_test

import (
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/descentml/descent/recipe"
)

// FuzzParseModel checks that no --model spec makes ParseModel panic, that
// it refuses a spec with nothing after its colon, and that a spec it
// accepts is written by String as a spec that reads back to the same
// model, in a recipe that validates, whose memory estimate is a finite
// number ≥ 0 (the estimate is what refuses a model too large to build, so
// it must not overflow or come out NaN).
func FuzzParseModel(f *testing.F) {
	for _, s := range []string{
		"mlp", "mlp:256,256", "MLP: 64 , 32", "cnn", "linear", "logistic", "mlp:1099511627776", "mlp:100000,100000",
		"gpt", "gpt:layers=2,d=128,heads=4,ctx=128", "gpt:d=64,heads=4,ff=128,dropout=0.1,tied", "lstm:256x2,ctx=64", "gru:128,embed=32",
		"rnn:64,tied=true", "lstm:hidden=32,layers=3", "gpt:d=10,heads=3", "mlp:0", "cnn:3", "lstm:256x", "gpt:dropout=1",
		"gpt:layers=2,layers=3", "lstm:256,d=128", "gru:64x2,layers=3", "gpt:tied,tied", "lstm", "lstm:", "mlp:", "gpt:", "gpt:layers=,d=64",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := recipe.ParseModel(s)
		if err == nil && strings.HasSuffix(strings.TrimSpace(s), ":") {
			t.Fatalf("ParseModel(%q) = %+v; want an error: nothing after the colon", s, m)
		}
		if err != nil {
			if !strings.HasPrefix(err.Error(), "recipe: ") {
				t.Fatalf("ParseModel(%q): error %q lacks the recipe: prefix", s, err)
			}
			return
		}
		back, err := recipe.ParseModel(m.String())
		if err != nil || !reflect.DeepEqual(back, m) {
			t.Fatalf("ParseModel(%q) = %+v; its String %q reads as %+v, %v", s, m, m.String(), back, err)
		}
		r := recipe.Default()
		r.Model = m
		if m.IsSeq() {
			r.Data, r.Epochs, r.Steps = "text", 0, 10
		}
		if err := r.Validate(); err != nil {
			t.Fatalf("ParseModel(%q) = %+v, in a recipe that does not validate: %v", s, m, err)
		}
		if mem := r.Memory([]int{1, 8, 8}, 10); !(mem >= 0) || math.IsInf(mem, 0) {
			t.Fatalf("ParseModel(%q): memory estimate %v; want a number ≥ 0", s, mem)
		}
	})
}

// FuzzParseAverage checks that no --average spec makes ParseAverage panic,
// and that what it accepts validates.
func FuzzParseAverage(f *testing.F) {
	for _, s := range []string{"ema", "ema decay=0.999", "swa start=100", "ema decay=0.99 start=10", "ema decay=1", "swa decay=0.9", "swa start=-1", "ema decay", "swa start=3 lr=0.05 anneal=2 strategy=linear", "swa lr=0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := recipe.ParseAverage(s)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "recipe: ") {
				t.Fatalf("ParseAverage(%q): error %q lacks the recipe: prefix", s, err)
			}
			return
		}
		c := a.Averaging(1)
		if err := c.Validate(); err != nil {
			t.Fatalf("ParseAverage(%q) = %+v, which does not validate: %v", s, a, err)
		}
		if c.EMA && !(c.Decay >= 0 && c.Decay < 1) || c.Start < 0 {
			t.Fatalf("ParseAverage(%q) = %+v: decay outside [0, 1) or a negative start", s, a)
		}
		if back, err := recipe.ParseAverage(a.Resolve().String()); err != nil || back.Resolve().String() != a.Resolve().String() {
			t.Fatalf("ParseAverage(%q) = %v, which does not read back: %v, %v", s, a.Resolve(), back, err)
		}
	})
}
