//go:build !spreadprobe

package kernel

// ProbeOn reports whether this build times Spread calls: built with the
// tag spreadprobe, Spread records when each call starts, when each of its
// parts ends and when it returns, for ProbeReport. Without the tag the
// hooks below are empty and compiled away.
const ProbeOn = false

func probeStart()          {}
func probePartStart(p int) {}
func probePart(p int)      {}
func probeEnd()            {}

// ProbeLabel names the next Spread call on the probe's record: the pass
// (a constant string) and its phase. Without the tag it does nothing.
func ProbeLabel(name string, phase int) {}

// ProbeMark starts a new sequence of Spread calls (a training step), so
// that ProbeReport lines up the calls of every sequence by their place in
// it.
func ProbeMark() {}

// ProbeReport returns the timings of the Spread calls since the last
// ProbeReport, by place in their sequence (ProbeMark), and starts again.
func ProbeReport() []ProbeCall { return nil }
