//go:build mpi && cgo

package train_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/descentml/descent/comm"
	"github.com/descentml/descent/data"
	"github.com/descentml/descent/internal/commtest"
	"github.com/descentml/descent/nn"
	"github.com/descentml/descent/optim"
	"github.com/descentml/descent/train"
)

// The tests in this file run on every rank of
//
//	go test -tags mpi -c -o train.test ./train
//	mpirun --oversubscribe -np 3 ./train.test -test.run Distributed
//
// and on one process under plain go test -tags mpi.

var world *comm.Comm

func TestMain(m *testing.M) { commtest.Main(m, &world) }

// agree fails the test on every rank unless every rank passed the same
// bytes.
func agree(t *testing.T, b []byte, what string) {
	t.Helper()
	if err := comm.Agree(world, b, what); err != nil {
		t.Fatal(err)
	}
}

// BenchmarkDistributedTrainStep is BenchmarkTrainStep, data-parallel over
// the ranks of mpirun: the batch of 128 is the global batch. Every rank must
// run the same number of steps: pass -test.benchtime=50x.
func BenchmarkDistributedTrainStep(b *testing.B) {
	for _, bc := range benchModels {
		b.Run(bc.name+"/batch128", func(b *testing.B) { benchmarkTrainStep(b, bc.model, bc.shape, 128, world) })
	}
}

