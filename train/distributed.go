package train

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"

	"github.com/descentml/descent/autograd"
	"github.com/descentml/descent/comm"
	"github.com/descentml/descent/internal/kernel"
	"github.com/descentml/descent/nn"
	"github.com/descentml/descent/optim"
	"github.com/descentml/descent/tensor"
)

// Data-parallel training. With Config.Comm of N > 1 processes (ranks), every
// rank holds a replica of the model and the optimizer, and each step is
//
//	global batch idx (B examples, the same on every rank)
//	→ rank r's shard idx[⌊B·r/N⌋ : ⌊B·(r+1)/N⌋] of n_r examples
//	→ forward, mean loss over the shard, backward: g_r
//	→ all-reduce of Σ_r (n_r/B)·g_r, added in rank order (package comm)
//	→ the optimizer's step, on the same global gradient on every rank
//
// The shard's mean-loss gradient g_r = (1/n_r)·Σ_{i∈r} ∇ℓ_i is weighted by
// n_r/B, so the sum is (1/B)·Σ_i ∇ℓ_i, the gradient of the global batch's
// mean loss, also when B is not a multiple of N (shards differ by at most
// one example) and for the epoch's last, shorter batch (where a shard may
// be empty and adds zero). Clipping, the non-finite guard, the schedules
// and the optimizer's state therefore see the single-process gradient, up
// to the order of the additions, and every rank takes the same step.
//
// With Config.Accumulate, each batch is one such all-reduce and the
// accumulator adds up the global gradients (one all-reduce per batch, not
// per optimizer step: the pending sums are then the same on every rank,
// so rank 0's checkpoint between two micro-batches resumes on any number
// of ranks). With Config.Average, every rank folds the same weights into
// its average after each optimizer step, so the averages are identical;
// the evaluation point (the average, or Schedule-Free's x) and its batch
// norm statistics, recomputed from whole training batches, are computed
// on every rank as one process computes them.
//
// The loss and correct counts travel with the gradients (one all-reduce per
// step), and so do two flags: a rank that failed (its error is returned on
// it, and every other rank returns an error too, instead of waiting for it
// in the next step), and a rank whose context was cancelled (every rank then
// stops after that step, at the same place, and rank 0 writes the
// checkpoint).
//
// Batch norm keeps per-replica statistics by default: each replica
// normalizes its shard with the shard's mean and variance, as PyTorch's DDP
// does without SyncBatchNorm. With Config.SyncBatchNorm, every batch-norm
// layer sums its statistics over the ranks in the forward pass and its
// gradient sums in the backward pass (autograd.BatchReducer), so that it
// normalizes with the global batch's mean and variance, as one process
// would, and the running statistics are the same on every rank. Only rank
// 0's running statistics (and other buffers) count:
// they are copied to every rank before each evaluation and checkpoint, so
// that validation, early stopping and reduce-on-plateau decide the same
// everywhere.
//
// An evaluation (the validation set after each epoch, Evaluate) is sharded
// as a language model's: rank r evaluates the batches r, r + N, … of the
// set, and the sums of the losses and correct counts are all-reduced, so
// every rank gets the same numbers, one process's up to the order of the
// additions. It is collective: every rank must take it.
//
// At the start, rank 0's parameters, buffers, optimizer state and random
// source are copied to every rank, after checking that every rank built the
// same run (batch size, seed, data, parameter names and shapes). Resume reads
// the checkpoint on rank 0 and sends it to every rank. Rank 0 alone writes
// checkpoints; an error writing one is returned on every rank.

// ErrOtherRank is matched by errors.Is for the error a rank returns when
// another rank failed or was interrupted and it was not.
var ErrOtherRank = errors.New("train: stopped by another rank")

