package train

import "github.com/descentml/descent/tensor"

// SetDiagnostics makes tr gather Diagnostics or not from its next step,
// for the benchmark that measures their cost.
func SetDiagnostics[T tensor.Float](tr *Trainer[T], on bool) {
	tr.noDiagnostics = !on
	tr.opt.MeasureGradNorm(on)
}
