package lockline

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	since := time.Date(2026, 1, 2, 3, 4, 5, 0, time.Local)
	for line, w := range map[string]Holder{
		"descent train (pid 1234, host gpu1, boot 6e5a-9d2f, since 2026-01-02 03:04:05)":                           {"descent train", 1234, "gpu1", "6e5a-9d2f", "", since},
		"descent train (pid 12, host c0ffee, boot 6e5a-9d2f, pid namespace 4026532201, since 2026-01-02 03:04:05)": {"descent train", 12, "c0ffee", "6e5a-9d2f", "4026532201", since},
		"descent train (pid 1234, host gpu1, since 2026-01-02 03:04:05)":                                           {"descent train", 1234, "gpu1", "", "", since}, // before the boot was written
		"descent train (pid 1234, since 2026-01-02 03:04:05)":                                                      {"descent train", 1234, "", "", "", since},     // before the host was
		"descent tune (pid 7)":                                       {"descent tune", 7, "", "", "", time.Time{}},
		"descent tune (pid 7, host a.example.org)":                   {"descent tune", 7, "a.example.org", "", "", time.Time{}},
		"descent tune (pid 7, colour blue, boot b, since yesterday)": {"descent tune", 7, "", "b", "", time.Time{}}, // unknown parts skipped, a bad time zero
		"(pid 7, boot b)":                                            {"", 7, "", "b", "", time.Time{}},
	} {
		h, ok := Parse(line)
		if h != w || !ok {
			t.Errorf("Parse(%q) = %+v, %v; want %+v, true", line, h, ok, w)
		}
	}
	for _, line := range []string{
		"descent train",
		"descent train (pid -3, since 2026-01-02 03:04:05)",
		"descent train (pid x, since 2026-01-02 03:04:05)",
		"descent train (pid , host h)",
	} {
		if h, ok := Parse(line); ok {
			t.Errorf("Parse(%q) = %+v, true; want false", line, h)
		}
	}
}

// TestLineParses checks that Parse reads back what String and Line write,
// with and without each part, and this process's.
func TestLineParses(t *testing.T) {
	since := time.Date(2026, 12, 6, 20, 0, 0, 0, time.Local)
	this := This("descent train")
	this.Since = since
	for _, h := range []Holder{
		{"descent train", 4321, "gpu1", "6e5a-9d2f", "", since},
		{"descent train", 4321, "gpu1", "6e5a-9d2f", "4026532201", since},
		{"descent train", 4321, "", "6e5a-9d2f", "", since},
		{"descent train", 4321, "gpu1", "", "", since},
		{"descent train", 4321, "", "", "", since},
		this,
	} {
		line := h.String()
		if strings.ContainsAny(line, "\n") || !strings.HasSuffix(line, "since 2026-12-06 20:00:00)") {
			t.Errorf("%+v.String() = %q; want one line ending in the time", h, line)
		}
		if got, ok := Parse(line); got != h || !ok {
			t.Errorf("Parse(%q) = %+v, %v; want %+v, true", line, got, ok, h)
		}
		if h.Boot == "" && h.PIDNS == "" {
			if old := Line(h.What, h.PID, h.Host, h.Since); old != line {
				t.Errorf("Line(%+v) = %q; want %q", h, old, line)
			}
		}
	}
	for _, s := range []string{Host(), Boot(), PIDNamespace()} {
		if strings.ContainsAny(s, " ,()\n") {
			t.Errorf("%q: want a part that cannot break the line", s)
		}
	}
}

// TestBoot checks that this machine has a boot where the kernel has one,
// the same at every read.
func TestBoot(t *testing.T) {
	b := readBoot()
	switch runtime.GOOS {
	case "linux", "darwin":
		if b == "" || Boot() != clean(b) {
			t.Errorf("Boot() = %q, read again %q; want the same, not empty", Boot(), b)
		}
	default:
		if Boot() != "" {
			t.Errorf("Boot() = %q; want none on %s", Boot(), runtime.GOOS)
		}
	}
}

// TestHeld checks that a file is held from Hold until its release, known
// by its identity whatever the path it is asked by.
func TestHeld(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	for _, p := range []string{a, b} {
		if err := os.WriteFile(p, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(a, filepath.Join(dir, "to-a")); err != nil {
		t.Skip(err)
	}
	stat := func(p string) os.FileInfo {
		t.Helper()
		info, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		return info
	}
	release := Hold(stat(a), "a's line")
	for _, c := range []struct {
		path string
		line string
		ok   bool
	}{{a, "a's line", true}, {filepath.Join(dir, "to-a"), "a's line", true}, {b, "", false}} {
		if line, ok := Held(stat(c.path)); line != c.line || ok != c.ok {
			t.Errorf("Held(%s) = %q, %v; want %q, %v", c.path, line, ok, c.line, c.ok)
		}
	}
	release()
	if line, ok := Held(stat(a)); ok {
		t.Errorf("Held(a) after its release = %q, true; want false", line)
	}
}