// replicas is the data-parallel state of a trainer.
type replicas[T tensor.Float] struct {
	c    *comm.Comm
	flat []T // every parameter's gradient, then the tail
	fbuf []T // the model's floating-point buffers, then
	ibuf []int64
	stop bool // a rank was interrupted: stop before the next step
	// syncBN is set for synchronised batch norm: the batch-norm layers'
	// sums go through it while a step computes its gradient.
	syncBN autograd.BatchReducer
	// rngRanks is, on rank 0 while it writes a checkpoint, the random
	// states of every rank (the checkpoint's rng_ranks).
	rngRanks string
}

// The tail of replicas.flat.
const (
	tailLoss    = iota // Σ_r n_r·(shard's mean loss)
	tailCorrect        // Σ_r correct predictions
	tailFailed         // ranks that failed
	tailStop           // ranks whose context was cancelled
	tailLen
)

// newDistributed is New for a Comm of several ranks: the checks of a
// single process on every rank, with their errors shared, so that a rank
// whose configuration is bad does not leave the others waiting for it in
// newReplicas.
func newDistributed[T tensor.Float](model Model[T], opt *optim.Optimizer[T], sets Data, cfg Config) (*Trainer[T], error) {
	c := cfg.Comm
	cfg.Comm = nil
	tr, err := newLocal(model, opt, sets, cfg)
	if err := comm.Together(c, err, ""); err != nil {
		if errors.Is(err, comm.ErrOtherRank) {
			return nil, fmt.Errorf("%w: another rank could not build the run", ErrOtherRank)
		}
		return nil, err
	}
	tr.cfg.Comm = c
	if tr.dist, err = newReplicas(tr); err != nil {
		return nil, err
	}
	return tr, nil
}

// newReplicas checks that every rank built the same run and copies rank 0's
// state to the others. It returns nil for a single process.
func newReplicas[T tensor.Float](tr *Trainer[T]) (*replicas[T], error) {
	c := tr.cfg.Comm
	if c == nil || c.Size() == 1 {
		return nil, nil
	}
	d := &replicas[T]{c: c}
	n := tailLen
	for _, p := range tr.params {
		n += len(p.Grad)
	}
	d.flat = make([]T, n)
	type shape struct {
		Name  string
		Shape []int
	}
	var params, bufs []shape
	for _, p := range tr.params {
		params = append(params, shape{p.Name, p.Shape})
	}
	nf, ni := 0, 0
	for _, b := range tr.model.Buffers() {
		bufs = append(bufs, shape{b.Name, b.Shape})
		nf, ni = nf+len(b.Value), ni+len(b.Int)
	}
	d.fbuf, d.ibuf = make([]T, nf), make([]int64, ni)
	run, err := json.Marshal(struct {
		Run             fingerprint
		Params, Buffers []shape
		RNG, SyncBN     bool
		Average         *optim.Averaging
	}{tr.fingerprint(), params, bufs, tr.cfg.RNG != nil, tr.cfg.SyncBatchNorm, tr.cfg.Average})
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	if err := comm.Agree(c, run, "the run (batch size, seed, data, model)"); err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	if tr.cfg.BatchSize < c.Size() {
		return nil, fmt.Errorf("train: BatchSize = %d: a global batch must hold at least one example for each of the %d ranks", tr.cfg.BatchSize, c.Size())
	}
	if tr.cfg.SyncBatchNorm {
		// Every rank must take part in every layer's sums: none may have
		// an empty shard, which the epoch's last batch could leave.
		if n, b := tr.sets.Train.Len(), tr.cfg.BatchSize; !tr.cfg.DropLast && n%b != 0 && n%b < c.Size() {
			return nil, fmt.Errorf("train: synchronised batch norm: the training set's %d examples leave a last batch of %d in each epoch (batch size %d), fewer than the %d ranks, so a rank would have no example to normalize; choose another batch size", n, n%b, b, c.Size())
		}
		d.syncBN = batchReducer{c}
	}
	if err := tr.checkOneExample(c.Size(), tr.cfg.SyncBatchNorm); err != nil { // the ranks' shards
		return nil, err
	}
	err = d.copyState(tr.writeCheckpoint, func(state []byte) error {
		tr.dist = d // for loadState to give this rank its own random source
		return tr.loadState(state, "rank 0's state")
	})
	if err != nil {
		return nil, err
	}
	return d, nil
}

