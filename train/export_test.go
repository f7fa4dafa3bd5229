package train

import "github.com/descentml/descent/tensor"

// DisableDiagnostics stops tr gathering Diagnostics, for the benchmark
// that measures their cost.
func DisableDiagnostics[T tensor.Float](tr *Trainer[T]) { tr.noDiagnostics = true }
