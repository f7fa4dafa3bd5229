package recipe

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPaths checks that Absolute makes a data file and directory absolute,
// and that Locate finds a relative one saved by a run against the run
// directory and the directories above it, absolute, saying so.
func TestPaths(t *testing.T) {
	base, _ := filepath.EvalSymlinks(t.TempDir())
	for _, d := range []string{"runs/r", "elsewhere"} {
		if err := os.MkdirAll(filepath.Join(base, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(base, "d.csv"), []byte("a,y\n1,0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Chdir(base)
	r := Recipe{Data: "csv:d.csv", DataDir: "idx"}
	abs, err := r.Absolute()
	if err != nil || abs.Data != "csv:"+filepath.Join(base, "d.csv") || abs.DataDir != filepath.Join(base, "idx") {
		t.Errorf("Absolute() = %q, %q, %v; want both under %s", abs.Data, abs.DataDir, err, base)
	}
	if again, _ := abs.Absolute(); again.Data != abs.Data || again.DataDir != abs.DataDir {
		t.Errorf("Absolute() of an absolute recipe changed it: %+v", again)
	}
	if got, note := r.Locate("runs/r"); got.Data != r.Data || note != "" {
		t.Errorf("Locate from the directory the run started in = %q, %q; want the path as given, no note", got.Data, note)
	}
	t.Chdir(filepath.Join(base, "elsewhere"))
	got, note := (Recipe{Data: "csv:d.csv"}).Locate("../runs/r")
	if want := "csv:" + filepath.Join(base, "d.csv"); got.Data != want || !strings.Contains(note, "using "+filepath.Join(base, "d.csv")) {
		t.Errorf("Locate from elsewhere = %q, %q; want %q and a note", got.Data, note, want)
	}
	if got, note := (Recipe{Data: "csv:none.csv"}).Locate("../runs/r"); got.Data != "csv:none.csv" || note != "" {
		t.Errorf("Locate of a file nowhere = %q, %q; want it as given", got.Data, note)
	}

	// A run directory given relative to a working directory below the one
	// the run started in: the directories above it are looked in too.
	t.Chdir(filepath.Join(base, "runs"))
	if got, _ := (Recipe{Data: "csv:d.csv"}).Locate("r"); got.Data != "csv:"+filepath.Join(base, "d.csv") {
		t.Errorf("Locate(r) from runs = %q; want the file two directories above r", got.Data)
	}
	// Another file of the same name in the working directory is used, as
	// it always was, but the note names the other.
	if err := os.WriteFile(filepath.Join(base, "elsewhere", "d.csv"), []byte("b,y\n2,1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Chdir(filepath.Join(base, "elsewhere"))
	got, note = (Recipe{Data: "csv:d.csv"}).Locate("../runs/r")
	if got.Data != "csv:d.csv" || !strings.Contains(note, "another file, at "+filepath.Join(base, "d.csv")) {
		t.Errorf("Locate with another d.csv in the working directory = %q, %q; want it as given and a note naming %s", got.Data, note, filepath.Join(base, "d.csv"))
	}
}