// copyState copies rank 0's state to every other rank: save writes it on
// rank 0 (a checkpoint), load reads it on the others. An error on one rank
// is returned on every rank.
func (d *replicas[T]) copyState(save func(io.Writer) error, load func([]byte) error) error {
	var state bytes.Buffer
	var err error
	if d.c.Rank() == 0 {
		err = save(&state)
	}
	if err := d.agreeOn(err, "rank 0 could not save its state"); err != nil {
		return err
	}
	b, err := comm.BroadcastBytes(d.c, state.Bytes(), 0)
	if err != nil {
		return fmt.Errorf("train: copying rank 0's model: %w", err)
	}
	if d.c.Rank() != 0 {
		err = load(b)
	}
	return d.agreeOn(err, "a rank could not load rank 0's state")
}

// agreeOn returns err on the ranks that have one, and on the others, if
// any rank has one, ErrOtherRank with what failed there.
func (d *replicas[T]) agreeOn(err error, what string) error {
	any, cerr := comm.AnyOf(d.c, err != nil)
	switch {
	case cerr != nil:
		return errors.Join(err, fmt.Errorf("train: %w", cerr))
	case err != nil:
		return err
	case any:
		return fmt.Errorf("%w: %s", ErrOtherRank, what)
	}
	return nil
}

// together returns err on the ranks that have one and, in a data-parallel
// run, an error on the others too, for a step all ranks must take or
// abandon together.
func (tr *Trainer[T]) together(err error, what string) error {
	if tr.dist == nil {
		return err
	}
	return tr.dist.agreeOn(err, what)
}

// shard returns the bounds of rank r's part of a batch of n examples over
// size ranks: ⌊n·r/size⌋ … ⌊n·(r+1)/size⌋.
func shard(n, r, size int) (lo, hi int) { return n * r / size, n * (r + 1) / size }

// step is Trainer.step for one replica: the gradient of the rank's shard,
// the all-reduce, then the optimizer's step on the global gradient.
func (d *replicas[T]) step(ctx context.Context, tr *Trainer[T], idx []int) (float64, int, error) {
	defer tr.tape.Reset()
	lo, hi := shard(len(idx), d.c.Rank(), d.c.Size())
	var local error
	var l float64
	var correct int
	if hi > lo {
		tr.tape.SetBatchReducer(d.syncBN)
		l, correct, local = tr.gradient(idx[lo:hi])
		tr.tape.SetBatchReducer(nil)
	}
	nn.ZeroDiscardedGrads(tr.params) // what the backward pass did not reach, or all of them without one
	red, err := d.allReduce(ctx, tr.params, float64(hi-lo)/float64(len(idx)), l*float64(hi-lo), correct, local)
	if err != nil {
		return 0, 0, err
	}
	d.stop = red.stop
	if err := tr.update(); err != nil {
		return 0, 0, err
	}
	return red.loss / float64(len(idx)), red.correct, nil
}

// reduced is what the all-reduce of a step brings besides the gradient.
type reduced struct {
	loss    float64 // Σ_r of the ranks' loss
	correct int     // Σ_r of the ranks' correct predictions
	stop    bool    // a rank's context was cancelled
}

