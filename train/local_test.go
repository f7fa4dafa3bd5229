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

	"github.com/descentml/descent/comm"
	"github.com/descentml/descent/internal/commtest"
	"github.com/descentml/descent/nn"
	"github.com/descentml/descent/optim"
	"github.com/descentml/descent/tensor"
	"github.com/descentml/descent/train"
)

// The tests in this file run the data-parallel trainer under plain go test,
// on the ranks of comm.Local: goroutines of this process, each with its
// own replica, optimizer and trainer, as distributed_mpi_test.go runs it
// on the processes of mpirun. Their names do not match Distributed, which
// CI runs under mpirun.

// kernelThreads sets the kernels' threads to n until the end of the test.
func kernelThreads(t *testing.T, n int) {
	old := tensor.Threads()
	tensor.SetThreads(n)
	t.Cleanup(func() { tensor.SetThreads(old) })
}

// onLocal runs f on every rank of comm.Local(n) (commtest.OnLocal) and
// returns their errors.
func onLocal(t *testing.T, n int, f func(c *comm.Comm) error) []error {
	t.Helper()
	_, errs := commtest.OnLocal(t, n, func(c *comm.Comm) (struct{}, error) { return struct{}{}, f(c) })
	return errs
}

// noRankFailed fails the test for each rank's error.
func noRankFailed(t *testing.T, errs []error) {
	t.Helper()
	for r, err := range errs {
		if err != nil {
			t.Errorf("rank %d of %d: %v", r, len(errs), err)
		}
	}
	if t.Failed() {
		t.FailNow()
	}
}

// sameOnEveryRank fails the test unless every rank's bytes are rank 0's.
func sameOnEveryRank(t *testing.T, b [][]byte, what string) {
	t.Helper()
	for r := 1; r < len(b); r++ {
		if !bytes.Equal(b[r], b[0]) {
			t.Errorf("%d local ranks: rank %d's %s differs from rank 0's", len(b), r, what)
		}
	}
}

// localReplicas is a data-parallel run on the ranks of comm.Local: every
// rank's trainer and model.
type localReplicas struct {
	trainers []*train.Trainer[float64]
	models   []*nn.Sequential[float64]
	opts     []*optim.Optimizer[float64]
}

// onReplicas builds the run rank(r) on every rank r of comm.Local(n),
// then calls run on its trainer, in the rank's goroutine, and returns the
// ranks' trainers, models and optimizers and their errors.
func onReplicas(t *testing.T, n int, rank func(r int) replicaRun, run func(r int, tr *train.Trainer[float64]) error) (localReplicas, []error) {
	t.Helper()
	splits := digits(t)
	lr := localReplicas{make([]*train.Trainer[float64], n), make([]*nn.Sequential[float64], n), make([]*optim.Optimizer[float64], n)}
	errs := onLocal(t, n, func(c *comm.Comm) error {
		r := c.Rank()
		tr, m, opt, err := rank(r).build(t, c, splits)
		if err != nil {
			return err
		}
		lr.trainers[r], lr.models[r], lr.opts[r] = tr, m, opt
		return run(r, tr)
	})
	return lr, errs
}

// trainLocal builds and runs r on every rank of comm.Local(n), rank r's
// initial weights from the seed r: the trainer must copy rank 0's.
func trainLocal(t *testing.T, n int, r replicaRun) localReplicas {
	t.Helper()
	lr, errs := onReplicas(t, n, func(rank int) replicaRun {
		r := r
		r.init = uint64(rank)
		return r
	}, func(_ int, tr *train.Trainer[float64]) error { return tr.Run(context.Background()) })
	noRankFailed(t, errs)
	return lr
}

// bytes returns, for every rank, its model's bytes, its optimizer state's
// and its last epoch's metrics and diagnostics.
func (lr localReplicas) bytes(t *testing.T) (models, states, metrics [][]byte) {
	t.Helper()
	for r, m := range lr.models {
		models = append(models, modelBytes(t, m))
		var state bytes.Buffer
		if err := lr.opts[r].Save(&state); err != nil {
			t.Fatal(err)
		}
		states = append(states, state.Bytes())
		h := lr.trainers[r].History()
		e := h[len(h)-1]
		metrics = append(metrics, fmt.Appendf(nil, "%v %v %v %v %v %v %v %v %v", e.Step, e.TrainLoss, e.TrainAccuracy, e.ValLoss, e.ValAccuracy,
			e.GradNormMean, e.GradNormMax, e.ClipFraction, e.UpdateRatio))
	}
	return models, states, metrics
}

