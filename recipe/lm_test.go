package recipe

import (
	"strings"
	"testing"

	"github.com/descentml/descent/optim/spec"
	"github.com/descentml/descent/train"
)

func TestParseSeqModel(t *testing.T) {
	for _, tc := range []struct{ spec, want string }{
		{"gpt", "gpt:layers=2,d=128,heads=4,ctx=128"},
		{"gpt:layers=3,d=64,heads=8,ctx=32,ff=128,tied,dropout=0.1", "gpt:layers=3,d=64,heads=8,ctx=32,ff=128,dropout=0.1,tied"},
		{"lstm:256", "lstm:256,layers=1,ctx=128"},
		{"gru:128x2", "gru:128,layers=2,ctx=128"},
		{"rnn:64,layers=3,ctx=50,embed=16", "rnn:64,layers=3,ctx=50,embed=16"},
		{"lstm:hidden=32,tied", "lstm:32,layers=1,ctx=128,tied"},
	} {
		m, err := ParseModel(tc.spec)
		if err != nil {
			t.Errorf("ParseModel(%q): %v", tc.spec, err)
			continue
		}
		if got := m.String(); got != tc.want {
			t.Errorf("ParseModel(%q).String() = %q; want %q", tc.spec, got, tc.want)
		}
		if again, err := ParseModel(m.String()); err != nil || again.String() != m.String() {
			t.Errorf("ParseModel(%q) = %v, %v; want it back", m.String(), again, err)
		}
	}
	for _, tc := range []struct{ spec, want string }{
		{"gpt:d=100,heads=3", "3 heads do not divide d = 100"},
		{"gpt:width=3", `unknown key "width"`},
		{"gpt:layers=0", "want a positive whole number"},
		{"gpt:dropout=1", "dropout=1"},
		{"lstm:64x0", "layers \"0\""},
		{"lstm:64,embed=32,tied", "a tied head needs embed = hidden width"},
		{"gru:64,heads=2", `unknown key "heads"`},
	} {
		if _, err := ParseModel(tc.spec); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseModel(%q) = %v; want an error mentioning %q", tc.spec, err, tc.want)
		}
	}
}

// TestSeqMemory checks the estimate grows with the model and the batch,
// and that a GPT of the size needs tens of megabytes, not bytes
// or gigabytes.
func TestSeqMemory(t *testing.T) {
	r := Default()
	r.Data, r.Steps, r.Batch = "text", 100, 32
	r.Model, _ = ParseModel("gpt:layers=2,d=128,heads=4,ctx=128")
	small := r.Memory(nil, 91)
	if small < 10e6 || small > 1e9 {
		t.Errorf("Memory of %s, batch 32 = %.3g bytes; want tens to hundreds of MB", r.Model, small)
	}
	r.Batch = 64
	if m := r.Memory(nil, 91); m <= small {
		t.Errorf("Memory with batch 64 = %.3g; want more than batch 32's %.3g", m, small)
	}
	r.Model, _ = ParseModel("lstm:1024x4")
	if m := r.Memory(nil, 91); m <= small {
		t.Errorf("Memory of %s = %.3g; want more than the small GPT's %.3g", r.Model, m, small)
	}
}

// TestBuildSeqRoutes checks that BuildSeq resolves Muon's routing and the
// --no-decay patterns of a recipe that has not been routed, as compare,
// tune and lr-find pass it (they failed with "routing is not resolved").
func TestBuildSeqRoutes(t *testing.T) {
	r := Default()
	r.Data, r.Steps, r.Batch = "text", 2, 2
	m, err := ParseModel("gpt:layers=1,d=16,heads=2,ctx=8")
	if err != nil {
		t.Fatal(err)
	}
	r.Model = m
	if r.Optimizer, err = spec.ParseOptimizer("muon lr=0.02"); err != nil {
		t.Fatal(err)
	}
	r.NoDecay = []string{"bias"}
	text, err := r.LoadText(nil)
	if err != nil {
		t.Fatal(err)
	}
	run, err := r.BuildSeq(text, train.SeqConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if g := run.Optimizer.Groups(); g < 2 {
		t.Errorf("muon on a gpt: %d parameter groups; want Muon's and AdamW's at least", g)
	}
	if err := run.Trainer.Run(t.Context()); err != nil {
		t.Fatal(err)
	}
}
