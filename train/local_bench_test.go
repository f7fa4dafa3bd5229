package train_test

import (
	"context"
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"

	"github.com/descentml/descent/comm"
	"github.com/descentml/descent/internal/kernel"
	"github.com/descentml/descent/nn"
	"github.com/descentml/descent/optim"
	"github.com/descentml/descent/train"
)

// BenchmarkTrainStepLocal is BenchmarkTrainStep data-parallel over
// GOMAXPROCS in-process ranks (comm.Local), each on one kernel thread:
// the global batch of 128 split between them, the gradients summed in rank
// order, batch norm synchronised (Config.SyncBatchNorm), so that each step
// is the single process's up to the order of the additions.
func BenchmarkTrainStepLocal(b *testing.B) {
	for _, bc := range benchModels {
		b.Run(bc.name+"/batch128", func(b *testing.B) {
			flops := localSteps(b, bc.model, bc.shape, 128, nil)
			b.ReportMetric(float64(b.N*128)/b.Elapsed().Seconds(), "samples/s")
			b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}

// BenchmarkTrainFractionLocal is BenchmarkTrainFraction for
// BenchmarkTrainStepLocal's steps: the sgemm bursts run on GOMAXPROCS
// threads, after one untimed product that starts the pool's workers,
// while every rank but 0 waits, parked, for the burst to end.
func BenchmarkTrainFractionLocal(b *testing.B) {
	for _, bc := range benchModels {
		b.Run(bc.name+"/batch128", func(b *testing.B) {
			threads := runtime.GOMAXPROCS(0)
			fm := newFractionMeter(b.N)
			parked, resume := make(chan struct{}), make(chan struct{})
			localSteps(b, bc.model, bc.shape, fm.batch, func(rank, step int, flops float64) {
				if !fm.blockEnd(step) {
					if rank == 0 {
						fm.step(step, flops, nil)
					}
					return
				}
				if rank != 0 { // out of the way of the products
					parked <- struct{}{}
					<-resume
					return
				}
				for range threads - 1 {
					<-parked
				}
				fm.step(step, flops, func() float64 {
					kernel.SetThreads(threads)
					defer kernel.SetThreads(1)
					fm.gemm() // untimed: the pool's new workers start
					return fm.burst()
				})
				for range threads - 1 {
					resume <- struct{}{}
				}
			})
			fm.report(b)
		})
	}
}

// localSteps runs trainSteps' run data-parallel over GOMAXPROCS ranks of
// comm.Local, each a goroutine on its own thread with its own model,
// optimizer and trainer, and kernel threads set to 1 for the run. Rank 0
// keeps b's timer and ends the run after b.N timed steps; every rank calls
// onStep, if not nil, after each step from the second on, with the step's
// number from 1 and the FLOP count of a global step, which localSteps
// returns.
func localSteps(b *testing.B, model func(*rand.Rand) *nn.Sequential[float32], shape []int, batch int, onStep func(rank, step int, flops float64)) float64 {
	const n = 4096
	ranks := runtime.GOMAXPROCS(0)
	defer kernel.SetThreads(kernel.Threads())
	kernel.SetThreads(1)
	comms := comm.Local(ranks)
	b.ReportAllocs()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	errs := make([]error, ranks)
	var flops float64
	for r := range ranks {
		wg.Go(func() {
			runtime.LockOSThread()
			rng := rand.New(rand.NewPCG(1, 2))
			set := randomSet(b, rng, n, shape)
			m := model(rng)
			f := stepFlops(b, m, append([]int{batch}, shape...))
			if r == 0 {
				flops = f
			}
			opt, err := optim.New(train.Params[float32](m), optim.Config{Method: optim.DefaultAdamW()})
			if err != nil {
				errs[r] = err
				return
			}
			steps := 0
			epochs := (b.N+2)*batch/n + 2
			cfg := train.Config{Epochs: epochs, BatchSize: batch, DropLast: true, Comm: comms[r], SyncBatchNorm: true, OnBatch: func(train.Batch) {
				steps++
				if r == 0 {
					switch {
					case steps == 1:
						b.ResetTimer() // after the first step: buffers allocated
					case steps == b.N+1:
						b.StopTimer()
						cancel() // every rank stops after the next step
					}
				}
				if onStep != nil && steps > 1 {
					onStep(r, steps, f)
				}
			}}
			tr, err := train.New[float32](m, opt, train.Data{Train: set}, cfg)
			if err != nil {
				errs[r] = err
				return
			}
			if err := tr.Run(ctx); err != nil && ctx.Err() == nil {
				errs[r] = err
			}
		})
	}
	wg.Wait()
	for r, err := range errs {
		if err != nil {
			b.Fatalf("rank %d: %v", r, err)
		}
	}
	return flops
}
