package explore_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/descentml/descent/explore"
	"github.com/descentml/descent/run"
)

// TestOpenTuneDirRefusesOthers checks that a search refuses a directory
// holding another command's results (a training run, a comparison), which
// its files would be mixed into, and continues one holding its own journal.
func TestOpenTuneDirRefusesOthers(t *testing.T) {
	for _, c := range []struct {
		file string
		ok   bool
	}{
		{run.ConfigFile, false},
		{explore.CompareFile, false},
		{explore.TuneJournal, true},
	} {
		dir := filepath.Join(t.TempDir(), "out")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, c.file), []byte("{}\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		got, lock, err := explore.OpenTuneDir(dir, nil)
		if lock != nil {
			lock.Unlock()
		}
		switch {
		case c.ok && (err != nil || got != dir):
			t.Errorf("OpenTuneDir of a directory with %s = %q, %v; want %q", c.file, got, err, dir)
		case !c.ok && (err == nil || !strings.Contains(err.Error(), c.file)):
			t.Errorf("OpenTuneDir of a directory with %s: %v; want an error naming it", c.file, err)
		}
	}
}
