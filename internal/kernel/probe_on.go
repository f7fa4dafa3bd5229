//go:build spreadprobe

package kernel

import (
	"slices"
	"time"
	_ "unsafe" // go:linkname
)

// ProbeOn reports whether this build times Spread calls (see probe_off.go).
const ProbeOn = true

//go:linkname nanotime runtime.nanotime
func nanotime() int64

// probeCalls is the most calls a sequence records, probeSeqs the most
// sequences.
const probeCalls, probeSeqs = 64, 8192

var probe struct {
	t0, last int64             // the current call's start, the last call's return
	starts   [probeParts]int64 // the current call's parts' starts (written by their participants)
	ends     [probeParts]int64 // and ends
	idx      int               // the current call's place in its sequence
	name     string            // the next call's label (ProbeLabel)
	phase    int
	names    [probeCalls]string // each place's label, from the first call recorded there
	phases   [probeCalls]int
	samples  [][probeCalls]probeSample
}

type probeSample struct {
	gap, total int32
	starts     [probeParts]int32
	ends       [probeParts]int32
	set        bool
}

func probeStart() {
	probe.t0 = nanotime()
	probe.starts, probe.ends = [probeParts]int64{}, [probeParts]int64{}
}

// probePartStart records the start of part p.
func probePartStart(p int) {
	if p < probeParts {
		probe.starts[p] = nanotime()
	}
}

// probePart records the end of part p.
func probePart(p int) {
	if p < probeParts {
		probe.ends[p] = nanotime()
	}
}

func ProbeLabel(name string, phase int) { probe.name, probe.phase = name, phase }

func probeEnd() {
	now := nanotime()
	if len(probe.samples) > 0 && probe.idx < probeCalls && probe.names[probe.idx] == "" {
		probe.names[probe.idx], probe.phases[probe.idx] = probe.name, probe.phase
	}
	probe.name, probe.phase = "", 0
	if n := len(probe.samples); n > 0 && probe.idx < probeCalls {
		s := &probe.samples[n-1][probe.idx]
		s.gap, s.total, s.set = int32(probe.t0-probe.last), int32(now-probe.t0), true
		for p, e := range probe.ends {
			if e != 0 {
				s.starts[p], s.ends[p] = int32(probe.starts[p]-probe.t0), int32(e-probe.t0)
			}
		}
	}
	probe.idx++
	probe.last = now
}

func ProbeMark() {
	if probe.samples == nil {
		probe.samples = make([][probeCalls]probeSample, 0, probeSeqs)
	}
	if len(probe.samples) < probeSeqs {
		probe.samples = probe.samples[:len(probe.samples)+1]
		probe.samples[len(probe.samples)-1] = [probeCalls]probeSample{}
	}
	probe.idx = 0
	probe.last = nanotime()
}

func ProbeReport() []ProbeCall {
	var out []ProbeCall
	for i := range probeCalls {
		var gap, total []int32
		var starts, ends [probeParts][]int32
		for s := range probe.samples {
			x := probe.samples[s][i]
			if !x.set {
				continue
			}
			gap, total = append(gap, x.gap), append(total, x.total)
			for p, e := range x.ends {
				if e != 0 {
					starts[p], ends[p] = append(starts[p], x.starts[p]), append(ends[p], e)
				}
			}
		}
		if len(total) == 0 {
			break
		}
		c := ProbeCall{Name: probe.names[i], Phase: probe.phases[i], N: len(total), Gap: median32(gap), Total: median32(total)}
		for p := range ends {
			c.Starts[p], c.Ends[p] = median32(starts[p]), median32(ends[p])
		}
		out = append(out, c)
	}
	probe.samples = probe.samples[:0]
	probe.names, probe.phases = [probeCalls]string{}, [probeCalls]int{}
	return out
}

func median32(v []int32) time.Duration {
	if len(v) == 0 {
		return 0
	}
	slices.Sort(v)
	return time.Duration(v[len(v)/2])
}
