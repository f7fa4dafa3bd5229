package nn

import (
	"math/rand/v2"
	"slices"
	"sync"
	"testing"

	"github.com/descentml/descent/autograd"
	"github.com/descentml/descent/tensor"
)

func TestSampleIsDeterministic(t *testing.T) {
	m, err := NewTransformer[float32](TransformerConfig{Vocab: 7, Dim: 8, Context: 4, Heads: 2, Layers: 1}, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		t.Fatal(err)
	}
	draw := func(seed uint64, cfg SampleConfig) []int {
		out, err := Sample[float32](m, []int{1, 2}, cfg, rand.New(rand.NewPCG(seed, 0)))
		if err != nil {
			t.Fatal(err)
		}
		if len(out) != cfg.Tokens {
			t.Fatalf("Sample(%+v) gave %d tokens; want %d", cfg, len(out), cfg.Tokens)
		}
		return out
	}
	cfg := DefaultSampleConfig(4)
	cfg.Tokens = 30 // longer than the context: the window slides
	if a, b := draw(1, cfg), draw(1, cfg); !slices.Equal(a, b) {
		t.Errorf("Sample with seed 1 twice = %v, %v; want equal", a, b)
	}
	if a, b := draw(1, cfg), draw(2, cfg); slices.Equal(a, b) {
		t.Errorf("Sample with seeds 1 and 2 = %v twice; want different draws", a)
	}
	greedy := cfg
	greedy.Temperature = 0
	if a, b := draw(1, greedy), draw(2, greedy); !slices.Equal(a, b) {
		t.Errorf("greedy Sample with seeds 1 and 2 = %v, %v; want equal (no draw)", a, b)
	}
	top1 := cfg
	top1.TopK = 1
	if a, b := draw(3, top1), draw(1, greedy); !slices.Equal(a, b) {
		t.Errorf("Sample with top-k 1 = %v; want the greedy %v", a, b)
	}
}

func TestSampleBadInput(t *testing.T) {
	m, _ := NewRecurrentLM[float32](RecurrentLMConfig{Cell: CellGRU, Vocab: 5, Embed: 3, Hidden: 4}, rand.New(rand.NewPCG(1, 2)))
	rng := rand.New(rand.NewPCG(1, 0))
	for _, tc := range []struct {
		prompt []int
		cfg    SampleConfig
	}{
		{nil, DefaultSampleConfig(4)},
		{[]int{1}, SampleConfig{Tokens: 3, Context: 0, Temperature: 1}},
		{[]int{1}, SampleConfig{Tokens: 3, Context: 4, Temperature: -1}},
		{[]int{9}, DefaultSampleConfig(4)}, // out of the vocabulary
	} {
		if _, err := Sample[float32](m, tc.prompt, tc.cfg, rng); err == nil {
			t.Errorf("Sample(%v, %+v) = nil error; want one", tc.prompt, tc.cfg)
		}
	}
}

// TestSampleRecurrentCarriesState checks that sampling from a recurrent
// model, which reads each token once and carries the states, draws the
// tokens of rerunning the model over the whole text at each step (the
// window of Sample's other models, as wide as the text), bit for bit:
// every cell, one and two layers, float32 and float64, one and two
// threads, several seeds, prompts of one token and of several, sampled and
// greedy.
func TestSampleRecurrentCarriesState(t *testing.T) {
	testSampleRecurrentCarriesState[float32](t)
	testSampleRecurrentCarriesState[float64](t)
}

func testSampleRecurrentCarriesState[T tensor.Float](t *testing.T) {
	defer tensor.SetThreads(0)
	for _, mc := range []RecurrentLMConfig{
		{Cell: CellLSTM, Vocab: 40, Embed: 24, Hidden: 80, Layers: 2},
		{Cell: CellGRU, Vocab: 40, Embed: 24, Hidden: 48},
		{Cell: CellRNN, Vocab: 40, Embed: 32, Hidden: 32, Tied: true},
		{Cell: CellLSTM, Vocab: 64, Embed: 64, Hidden: 256}, // large enough to spread over threads
	} {
		m, err := NewRecurrentLM[T](mc, rand.New(rand.NewPCG(5, 6)))
		if err != nil {
			t.Fatal(err)
		}
		for _, threads := range []int{1, 2} {
			tensor.SetThreads(threads)
			for seed := range uint64(3) {
				for _, prompt := range [][]int{{3}, {1, 7, 2, 39, 0, 5}} {
					cfg := DefaultSampleConfig(4) // narrower than the text: Sample ignores it
					cfg.Tokens = 24
					if seed == 2 {
						cfg.Temperature = 0
					}
					got, err := Sample[T](m, prompt, cfg, rand.New(rand.NewPCG(seed, 1)))
					if err != nil {
						t.Fatal(err)
					}
					want, err := sampleAll(window(forwardIDs[T](m), len(prompt)+cfg.Tokens), prompt, cfg, rand.New(rand.NewPCG(seed, 1)))
					if err != nil {
						t.Fatal(err)
					}
					for i := range want {
						if got[i] != want[i] {
							t.Fatalf("%T %v, %d threads, seed %d: Sample(%v)[%d] = %d; want %d (rerun over the whole text): got %v, want %v",
								T(0), m, threads, seed, prompt, i, got[i], want[i], got, want)
						}
					}
				}
			}
		}
	}
}

