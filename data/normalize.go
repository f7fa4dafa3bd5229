package data

import (
	"fmt"
	"math"
)

// Normalizer standardises features: x ← (x − Mean)/Std. Fit one on the
// training split only ([FitGlobal] for images, [FitPerFeature] for tables)
// and apply it to every split, and later to new data: a model trained on
// standardised inputs must see new inputs standardised the same way, so
// save the Normalizer with the model.
type Normalizer struct {
	// Mean holds one value per feature, or a single value for all
	// features.
	Mean []float32
	// Std has the length of Mean. It is never zero: a feature with no
	// variance in the data it was fitted on has Std 1, so it is centred
	// but not scaled (as scikit-learn's StandardScaler does).
	Std []float32
}

// FitGlobal returns the Normalizer with a single mean and standard deviation
// computed over every feature of every example of s, as image pipelines do
// (PyTorch's Normalize((0.1307,), (0.3081,)) for MNIST). The standard
// deviation is the population one (divided by n, not n − 1).
func FitGlobal(s *Set) *Normalizer {
	m, sd := meanStd(s.X, 1, len(s.X))
	return &Normalizer{Mean: []float32{m}, Std: []float32{sd}}
}

// FitPerFeature returns the Normalizer with one mean and standard deviation
// per feature, computed over the examples of s, as for tabular data. The
// standard deviation is the population one (divided by n, not n − 1).
func FitPerFeature(s *Set) *Normalizer {
	d := s.Dim()
	nz := &Normalizer{Mean: make([]float32, d), Std: make([]float32, d)}
	for j := range d {
		nz.Mean[j], nz.Std[j] = meanStd(s.X[j:], d, s.Len())
	}
	return nz
}

// meanStd returns the mean and population standard deviation of the n values
// x[0], x[stride], x[2·stride], … in two passes with float64 sums; a standard
// deviation of zero (or of n = 0) is returned as 1.
func meanStd(x []float32, stride, n int) (mean, std float32) {
	if n == 0 {
		return 0, 1
	}
	var sum float64
	for i := range n {
		sum += float64(x[i*stride])
	}
	m := sum / float64(n)
	var ss float64
	for i := range n {
		d := float64(x[i*stride]) - m
		ss += d * d
	}
	sd := math.Sqrt(ss / float64(n))
	if !(sd > 0) {
		sd = 1
	}
	return float32(m), float32(sd)
}

// Apply standardises the features of s in place. It returns an error, and
// changes nothing, if the Normalizer does not fit s: Mean and Std must have
// the same length, 1 or s.Dim(), and no Std may be zero or NaN; or if a
// standardised value would not be a finite float32 (a feature near
// float32's limits, ±3.4e38, far from the mean).
func (nz *Normalizer) Apply(s *Set) error {
	if err := nz.check(s.Dim()); err != nil {
		return err
	}
	mean, inv := nz.Mean, make([]float32, len(nz.Std))
	for j, sd := range nz.Std {
		inv[j] = 1 / sd
	}
	d, dim := len(mean), s.Dim()
	for i := 0; i < len(s.X); i += d { // first only check, so that an error changes nothing
		for j, v := range s.X[i : i+d] {
			if y := (v - mean[j]) * inv[j]; math.IsInf(float64(y), 0) || math.IsNaN(float64(y)) {
				k := i + j
				return fmt.Errorf("data: example %d, feature %d: %g standardised (mean %g, std %g) is %g, beyond float32's range", k/dim, k%dim, v, mean[j], nz.Std[j], y)
			}
		}
	}
	if d == 1 {
		m, inv := mean[0], inv[0]
		for i, v := range s.X {
			s.X[i] = (v - m) * inv
		}
		return nil
	}
	for i := 0; i < len(s.X); i += d {
		row := s.X[i : i+d]
		for j, v := range row {
			row[j] = (v - mean[j]) * inv[j]
		}
	}
	return nil
}

func (nz *Normalizer) check(dim int) error {
	if len(nz.Mean) != len(nz.Std) {
		return fmt.Errorf("data: normalizer has %d means but %d standard deviations", len(nz.Mean), len(nz.Std))
	}
	if len(nz.Mean) != 1 && len(nz.Mean) != dim {
		return fmt.Errorf("data: normalizer has %d means; want 1 or %d (the number of features)", len(nz.Mean), dim)
	}
	for j, sd := range nz.Std {
		if !(sd > 0) || math.IsInf(float64(sd), 0) || math.IsNaN(float64(nz.Mean[j])) || math.IsInf(float64(nz.Mean[j]), 0) {
			return fmt.Errorf("data: normalizer feature %d has mean %g and std %g; want a finite mean and a finite std > 0", j, nz.Mean[j], sd)
		}
	}
	return nil
}
