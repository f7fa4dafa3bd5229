package train_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nlpodyssey/safetensors"

	"github.com/descentml/descent/data"
	"github.com/descentml/descent/nn"
	"github.com/descentml/descent/optim"
	"github.com/descentml/descent/train"
)

// tinyTrainer builds a trainer of a 2×2 linear model on 8 examples, small
// enough that its checkpoint (about 3 KB) can be damaged a byte at a time.
func tinyTrainer(t testing.TB, ckpt string) *train.Trainer[float32] {
	t.Helper()
	set, model, opt := tinyParts(t)
	tr, err := train.New[float32](model, opt, train.Data{Train: set}, train.Config{Epochs: 1, BatchSize: 4, Checkpoint: ckpt})
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

// tinyParts returns what tinyTrainer trains: 8 examples of 2 features in
// 2 classes, a Linear layer 2→2 and Adam over its parameters.
func tinyParts(t testing.TB) (*data.Set, *nn.Sequential[float32], *optim.Optimizer[float32]) {
	t.Helper()
	x := []float32{0, 1, 1, 0, 1, 1, 0, 0, 2, 1, 1, 2, 2, 2, 0, 2}
	set, err := data.NewSet(x, []int{0, 1, 1, 0, 1, 0, 0, 1}, []int{2}, 2)
	if err != nil {
		t.Fatal(err)
	}
	model := nn.NewSequential(nn.NewLinear[float32](2, 2, rand.New(rand.NewPCG(1, 2))))
	opt, err := optim.New(train.Params[float32](model), optim.Config{Method: optim.DefaultAdam()})
	if err != nil {
		t.Fatal(err)
	}
	return set, model, opt
}

// rewriteCheckpoint returns the checkpoint b with its metadata edited by
// edit (which sees it without the checksum), written with a new checksum
// if sum, else with none.
func rewriteCheckpoint(t testing.TB, b []byte, sum bool, edit func(map[string]string)) []byte {
	t.Helper()
	st, err := safetensors.Deserialize(b)
	if err != nil {
		t.Fatal(err)
	}
	_, md, err := safetensors.ReadMetadata(b)
	if err != nil {
		t.Fatal(err)
	}
	meta := md.Metadata()
	delete(meta, nn.ChecksumKey)
	edit(meta)
	tensors := make(map[string]safetensors.TensorView)
	for _, name := range st.Names() {
		tensors[name], _ = st.Tensor(name)
	}
	var out bytes.Buffer
	if sum {
		err = nn.WriteSafetensors(&out, tensors, meta)
	} else {
		err = safetensors.SerializeToWriter(tensors, meta, &out)
	}
	if err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// TestResumeDetectsFlippedBytes damages a checkpoint one byte at a time
// (its lowest bit, its highest, all eight): every change, in the data or
// the header, is refused, with no panic.
func TestResumeDetectsFlippedBytes(t *testing.T) {
	dir := t.TempDir()
	ckpt := filepath.Join(dir, "ckpt")
	if err := tinyTrainer(t, ckpt).Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := tinyTrainer(t, "").Resume(ckpt); err != nil {
		t.Fatalf("Resume of an intact checkpoint: %v", err)
	}
	b, err := os.ReadFile(ckpt)
	if err != nil {
		t.Fatal(err)
	}
	_, md, _ := safetensors.ReadMetadata(b)
	if v := md.Metadata()["version"]; v != "2" {
		t.Errorf("checkpoint version %q; want 2", v)
	}
	damaged := filepath.Join(dir, "damaged")
	dataStart := 8 + int(binary.LittleEndian.Uint64(b))
	masks := []byte{1, 0x80, 0xff}
	if testing.Short() {
		masks = masks[2:]
	}
	for i := range b {
		for _, mask := range masks {
			c := bytes.Clone(b)
			c[i] ^= mask
			if err := os.WriteFile(damaged, c, 0o644); err != nil {
				t.Fatal(err)
			}
			err := tinyTrainer(t, "").Resume(damaged)
			switch {
			case err == nil:
				t.Fatalf("Resume with byte %d of %d (data from %d) ^ %#x: no error", i, len(b), dataStart, mask)
			case i >= dataStart && !strings.Contains(err.Error(), "corrupt file: its CRC-32C is"):
				t.Fatalf("Resume with byte %d ^ %#x: error %q; want it to say the checksum differs", i, mask, err)
			case !strings.Contains(err.Error(), damaged):
				t.Fatalf("Resume with byte %d ^ %#x: error %q does not name the file", i, mask, err)
			}
		}
	}
	t.Logf("%d-byte checkpoint (%d of header): %d changes refused", len(b), dataStart, len(masks)*len(b))
}

// TestResumeChecksumVersions checks that a checkpoint of version 1 (before
// checksums) resumes unchecked, and that one of version 2 must have its
// checksum.
func TestResumeChecksumVersions(t *testing.T) {
	dir := t.TempDir()
	ckpt := filepath.Join(dir, "ckpt")
	if err := tinyTrainer(t, ckpt).Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(ckpt)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "edited")
	for _, c := range []struct {
		name    string
		file    []byte
		wantErr string
	}{
		{"version 1 without a checksum", rewriteCheckpoint(t, b, false, func(m map[string]string) { m["version"] = "1" }), ""},
		{"version 1 with a checksum", rewriteCheckpoint(t, b, true, func(m map[string]string) { m["version"] = "1" }), ""},
		{"version 2 without a checksum", rewriteCheckpoint(t, b, false, func(map[string]string) {}), "corrupt checkpoint: its checksum (descent.crc32c) is missing"},
		{"version 3", rewriteCheckpoint(t, b, true, func(m map[string]string) { m["version"] = "3" }), `checkpoint version "3"; this build reads versions 1 to 2`},
	} {
		if err := os.WriteFile(p, c.file, 0o644); err != nil {
			t.Fatal(err)
		}
		err := tinyTrainer(t, "").Resume(p)
		if c.wantErr == "" && err != nil || c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr)) {
			t.Errorf("%s: Resume = %v; want %q", c.name, err, c.wantErr)
		}
	}
}

