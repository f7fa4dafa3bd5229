package data

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzReadIDX checks that no input makes the IDX reader panic or return
// data that disagrees with the dimensions it returns. The seeds are run by
// go test; go test -fuzz FuzzReadIDX explores further.
func FuzzReadIDX(f *testing.F) {
	good := idxBytes(0x08, []int{3, 2, 2}, pixels(3, 2))
	f.Add(good)
	f.Add(gzipBytes(good))
	f.Add(good[:7])
	f.Add(idxBytes(0x08, []int{1 << 20, 1 << 20, 1 << 20}, nil))
	f.Add(gzipBytes(idxBytes(0x08, []int{300000, 28, 28}, pixels(3, 28))))
	f.Add(idxBytes(0x08, []int{3, 2, 2}, pixels(4, 2)))
	path := filepath.Join(f.TempDir(), "idx") // each fuzzing process has its own
	f.Fuzz(func(t *testing.T, b []byte) {
		writeFile(t, path, b)
		x, dims, err := readIDX(path)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "data: "+path+": ") {
				t.Fatalf("error %q does not start with data: and the file's name", err)
			}
			return
		}
		if len(dims) != 3 || len(x) != dims[0]*dims[1]*dims[2] {
			t.Fatalf("readIDX = %d values for dimensions %v", len(x), dims)
		}
		if len(b) > 1 && b[0] == 0 && len(b) != 16+len(x) {
			t.Fatalf("readIDX of a plain %d-byte file = %d values; want the file to be 16 bytes of header and the values", len(b), len(x))
		}
	})
}

// readIDX reads the images file at path as LoadIDX does, without the
// labels: it returns the data and the dimensions.
func readIDX(path string) ([]float32, []int, error) {
	f, err := openIDX(path, 3)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	x, err := readIDXData(f, &pixelScale)
	return x, f.dims, err
}

// FuzzLoadIDX checks that no pair of files makes LoadIDX panic, or accept
// images and labels of different counts.
func FuzzLoadIDX(f *testing.F) {
	f.Add(idxBytes(0x08, []int{3, 2, 2}, pixels(3, 2)), idxBytes(0x08, []int{3}, labelBytes(3)))
	f.Add(idxBytes(0x08, []int{3, 2, 2}, pixels(3, 2)), idxBytes(0x08, []int{2}, labelBytes(2)))
	f.Add(gzipBytes(idxBytes(0x08, []int{3, 2, 2}, pixels(3, 2))), gzipBytes(idxBytes(0x08, []int{300000}, labelBytes(3))))
	dir := f.TempDir()
	images, labels := filepath.Join(dir, "images"), filepath.Join(dir, "labels")
	f.Fuzz(func(t *testing.T, img, lbl []byte) {
		writeFile(t, images, img)
		writeFile(t, labels, lbl)
		s, err := LoadIDX(images, labels)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "data: ") || !strings.Contains(err.Error(), dir) {
				t.Fatalf("error %q does not start with data: and name a file", err)
			}
			return
		}
		if len(s.X) != s.Len()*s.Dim() || len(s.Y) != s.Len() {
			t.Fatalf("LoadIDX = %d values, %d labels for %d examples of %d", len(s.X), len(s.Y), s.Len(), s.Dim())
		}
	})
}

// FuzzReadCSV checks that no input makes the CSV reader panic or return an
// inconsistent Set.
func FuzzReadCSV(f *testing.F) {
	f.Add("a,b,label\n1,2,x\n3,4,y\n", "")
	f.Add("1,2,3\n4,5\n", "0")
	f.Add("x,y\n\"1\",2\n", "y")
	f.Fuzz(func(t *testing.T, in, label string) {
		s, err := ReadCSV(strings.NewReader(in), label)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "data: ") {
				t.Fatalf("error %q lacks the data: prefix", err)
			}
			return
		}
		if len(s.X) != s.Len()*s.Dim() || len(s.ClassNames) != s.Classes() {
			t.Fatalf("ReadCSV = %d values, %d examples of %d, %d class names for %d classes", len(s.X), s.Len(), s.Dim(), len(s.ClassNames), s.Classes())
		}
		for i, l := range s.Y {
			if l < 0 || l >= s.Classes() {
				t.Fatalf("label %d of example %d out of range", l, i)
			}
		}
	})
}

// FuzzReadCSVLimits checks that CSV data is refused for its size exactly
// when it is beyond a limit.
func FuzzReadCSVLimits(f *testing.F) {
	f.Add("a,b,label\n1,2,x\n3,4,y\n", uint16(10), uint16(5))
	f.Add("1,2,3\n4,5,6\n", uint16(100), uint16(5))
	f.Add("1,2,3\n4,5,6\n", uint16(11), uint16(100))
	f.Add("1,\"2\n\n3\",3\n", uint16(100), uint16(2))
	f.Fuzz(func(t *testing.T, in string, maxBytes, maxLine uint16) {
		lim := csvLimits{int64(maxBytes) + 1, int64(maxLine) + 1}
		_, err := readCSVLimited(strings.NewReader(in), "f", "", lim)
		longest := 0
		for l := range strings.SplitSeq(in, "\n") {
			longest = max(longest, len(l))
		}
		beyond := int64(len(in)) > lim.bytes || int64(longest) > lim.line
		switch {
		case errors.Is(err, ErrCSVTooLarge) && !beyond:
			t.Fatalf("readCSV of %d bytes, lines of at most %d, within limits %+v: %v", len(in), longest, lim, err)
		case err == nil && beyond:
			t.Fatalf("readCSV of %d bytes, lines of at most %d, beyond limits %+v: no error", len(in), longest, lim)
		}
	})
}