// TestLocalEqualsSingleProcess is TestDistributedEqualsSingleProcess on 2
// and 3 local ranks: a data-parallel run with the global batch of 31 (a
// multiple of neither) trains the parameters of one process within float64
// rounding, also with synchronised batch norm, with the same last epoch's
// metrics and global gradient norm, and every rank holds the same bytes;
// also for a model of one's own around the Sequential.
func TestLocalEqualsSingleProcess(t *testing.T) {
	kernelThreads(t, 1)
	splits := digits(t)
	for _, m := range []equivalence{
		{name: "sgd-momentum", method: optim.SGD{Momentum: 0.9}, lr: 0.05},
		{name: "adamw-clip", method: optim.DefaultAdamW(), clip: 0.5},
		{name: "adamw-sync-batchnorm", method: optim.DefaultAdamW(), clip: 0.5, syncBN: true},
		// Synchronised batch norm goes through the tape, not the layers:
		// a model of one's own that does not list them (wrapped) takes it.
		{name: "wrapped-adamw-sync-batchnorm", method: optim.DefaultAdamW(), clip: 0.5, syncBN: true, wrap: true},
		{name: "cnn-sgd-momentum", method: optim.SGD{Momentum: 0.9}, lr: 0.05, conv: true},
		{name: "cnn-adamw-sync-batchnorm", method: optim.DefaultAdamW(), clip: 0.5, syncBN: true, conv: true},
	} {
		r := m.replicaRun()
		single, sm, _ := r.trainOn(t, comm.Single(), splits)
		sh := single.History()
		for _, n := range []int{2, 3} {
			t.Run(fmt.Sprintf("%s/%d", m.name, n), func(t *testing.T) {
				lr := trainLocal(t, n, r)
				models, states, metrics := lr.bytes(t)
				sameOnEveryRank(t, models, "model")
				sameOnEveryRank(t, states, "optimizer state")
				sameOnEveryRank(t, metrics, "metrics")
				bound := m.bound()
				worst, at := largestDiff(sm, lr.models[0])
				t.Logf("largest relative difference from the single-process run %.3g at %s", worst, at)
				if !(worst <= bound) {
					t.Errorf("parameter %s differs from the single-process run's by %.3g (relative); want at most %g", at, worst, bound)
				}
				dh := lr.trainers[0].History()
				if dh[1].Step != sh[1].Step || math.Abs(dh[1].TrainLoss-sh[1].TrainLoss) > 1e-9 || dh[1].TrainAccuracy != sh[1].TrainAccuracy || !(math.Abs(dh[1].ValLoss-sh[1].ValLoss) <= bound) {
					t.Errorf("last epoch %+v; single process %+v", dh[1], sh[1])
				}
				if g, w := dh[1].GradNormMean, sh[1].GradNormMean; !(math.Abs(g-w) <= 1e-9*w) || dh[1].ClipFraction != sh[1].ClipFraction && m.clip > 0 {
					t.Errorf("last epoch's diagnostics %+v; single process %+v", dh[1].Diagnostics, sh[1].Diagnostics)
				}
			})
		}
	}
}

// TestLocalReplicasAreIdentical is TestDistributedReplicasAreIdentical on
// 2 and 3 local ranks: with per-replica batch norm, dropout and clipping,
// every rank holds the same model, optimizer state and metrics byte for
// byte, and a second run gives the same bytes, also with 2 kernel threads
// on which the ranks' kernels contend.
func TestLocalReplicasAreIdentical(t *testing.T) {
	r := replicaRun{batchNorm: true, dropout: true, clip: 1, cfg: train.Config{Epochs: 2, BatchSize: 40, Seed: 9}}
	for _, n := range []int{2, 3} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			var first []byte
			for _, threads := range []int{1, 1, 2} {
				kernelThreads(t, threads)
				models, states, metrics := trainLocal(t, n, r).bytes(t)
				sameOnEveryRank(t, models, "model (parameters and batch norm's buffers)")
				sameOnEveryRank(t, states, "optimizer state")
				sameOnEveryRank(t, metrics, "metrics")
				if first == nil {
					first = models[0]
				} else if !bytes.Equal(models[0], first) {
					t.Errorf("a second run with the same seed, with %d kernel threads, gave another model", threads)
				}
			}
		})
	}
}