// TestSampleConcurrent samples from one transformer (with dropout, in
// training mode) and one recurrent model on several goroutines at once,
// each with its own rng, and checks that each draws what it draws alone
// and that Sample leaves the transformer's mode as it was. Run it with
// -race.
func TestSampleConcurrent(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	gpt, err := NewTransformer[float32](TransformerConfig{Vocab: 20, Dim: 64, Context: 16, Heads: 2, Layers: 2, Dropout: 0.1}, rng)
	if err != nil {
		t.Fatal(err)
	}
	lstm, err := NewRecurrentLM[float32](RecurrentLMConfig{Cell: CellLSTM, Vocab: 20, Embed: 16, Hidden: 256}, rng)
	if err != nil {
		t.Fatal(err)
	}
	cfg := DefaultSampleConfig(16)
	cfg.Tokens = 20
	const goroutines = 3
	for _, m := range []Module[float32]{gpt, lstm} {
		want := make([][]int, goroutines)
		for g := range want {
			if want[g], err = Sample(m, []int{1, 2}, cfg, rand.New(rand.NewPCG(uint64(g), 0))); err != nil {
				t.Fatal(err)
			}
		}
		got := make([][]int, goroutines)
		errs := make([]error, goroutines)
		var wg sync.WaitGroup
		for g := range got {
			wg.Go(func() { got[g], errs[g] = Sample(m, []int{1, 2}, cfg, rand.New(rand.NewPCG(uint64(g), 0))) })
		}
		wg.Wait()
		for g := range got {
			if errs[g] != nil {
				t.Fatal(errs[g])
			}
			if !slices.Equal(got[g], want[g]) {
				t.Errorf("Sample(%v) on goroutine %d = %v; want %v, as alone", m, g, got[g], want[g])
			}
		}
	}
	// In training mode still, the transformer drops: two passes differ.
	tape := autograd.NewTape[float32]()
	x := tape.Const(tensor.FromSlice([]float32{1, 2, 3}, 1, 3))
	a, _ := gpt.Forward(tape, x)
	b, _ := gpt.Forward(tape, x)
	if slices.Equal(a.Value().Data(), b.Value().Data()) {
		t.Errorf("after Sample, two forward passes of a transformer in training mode with dropout agree; want Sample to leave the mode as it was")
	}
}

// TestSampleTransformerUnchanged checks that sampling from a transformer
// draws the tokens of its Forward in eval mode, bit for bit, as the window
// slides.
func TestSampleTransformerUnchanged(t *testing.T) {
	m, err := NewTransformer[float32](TransformerConfig{Vocab: 11, Dim: 32, Context: 8, Heads: 4, Layers: 2, Dropout: 0.2}, rand.New(rand.NewPCG(3, 4)))
	if err != nil {
		t.Fatal(err)
	}
	cfg := DefaultSampleConfig(8)
	cfg.Tokens = 30
	got, err := Sample[float32](m, []int{4, 1}, cfg, rand.New(rand.NewPCG(5, 0)))
	if err != nil {
		t.Fatal(err)
	}
	m.SetMode(Eval)
	want, err := sampleAll(window(forwardIDs[float32](m), 8), []int{4, 1}, cfg, rand.New(rand.NewPCG(5, 0)))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, want) {
		t.Errorf("Sample(transformer) = %v; want %v, as Forward in eval mode", got, want)
	}
}

// sampleAll returns the tokens sample draws with next.
func sampleAll[T tensor.Float](next nextFunc[T], prompt []int, cfg SampleConfig, rng *rand.Rand) ([]int, error) {
	var out []int
	err := sample(next, prompt, cfg, rng, func(token int) error {
		out = append(out, token)
		return nil
	})
	return out, err
}