// TestCheckpointEpochsAfterAFailedWrite checks that when the checkpoint of
// epoch 2 cannot be written, the trainer says the one on disk holds epoch
// 1, though it has done 2.
func TestCheckpointEpochsAfterAFailedWrite(t *testing.T) {
	ckpt := filepath.Join(t.TempDir(), "checkpoint.safetensors")
	x := []float32{0, 1, 1, 0, 1, 1, 0, 0, 2, 1, 1, 2, 2, 2, 0, 2}
	set, err := data.NewSet(x, []int{0, 1, 1, 0, 1, 0, 0, 1}, []int{2}, 2)
	if err != nil {
		t.Fatal(err)
	}
	model := nn.NewSequential(nn.NewLinear[float32](2, 2, rand.New(rand.NewPCG(1, 2))))
	opt, err := optim.New(train.Params[float32](model), optim.Config{Method: optim.DefaultAdam()})
	if err != nil {
		t.Fatal(err)
	}
	onEpoch := func(train.Epoch) error {
		// A non-empty directory where the previous checkpoint goes makes
		// the next write fail, as a full disk would.
		return os.MkdirAll(filepath.Join(train.PrevCheckpoint(ckpt), "x"), 0o755)
	}
	tr, err := train.New[float32](model, opt, train.Data{Train: set}, train.Config{Epochs: 3, BatchSize: 4, Checkpoint: ckpt, OnEpoch: onEpoch})
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.Run(context.Background()); err == nil {
		t.Fatal("Run() = nil; want the failed write of the second checkpoint")
	}
	if tr.Epochs() != 2 || tr.CheckpointEpochs() != 1 {
		t.Errorf("after a failed second checkpoint: Epochs() = %d, CheckpointEpochs() = %d; want 2 and 1", tr.Epochs(), tr.CheckpointEpochs())
	}
}

// TestCheckpointWriteFails checks that a checkpoint that cannot be written
// after an epoch (an evaluation) that trained well, as on a full disk, is
// an error matching ErrCheckpoint that says which, with the epoch in the
// history: a caller can tell it from a run that failed before it.
func TestCheckpointWriteFails(t *testing.T) {
	missing := func(t *testing.T) string { return filepath.Join(t.TempDir(), "missing", "checkpoint.safetensors") }
	for _, c := range []struct {
		name    string
		run     func(t *testing.T) (done int, err error) // the epochs or evaluations done
		wantErr string
	}{
		{"epochs", func(t *testing.T) (int, error) {
			tr := tinyTrainer(t, missing(t))
			err := tr.Run(context.Background())
			return tr.Epochs(), err
		}, "train: the checkpoint could not be written after epoch 1: "},
		{"steps", func(t *testing.T) (int, error) {
			tr := newSeq(t, train.SeqConfig{Steps: 4, BatchSize: 2, Ctx: 8, Seed: 1, EvalEvery: 2, Checkpoint: missing(t)})
			err := tr.Run(context.Background())
			return len(tr.History()), err
		}, "train: the checkpoint could not be written after step 2: "},
	} {
		done, err := c.run(t)
		if !errors.Is(err, train.ErrCheckpoint) || !strings.HasPrefix(err.Error(), c.wantErr) || !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s: Run with a checkpoint in a missing directory = %v; want %q and why", c.name, err, c.wantErr)
		}
		if done != 1 {
			t.Errorf("%s: %d done when the first checkpoint failed; want 1", c.name, done)
		}
	}
}
