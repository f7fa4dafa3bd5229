package train

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/nlpodyssey/safetensors"

	"github.com/descentml/descent/internal/atomicfile"
	"github.com/descentml/descent/nn"
)

// A checkpoint is a safetensors file holding two byte tensors — "model", the
// model file nn.Save writes, and "optimizer", the state optim.Optimizer.Save
// writes — and, in its metadata:
//
//	format    "descent.checkpoint"
//	version   "2" (version 1 lacked the checksum, and still loads)
//	descent.crc32c  the file's checksum (nn.ChecksumKey), required
//	position  JSON: epoch and batch reached, the running sums of the epoch
//	          under way, the early-stopping state
//	history   JSON: the metrics of the epochs done
//	rng       base64: the dropout random source's state, if any (rank 0's
//	          in a data-parallel run)
//	rng_ranks JSON: in a data-parallel run, the base64 states of the random
//	          sources of ranks 1, 2, … (index 0 is empty)
//	run       JSON: what must not change on resume (batch size, seed, …)
//
// For an optimizer with an evaluation point (Schedule-Free), "model" holds
// the model at that point (x) and a third byte tensor, "train_model", the
// model at the point it trains (y), from which a run resumes. A run that
// averages its weights (Config.Average) has the averaged model as "model",
// the trained one as "train_model", and the average's state as "average"
// (optim.Averager.Save). A run that accumulates gradients
// (Config.Accumulate), stopped between the micro-batches of a step, has
// their sums as "accumulation" (optim.Accumulator.Save); a checkpoint
// without it has none pending.
const (
	checkpointFormat  = "descent.checkpoint"
	checkpointVersion = 2
)

// fingerprint is what a resumed run must share with the run that wrote the
// checkpoint for it to continue exactly.
type fingerprint struct {
	BatchSize int    `json:"batch_size"`
	Seed      uint64 `json:"seed"`
	DropLast  bool   `json:"drop_last"`
	Loss      Loss   `json:"loss"`
	Examples  int    `json:"train_examples"`
	Shape     []int  `json:"example_shape"`
	// Accumulate is Config.Accumulate if above 1, else 0.
	Accumulate int `json:"accumulate,omitempty"`
}

func (tr *Trainer[T]) fingerprint() fingerprint {
	acc := tr.cfg.Accumulate
	if acc <= 1 {
		acc = 0
	}
	return fingerprint{tr.cfg.BatchSize, tr.cfg.Seed, tr.cfg.DropLast, tr.cfg.Loss, tr.sets.Train.Len(), tr.sets.Train.Shape(), acc}
}

// checkpoint writes a checkpoint if the configuration asks for one.
func (tr *Trainer[T]) checkpoint() error {
	switch {
	case tr.cfg.Checkpoint == "":
		return nil
	}
	var err error
	if tr.dist != nil {
		err = tr.dist.checkpoint(tr)
	} else {
		err = tr.SaveCheckpoint(tr.cfg.Checkpoint)
	}
	if err == nil {
		tr.checkpointed = tr.pos.Epoch
	}
	return err
}

// SaveCheckpoint writes the run's state to path atomically: into a
// temporary file in the same directory, synced to disk, then renamed over
// path, so that path always holds a whole checkpoint. The checkpoint path
// held before is kept as [PrevCheckpoint](path), for [Trainer.ResumeLatest]
// to fall back on when the latest is damaged.
func (tr *Trainer[T]) SaveCheckpoint(path string) error {
	var file bytes.Buffer
	if err := tr.writeCheckpoint(&file); err != nil {
		return err
	}
	if err := keepPrevious(path); err != nil {
		return fmt.Errorf("train: keeping the previous checkpoint: %w", err)
	}
	return atomicfile.WriteFile(path, file.Bytes())
}

// PrevCheckpoint returns where SaveCheckpoint keeps the checkpoint that
// path held before the latest: "checkpoint.safetensors" →
// "checkpoint.prev.safetensors".
func PrevCheckpoint(path string) string {
	ext := filepath.Ext(path)
	return strings.TrimSuffix(path, ext) + ".prev" + ext
}

