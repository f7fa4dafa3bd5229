package autograd

import (
	"fmt"
	"testing"

	"github.com/descentml/descent/tensor"
)

// TestBatchNormRowsMixedPhases checks the batch norm of an input [N, C]
// (BatchNorm and BatchNormReLU in training mode, BatchNormEvalReLU, whose
// backward pass has a phase more) when kernel.Spread runs some of its
// phases on several workers and then one as fn(0, 1), on a busy pool or
// from inside a Parallel task: that worker runs every phase left
// (normRows, normRowsGrad). The jobs are built as batchNormRows and
// batchNormRowsBackward build them; for every phase s, the phases before s
// run as 2 or 3 workers one after the other, then normRows(0, 1) or
// normRowsGrad(0, 1) at phase s, and the output, the batch statistics and
// the gradients of the input, γ and β (set, and added to gradients already
// there) must be the bits of the ordinary path on one thread. s = the
// first phase is one worker doing everything; a one worker that stopped
// after its phase would leave the output or ∂x unwritten.
func TestBatchNormRowsMixedPhases(t *testing.T) {
	defer tensor.SetThreads(0)
	for _, s := range [][2]int{{1, 1}, {5, 7}, {33, 17}, {128, 40}} {
		for _, m := range []rowsMode{{}, {relu: true}, {relu: true, noAffine: true}, {eval: true, relu: true}} {
			for _, discard := range []bool{false, true} {
				m.discard = discard
				testMixedPhases[float32](t, s[0], s[1], m)
				testMixedPhases[float64](t, s[0], s[1], m)
			}
		}
	}
}

func testMixedPhases[T tensor.Float](t *testing.T, n, c int, m rowsMode) {
	t.Helper()
	in := newRowsInputs[T](n, c, m)
	name := fmt.Sprintf("%T [%d, %d] %+v", T(0), n, c, m)
	tensor.SetThreads(1)
	want := in.tape(t) // the ordinary path, on one thread

	// The jobs as batchNormRows and batchNormRowsBackward make them, run
	// in mixed phases.
	for _, workers := range []int{2, 3} {
		fwd := job[T]{kind: jobNormRows, x: in.x, p: 1, n: n, eps: rowsEps, train: !m.eval, relu: m.relu,
			gamma: in.gamma, beta: in.beta, phases: 2}
		first := 0
		if m.eval {
			first = 1
		}
		for split := first; split < fwd.phases; split++ {
			j := fwd
			j.y, j.z, j.coef = make([]T, n*c), make([]T, 2*c), make([]T, 2*c)
			if m.eval {
				j.mean, j.variance = in.runMean, in.runVar
				j.normCoef(0, c)
			} else {
				j.mean, j.variance = make([]T, c), make([]T, c)
			}
			runPhases(t, name, first, split, workers, &j.phase, j.phases, j.normRows)
			what := fmt.Sprintf("%s forward, phases before %d on %d workers", name, split, workers)
			sameRows(t, what, [][]T{j.y, j.mean, j.variance}, want[:3])

			bwd := job[T]{kind: jobNormRowsGrad, x: in.x, y: in.dy, z: j.z, p: 1, n: n, train: !m.eval, gamma: in.gamma,
				add: !m.discard, addGamma: !m.discard, addBeta: !m.discard, phases: 3}
			switch {
			case m.eval:
				bwd.mask, bwd.masked = j.y, make([]T, n*c)
			case m.relu:
				bwd.mask = j.y
			}
			if bwd.add { // a row of scratch per worker
				bwd.tmp = make([]T, workers*c)
			}
			gfirst := 0
			if bwd.masked == nil {
				gfirst = 1
			}
			for gsplit := gfirst; gsplit < bwd.phases; gsplit++ {
				g := bwd
				g.coef = make([]T, 5*c)
				g.dx = append([]T(nil), in.before[0]...)
				if !m.noAffine {
					g.dgamma, g.dbeta = append([]T(nil), in.before[1]...), append([]T(nil), in.before[2]...)
				}
				if bwd.masked != nil {
					g.masked = make([]T, n*c)
				}
				runPhases(t, name, gfirst, gsplit, workers, &g.phase, g.phases, g.normRowsGrad)
				what := fmt.Sprintf("%s backward after forward split %d, phases before %d on %d workers", name, split, gsplit, workers)
				sameRows(t, what, [][]T{g.dx, g.dgamma, g.dbeta}, want[3:])
			}
		}
	}
}

// runPhases runs phases first…split−1 of a job in phases (whose phase is
// *phase, of phases) as workers one after the other, then the rest as
// run(0, 1), which must leave *phase at the last.
func runPhases(t *testing.T, name string, first, split, workers int, phase *int, phases int, run func(w, workers int)) {
	t.Helper()
	for *phase = first; *phase < split; *phase++ {
		for w := range workers {
			run(w, workers)
		}
	}
	run(0, 1)
	if *phase != phases-1 {
		t.Fatalf("%s: one worker from phase %d left phase %d; want %d", name, split, *phase, phases-1)
	}
}