// resume builds the run on c, resumes it from its checkpoint, runs it to
// the end and returns the model.
func (r replicaRun) resume(t *testing.T, c *comm.Comm, splits *data.Splits) *nn.Sequential[float64] {
	t.Helper()
	tr, m, _, err := r.build(t, c, splits)
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.Resume(r.cfg.Checkpoint); err != nil {
		t.Fatal(err)
	}
	if err := tr.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestDistributedEqualsSingleProcess trains the same run on every rank as
// one replica of a data-parallel run and alone with the same global batch,
// and checks that the parameters agree within float64 rounding. The batch
// of 31 is a multiple of neither 2 nor 3, and the epoch's last batch is
// shorter still. Each rank starts from its own weights: the data-parallel
// trainer must copy rank 0's. With synchronised batch norm, the run with
// batch norm agrees too (without, each rank normalizes its shard alone and
// the runs differ).
func TestDistributedEqualsSingleProcess(t *testing.T) {
	splits := digits(t)
	for _, m := range []equivalence{
		{name: "sgd-momentum", method: optim.SGD{Momentum: 0.9}, lr: 0.05},
		{name: "adamw-clip", method: optim.DefaultAdamW(), clip: 0.5},
		{name: "adamw-sync-batchnorm", method: optim.DefaultAdamW(), clip: 0.5, syncBN: true},
	} {
		t.Run(m.name, func(t *testing.T) {
			r := m.replicaRun()
			single, sm, _, err := r.build(t, comm.Single(), splits)
			if err != nil {
				t.Fatal(err)
			}
			r.init = uint64(world.Rank())
			dist, dm, _, err := r.build(t, world, splits)
			if err != nil {
				t.Fatal(err)
			}
			for _, tr := range []*train.Trainer[float64]{single, dist} {
				if err := tr.Run(context.Background()); err != nil {
					t.Fatal(err)
				}
			}
			bound := m.bound()
			worst, at := largestDiff(sm, dm)
			if !(worst <= bound) {
				t.Errorf("%d ranks: parameter %s differs from the single-process run's by %.3g (relative); want at most %g", world.Size(), at, worst, bound)
			}
			t.Logf("%d ranks: largest relative difference from the single-process run %.3g at %s", world.Size(), worst, at)
			dh, sh := dist.History(), single.History()
			if dh[1].Step != sh[1].Step || math.Abs(dh[1].TrainLoss-sh[1].TrainLoss) > 1e-9 || dh[1].TrainAccuracy != sh[1].TrainAccuracy || !(math.Abs(dh[1].ValLoss-sh[1].ValLoss) <= bound) {
				t.Errorf("%d ranks: last epoch %+v; single process %+v", world.Size(), dh[1], sh[1])
			}
			// The gradient norm is the global one: that of the single
			// process's whole batch, up to the order of the additions.
			if g, w := dh[1].GradNormMean, sh[1].GradNormMean; !(math.Abs(g-w) <= 1e-9*w) || dh[1].ClipFraction != sh[1].ClipFraction && m.clip > 0 {
				t.Errorf("%d ranks: last epoch's diagnostics %+v; single process %+v", world.Size(), dh[1].Diagnostics, sh[1].Diagnostics)
			}
		})
	}
}

// TestDistributedReplicasAreIdentical checks, with batch norm (per-replica
// statistics), dropout and clipping, that every rank holds the same model
// and optimizer state byte for byte after training, and that a second run
// with the same seed gives the same bytes.
func TestDistributedReplicasAreIdentical(t *testing.T) {
	splits := digits(t)
	var first []byte
	for run := range 2 {
		r := replicaRun{init: uint64(world.Rank()), batchNorm: true, dropout: true, clip: 1,
			cfg: train.Config{Epochs: 2, BatchSize: 40, Seed: 9}}
		tr, m, state := r.trainOn(t, world, splits)
		model := modelBytes(t, m)
		agree(t, model, "the model (parameters and batch norm's buffers)")
		agree(t, state, "the optimizer state")
		h := tr.History()
		agree(t, fmt.Appendf(nil, "%v %v %v", h[1].TrainLoss, h[1].ValLoss, h[1].ValAccuracy), "the metrics")
		d := h[1].Diagnostics
		agree(t, fmt.Appendf(nil, "%v %v %v %v", d.GradNormMean, d.GradNormMax, d.ClipFraction, d.UpdateRatio), "the diagnostics")
		if run == 0 {
			first = model
		} else if !bytes.Equal(model, first) {
			t.Errorf("on %v: a second run with the same seed gave another model", world)
		}
	}
}

// TestDistributedResume interrupts a data-parallel run on the last rank
// only, in the middle of an epoch, and checks that every rank stops at the
// same step, that rank 0 wrote the checkpoint, and that resuming gives the
// uninterrupted run's model byte for byte.
func TestDistributedResume(t *testing.T) {
	splits := digits(t)
	dir := t.TempDir() // only rank 0's is written to
	r := replicaRun{init: 1, batchNorm: true, dropout: true, cfg: train.Config{Epochs: 3, BatchSize: 50, Seed: 7, Checkpoint: filepath.Join(dir, "whole")}}
	whole, wm, _, err := r.build(t, world, splits)
	if err != nil {
		t.Fatal(err)
	}
	if err := whole.Run(context.Background()); err != nil {
		t.Fatal(err)
	}

	r.cfg.Checkpoint = filepath.Join(dir, "ckpt")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	last := world.Rank() == world.Size()-1
	r.cfg.OnBatch = func(b train.Batch) {
		if last && b.Epoch == 2 && b.Index == 11 {
			cancel()
		}
	}
	first, _, _, err := r.build(t, world, splits)
	if err != nil {
		t.Fatal(err)
	}
	err = first.Run(ctx)
	switch {
	case last && !errors.Is(err, context.Canceled):
		t.Fatalf("interrupted rank %v: Run = %v; want context.Canceled", world, err)
	case !last && !errors.Is(err, train.ErrOtherRank):
		t.Fatalf("%v: Run = %v; want train.ErrOtherRank", world, err)
	}
	// A single process stops before the next step; ranks learn of the
	// cancellation with the next step's gradients, and stop after it.
	want := 11
	if world.Distributed() {
		want = 12
	}
	if e, b := first.Position(); e != 1 || b != want {
		t.Errorf("%v stopped at epoch %d, batch %d; want epoch 1, batch %d", world, e, b, want)
	}
	_, statErr := os.Stat(r.cfg.Checkpoint)
	if (world.Rank() == 0) != (statErr == nil) {
		t.Errorf("%v: checkpoint written: %v; want it on rank 0 only", world, statErr == nil)
	}

	r.cfg.OnBatch = nil
	r.init = uint64(world.Rank()) + 10 // overwritten by the checkpoint
	if sm := r.resume(t, world, splits); !bytes.Equal(modelBytes(t, sm), modelBytes(t, wm)) {
		t.Errorf("%v: the resumed model differs from the uninterrupted one", world)
	}
}

// TestDistributedBadInput checks that a configuration the ranks disagree on,
// a global batch smaller than the number of ranks, and synchronised batch
// norm with a last batch smaller than it, are errors on every rank.
func TestDistributedBadInput(t *testing.T) {
	if world.Size() == 1 {
		t.Skip("needs several ranks")
	}
	splits := digits(t)
	r := replicaRun{cfg: train.Config{Epochs: 1, BatchSize: world.Size() - 1, Seed: 1}}
	if _, _, _, err := r.build(t, world, splits); err == nil || !strings.Contains(err.Error(), "at least one example for each") {
		t.Errorf("%v: a batch of %d: %v; want an error", world, r.cfg.BatchSize, err)
	}
	// Synchronised batch norm: an epoch's last batch of one example leaves
	// a rank without any.
	n := splits.Train.Len()
	r.cfg = train.Config{Epochs: 1, BatchSize: n - 1, Seed: 1, SyncBatchNorm: true}
	r.batchNorm = true
	if _, _, _, err := r.build(t, world, splits); err == nil || !strings.Contains(err.Error(), "a rank would have no example") {
		t.Errorf("%v: synchronised batch norm with a last batch of 1: %v; want an error", world, err)
	}
	r.cfg.DropLast = true
	if _, _, _, err := r.build(t, world, splits); err != nil {
		t.Errorf("%v: synchronised batch norm, the last batch of 1 dropped: %v", world, err)
	}
	r.batchNorm, r.cfg = false, train.Config{Epochs: 1, BatchSize: 32}
	r.cfg.Seed = uint64(world.Rank() % 2)
	if _, _, _, err := r.build(t, world, splits); err == nil || !strings.Contains(err.Error(), "disagree on the run") {
		t.Errorf("%v: seeds that differ between ranks: %v; want an error", world, err)
	}
}

// TestDistributedBadConfigOnOneRank gives the last rank alone a
// configuration train.New refuses (Epochs 0) and checks that every rank
// returns an error instead of waiting for it; a watchdog aborts the job if
// they hang.
func TestDistributedBadConfigOnOneRank(t *testing.T) {
	if world.Size() == 1 {
		t.Skip("needs several ranks")
	}
	splits := digits(t)
	watchdog := time.AfterFunc(time.Minute, func() {
		fmt.Fprintf(os.Stderr, "%v: train.New hung after one rank's bad configuration\n", world)
		world.Abort(3)
	})
	defer watchdog.Stop()
	last := world.Size() - 1
	r := replicaRun{cfg: train.Config{Epochs: 1, BatchSize: 32, Seed: 1}}
	if world.Rank() == last {
		r.cfg.Epochs = 0
	}
	_, _, _, err := r.build(t, world, splits)
	switch {
	case world.Rank() == last && (err == nil || !strings.Contains(err.Error(), "Epochs = 0")):
		t.Errorf("%v: Epochs 0: %v; want its error", world, err)
	case world.Rank() != last && !errors.Is(err, train.ErrOtherRank):
		t.Errorf("%v: Epochs 0 on rank %d: %v; want ErrOtherRank", world, last, err)
	}
}

// TestDistributedResumeWithAnotherN resumes a data-parallel run's
// checkpoint in one process and a single process's checkpoint on every
// rank, and checks both against the run that never stopped, within the
// bound of TestDistributedEqualsSingleProcess: the position counts global
// batches, so it means the same whatever the number of ranks. (Without
// batch norm, whose per-replica statistics depend on the shards.)
func TestDistributedResumeWithAnotherN(t *testing.T) {
	splits := digits(t)
	dir := t.TempDir() // rank 0's is the one that counts
	r := replicaRun{init: 1, cfg: train.Config{Epochs: 3, BatchSize: 31, Seed: 3}}
	whole, wm, _, err := r.build(t, comm.Single(), splits)
	if err != nil {
		t.Fatal(err)
	}
	if err := whole.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ from, to *comm.Comm }{{world, comm.Single()}, {comm.Single(), world}} {
		from, to := c.from, c.to
		r.cfg.Checkpoint = filepath.Join(dir, fmt.Sprintf("from-%d", from.Size()))
		r.cfg.Epochs = 1
		first, _, _, err := r.build(t, from, splits)
		if err != nil {
			t.Fatal(err)
		}
		if err := first.Run(context.Background()); err != nil {
			t.Fatal(err)
		}
		if !to.Distributed() && world.Rank() != 0 {
			continue // only rank 0 has the checkpoint of the data-parallel run
		}
		r.cfg.Epochs = 3
		sm := r.resume(t, to, splits)
		if d, at := largestDiff(wm, sm); !(d <= 1e-12) {
			t.Errorf("%d ranks, resumed on %d: %s differs from the run that never stopped by %.3g (relative); want at most 1e-12", from.Size(), to.Size(), at, d)
		}
	}
}