// allReduce replaces every parameter's gradient by the global one,
// Σ_r share_r·g_r added in rank order, where this rank's share is share
// (its part of the batch) and its g_r is zero if local, its error, is set.
// The loss and correct count are summed with it, and two flags: that a rank
// failed and that one was interrupted. A failed rank gets its error back,
// the others ErrOtherRank.
func (d *replicas[T]) allReduce(ctx context.Context, params []nn.Param[T], share, loss float64, correct int, local error) (reduced, error) {
	w := T(share)
	flat := d.flat
	off := 0
	for _, p := range params {
		dst := flat[off : off+len(p.Grad)]
		if local != nil {
			clear(dst)
		} else {
			copy(dst, p.Grad)
			kernel.Scale(w, dst)
		}
		off += len(p.Grad)
	}
	tail := flat[off:]
	clear(tail)
	if local != nil {
		tail[tailFailed] = 1
	} else {
		tail[tailLoss], tail[tailCorrect] = T(loss), T(correct)
	}
	if ctx.Err() != nil {
		tail[tailStop] = 1
	}
	if err := comm.AllReduceSum(d.c, flat); err != nil {
		return reduced{}, errors.Join(local, err)
	}
	switch {
	case local != nil:
		return reduced{}, local
	case tail[tailFailed] != 0:
		return reduced{}, fmt.Errorf("%w: %v of %d ranks failed on this batch", ErrOtherRank, tail[tailFailed], d.c.Size())
	}
	off = 0
	for _, p := range params {
		copy(p.Grad, flat[off:off+len(p.Grad)])
		off += len(p.Grad)
	}
	return reduced{float64(tail[tailLoss]), int(tail[tailCorrect]), tail[tailStop] != 0}, nil
}

// evalShare calls eval on this process's share of an evaluation's batches,
// the batches first, first + stride, …: all of them in one process (d nil),
// the batches r, r + N, … on rank r of N, and returns the sums of the
// losses and correct predictions over all the ranks, every rank the same.
func evalShare[T tensor.Float](d *replicas[T], eval func(first, stride int) (float64, int, error)) (float64, int, error) {
	if d == nil {
		return eval(0, 1)
	}
	sum, correct, err := eval(d.c.Rank(), d.c.Size())
	return d.evalSums(sum, correct, err)
}

// evalSums adds up the ranks' sums of an evaluation, the losses' and the
// correct predictions' (tokens, for a language model), in rank order, so
// every rank gets the same numbers; a rank's error, local, is returned there, and
// ErrOtherRank on the others.
func (d *replicas[T]) evalSums(sum float64, correct int, local error) (float64, int, error) {
	buf := []float64{sum, float64(correct), 0}
	if local != nil {
		buf = []float64{0, 0, 1}
	}
	if err := comm.AllReduceSum(d.c, buf); err != nil {
		return 0, 0, errors.Join(local, err)
	}
	switch {
	case local != nil:
		return 0, 0, local
	case buf[2] != 0:
		return 0, 0, fmt.Errorf("%w: %v of %d ranks failed in the evaluation", ErrOtherRank, buf[2], d.c.Size())
	}
	return buf[0], int(buf[1]), nil
}

// batchReducer sums synchronised batch norm's statistics over the ranks.
type batchReducer struct{ c *comm.Comm }

func (r batchReducer) AllReduceSum(x []float64) error { return comm.AllReduceSum(r.c, x) }

// interrupted reports whether a rank was interrupted during the last step:
// ctx's error on the ranks whose context was cancelled, ErrOtherRank on the
// others.
func (d *replicas[T]) interrupted(ctx context.Context) error {
	if !d.stop {
		return nil
	}
	d.stop = false // reported once: a later Run starts afresh
	if err := ctx.Err(); err != nil {
		return err
	}
	return fmt.Errorf("%w: interrupted", ErrOtherRank)
}

// syncBuffers copies rank 0's buffers (batch norm's running statistics) to
// every rank.
func (d *replicas[T]) syncBuffers(tr *Trainer[T]) error {
	if len(d.fbuf) == 0 && len(d.ibuf) == 0 {
		return nil
	}
	bufs := tr.model.Buffers()
	f, i := 0, 0
	for _, b := range bufs {
		f += copy(d.fbuf[f:], b.Value)
		i += copy(d.ibuf[i:], b.Int)
	}
	if err := errors.Join(comm.Broadcast(d.c, d.fbuf, 0), comm.Broadcast(d.c, d.ibuf, 0)); err != nil {
		return fmt.Errorf("train: copying rank 0's buffers: %w", err)
	}
	f, i = 0, 0
	for _, b := range bufs {
		f += copy(b.Value, d.fbuf[f:])
		i += copy(b.Int, d.ibuf[i:])
	}
	return nil
}

