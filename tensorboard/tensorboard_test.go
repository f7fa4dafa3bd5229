package tensorboard

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestRoundTrip writes scalars and reads them back with their CRCs
// checked; a flipped byte anywhere is found.
func TestRoundTrip(t *testing.T) {
	dir := t.TempDir()
	t0 := time.Unix(1700000000, 500_000_000)
	w, err := Create(dir, t0)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(filepath.Base(w.Name()), "events.out.tfevents.1700000000.") {
		t.Errorf("event file named %s", w.Name())
	}
	for step := int64(1); step <= 3; step++ {
		if err := w.Scalars(step*10, t0.Add(time.Duration(step)*time.Second), Scalar{"train/loss", 1 / float32(step)}, Scalar{"lr", 1e-3}); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(w.Name())
	if err != nil {
		t.Fatal(err)
	}
	// The first record of every TensorBoard event file: length 24 and its
	// masked CRC-32C, as TensorFlow writes them.
	if want := []byte("\x18\x00\x00\x00\x00\x00\x00\x00\xa3\x7f\x4b\x22"); !bytes.HasPrefix(b, want) {
		t.Errorf("file starts % x; want % x", b[:12], want)
	}
	events, err := Read(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if len(events) != 4 || events[0].FileVersion != FileVersion || events[0].WallTime != 1700000000.5 {
		t.Fatalf("Read = %+v; want the file version at 1700000000.5 and 3 events", events)
	}
	for i, e := range events[1:] {
		step := int64(i + 1)
		want := []Scalar{{"train/loss", 1 / float32(step)}, {"lr", 1e-3}}
		if e.Step != step*10 || e.WallTime != 1700000000.5+float64(step) || len(e.Scalars) != 2 || e.Scalars[0] != want[0] || e.Scalars[1] != want[1] {
			t.Errorf("event %d = %+v; want step %d, scalars %v", i+1, e, step*10, want)
		}
	}
	for i := range b {
		c := bytes.Clone(b)
		c[i] ^= 0x10
		if _, err := Read(bytes.NewReader(c)); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("Read with byte %d flipped = %v; want ErrCorrupt", i, err)
		}
	}
	if _, err := Read(bytes.NewReader(b[:len(b)-1])); !errors.Is(err, ErrCorrupt) {
		t.Errorf("Read of a cut file = %v; want ErrCorrupt", err)
	}
}

// TestCreateSameSecond creates two event files in one directory within one
// second, as a run resumed right after it stopped does: the second gets a
// name of its own instead of failing with "file exists".
func TestCreateSameSecond(t *testing.T) {
	dir := t.TempDir()
	t0 := time.Unix(1700000000, 0)
	var names []string
	for range 3 {
		w, err := Create(dir, t0)
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, w.Name())
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if names[0] == names[1] || names[1] == names[2] || !strings.HasPrefix(names[1], names[0]+".") {
		t.Errorf("event files %q; want three names, the later ones the first's with a counter", names)
	}
}
