package run

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/descentml/descent/data"
	"github.com/descentml/descent/recipe"
)

// checkMemory refuses a recipe whose model, optimizer and batch need more
// than limit bytes (0: what the machine has available; negative: no
// check), with the estimate in the error; copies is the number of
// replicas this process holds (descent train --replicas), each with its
// own model and optimizer state.
func checkMemory(r recipe.Recipe, splits *data.Splits, limit int64, copies int) error {
	if limit < 0 {
		return nil
	}
	return checkNeed(r, r.Memory(splits.Train.Shape(), splits.Train.Classes()), limit, copies)
}

// checkNeed refuses a recipe that needs need bytes a replica, and copies
// replicas in this process, if that is more than limit (0: what the
// machine has available; negative: no check).
func checkNeed(r recipe.Recipe, need float64, limit int64, copies int) error {
	need *= float64(copies)
	limit, what, ok := MemoryLimit(limit)
	if !ok || need <= float64(limit) {
		return nil
	}
	of := ""
	if copies > 1 {
		of = fmt.Sprintf(" (%d replicas)", copies)
	}
	return fmt.Errorf("%s with batch %d needs about %s for its weights, optimizer state and batch%s; %s is %s (--max-memory SIZE overrides the check)",
		r.Model, r.Batch, FormatSize(need), of, what, FormatSize(float64(limit)))
}

// CheckNeed refuses the recipe r, whose model, optimizer and batch need
// need bytes, if that is more than limit (0: what the machine has
// available; negative: no check), with the estimate in the error, as
// descent train refuses a run.
func CheckNeed(r recipe.Recipe, need float64, limit int64) error { return checkNeed(r, need, limit, 1) }

// MemoryLimit returns the bytes a --max-memory of limit allows and what
// set them, for an error to name: limit itself ("--max-memory"), or for 0
// the memory the machine has available; ok is false when nothing is to be
// checked (a negative limit, or 0 where the available memory cannot be
// read).
func MemoryLimit(limit int64) (bytes int64, what string, ok bool) {
	switch {
	case limit < 0:
		return 0, "", false
	case limit > 0:
		return limit, "--max-memory", true
	}
	avail, ok := Available()
	return avail, "the memory available", ok
}

// Available returns the memory the machine has available, in bytes
// (Linux's MemAvailable), and false where it cannot be read.
func Available() (int64, bool) {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "MemAvailable:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10, err == nil
		}
	}
	return 0, false
}

// ParseSize reads a size in bytes, with an optional unit: 512MB, 8GB,
// 1.5TB, 4096 (IEC units KiB, MiB, GiB and TiB too).
func ParseSize(s string) (int64, error) {
	t := strings.ToUpper(strings.TrimSpace(s))
	mult := 1.0
	for _, u := range []struct {
		suffix string
		m      float64
	}{{"KIB", 1 << 10}, {"MIB", 1 << 20}, {"GIB", 1 << 30}, {"TIB", 1 << 40}, {"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12}, {"B", 1}} {
		if rest, ok := strings.CutSuffix(t, u.suffix); ok {
			t, mult = strings.TrimSpace(rest), u.m
			break
		}
	}
	v, err := strconv.ParseFloat(t, 64)
	if err != nil || !(v >= 0) || v*mult > 1<<62 {
		return 0, fmt.Errorf("size %q: want a number of bytes, with a unit if you like (512MB, 8GB)", s)
	}
	return int64(v * mult), nil
}

// FormatSize writes a number of bytes with a unit: 1.5 GB.
func FormatSize(b float64) string {
	for _, u := range []struct {
		name string
		m    float64
	}{{"TB", 1e12}, {"GB", 1e9}, {"MB", 1e6}, {"kB", 1e3}} {
		if b >= u.m {
			return strconv.FormatFloat(b/u.m, 'g', 3, 64) + " " + u.name
		}
	}
	return strconv.FormatFloat(b, 'f', 0, 64) + " B"
}

// copies returns the replicas of the model this process holds: the ranks
// of an in-process Comm (comm.Local), or one.
func (o Options) copies() int {
	if o.Comm.InProcess() {
		return o.Comm.Size()
	}
	return 1
}
