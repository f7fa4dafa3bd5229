package data

import (
	"bytes"
	"compress/gzip"
	_ "embed"
)

//go:embed digits.csv.gz
var digitsCSV []byte

// Digits returns the UCI "Optical Recognition of Handwritten Digits" data as
// scikit-learn ships it (load_digits; Alpaydin & Kaynak 1998): 1797 grey
// images of 8×8 pixels, shape [1 8 8], each of one digit 0 to 9 (classes
// named "0" to "9"). The pixels, counts 0 to 16 in the file, are scaled to
// [0, 1]. It is embedded in the program, so it needs no files.
//
// Each call returns a new Set, which the caller may modify.
func Digits() *Set {
	zr, err := gzip.NewReader(bytes.NewReader(digitsCSV))
	if err != nil {
		panic("data: embedded digits.csv.gz is corrupt")
	}
	s, err := readCSV(zr, "digits.csv.gz", "")
	if err != nil || s.Dim() != 64 || s.Classes() != 10 {
		panic("data: embedded digits.csv.gz is corrupt")
	}
	for i, v := range s.X {
		s.X[i] = v / 16
	}
	s.shape = []int{1, 8, 8}
	return s
}