// checkpoint writes the checkpoint on rank 0 and returns its error, if any,
// on every rank.
func (d *replicas[T]) checkpoint(tr *Trainer[T]) error {
	return d.write(tr.cfg.RNG, func() error { return tr.SaveCheckpoint(tr.cfg.Checkpoint) })
}

// write collects every rank's random state, rng's, into rngRanks, calls
// save on rank 0, and returns its error, if any, on every rank.
func (d *replicas[T]) write(rng *rand.PCG, save func() error) error {
	err := d.gatherRNG(rng)
	if d.c.Rank() == 0 && err == nil {
		err = save()
	}
	d.rngRanks = ""
	return d.agreeOn(err, "the checkpoint could not be written")
}

// readFile reads a checkpoint on rank 0 and sends it to every rank; an
// error reading it is returned on every rank. On nil (a single process) it
// reads the file.
func (d *replicas[T]) readFile(path string) ([]byte, error) {
	var b []byte
	var err error
	if d == nil || d.c.Rank() == 0 {
		if b, err = os.ReadFile(path); err != nil {
			err = fmt.Errorf("train: %w", err)
		}
	}
	if d == nil {
		return b, err
	}
	if err := d.agreeOn(err, "rank 0 could not read "+path); err != nil {
		return nil, err
	}
	b, err = comm.BroadcastBytes(d.c, b, 0)
	if err != nil {
		return nil, fmt.Errorf("train: sending the checkpoint to every rank: %w", err)
	}
	return b, nil
}

// Dropout draws as many random numbers as a shard has examples, and the
// ranks must not draw the same masks, so each rank has its own random
// source: at the start, rank r > 0 seeds its source from rank 0's state
// and r; a checkpoint holds every rank's state, and a resumed run with the
// same number of ranks restores them all (with another number, the ranks
// without a saved state seed theirs from rank 0's again).

// rankRNG sets the random source of this rank, which holds rank 0's state,
// to its entry in enc (a checkpoint's rng_ranks), or, if it has none, to a
// stream seeded from rank 0's state and the rank.
func (d *replicas[T]) rankRNG(rng *rand.PCG, enc string) error {
	r := d.c.Rank()
	if r == 0 {
		return nil
	}
	var states []string
	if enc != "" && json.Unmarshal([]byte(enc), &states) != nil {
		return errors.New("corrupt random states of the ranks")
	}
	if r < len(states) && states[r] != "" {
		raw, err := base64.StdEncoding.DecodeString(states[r])
		if err == nil {
			err = rng.UnmarshalBinary(raw)
		}
		if err != nil {
			return fmt.Errorf("corrupt random state of rank %d", r)
		}
		return nil
	}
	b, err := rng.MarshalBinary()
	if err != nil {
		return err
	}
	h := sha256.Sum256(binary.LittleEndian.AppendUint64(b, uint64(r)))
	rng.Seed(binary.LittleEndian.Uint64(h[:8]), binary.LittleEndian.Uint64(h[8:16]))
	return nil
}

// gatherRNG collects every rank's random state on rank 0, in rngRanks.
func (d *replicas[T]) gatherRNG(rng *rand.PCG) error {
	d.rngRanks = ""
	if rng == nil {
		return nil
	}
	own, err := rng.MarshalBinary()
	if err != nil {
		return fmt.Errorf("train: checkpoint: %w", err)
	}
	states := make([]string, d.c.Size())
	for r := 1; r < d.c.Size(); r++ {
		b, err := comm.BroadcastBytes(d.c, own, r)
		if err != nil {
			return fmt.Errorf("train: collecting the random states: %w", err)
		}
		states[r] = base64.StdEncoding.EncodeToString(b)
	}
	if d.c.Rank() == 0 {
		j, err := json.Marshal(states)
		if err != nil {
			return fmt.Errorf("train: checkpoint: %w", err)
		}
		d.rngRanks = string(j)
	}
	return nil
}
