package run_test

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/descentml/descent/recipe"
	"github.com/descentml/descent/run"
)

// FuzzReadConfig checks that no config.json makes run.Read panic, and that
// a recipe it reads that validates is written again (as a run writes it)
// as JSON that reads back the same and validates, with a memory estimate
// that is a finite number ≥ 0.
func FuzzReadConfig(f *testing.F) {
	old, err := os.ReadFile(filepath.Join("testdata", "v0-adamw-schedule-decay", run.ConfigFile))
	if err != nil {
		f.Fatal(err)
	}
	dataJSON, err := os.ReadFile(filepath.Join("testdata", "v0-adamw-schedule-decay", run.DataFile))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(old)
	def, _ := json.Marshal(recipe.Default())
	f.Add(def)
	lm := recipe.Default()
	lm.Data, lm.Epochs, lm.Steps, lm.EvalEvery = "text", 0, 100, 10
	lm.Model, _ = recipe.ParseModel("gpt:layers=1,d=32,heads=2,ctx=16")
	b, _ := json.Marshal(lm)
	f.Add(b)
	f.Add(bytes.Replace(old, []byte(`"hidden": [`), []byte(`"hidden": [1099511627776,`), 1))
	f.Add(bytes.Replace(old, []byte(`"lr": 0.001`), []byte(`"lr": -1`), 1))
	f.Add([]byte(`{"data":"digits","model":{"kind":"mlp"},"optimizer":{"name":"sgd"},"schedule":{"name":"constant"},"epochs":1,"batch":1}`))
	dir := f.TempDir()
	if err := os.WriteFile(filepath.Join(dir, run.DataFile), dataJSON, 0o644); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if err := os.WriteFile(filepath.Join(dir, run.ConfigFile), b, 0o644); err != nil {
			t.Fatal(err)
		}
		r, d, err := run.Read(dir)
		if err != nil || r.Validate() != nil {
			return
		}
		again, err := json.Marshal(r)
		if err != nil {
			t.Fatalf("config %s reads as %+v, which JSON cannot write: %v", b, r, err)
		}
		var r2 recipe.Recipe
		if err := json.Unmarshal(again, &r2); err != nil {
			t.Fatalf("config %s, read and written again as %s, does not read: %v", b, again, err)
		}
		if err := r2.Validate(); err != nil {
			t.Fatalf("config %s, read and written again as %s, does not validate: %v", b, again, err)
		}
		if third, _ := json.Marshal(r2); !bytes.Equal(third, again) {
			t.Fatalf("config %s written as %s, read and written again as %s", b, again, third)
		}
		if mem := r.Memory(d.Shape, len(d.Classes)); !(mem >= 0) || math.IsInf(mem, 0) {
			t.Fatalf("config %s: memory estimate %v; want a finite number ≥ 0", b, mem)
		}
	})
}