// TestLocalResume is TestDistributedResume on 2 and 3 local ranks: a run
// interrupted on the last rank only, in the middle of an epoch, stops on
// every rank after the same step, rank 0 alone writes the checkpoint, and
// resuming from it gives the uninterrupted run's model byte for byte.
// Each rank has its own checkpoint path, so that rank 0's alone must exist
// and the others' are never read.
func TestLocalResume(t *testing.T) {
	kernelThreads(t, 1)
	r := replicaRun{init: 1, batchNorm: true, dropout: true, cfg: train.Config{Epochs: 3, BatchSize: 50, Seed: 7}}
	for _, n := range []int{2, 3} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			whole, errs := onReplicas(t, n, func(int) replicaRun { return r }, func(_ int, tr *train.Trainer[float64]) error {
				return tr.Run(context.Background())
			})
			noRankFailed(t, errs)
			want, _, _ := whole.bytes(t)
			sameOnEveryRank(t, want, "uninterrupted model")

			dir := t.TempDir()
			ckpt := func(rank int) string { return filepath.Join(dir, fmt.Sprint("ckpt-", rank)) }
			last := n - 1
			interrupted := func(rank int) replicaRun {
				r := r
				r.cfg.Checkpoint = ckpt(rank)
				return r
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			first, errs := onReplicas(t, n, func(rank int) replicaRun {
				r := interrupted(rank)
				r.cfg.OnBatch = func(b train.Batch) {
					if rank == last && b.Epoch == 2 && b.Index == 11 {
						cancel()
					}
				}
				return r
			}, func(rank int, tr *train.Trainer[float64]) error {
				if rank == last {
					return tr.Run(ctx)
				}
				return tr.Run(context.Background())
			})
			for rank, err := range errs {
				switch {
				case rank == last && !errors.Is(err, context.Canceled):
					t.Errorf("interrupted rank %d of %d: Run = %v; want context.Canceled", rank, n, err)
				case rank != last && !errors.Is(err, train.ErrOtherRank):
					t.Errorf("rank %d of %d: Run = %v; want train.ErrOtherRank", rank, n, err)
				}
			}
			if t.Failed() {
				t.FailNow()
			}
			// The ranks learn of the cancellation with the next step's
			// gradients, and stop after it.
			for rank, tr := range first.trainers {
				if e, b := tr.Position(); e != 1 || b != 12 {
					t.Errorf("rank %d of %d stopped at epoch %d, batch %d; want epoch 1, batch 12", rank, n, e, b)
				}
				if _, err := os.Stat(ckpt(rank)); (rank == 0) != (err == nil) {
					t.Errorf("rank %d of %d: checkpoint written: %v; want it on rank 0 only", rank, n, err == nil)
				}
			}

			resumed, errs := onReplicas(t, n, func(rank int) replicaRun {
				r := interrupted(rank)
				r.init = uint64(rank) + 10 // overwritten by the checkpoint
				return r
			}, func(rank int, tr *train.Trainer[float64]) error {
				if err := tr.Resume(ckpt(rank)); err != nil {
					return err
				}
				return tr.Run(context.Background())
			})
			noRankFailed(t, errs)
			got, _, _ := resumed.bytes(t)
			for rank, b := range got {
				if !bytes.Equal(b, want[0]) {
					t.Errorf("rank %d of %d: the resumed model differs from the uninterrupted one", rank, n)
				}
			}
		})
	}
}

// TestLocalFailureStopsEveryRank is TestDistributedFailureStopsEveryRank
// on 3 local ranks: the rank whose shard holds a NaN example returns the
// NaN, the others train.ErrOtherRank, all after the same step, instead of
// waiting for it.
func TestLocalFailureStopsEveryRank(t *testing.T) {
	kernelThreads(t, 1)
	splits := digits(t)
	r := replicaRun{cfg: train.Config{Epochs: 1, BatchSize: 32, Seed: 1}, trainSet: poisoned{splits.Train, 500}}
	lr, errs := onReplicas(t, 3, func(int) replicaRun { return r }, func(_ int, tr *train.Trainer[float64]) error {
		return tr.Run(context.Background())
	})
	nan := 0
	for rank, err := range errs {
		switch {
		case err != nil && !errors.Is(err, train.ErrOtherRank) && strings.Contains(err.Error(), "NaN"):
			nan++
		case !errors.Is(err, train.ErrOtherRank):
			t.Errorf("rank %d of 3: Run with a NaN example = %v; want the NaN or train.ErrOtherRank", rank, err)
		}
		if lr.trainers[rank] != nil && lr.trainers[rank].Step() != lr.trainers[0].Step() {
			t.Errorf("rank %d of 3 stopped after step %d, rank 0 after %d", rank, lr.trainers[rank].Step(), lr.trainers[0].Step())
		}
	}
	if nan != 1 {
		t.Errorf("%d ranks of 3 reported the NaN; want 1", nan)
	}
}

