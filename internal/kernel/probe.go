package kernel

import "time"

// A ProbeCall is the name and timing of the Spread calls at one place of a
// sequence (ProbeMark), medians over the sequences: Gap, from the return
// of the call before (or the mark) to its start; Total, from its start to
// its return; Starts[w] and Ends[w], from its start to the start and the
// end of part w; N, the sequences
// that reached it.
type ProbeCall struct {
	Name       string // the pass (ProbeLabel) of the first call recorded there, and its phase
	Phase      int
	N          int
	Gap, Total time.Duration
	Starts     [probeParts]time.Duration
	Ends       [probeParts]time.Duration
}

// probeParts is the number of parts whose ends a probe records.
const probeParts = 4
