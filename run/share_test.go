package run_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/descentml/descent/comm"
	"github.com/descentml/descent/data"
	"github.com/descentml/descent/internal/commtest"
	"github.com/descentml/descent/recipe"
	"github.com/descentml/descent/run"
)

// replicaErrors fails the test for every rank's error.
func replicaErrors(t *testing.T, errs []error, what string) {
	t.Helper()
	for r, err := range errs {
		if err != nil {
			t.Fatalf("%s: rank %d of %d: %v", what, r, len(errs), err)
		}
	}
}

// trainAll trains and finishes the run of every rank, and closes it.
func trainAll[R interface {
	Train(context.Context) error
	Close() error
}](t *testing.T, runs []R, finish func(R) error) {
	t.Helper()
	_, errs := commtest.OnLocal(t, len(runs), func(c *comm.Comm) (struct{}, error) {
		rn := runs[c.Rank()]
		err := rn.Train(context.Background())
		if err == nil {
			err = finish(rn)
		}
		return struct{}{}, errors.Join(err, rn.Close())
	})
	replicaErrors(t, errs, "train")
}

// TestReplicasShareData opens a run on 2 in-process replicas, new and
// resumed, of images and of text: the ranks hold one copy of the data,
// rank 0's (the same pointers), and train on it. Under the race detector
// this shows too that nothing writes the data while another rank reads it.
func TestReplicasShareData(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "images")
	r := small()
	runs, errs := commtest.OnLocal(t, 2, func(c *comm.Comm) (*run.Run, error) { return run.New(r, dir, run.Options{Comm: c}) })
	replicaErrors(t, errs, "New")
	sameSplits(t, "New", runs)
	trainAll(t, runs, func(rn *run.Run) error { _, err := rn.Finish(false); return err })
	runs, errs = commtest.OnLocal(t, 2, func(c *comm.Comm) (*run.Run, error) { return run.Resume(dir, 2, run.Options{Comm: c}) })
	replicaErrors(t, errs, "Resume")
	sameSplits(t, "Resume", runs)
	trainAll(t, runs, func(rn *run.Run) error { _, err := rn.Finish(false); return err })

	dir = filepath.Join(t.TempDir(), "text")
	tr := smallText(t)
	texts, errs := commtest.OnLocal(t, 2, func(c *comm.Comm) (*run.TextRun, error) { return run.NewText(tr, dir, run.Options{Comm: c}) })
	replicaErrors(t, errs, "NewText")
	sameText(t, "NewText", texts)
	trainAll(t, texts, func(rn *run.TextRun) error { _, err := rn.Finish(); return err })
	texts, errs = commtest.OnLocal(t, 2, func(c *comm.Comm) (*run.TextRun, error) { return run.ResumeText(dir, 6, run.Options{Comm: c}) })
	replicaErrors(t, errs, "ResumeText")
	sameText(t, "ResumeText", texts)
	trainAll(t, texts, func(rn *run.TextRun) error { _, err := rn.Finish(); return err })
}

// sameSplits fails the test if the runs of the ranks hold different
// copies of the data.
func sameSplits(t *testing.T, what string, runs []*run.Run) {
	t.Helper()
	a, b := runs[0].Splits, runs[1].Splits
	if a != b || a.Train != b.Train || a.Val != b.Val || &a.Train.X[0] != &b.Train.X[0] {
		t.Errorf("%s on 2 replicas: rank 1's splits are not rank 0's: %p, %p", what, a, b)
	}
}

// sameText fails the test if the runs of the ranks hold different copies
// of the text.
func sameText(t *testing.T, what string, runs []*run.TextRun) {
	t.Helper()
	a, b := runs[0].Text, runs[1].Text
	if a != b || a.Vocab != b.Vocab || &a.Train[0] != &b.Train[0] {
		t.Errorf("%s on 2 replicas: rank 1's text is not rank 0's: %p, %p", what, a, b)
	}
}

// smallText is a language model's recipe that trains in a moment, on a
// text file of 20,000 bytes.
func smallText(t *testing.T) recipe.Recipe {
	t.Helper()
	path := filepath.Join(t.TempDir(), "opticks.txt")
	if err := os.WriteFile(path, []byte(data.DefaultCorpus()[:20000]), 0o644); err != nil {
		t.Fatal(err)
	}
	r := recipe.Default()
	r.Data, r.Epochs, r.Steps, r.Batch, r.EvalEvery = "text:"+path, 0, 4, 4, 2
	var err error
	if r.Model, err = recipe.ParseModel("gpt:layers=1,d=16,heads=2,ctx=16"); err != nil {
		t.Fatal(err)
	}
	return r
}

