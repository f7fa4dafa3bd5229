package run_test

import (
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/descentml/descent/explore"
	"github.com/descentml/descent/landscape"
	"github.com/descentml/descent/run"
)

// writers are the commands that write their results through OpenOutput,
// with the file that holds them.
var writers = []struct{ name, file string }{
	{"compare", explore.CompareFile},
	{"adamw-vs-l2", explore.DecayGridFile},
	{"lr-find", explore.LRFindFile},
	{"landscape", landscape.File},
}

// TestResultFiles checks that the files by which run knows a directory
// for another command's are those the commands write.
func TestResultFiles(t *testing.T) {
	want := map[string]string{run.ConfigFile: "train", explore.TuneFile: "tune", explore.TuneJournal: "tune"}
	for _, w := range writers {
		want[w.file] = w.name
	}
	if !maps.Equal(run.ResultFiles, want) {
		t.Errorf("run's result files %v; want %v", run.ResultFiles, want)
	}
}

// TestOutputRefusesOthers gives every command an output directory that
// holds what another wrote (a training run, a comparison, a search's
// journal, ...): each is refused, naming the file, and nothing is written
// into the directory. A directory of the same command's results is
// refused too, but for tune's, which tune continues; an empty directory,
// or one of other files, is not.
func TestOutputRefusesOthers(t *testing.T) {
	held := slices.Sorted(maps.Keys(run.ResultFiles))
	for _, holds := range held {
		owner := run.ResultFiles[holds]
		for _, w := range writers {
			dir := dirWith(t, holds)
			if _, err := run.OutputDir(w.name, dir, w.file); err == nil || !strings.Contains(err.Error(), "already holds") || !strings.Contains(err.Error(), holds) {
				t.Errorf("OutputDir(%s) of a directory holding %s (%s's): %v; want it refused, naming the file", w.name, holds, owner, err)
			}
			o, err := run.OpenOutput(w.name, dir, w.file)
			if err == nil {
				o.Close()
				t.Errorf("OpenOutput(%s) of a directory holding %s (%s's) succeeded", w.name, holds, owner)
			} else if !strings.Contains(err.Error(), holds) {
				t.Errorf("OpenOutput(%s) of a directory holding %s: %v; want the file named", w.name, holds, err)
			}
			if names := files(t, dir); !slices.Equal(names, []string{holds}) {
				t.Errorf("OpenOutput(%s), refused, left %v in a directory of %s", w.name, names, holds)
			}
		}
		err := run.CheckOutput("tune", dirWith(t, holds))
		if ownResults := owner == "tune"; (err == nil) != ownResults {
			t.Errorf("CheckOutput(tune) of a directory holding %s (%s's) = %v; want it refused unless it is tune's", holds, owner, err)
		}
		if owner == "train" {
			continue // a run: New says to resume it (TestNew)
		}
		dir := dirWith(t, holds)
		if _, err := run.New(small(), dir, run.Options{}); err == nil || !strings.Contains(err.Error(), holds) {
			t.Errorf("New in a directory holding %s (%s's): %v; want it refused, naming the file", holds, owner, err)
		}
		if names := files(t, dir); !slices.Equal(names, []string{holds}) {
			t.Errorf("New, refused, left %v in a directory of %s", names, holds)
		}
	}
	for _, w := range writers {
		for _, dir := range []string{t.TempDir(), dirWith(t, "notes.txt"), filepath.Join(t.TempDir(), "new")} {
			o, err := run.OpenOutput(w.name, dir, w.file)
			if err != nil {
				t.Errorf("OpenOutput(%s) of %s: %v", w.name, dir, err)
				continue
			}
			o.Close()
		}
	}
}

// dirWith returns a new directory that holds a file of each name.
func dirWith(t *testing.T, names ...string) string {
	t.Helper()
	dir := t.TempDir()
	for _, n := range names {
		if err := os.WriteFile(filepath.Join(dir, n), []byte("{}\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// files lists the names of the files in dir.
func files(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}
