package kernel

import "time"

// The probe times Spread calls in a build with the tag spreadprobe (see
// ProbeOn): when each call starts, when each of its parts starts and ends
// on its participant, and when the call returns, lined up by the call's
// place in a sequence of calls (a training step, begun by ProbeMark). Only
// one goroutine may make the Spread calls it times and call ProbeLabel,
// ProbeMark and ProbeReport. Without the tag every hook is an empty
// function, and callers guard their labels with ProbeOn so that no
// argument is computed.

// A ProbeCall is the name and timing of the Spread calls at one place of a
// sequence (ProbeMark), medians over the sequences that reached it (N):
// Gap, from the return of the call before (or the mark) to its start;
// Total, from its start to its return; Starts[w] and Ends[w], from its
// start to the start and the end of part w.
type ProbeCall struct {
	Name       string // the pass (ProbeLabel) of the first call recorded there, and its phase
	Phase      int
	N          int
	Gap, Total time.Duration
	Starts     [probeParts]time.Duration
	Ends       [probeParts]time.Duration
}

// probeParts is the number of parts whose times the probe records.
const probeParts = 4

// ProbeLabel names the next Spread call: its pass (a constant string) and
// the pass's phase. Call it as
//
//	if kernel.ProbeOn {
//		kernel.ProbeLabel(name, phase)
//	}
func ProbeLabel(name string, phase int) { probeLabel(name, phase) }

// ProbeMark starts a new sequence of Spread calls (a training step), so
// that ProbeReport lines up the calls of every sequence by their place in
// it. Calls before the first mark after a report are not recorded.
func ProbeMark() { probeMark() }

// ProbeReport returns the timings of the Spread calls recorded since the
// last report, by place in their sequence, and starts again: call it once
// before the sequences to discard what came before. Nil without the tag.
func ProbeReport() []ProbeCall { return probeReport() }