// keepPrevious makes PrevCheckpoint(path) hold what path holds, if it
// exists, so that both are whole at every moment: a hard link to path
// renamed over the previous one (or, where the file system has no hard
// links, a copy written atomically). path itself is left in place.
func keepPrevious(path string) error {
	prev := PrevCheckpoint(path)
	tmp := prev + ".link"
	os.Remove(tmp) // left by a kill between the link and the rename
	err := os.Link(path, tmp)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return nil // the first checkpoint
	case err == nil:
		return os.Rename(tmp, prev)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(prev, b)
}

// writeCheckpoint writes the run's state to w.
func (tr *Trainer[T]) writeCheckpoint(w io.Writer) error {
	var model, trainModel, opt bytes.Buffer
	if tr.hasEvalPoint() {
		if err := nn.Save(&trainModel, nn.Module[T](tr.model)); err != nil {
			return fmt.Errorf("train: checkpoint: %w", err)
		}
	}
	if err := tr.AtEvalPoint(func() error { return nn.Save(&model, nn.Module[T](tr.model)) }); err != nil {
		return fmt.Errorf("train: checkpoint: %w", err)
	}
	if err := tr.opt.Save(&opt); err != nil {
		return fmt.Errorf("train: checkpoint: %w", err)
	}
	pos, err1 := json.Marshal(tr.pos)
	hist, err2 := json.Marshal(tr.history)
	run, err3 := json.Marshal(tr.fingerprint())
	if err := errors.Join(err1, err2, err3); err != nil {
		return fmt.Errorf("train: checkpoint: %w", err)
	}
	meta := map[string]string{
		"format":   checkpointFormat,
		"version":  strconv.Itoa(checkpointVersion),
		"position": string(pos),
		"history":  string(hist),
		"run":      string(run),
	}
	if tr.cfg.RNG != nil {
		b, err := tr.cfg.RNG.MarshalBinary()
		if err != nil {
			return fmt.Errorf("train: checkpoint: %w", err)
		}
		meta["rng"] = base64.StdEncoding.EncodeToString(b)
	}
	if tr.dist != nil && tr.dist.rngRanks != "" {
		meta["rng_ranks"] = tr.dist.rngRanks
	}
	blobs := map[string]blob{"model": model.Bytes(), "optimizer": opt.Bytes()}
	if trainModel.Len() > 0 {
		blobs["train_model"] = trainModel.Bytes()
	}
	if tr.avg != nil {
		var avg bytes.Buffer
		if err := tr.avg.Save(&avg); err != nil {
			return fmt.Errorf("train: checkpoint: %w", err)
		}
		blobs["average"] = avg.Bytes()
	}
	if err := tr.saveAccumulation(blobs); err != nil {
		return fmt.Errorf("train: checkpoint: %w", err)
	}
	if err := nn.WriteSafetensors(w, blobs, meta); err != nil {
		return fmt.Errorf("train: checkpoint: %w", err)
	}
	return nil
}

// Resume restores the run from a checkpoint written by a trainer built the
// same way (same model, optimizer, data and batch settings; Epochs may be
// larger, to continue a finished run). A checkpoint that is corrupt (its
// checksum does not match), or whose tensors, optimizer chain (its
// transforms and their state) or run (the batch size, seed, DropLast,
// loss, accumulation, and the number and shape of the training examples)
// do not fit this trainer, is an error that says what
// differs; after an error the trainer must not be used. What a checkpoint
// cannot tell is not checked: hyperparameters and schedules (the
// optimizer's own, as built, are used: the same as the checkpoint's for
// an exact resume, other ones to continue differently on purpose) and the
// training examples' values. Checkpoints of version 1, written before
// checksums, load unchecked.
//
// In a data-parallel run, rank 0 reads the file and sends it to the others.
func (tr *Trainer[T]) Resume(path string) error {
	b, err := tr.dist.readFile(path)
	if err != nil {
		return err
	}
	return tr.loadState(b, path)
}

