package data

import (
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
	path := filepath.Join(f.TempDir(), "idx") // each fuzzing process has its own
	f.Fuzz(func(t *testing.T, b []byte) {
		writeFile(t, path, b)
		x, dims, err := readIDXFile(path, 3, &pixelScale)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "data: "+path+": ") {
				t.Fatalf("error %q does not start with data: and the file's name", err)
			}
			return
		}
		if len(dims) != 3 || len(x) != dims[0]*dims[1]*dims[2] {
			t.Fatalf("readIDX = %d values for dimensions %v", len(x), dims)
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
