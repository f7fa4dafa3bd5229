// Command lmbench measures the training speed of descent's language models
// the way bench/compare.py measures PyTorch's (its TORCH_LM script): the
// model `descent train` builds from a spec, batches of 32 windows of ctx
// random tokens from a vocabulary of 63 (the KJV's), next-token
// cross-entropy, backward, the gradients clipped to global norm 1, AdamW
// (lr 3e-3, weight decay 0.1 on the matrices only), float32, after a
// warm-up of 5 steps. It prints training tokens/s, the time per step and
// the part of it in the optimizer (clipping included), the heap
// allocations per timed step, and the peak resident memory of the process.
//
//	go run ./bench/lmbench -model gpt:layers=2,d=128,heads=4,ctx=128
//	go run ./bench/lmbench -model lstm:256 -threads 1
package main

import (
	"flag"
	"fmt"
	"log"
	"math/rand/v2"
	"os"
	"runtime"
	"runtime/pprof"
	"time"

	"github.com/descentml/descent/autograd"
	"github.com/descentml/descent/bench/benchmodels"
	"github.com/descentml/descent/loss"
	"github.com/descentml/descent/nn"
	"github.com/descentml/descent/optim"
	"github.com/descentml/descent/recipe"
	"github.com/descentml/descent/tensor"
)

const (
	batch  = benchmodels.LMBatch
	vocab  = benchmodels.LMVocab
	warmup = 5
)

func main() {
	spec := flag.String("model", recipe.DefaultSeqModel, "the language model, as descent train's --model")
	steps := flag.Int("steps", 20, "timed steps")
	threads := flag.Int("threads", 0, "goroutines the kernels use; 0: GOMAXPROCS")
	profile := flag.String("cpuprofile", "", "write a CPU profile of the timed steps to this file")
	flag.Parse()
	if *steps <= 0 {
		log.Fatalf("lmbench: -steps %d: want a positive number", *steps)
	}
	tensor.SetThreads(*threads)
	m, err := recipe.ParseModel(*spec)
	if err != nil {
		log.Fatal(err)
	}
	if !m.IsSeq() {
		log.Fatalf("lmbench: %s is not a language model (want gpt:…, lstm:…, gru:… or rnn:…)", *spec)
	}
	model, _, err := m.BuildSeq(vocab, 1)
	if err != nil {
		log.Fatal(err)
	}
	opt, err := benchmodels.LMOptimizer(model)
	if err != nil {
		log.Fatal(err)
	}
	ctx := m.Seq.Ctx
	r := &run{model: model, opt: opt, tape: autograd.NewTape[float32](), x: tensor.New[float32](batch, ctx), y: make([]int, batch*ctx)}
	rng := rand.New(rand.NewPCG(1, 2))
	for range warmup {
		r.step(rng)
	}
	if *profile != "" {
		f, err := os.Create(*profile)
		if err != nil {
			log.Fatal(err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			log.Fatal(err)
		}
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	var inOpt time.Duration
	start := time.Now()
	for range *steps {
		inOpt += r.step(rng)
	}
	dt := time.Since(start)
	pprof.StopCPUProfile()
	runtime.ReadMemStats(&after)
	n := float64(*steps)
	fmt.Printf("model=%s threads=%d params=%d: %.0f tokens/s  (%.1f ms/step, of which clip+opt.Step %.1f ms)  allocs/step %.1f  bytes/step %.0f  peak RSS %d MB\n",
		m, tensor.Threads(), paramCount(model), n*batch*float64(ctx)/dt.Seconds(), dt.Seconds()/n*1e3, inOpt.Seconds()/n*1e3,
		float64(after.Mallocs-before.Mallocs)/n, float64(after.TotalAlloc-before.TotalAlloc)/n, benchmodels.PeakRSSMB())
}

// run is the state of the training loop.
type run struct {
	model nn.Module[float32]
	opt   *optim.Optimizer[float32]
	tape  *autograd.Tape[float32]
	x     *tensor.Tensor[float32] // [batch, ctx] token ids as values
	y     []int
}

// step trains on a batch of random tokens and returns the time spent in
// opt.Step.
func (r *run) step(rng *rand.Rand) time.Duration {
	x := r.x.Data()
	for i := range x {
		x[i] = float32(rng.IntN(vocab))
		r.y[i] = rng.IntN(vocab)
	}
	logits, err := r.model.Forward(r.tape, r.tape.Const(r.x))
	if err != nil {
		log.Fatal(err)
	}
	l, err := loss.CrossEntropy(r.tape, logits, r.y)
	if err != nil {
		log.Fatal(err)
	}
	if err := r.tape.Backward(l); err != nil {
		log.Fatal(err)
	}
	t0 := time.Now()
	if err := r.opt.Step(); err != nil {
		log.Fatal(err)
	}
	inOpt := time.Since(t0)
	nn.ZeroGrad(r.model.Params())
	r.tape.Reset()
	return inOpt
}

func paramCount(m nn.Module[float32]) int {
	n := 0
	for _, p := range m.Params() {
		n += len(p.Value)
	}
	return n
}

func init() { log.SetFlags(0); log.SetOutput(os.Stderr) }