// ResumeLatest restores the run as Resume does, from the checkpoint at
// path or, if that one cannot be used (missing, corrupt, or not this
// run's), from the one before it that SaveCheckpoint kept
// ([PrevCheckpoint]). It returns the path it resumed from and, when that
// is the previous checkpoint, why the latest was passed over (nil
// otherwise), for the caller to report. When neither can be used the
// error is the latest's, with the previous one's. A checkpoint that fails
// is refused before the run's state is touched, or else the previous one,
// loaded whole, replaces all of it.
func (tr *Trainer[T]) ResumeLatest(path string) (from string, skipped, err error) {
	return resumeLatest(tr.Resume, path)
}

// resumeLatest is ResumeLatest of a trainer whose Resume is resume.
func resumeLatest(resume func(path string) error, path string) (from string, skipped, err error) {
	latest := resume(path)
	if latest == nil {
		return path, nil, nil
	}
	prev := PrevCheckpoint(path)
	if err := resume(prev); errors.Is(err, os.ErrNotExist) {
		return "", nil, latest // no previous checkpoint to fall back on
	} else if err != nil {
		return "", nil, fmt.Errorf("%w; the previous checkpoint cannot be used either: %w", latest, err)
	}
	return prev, latest, nil
}

// openCheckpoint reads the tensors and metadata of the checkpoint file b,
// read from path, and whether its checksum was there (and matched).
func openCheckpoint(b []byte, path string) (safetensors.SafeTensors, map[string]string, bool, error) {
	st, err := safetensors.Deserialize(b)
	if err != nil {
		return safetensors.SafeTensors{}, nil, false, fmt.Errorf("train: %s is not a checkpoint (corrupt or truncated): %v", path, err)
	}
	_, md, err := safetensors.ReadMetadata(b)
	if err != nil {
		return safetensors.SafeTensors{}, nil, false, fmt.Errorf("train: %s is not a checkpoint (corrupt or truncated): %v", path, err)
	}
	checked, err := nn.VerifyChecksum(b)
	if err != nil {
		return safetensors.SafeTensors{}, nil, false, fmt.Errorf("train: %s: %w", path, err)
	}
	return st, md.Metadata(), checked, nil
}

// restoreRNG sets rng (nil if the model draws nothing) to the state the
// checkpoint's metadata holds.
func restoreRNG(rng *rand.PCG, meta map[string]string, path string) error {
	enc, hasRNG := meta["rng"]
	switch {
	case hasRNG && rng != nil:
		raw, err := base64.StdEncoding.DecodeString(enc)
		if err != nil {
			return fmt.Errorf("train: %s: corrupt random state", path)
		}
		if err := rng.UnmarshalBinary(raw); err != nil {
			return fmt.Errorf("train: %s: %w", path, err)
		}
	case hasRNG != (rng != nil):
		return fmt.Errorf("train: %s: the checkpoint and the trainer disagree on whether the model draws random numbers (dropout)", path)
	}
	return nil
}

