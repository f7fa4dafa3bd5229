package optim_test

import (
	"testing"

	"github.com/descentml/descent/optim"
)

// TestSOAPStepAllocatesNothing checks that SOAP's steps allocate nothing
// after warm-up, refresh steps (a QR decomposition of each preconditioner's
// eigenvectors) included.
func TestSOAPStepAllocatesNothing(t *testing.T) {
	for _, shapes := range [][][]int{
		{{8, 12}, {12}, {6, 4}, {2, 3, 4}}, // small: one goroutine
		{{256, 320}, {320}, {64, 64}},      // spread over the cores
	} {
		p := shapedProblem(9, shapes...)
		m := optim.DefaultSOAP()
		m.PreconditionFrequency, m.WeightDecay = 3, 0.01
		o := mustNew(t, p.params, optim.Config{Method: m, LR: nil})
		run(t, p, o, 4)
		for _, steps := range []int{1, 3} { // a plain step; every step of a cycle, refresh included
			if n := testing.AllocsPerRun(5, func() { run(t, p, o, steps) }); n != 0 {
				t.Errorf("shapes %v: %d steps allocate %v times; want 0", shapes, steps, n)
			}
		}
	}
}