// TestReplicasLoadError opens runs on 2 in-process replicas whose data
// cannot be loaded: a new run of a missing file, and a run resumed after
// its file was removed or damaged. Rank 0, which alone loads the data,
// returns the loader's error, rank 1 one that says another rank failed,
// nobody waits, and nothing is written: no new directory, and the resumed
// one as it was, unlocked.
func TestReplicasLoadError(t *testing.T) {
	base := t.TempDir()
	missing := filepath.Join(base, "missing.csv")
	check := func(what string, errs []error, want string) {
		t.Helper()
		if errs[0] == nil || !strings.Contains(errs[0].Error(), want) {
			t.Errorf("%s on 2 replicas: rank 0: %v; want an error saying %q", what, errs[0], want)
		}
		if !errors.Is(errs[1], comm.ErrOtherRank) {
			t.Errorf("%s on 2 replicas: rank 1: %v; want one matching comm.ErrOtherRank", what, errs[1])
		}
	}

	r := small()
	r.Data = "csv:" + missing
	dir := filepath.Join(base, "new")
	_, errs := commtest.OnLocal(t, 2, func(c *comm.Comm) (*run.Run, error) { return run.New(r, dir, run.Options{Comm: c}) })
	check("New of a missing file", errs, "missing.csv")
	tr := smallText(t)
	tr.Data = "text:" + missing
	_, errs = commtest.OnLocal(t, 2, func(c *comm.Comm) (*run.TextRun, error) { return run.NewText(tr, dir, run.Options{Comm: c}) })
	check("NewText of a missing file", errs, "missing.csv")
	if _, err := os.Stat(dir); err == nil {
		t.Errorf("runs whose data could not be loaded made %s", dir)
	}

	// A run of one replica on a CSV file, resumed on 2 after the file is
	// damaged.
	csv := filepath.Join(base, "blobs.csv")
	var b strings.Builder
	b.WriteString("x,y,label\n")
	for i := range 40 {
		b.WriteString([]string{"0.1,0.2,a\n", "0.9,0.8,b\n", "0.2,0.1,a\n", "0.8,0.9,b\n"}[i%4])
	}
	if err := os.WriteFile(csv, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	r = small()
	r.Data = "csv:" + csv
	dir = filepath.Join(base, "resumed")
	rn, err := run.New(r, dir, run.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := errors.Join(rn.Train(context.Background()), rn.Close()); err != nil {
		t.Fatal(err)
	}
	before := listDir(t, dir)
	if err := os.WriteFile(csv, []byte("x,y,label\n0.1,oops,a\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, errs = commtest.OnLocal(t, 2, func(c *comm.Comm) (*run.Run, error) { return run.Resume(dir, 2, run.Options{Comm: c}) })
	check("Resume on damaged data", errs, "oops")
	if after := listDir(t, dir); after != before {
		t.Errorf("Resume on damaged data changed %s:\n%s\nwant\n%s", dir, after, before)
	}
	if lock, err := run.LockDir(dir, "test"); err != nil {
		t.Errorf("Resume on damaged data left %s locked: %v", dir, err)
	} else {
		lock.Unlock()
	}
}

// listDir lists the files of dir with their sizes and times, but for the
// lock, which every opening rewrites.
func listDir(t *testing.T, dir string) string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, e := range entries {
		if e.Name() == run.LockFile {
			continue
		}
		info, err := e.Info()
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "%s %d bytes, %v\n", e.Name(), info.Size(), info.ModTime())
	}
	return b.String()
}

// TestReplicasResumeCopyFails resumes a language model's run on 2
// in-process replicas whose latest checkpoint cannot be read (a directory
// stands in its place), so that they go on from the previous one, and
// rank 0 then cannot put it in the latest's place: both ranks return an
// error instead of one going on to a collective call the other never makes.
func TestReplicasResumeCopyFails(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "text")
	tr := smallText(t)
	texts, errs := commtest.OnLocal(t, 2, func(c *comm.Comm) (*run.TextRun, error) { return run.NewText(tr, dir, run.Options{Comm: c}) })
	replicaErrors(t, errs, "NewText")
	trainAll(t, texts, func(rn *run.TextRun) error { _, err := rn.Finish(); return err })
	latest := filepath.Join(dir, run.CheckpointFile)
	if err := os.Remove(latest); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(latest, "x"), 0o755); err != nil {
		t.Fatal(err)
	}
	_, errs = commtest.OnLocal(t, 2, func(c *comm.Comm) (*run.TextRun, error) { return run.ResumeText(dir, 6, run.Options{Comm: c}) })
	for rank, err := range errs {
		if err == nil {
			t.Errorf("ResumeText on rank %d of 2, the previous checkpoint not put in place: no error", rank)
		}
	}
}