// loadState restores the run from the checkpoint b, read from path.
func (tr *Trainer[T]) loadState(b []byte, path string) error {
	st, meta, checked, err := openCheckpoint(b, path)
	if err != nil {
		return err
	}
	if meta["format"] != checkpointFormat {
		return fmt.Errorf("train: %s is not a checkpoint (format %q)", path, meta["format"])
	}
	switch v := meta["version"]; {
	case v == "1":
	case v != strconv.Itoa(checkpointVersion):
		return fmt.Errorf("train: %s: checkpoint version %q; this build reads versions 1 to %d", path, v, checkpointVersion)
	case !checked:
		return fmt.Errorf("train: %s: corrupt checkpoint: its checksum (%s) is missing", path, nn.ChecksumKey)
	}
	var run fingerprint
	var pos position
	var hist []Epoch
	if json.Unmarshal([]byte(meta["run"]), &run) != nil || json.Unmarshal([]byte(meta["position"]), &pos) != nil || json.Unmarshal([]byte(meta["history"]), &hist) != nil {
		return fmt.Errorf("train: %s: corrupt checkpoint metadata", path)
	}
	if err := run.matches(tr.fingerprint()); err != nil {
		return fmt.Errorf("train: %s was written for a different run: %w", path, err)
	}
	if err := tr.checkPosition(pos, len(hist)); err != nil {
		return fmt.Errorf("train: %s: corrupt checkpoint position: %w", path, err)
	}
	model, ok1 := st.Tensor("model")
	opt, ok2 := st.Tensor("optimizer")
	if !ok1 || !ok2 {
		return fmt.Errorf("train: %s: checkpoint lacks the model or the optimizer state", path)
	}
	if y, ok := st.Tensor("train_model"); ok {
		model = y // the point the optimizer trains (Schedule-Free's y)
	}
	if err := nn.Load(nn.Module[T](tr.model), model.Data()); err != nil {
		return fmt.Errorf("train: %s: %w", path, err)
	}
	if err := tr.opt.Load(bytes.NewReader(opt.Data())); err != nil {
		return fmt.Errorf("train: %s: %w", path, err)
	}
	switch avg, ok := st.Tensor("average"); {
	case ok != (tr.avg != nil):
		return fmt.Errorf("train: %s: the checkpoint and the trainer disagree on whether the run averages its weights", path)
	case ok:
		if err := tr.avg.Load(bytes.NewReader(avg.Data())); err != nil {
			return fmt.Errorf("train: %s: %w", path, err)
		}
	}
	if err := tr.loadAccumulation(st, pos); err != nil {
		return fmt.Errorf("train: %s: %w", path, err)
	}
	if err := restoreRNG(tr.cfg.RNG, meta, path); err != nil {
		return err
	}
	if tr.dist != nil && tr.cfg.RNG != nil {
		if err := tr.dist.rankRNG(tr.cfg.RNG, meta["rng_ranks"]); err != nil {
			return fmt.Errorf("train: %s: %w", path, err)
		}
	}
	tr.pos, tr.history, tr.checkpointed = pos, hist, pos.Epoch
	return nil
}

// checkPosition checks a checkpoint's position against the run: a
// position no run of this trainer could reach is corruption.
func (tr *Trainer[T]) checkPosition(pos position, epochsDone int) error {
	nb := tr.batchesPerEpoch()
	switch {
	case pos.Epoch != epochsDone:
		return fmt.Errorf("epoch %d with %d epochs of history", pos.Epoch, epochsDone)
	case pos.Batch < 0 || pos.Batch > nb:
		return fmt.Errorf("batch %d of an epoch of %d", pos.Batch, nb)
	case pos.Seen < 0 || pos.Correct < 0 || pos.Correct > pos.Seen || pos.Seen > tr.sets.Train.Len():
		return fmt.Errorf("%d correct of %d examples seen", pos.Correct, pos.Seen)
	case pos.BadEpoch < 0 || pos.ElapsedSec < 0 || math.IsNaN(pos.LossSum) || math.IsInf(pos.LossSum, 0) || !pos.gradSums.valid():
		return fmt.Errorf("running sums %+v", pos)
	}
	return nil
}

func (a fingerprint) matches(b fingerprint) error {
	var diffs []error
	if a.BatchSize != b.BatchSize {
		diffs = append(diffs, fmt.Errorf("batch size %d, now %d", a.BatchSize, b.BatchSize))
	}
	if a.Seed != b.Seed {
		diffs = append(diffs, fmt.Errorf("seed %d, now %d", a.Seed, b.Seed))
	}
	if a.DropLast != b.DropLast {
		diffs = append(diffs, fmt.Errorf("drop-last %v, now %v", a.DropLast, b.DropLast))
	}
	if a.Loss != b.Loss {
		diffs = append(diffs, fmt.Errorf("loss %d, now %d", a.Loss, b.Loss))
	}
	if a.Examples != b.Examples || fmt.Sprint(a.Shape) != fmt.Sprint(b.Shape) {
		diffs = append(diffs, fmt.Errorf("%d training examples of shape %v, now %d of shape %v", a.Examples, a.Shape, b.Examples, b.Shape))
	}
	if a.Accumulate != b.Accumulate {
		diffs = append(diffs, fmt.Errorf("accumulating %d batches a step, now %d", a.Accumulate, b.Accumulate))
	}
	return errors.Join(diffs...)
}

// blob is a byte tensor for safetensors.
type blob []byte

func (b blob) DType() safetensors.DType { return safetensors.U8 }
func (b blob) Shape() []uint64          { return []uint64{uint64(len(b))} }
func (b blob) Data() []byte             { return b }
func (b blob) DataLen() uint64          { return uint64(len(b)) }
