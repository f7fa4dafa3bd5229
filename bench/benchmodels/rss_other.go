//go:build !unix

package benchmodels

// PeakRSSMB returns -1: this system's peak resident memory is not read.
func PeakRSSMB() int64 { return -1 }
