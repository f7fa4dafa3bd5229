package atomicfile_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/descentml/descent/internal/atomicfile"
)

func TestWriteFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "f.json")
	for _, content := range []string{"first", "second"} {
		if err := atomicfile.WriteFile(path, []byte(content)); err != nil {
			t.Fatal(err)
		}
		b, _ := os.ReadFile(path)
		fi, err := os.Stat(path)
		// The mode os.WriteFile gives under this process's umask.
		os.WriteFile(filepath.Join(dir, "plain"), nil, 0o644)
		plain, _ := os.Stat(filepath.Join(dir, "plain"))
		if err != nil || string(b) != content || fi.Mode().Perm() != plain.Mode().Perm() {
			t.Errorf("after writing %q: %q, mode %v, %v; want the content and mode %v, as os.WriteFile makes", content, b, fi.Mode().Perm(), err, plain.Mode().Perm())
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 2 {
		t.Errorf("%d files in the directory; want 2 (no temporary file left)", len(entries))
	}
}