// TestLocalBadConfigOnOneRank is TestDistributedBadConfigOnOneRank on 3
// local ranks: a configuration train.New refuses on the last rank alone
// is its error there and train.ErrOtherRank on the others, which do not
// wait for it.
func TestLocalBadConfigOnOneRank(t *testing.T) {
	_, errs := onReplicas(t, 3, func(rank int) replicaRun {
		r := replicaRun{cfg: train.Config{Epochs: 1, BatchSize: 32, Seed: 1}}
		if rank == 2 {
			r.cfg.Epochs = 0
		}
		return r
	}, func(int, *train.Trainer[float64]) error { return nil })
	for rank, err := range errs {
		switch {
		case rank == 2 && (err == nil || !strings.Contains(err.Error(), "Epochs = 0")):
			t.Errorf("rank 2 of 3: Epochs 0: %v; want its error", err)
		case rank != 2 && !errors.Is(err, train.ErrOtherRank):
			t.Errorf("rank %d of 3: Epochs 0 on rank 2: %v; want train.ErrOtherRank", rank, err)
		}
	}
}

// TestLocalSeqEqualsSingleProcess is TestDistributedSeqEqualsSingleProcess
// on 2 and 3 local ranks: a transformer and an LSTM language model, with
// AdamW and clipping, also accumulating 2 batches a step and averaging the
// weights, train data-parallel on a global batch of 7 windows the
// parameters of one process within float64 rounding, with its training
// and (sharded) validation losses, and every rank holds the same bytes.
// Each rank starts from its own weights: the trainer must copy rank 0's.
func TestLocalSeqEqualsSingleProcess(t *testing.T) {
	kernelThreads(t, 1)
	for _, c := range seqEquivalences {
		single, sm := c.seqRun().trainOn(t, comm.Single())
		sh := single.History()
		for _, n := range []int{2, 3} {
			t.Run(fmt.Sprintf("%s/%d", c.name, n), func(t *testing.T) {
				trainers, models := make([]*train.SeqTrainer[float64], n), make([]nn.Module[float64], n)
				noRankFailed(t, onLocal(t, n, func(cm *comm.Comm) error {
					rank, r := cm.Rank(), c.seqRun()
					r.init = uint64(rank) + 7
					tr, m, err := r.build(t, cm)
					if err != nil {
						return err
					}
					trainers[rank], models[rank] = tr, m
					return tr.Run(context.Background())
				}))
				b, metrics := make([][]byte, n), make([][]byte, n)
				for rank, tr := range trainers {
					b[rank] = saved(t, models[rank])
					h := tr.History()
					metrics[rank] = fmt.Appendf(nil, "%v %v %v", h[1].TrainLoss, h[1].ValLoss, h[1].Diagnostics.GradNormMean)
				}
				sameOnEveryRank(t, b, "model")
				sameOnEveryRank(t, metrics, "metrics")
				// The bound of TestDistributedSeqEqualsSingleProcess.
				worst, at := largestDiff(sm, models[0])
				h := trainers[0].History()
				t.Logf("largest difference from one process %.3g at %s; train loss %v and %v, validation %v and %v", worst, at, h[1].TrainLoss, sh[1].TrainLoss, h[1].ValLoss, sh[1].ValLoss)
				if !(worst <= 1e-12) {
					t.Errorf("parameter %s differs from the one-process run's by %.3g; want at most 1e-12", at, worst)
				}
				if d := math.Abs(h[1].TrainLoss - sh[1].TrainLoss); !(d <= 1e-12) {
					t.Errorf("train loss %v; one process %v", h[1].TrainLoss, sh[1].TrainLoss)
				}
				if d := math.Abs(h[1].ValLoss - sh[1].ValLoss); !(d <= 1e-12) {
					t.Errorf("validation loss %v; one process %v", h[1].ValLoss, sh[1].ValLoss)
				}
			})
		}
	}
}
