package train_test

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/descentml/descent/internal/kernel"
)

// BenchmarkTrainFraction measures BenchmarkTrainStep's steps (batch 128) as
// a fraction of the sgemm 512³ rate on the same threads, the two taken in
// turn every few milliseconds in one process, so that a machine whose speed
// drifts (other tenants, clocks) moves both alike. Each block is a burst of
// sgemmBurst products, one step to bring the model back into cache
// (untimed), then blockSteps timed steps; "%sgemm" is the median over the
// blocks of the step's GFLOP/s over the products', and GFLOP/s and
// sgemm-GFLOP/s the medians of each (ns/op includes the bursts). rt-ns is
// the cache line's round trip between the two cores (kernel.RoundTrip),
// the larger of one measured before the steps and one after: the 2-core
// fraction follows it (see the README's Speed section). Run it
// with -benchtime of at least 20 blocks' steps (e.g. 400x) and -cpu 2 for
// the 2-core fraction.
func BenchmarkTrainFraction(b *testing.B) {
	for _, bc := range benchModels {
		b.Run(bc.name+"/batch128", func(b *testing.B) {
			kernel.SetThreads(runtime.GOMAXPROCS(0)) // as BenchmarkTrainStep
			kernel.ProbeReport()                     // the probe's record starts here (tag spreadprobe)
			fm := newFractionMeter(b.N)
			trainSteps(b, bc.model, bc.shape, fm.batch, 4096, nil, func(step int, flops float64) {
				kernel.ProbeMark()
				fm.step(step, flops, fm.burst)
			})
			logProbe(b)
			fm.report(b)
		})
	}
}

// A fractionMeter times BenchmarkTrainFraction's blocks of steps and
// bursts of products.
type fractionMeter struct {
	batch, blockSteps, sgemmBurst, n int
	ga, gb, gc                       []float32
	rt                               time.Duration
	t0                               time.Time
	ratios, stepRates, gemmRates     []float64
}

func newFractionMeter(steps int) *fractionMeter {
	fm := &fractionMeter{batch: 128, blockSteps: 8, sgemmBurst: 4, n: 512}
	rng := rand.New(rand.NewPCG(3, 4))
	n := fm.n
	fm.ga, fm.gb, fm.gc = make([]float32, n*n), make([]float32, n*n), make([]float32, n*n)
	for i := range fm.ga {
		fm.ga[i], fm.gb[i] = rng.Float32()-0.5, rng.Float32()-0.5
	}
	fm.gemm() // its buffers
	fm.rt = kernel.RoundTrip(2000)
	blocks := steps/(fm.blockSteps+1) + 1
	fm.ratios, fm.stepRates, fm.gemmRates = make([]float64, 0, blocks), make([]float64, 0, blocks), make([]float64, 0, blocks)
	fm.t0 = time.Now()
	return fm
}

func (fm *fractionMeter) gemm() {
	kernel.Gemm(false, false, fm.n, fm.n, fm.n, 1, fm.ga, fm.n, fm.gb, fm.n, 0, fm.gc, fm.n)
}

// blockEnd reports whether step (from 1) ends a block of timed steps.
func (fm *fractionMeter) blockEnd(step int) bool { return (step-1)%(fm.blockSteps+1) == fm.blockSteps }

// burst runs the products of a block and returns their GFLOP/s.
func (fm *fractionMeter) burst() float64 {
	g0 := time.Now()
	for range fm.sgemmBurst {
		fm.gemm()
	}
	return 2 * float64(fm.n*fm.n*fm.n*fm.sgemmBurst) / time.Since(g0).Seconds() / 1e9
}

// step is called after each step but the first and the last (trainSteps'
// onStep): it starts the clock after a burst and, at the end of a block,
// takes the block's rate and runs burst for the products'.
func (fm *fractionMeter) step(step int, flops float64, burst func() float64) {
	switch {
	case (step-1)%(fm.blockSteps+1) == 0: // the step after a burst: untimed
		fm.t0 = time.Now()
	case fm.blockEnd(step):
		stepRate := flops * float64(fm.blockSteps) / time.Since(fm.t0).Seconds() / 1e9
		gemmRate := burst()
		fm.ratios, fm.stepRates, fm.gemmRates = append(fm.ratios, stepRate/gemmRate), append(fm.stepRates, stepRate), append(fm.gemmRates, gemmRate)
	}
}

func (fm *fractionMeter) report(b *testing.B) {
	if len(fm.ratios) == 0 {
		return // b.N too small for a block
	}
	b.ReportMetric(100*median(fm.ratios), "%sgemm")
	b.ReportMetric(median(fm.stepRates), "GFLOP/s")
	b.ReportMetric(median(fm.gemmRates), "sgemm-GFLOP/s")
	b.ReportMetric(float64(len(fm.ratios)), "blocks")
	b.ReportMetric(float64(max(fm.rt, kernel.RoundTrip(2000)).Nanoseconds()), "rt-ns")
}

// logProbe logs the medians of the Spread calls' timings in a step, by
// their place in it, when the test binary is built with the tag
// spreadprobe (kernel.ProbeOn): go test -tags spreadprobe -run '^$'
// -bench BenchmarkTrainFraction -benchtime 900x -cpu 2 -v ./train (-v, or
// the testing package cuts a benchmark's log at ten lines). A
// call's part w ran from start w to end w after the call's start; the
// caller returned at total, and the gap is the serial stretch before the
// call.
func logProbe(b *testing.B) {
	if !kernel.ProbeOn {
		return
	}
	calls := kernel.ProbeReport()
	b.Logf("Spread calls of a step (µs, medians): place, pass/phase, steps, gap, total, parts' starts and ends")
	var gap, total time.Duration
	for i, c := range calls {
		if c.N < calls[0].N/2 {
			break // a place most steps do not reach
		}
		gap, total = gap+c.Gap, total+c.Total
		b.Logf("%3d %-22s %5d %7.2f %7.2f   %5.2f-%7.2f %5.2f-%7.2f", i, fmt.Sprintf("%s/%d", c.Name, c.Phase), c.N, us(c.Gap), us(c.Total), us(c.Starts[0]), us(c.Ends[0]), us(c.Starts[1]), us(c.Ends[1]))
	}
	b.Logf("sum: gaps %.1f µs, calls %.1f µs", us(gap), us(total))
}

func us(d time.Duration) float64 { return float64(d) / 1e3 }

// median returns the median of v, which it leaves as it was.
func median(v []float64) float64 {
	v = slices.Clone(v)
	slices.Sort(v)
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}
