package lockline

import (
	"strings"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	type want struct {
		pid  int
		host string
		ok   bool
	}
	for line, w := range map[string]want{
		"descent train (pid 1234, host gpu1, since 2026-01-02 03:04:05)": {1234, "gpu1", true},
		"descent train (pid 1234, since 2026-01-02 03:04:05)":            {1234, "", true}, // before the host was written
		"descent tune (pid 7)":                              {7, "", true},
		"descent tune (pid 7, host a.example.org)":          {7, "a.example.org", true},
		"descent train":                                     {0, "", false},
		"descent train (pid -3, since 2026-01-02 03:04:05)": {0, "", false},
		"descent train (pid x, since 2026-01-02 03:04:05)":  {0, "", false},
		"descent train (pid , host h)":                      {0, "", false},
	} {
		pid, host, ok := Parse(line)
		if pid != w.pid || host != w.host || ok != w.ok {
			t.Errorf("Parse(%q) = %d, %q, %v; want %d, %q, %v", line, pid, host, ok, w.pid, w.host, w.ok)
		}
	}
}

// TestLineParses checks that Parse reads back what Line writes, with and
// without a host, and with this machine's.
func TestLineParses(t *testing.T) {
	since := time.Date(2026, 12, 6, 20, 0, 0, 0, time.UTC)
	for _, host := range []string{"gpu1", "", Host()} {
		line := Line("descent train", 4321, host, since)
		if strings.ContainsAny(line, "\n") || !strings.HasSuffix(line, "since 2026-12-06 20:00:00)") {
			t.Errorf("Line(…, %q, …) = %q; want one line ending in the time", host, line)
		}
		if pid, h, ok := Parse(line); pid != 4321 || h != host || !ok {
			t.Errorf("Parse(%q) = %d, %q, %v; want 4321, %q, true", line, pid, h, ok, host)
		}
	}
	if h := Host(); strings.ContainsAny(h, " ,()\n") {
		t.Errorf("Host() = %q; want a name that cannot break the line", h)
	}
}
