//go:build spreadprobe

package kernel

import (
	"math"
	"slices"
	"time"
	_ "unsafe" // go:linkname
)

// ProbeOn reports whether this build has the probe of Spread calls (the
// tag spreadprobe; see ProbeReport).
const ProbeOn = true

//go:linkname nanotime runtime.nanotime
func nanotime() int64

// probeCalls is the most calls of a sequence the probe records, probeSeqs
// the most sequences between two reports.
const probeCalls, probeSeqs = 64, 4096

// probe is the caller's record; each part's times are in a slot of their
// own (probeSlots), written by the participant that runs the part, so
// that recording a part's end does not take a line the caller holds.
var probe struct {
	t0, last int64  // the current call's start, the last call's return
	idx      int    // the current call's place in its sequence
	name     string // the next call's label (ProbeLabel)
	phase    int
	names    [probeCalls]string // each place's label, from the first call recorded there
	phases   [probeCalls]int
	samples  [][probeCalls]probeSample // nil until a report, full at probeSeqs
}

// probeSlots holds each part's start and end, 128 bytes apart so that no
// two parts' times share a cache line. The caller never clears them: a
// slot whose end is before the call's start is another call's.
var probeSlots [probeParts]struct {
	_          [56]byte
	start, end int64
	_          [56]byte
}

type probeSample struct {
	gap, total int32 // ns, saturated
	starts     [probeParts]int32
	ends       [probeParts]int32 // 0: the part was not recorded
	set        bool
}

func probeStart() { probe.t0 = nanotime() }

func probePartStart(p int) {
	if p < probeParts {
		probeSlots[p].start = nanotime()
	}
}

func probePart(p int) {
	if p < probeParts {
		probeSlots[p].end = nanotime()
	}
}

func probeLabel(name string, phase int) { probe.name, probe.phase = name, phase }

func probeEnd() {
	now := nanotime()
	if len(probe.samples) > 0 && probe.idx < probeCalls {
		if probe.names[probe.idx] == "" {
			probe.names[probe.idx], probe.phases[probe.idx] = probe.name, probe.phase
		}
		s := &probe.samples[len(probe.samples)-1][probe.idx]
		s.gap, s.total, s.set = ns32(probe.t0-probe.last), ns32(now-probe.t0), true
		for p := range probeSlots {
			if sl := &probeSlots[p]; sl.end >= probe.t0 && sl.start >= probe.t0 {
				s.starts[p], s.ends[p] = ns32(sl.start-probe.t0), max(ns32(sl.end-probe.t0), 1)
			}
		}
	}
	probe.name, probe.phase = "", 0
	probe.idx++
	probe.last = now
}

// ns32 returns d nanoseconds as an int32, saturated.
func ns32(d int64) int32 { return int32(min(max(d, 0), math.MaxInt32)) }

func probeMark() {
	probe.idx = probeCalls // not recording unless a sequence starts below
	if probe.samples != nil && len(probe.samples) < probeSeqs {
		probe.samples = probe.samples[:len(probe.samples)+1]
		probe.samples[len(probe.samples)-1] = [probeCalls]probeSample{}
		probe.idx = 0
	}
	probe.last = nanotime()
}

func probeReport() []ProbeCall {
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
	if probe.samples == nil {
		probe.samples = make([][probeCalls]probeSample, 0, probeSeqs)
	}
	probe.samples = probe.samples[:0]
	probe.names, probe.phases = [probeCalls]string{}, [probeCalls]int{}
	probe.idx = probeCalls
	return out
}

func median32(v []int32) time.Duration {
	if len(v) == 0 {
		return 0
	}
	slices.Sort(v)
	return time.Duration(v[len(v)/2])
}