// TestDistributedResumeMissingFile checks that a checkpoint rank 0 cannot
// read is an error on every rank.
func TestDistributedResumeMissingFile(t *testing.T) {
	tr, _, _, err := replicaRun{cfg: train.Config{Epochs: 1, BatchSize: 32}}.build(t, world, digits(t))
	if err != nil {
		t.Fatal(err)
	}
	err = tr.Resume(filepath.Join(t.TempDir(), "missing"))
	if err == nil || (world.Rank() == 0) != errors.Is(err, os.ErrNotExist) {
		t.Errorf("%v: Resume(missing file) = %v; want the file's error on rank 0 and train.ErrOtherRank elsewhere", world, err)
	}
}

// TestDistributedFailureStopsEveryRank gives one rank NaN logits and checks
// that that rank returns it and every other rank ErrOtherRank, all at the
// same step, instead of waiting for it.
func TestDistributedFailureStopsEveryRank(t *testing.T) {
	splits := digits(t)
	r := replicaRun{cfg: train.Config{Epochs: 1, BatchSize: 32, Seed: 1}, trainSet: poisoned{splits.Train, 500}}
	tr, _, _, err := r.build(t, world, splits)
	if err != nil {
		t.Fatal(err)
	}
	err = tr.Run(context.Background())
	nan := err != nil && !errors.Is(err, train.ErrOtherRank) && strings.Contains(err.Error(), "NaN")
	if !nan && !errors.Is(err, train.ErrOtherRank) {
		t.Fatalf("%v: Run with a NaN example = %v; want the NaN or train.ErrOtherRank", world, err)
	}
	if any, err := comm.AnyOf(world, nan); err != nil || !any {
		t.Errorf("%v: no rank reported the NaN (%v)", world, err)
	}
	agree(t, fmt.Append(nil, tr.Step()), "the step at which the run stopped")
}

