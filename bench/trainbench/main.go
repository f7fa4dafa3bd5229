// Command trainbench measures descent's training speed the way the PyTorch
// training script of bench/compare.py measures PyTorch's: one epoch of random
// MNIST-shaped data (60000 examples of 784 values in [0, 1), labels in
// [0, 10)), batches of 128 in a random order, AdamW (lr 1e-3, weight decay
// 0.01 on every parameter), float32, after a warm-up of 20 batches. It
// prints samples/s, the time per batch and the part of it in the optimizer
// step, the heap allocations of the timed epoch, and the peak resident
// memory of the process.
//
//	go run ./bench/trainbench -model mlp    (mlp, mlpbn or cnn)
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
	"github.com/descentml/descent/schedule"
	"github.com/descentml/descent/tensor"
)

func main() {
	model := flag.String("model", "mlp", "the model: mlp, mlpbn or cnn")
	samples := flag.Int("samples", 60000, "examples in the epoch")
	threads := flag.Int("threads", 0, "goroutines the kernels use; 0: GOMAXPROCS")
	profile := flag.String("cpuprofile", "", "write a CPU profile of the timed epoch to this file")
	flag.Parse()
	tensor.SetThreads(*threads)
	rng := rand.New(rand.NewPCG(0, 0))
	m, shape, err := build(*model, rng)
	if err != nil {
		log.Fatal(err)
	}
	const features = 784
	x := make([]float32, *samples*features)
	for i := range x {
		x[i] = rng.Float32()
	}
	y := make([]int, *samples)
	for i := range y {
		y[i] = rng.IntN(10)
	}
	var params []optim.Param[float32]
	for _, p := range m.Params() {
		params = append(params, optim.Param[float32]{Name: p.Name, Shape: p.Shape, Value: p.Value, Grad: p.Grad})
	}
	opt, err := optim.New(params, optim.Config{Method: optim.DefaultAdamW(), LR: schedule.Constant(1e-3)})
	if err != nil {
		log.Fatal(err)
	}
	r := &run{model: m, opt: opt, tape: autograd.NewTape[float32](), x: x, y: y, labels: make([]int, batch)}
	r.xb = tensor.New[float32](append([]int{batch}, shape...)...)
	if last := *samples % batch; last != 0 {
		r.xLast = r.xb.Slice(0, last)
	}
	// Warm up on 20 batches and, as the epoch ends with one, a short batch:
	// the first pass of a shape allocates the tape's buffers.
	r.epoch(rng, 20)
	if last := *samples % batch; last != 0 {
		r.step(rng.Perm(*samples)[:last])
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
	start := time.Now()
	seen, inOpt := r.epoch(rng, -1)
	dt := time.Since(start)
	pprof.StopCPUProfile()
	runtime.ReadMemStats(&after)
	batches := float64(seen) / batch
	fmt.Printf("model=%s threads=%d tensors=%d: %.0f samples/s  epoch %.2f s  (%.3f ms/batch, of which opt.Step %.3f ms)  allocs/batch %.2f  peak RSS %d MB\n",
		*model, tensor.Threads(), len(params), float64(seen)/dt.Seconds(), dt.Seconds(),
		dt.Seconds()/batches*1e3, inOpt.Seconds()/batches*1e3,
		float64(after.Mallocs-before.Mallocs)/batches, benchmodels.PeakRSSMB())
}

// run is the state of the training loop.
type run struct {
	model     *nn.Sequential[float32]
	opt       *optim.Optimizer[float32]
	tape      *autograd.Tape[float32]
	x         []float32
	y         []int
	xb, xLast *tensor.Tensor[float32] // a batch, and the shorter last one
	labels    []int
}

// epoch trains on the examples in a random order, stopping after n batches
// if n ≥ 0, and returns the examples seen and the time spent in opt.Step.
func (r *run) epoch(rng *rand.Rand, n int) (seen int, inOpt time.Duration) {
	perm := rng.Perm(len(r.y))
	for b, s := 0, 0; s < len(perm) && (n < 0 || b < n); b, s = b+1, s+batch {
		idx := perm[s:min(s+batch, len(perm))]
		inOpt += r.step(idx)
		seen += len(idx)
	}
	return seen, inOpt
}

// step trains on the examples idx and returns the time spent in opt.Step.
func (r *run) step(idx []int) time.Duration {
	features := len(r.x) / len(r.y)
	xb := r.xb
	if len(idx) < batch {
		xb = r.xLast
	}
	for i, k := range idx {
		copy(xb.Data()[i*features:(i+1)*features], r.x[k*features:(k+1)*features])
		r.labels[i] = r.y[k]
	}
	logits, err := r.model.Forward(r.tape, r.tape.Const(xb))
	if err != nil {
		log.Fatal(err)
	}
	l, err := loss.CrossEntropy(r.tape, logits, r.labels[:len(idx)])
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

// build returns the model of the PyTorch training script in bench/compare.py and the shape of one example.
func build(name string, rng *rand.Rand) (*nn.Sequential[float32], []int, error) {
	switch name {
	case "mlp", "mlpbn":
		return benchmodels.MLP(name == "mlpbn", rng), []int{784}, nil
	case "cnn":
		return benchmodels.CNN(rng), []int{1, 28, 28}, nil
	}
	return nil, nil, fmt.Errorf("trainbench: unknown model %q (want mlp, mlpbn or cnn)", name)
}

const batch = 128

func init() { log.SetFlags(0); log.SetOutput(os.Stderr) }
