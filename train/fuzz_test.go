package train_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nlpodyssey/safetensors"

	"github.com/descentml/descent/nn"
	"github.com/descentml/descent/train"
)

// checkpointOf returns the checkpoint tinyTrainer writes after an epoch.
func checkpointOf(f *testing.F) []byte {
	ckpt := filepath.Join(f.TempDir(), "ckpt")
	if err := tinyTrainer(f, ckpt).Run(context.Background()); err != nil {
		f.Fatal(err)
	}
	b, err := os.ReadFile(ckpt)
	if err != nil {
		f.Fatal(err)
	}
	return b
}

// resumeAndTrain resumes a tinyTrainer of two epochs from the checkpoint
// b and, if Resume accepts it, trains on: a checkpoint Resume accepts must
// not make the run panic, whatever it holds.
func resumeAndTrain(t *testing.T, path string, b []byte) {
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	tr := tinyTrainer(t, "")
	if err := tr.Resume(path); err != nil {
		if !strings.HasPrefix(err.Error(), "train: ") || !strings.Contains(err.Error(), path) {
			t.Fatalf("Resume: error %q does not start with train: and name the file", err)
		}
		return
	}
	if err := tr.Run(context.Background()); err != nil && !errors.Is(err, train.ErrStopped) && !strings.HasPrefix(err.Error(), "train: ") {
		t.Fatalf("Run after Resume: error %q lacks the train: prefix", err)
	}
}

// FuzzResume checks that no file makes Resume panic, or a run resumed
// from a file it accepts. Nearly every change to a checkpoint fails its
// checksum; FuzzResumeSealed explores what lies behind it.
func FuzzResume(f *testing.F) {
	b := checkpointOf(f)
	f.Add(b)
	f.Add(b[:len(b)/2])
	f.Add(rewriteCheckpoint(f, b, false, func(m map[string]string) { m["version"] = "1" }))
	path := filepath.Join(f.TempDir(), "ckpt")
	f.Fuzz(func(t *testing.T, b []byte) { resumeAndTrain(t, path, b) })
}

// FuzzResumeSealed checks the same of checkpoints whose parts are fuzzed
// and then sealed with a valid checksum, as a program that writes
// checkpoints wrongly would: the metadata (position, history, run), the
// model file and the optimizer's state.
func FuzzResumeSealed(f *testing.F) {
	b := checkpointOf(f)
	st, err := safetensors.Deserialize(b)
	if err != nil {
		f.Fatal(err)
	}
	_, md, err := safetensors.ReadMetadata(b)
	if err != nil {
		f.Fatal(err)
	}
	meta := md.Metadata()
	model, _ := st.Tensor("model")
	opt, _ := st.Tensor("optimizer")
	f.Add(meta["position"], meta["history"], meta["run"], model.Data(), opt.Data())
	f.Add(`{"Epoch":0,"Batch":1,"LossSum":0.5,"Correct":2,"Seen":4}`, `[]`, meta["run"], model.Data(), opt.Data())
	f.Add(`{"Epoch":1,"Batch":99}`, meta["history"], meta["run"], model.Data(), opt.Data())
	f.Add(meta["position"], meta["history"], meta["run"], model.Data()[:len(model.Data())-4], opt.Data()[:len(opt.Data())/2])
	path := filepath.Join(f.TempDir(), "ckpt")
	f.Fuzz(func(t *testing.T, position, history, run string, model, opt []byte) {
		m := map[string]string{"format": "descent.checkpoint", "version": "2", "position": position, "history": history, "run": run}
		var out bytes.Buffer
		if err := nn.WriteSafetensors(&out, map[string]blob{"model": model, "optimizer": opt}, m); err != nil {
			return // safetensors cannot hold it (an empty tensor, say)
		}
		resumeAndTrain(t, path, out.Bytes())
	})
}

// blob is a byte tensor for safetensors, as checkpoints hold.
type blob []byte

func (b blob) DType() safetensors.DType { return safetensors.U8 }
func (b blob) Shape() []uint64          { return []uint64{uint64(len(b))} }
func (b blob) Data() []byte             { return b }
func (b blob) DataLen() uint64          { return uint64(len(b)) }