// evalPoint returns the parameters and buffers of tr's model m at its
// evaluation point (the average of the weights, or Schedule-Free's x, with
// batch norm's statistics recomputed there), as a model of its own.
func evalPoint(t *testing.T, tr *train.Trainer[float64], m *nn.Sequential[float64], like replicaRun, splits *data.Splits) *nn.Sequential[float64] {
	t.Helper()
	var b []byte
	if err := tr.AtEvalPoint(func() error { b = modelBytes(t, m); return nil }); err != nil {
		t.Fatal(err)
	}
	like.cfg, like.method = train.Config{Epochs: 1, BatchSize: 2}, nil // a model to load into: the batch only must not be one example, which batch norm refuses
	_, out, _, err := like.build(t, comm.Single(), splits)
	if err != nil {
		t.Fatal(err)
	}
	if err := nn.Load[float64](out, b); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestDistributedAverageAccumulate trains data-parallel runs that average
// their weights (EMA, SWA) or evaluate at Schedule-Free's x, and accumulate
// batches, against one process with the same global batch: the trained
// weights, the averaged ones (batch norm's statistics recomputed for
// them) and the validation loss agree within float64 rounding, every rank
// holds the same bytes, a second run repeats them, and a run stopped on the
// last rank between the micro-batches of a step resumes to the same bytes
// on the same number of ranks and within rounding in one process.
func TestDistributedAverageAccumulate(t *testing.T) {
	splits := digits(t)
	for _, m := range []equivalence{
		{name: "adamw-clip-ema-accumulate3", method: optim.DefaultAdamW(), clip: 0.5, avg: &optim.Averaging{EMA: true, Decay: 0.9}, acc: 3},
		{name: "sgd-swa-sync-batchnorm-accumulate2", method: optim.SGD{Momentum: 0.9}, lr: 0.05, clip: 0.5, syncBN: true, avg: &optim.Averaging{Start: 20}, acc: 2},
		{name: "schedulefree-sync-batchnorm-accumulate2", method: optim.DefaultScheduleFreeAdamW(), clip: 0.5, syncBN: true, acc: 2},
	} {
		t.Run(m.name, func(t *testing.T) {
			dir := t.TempDir() // rank 0's is the one written
			r, bound := m.replicaRun(), m.bound()
			single, sm, _, err := r.build(t, comm.Single(), splits)
			if err != nil {
				t.Fatal(err)
			}
			if err := single.Run(context.Background()); err != nil {
				t.Fatal(err)
			}
			var first []byte
			var dist *train.Trainer[float64]
			var dm *nn.Sequential[float64]
			for run := range 2 {
				r.init = uint64(world.Rank()) // rank 0's weights are copied to all
				tr, model, state := r.trainOn(t, world, splits)
				b := append(modelBytes(t, model), modelBytes(t, evalPoint(t, tr, model, r, splits))...)
				agree(t, b, "the trained and the averaged model")
				agree(t, state, "the optimizer state")
				h := tr.History()
				agree(t, fmt.Appendf(nil, "%v %v %v %v", h[1].TrainLoss, h[1].ValLoss, h[1].ValAccuracy, h[1].Step), "the metrics")
				if run == 0 {
					first, dist, dm = b, tr, model
				} else if !bytes.Equal(b, first) {
					t.Errorf("%v: a second run with the same seed gave another model", world)
				}
			}
			if d, at := largestDiff(sm, dm); !(d <= bound) {
				t.Errorf("%d ranks: trained parameter %s differs from the single-process run's by %.3g (relative); want at most %g", world.Size(), at, d, bound)
			}
			se, de := evalPoint(t, single, sm, r, splits), evalPoint(t, dist, dm, r, splits)
			d, at := largestDiff(se, de)
			if !(d <= bound) {
				t.Errorf("%d ranks: averaged parameter %s differs from the single-process run's by %.3g (relative); want at most %g", world.Size(), at, d, bound)
			}
			if db, sb := bufferDiff(se, de); !(db <= bound) {
				t.Errorf("%d ranks: batch norm's statistics at the evaluation point differ from the single process's by %.3g; want at most %g (%v)", world.Size(), db, bound, sb)
			}
			t.Logf("%d ranks: largest relative difference from the single-process run at the evaluation point %.3g at %s", world.Size(), d, at)
			dh, sh := dist.History(), single.History()
			for e := range sh {
				if dh[e].Step != sh[e].Step || !(math.Abs(dh[e].ValLoss-sh[e].ValLoss) <= bound) || math.Abs(dh[e].TrainLoss-sh[e].TrainLoss) > 1e-9 {
					t.Errorf("%d ranks: epoch %d %+v; single process %+v", world.Size(), e+1, dh[e], sh[e])
				}
			}

			// Stopped on the last rank after the 5th batch of epoch 2, with
			// micro-batches pending (several ranks learn of it with the next
			// step's gradients: the 4th batch's cancellation stops them
			// after the 5th).
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			last := world.Rank() == world.Size()-1
			cancelAt := 5
			if world.Distributed() {
				cancelAt = 4
			}
			r.cfg.Checkpoint = filepath.Join(dir, "ckpt")
			r.cfg.OnBatch = func(b train.Batch) {
				if last && b.Epoch == 2 && b.Index == cancelAt {
					cancel()
				}
			}
			stopped, _, _, err := r.build(t, world, splits)
			if err != nil {
				t.Fatal(err)
			}
			if err := stopped.Run(ctx); !errors.Is(err, context.Canceled) && !errors.Is(err, train.ErrOtherRank) {
				t.Fatalf("%v: interrupted Run = %v", world, err)
			}
			if e, b := stopped.Position(); e != 1 || b != 5 {
				t.Fatalf("%v: stopped at epoch %d, batch %d; want epoch 1, batch 5", world, e, b)
			}
			r.cfg.OnBatch = nil
			r.init = 42 // overwritten by the checkpoint
			rm := r.resume(t, world, splits)
			if !bytes.Equal(modelBytes(t, rm), modelBytes(t, dm)) {
				t.Errorf("%v: the resumed model differs from the uninterrupted one", world)
			}
			if world.Rank() == 0 {
				one := r.resume(t, comm.Single(), splits)
				if d, at := largestDiff(sm, one); !(d <= bound) {
					t.Errorf("%d ranks, resumed in one process: %s differs from the single-process run by %.3g (relative); want at most %g", world.Size(), at, d, bound)
				}
			}
		})
	}
}

// bufferDiff returns the largest difference between the floating-point
// buffers of a and b, relative (absolute below 1), and which it is.
func bufferDiff(a, b *nn.Sequential[float64]) (float64, string) {
	ab, bb := a.Buffers(), b.Buffers()
	worst, at := 0.0, ""
	for i := range ab {
		for j, v := range ab[i].Value {
			if d := math.Abs(bb[i].Value[j]-v) / math.Max(1, math.Abs(v)); d > worst || math.IsNaN(d) {
				worst, at = d, fmt.Sprintf("%s[%d]", ab[i].Name, j)
			}
		}
	}
	return worst, at
}

// counted is a dataset that counts the examples read from it.
type counted struct {
	data.Dataset
	n    int // the examples of Dataset it has: its first n
	read int
}

func (c *counted) Len() int { return c.n }

func (c *counted) Example(i int, x []float32) int {
	c.read++
	return c.Dataset.Example(i, x)
}

// TestDistributedEvaluateSharded checks that an evaluation is shared among
// the ranks — rank r reads the batches r, r + N, … — and that every rank
// gets one process's loss within rounding and its accuracy exactly, also
// for a set of one batch, which leaves the ranks but the first none, and
// at the evaluation point of an average of the weights.
func TestDistributedEvaluateSharded(t *testing.T) {
	splits := digits(t)
	for _, avg := range []*optim.Averaging{nil, {EMA: true, Decay: 0.5}} {
		r := replicaRun{init: 3, batchNorm: true, cfg: train.Config{Epochs: 1, BatchSize: 31, Seed: 5, SyncBatchNorm: true, Average: avg}}
		single, _, _ := r.trainOn(t, comm.Single(), splits)
		dist, _, _ := r.trainOn(t, world, splits)
		for _, n := range []int{splits.Val.Len(), 5} {
			wl, wa, err := single.Evaluate(&counted{Dataset: splits.Val, n: n})
			if err != nil {
				t.Fatal(err)
			}
			set := &counted{Dataset: splits.Val, n: n}
			gl, ga, err := dist.Evaluate(set)
			if err != nil {
				t.Fatal(err)
			}
			want := 0 // the examples of this rank's batches
			for lo := world.Rank() * 31; lo < n; lo += world.Size() * 31 {
				want += min(31, n-lo)
			}
			if set.read != want {
				t.Errorf("%v: Evaluate read %d of %d examples; want %d, its batches'", world, set.read, n, want)
			}
			// The parameters differ by 1e-8 at most (synchronised batch
			// norm, TestDistributedEqualsSingleProcess).
			if !(math.Abs(gl-wl) <= 1e-8*math.Max(1, wl)) || math.Abs(ga-wa) > 1.5/float64(n) {
				t.Errorf("%v: Evaluate(%d examples, average %v) = %v, %v; one process %v, %v", world, n, avg != nil, gl, ga, wl, wa)
			}
			t.Logf("%d ranks: Evaluate(%d examples, average %v): loss %.3g from one process's, accuracy %v (one process %v)", world.Size(), n, avg != nil, math.Abs(gl-wl), ga, wa)
			agree(t, fmt.Appendf(nil, "%v %v", gl, ga), "the evaluation")
		}
	}
}
