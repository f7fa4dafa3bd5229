package data

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"path/filepath"
	"runtime"
	"slices"
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
		var x []float32
		var dims []int
		var err error
		checkAllocated(t, b, func() { x, dims, err = readIDX(path) })
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

// checkAllocated runs read, which reads files whose contents are in, and
// fails if it allocated more than their declared sizes can justify: 16
// bytes a byte of data (a float32 or an int label, and the bytes read),
// and 4 MiB of buffers. A header claiming more than the file holds must
// not be believed before the data arrives (issue 13, item 4).
func checkAllocated(t *testing.T, in []byte, read func()) {
	t.Helper()
	size := int64(len(in))
	if zr, err := gzip.NewReader(bytes.NewReader(in)); err == nil { // the most it can yield
		n, _ := io.Copy(io.Discard, zr)
		size = max(size, n)
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	read()
	runtime.ReadMemStats(&after)
	if got, limit := after.TotalAlloc-before.TotalAlloc, uint64(16*size+4<<20); got > limit {
		t.Fatalf("reading %d bytes (%d decompressed) allocated %d bytes; want at most %d", len(in), size, got, limit)
	}
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
		var s *Set
		var err error
		checkAllocated(t, append(img, lbl...), func() { s, err = LoadIDX(images, labels) })
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

// FuzzLoadText checks that no file makes LoadText panic, and that a text
// it loads decodes, through its vocabulary, back to the file: the three
// splits in order, nothing lost or changed. A small MaxBytes checks the
// limit: a file beyond it is refused, one within it is not refused for
// its size. bytes chooses the byte-level vocabulary.
func FuzzLoadText(f *testing.F) {
	f.Add([]byte(DefaultCorpus()[:2000]), false, uint16(4096))
	f.Add([]byte("héllo, wörld — ∑ 😀\n"), false, uint16(100))
	f.Add([]byte("ab\x00cd"), false, uint16(100))
	f.Add([]byte("ab\x00cd\xff"), true, uint16(100))
	f.Add([]byte("abc\xe2\x82"), false, uint16(100)) // a character cut short
	f.Add([]byte("abcdefgh"), false, uint16(3))
	path := filepath.Join(f.TempDir(), "text")
	f.Fuzz(func(t *testing.T, b []byte, bytes bool, maxBytes uint16) {
		writeFile(t, path, b)
		opts := DefaultTextOptions()
		opts.Bytes, opts.MaxBytes = bytes, int64(maxBytes)+1
		txt, err := LoadText("text:"+path, opts)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "data: ") {
				t.Fatalf("error %q lacks the data: prefix", err)
			}
			if errors.Is(err, ErrTextTooLarge) != (int64(len(b)) > opts.MaxBytes) {
				t.Fatalf("LoadText of %d bytes, limit %d: %v", len(b), opts.MaxBytes, err)
			}
			return
		}
		if int64(len(b)) > opts.MaxBytes {
			t.Fatalf("LoadText of %d bytes accepted beyond the limit %d", len(b), opts.MaxBytes)
		}
		ids := append(append(append([]int(nil), txt.Train...), txt.Val...), txt.Test...)
		got, err := txt.Vocab.Decode(ids)
		if err != nil || got != string(b) {
			t.Fatalf("LoadText of %q decodes to %q, %v", b, got, err)
		}
	})
}

// FuzzReadVocab checks that no vocab.json makes ReadVocab panic, and that
// a vocabulary it reads is written by WriteTo as a file that reads back
// the same, and encodes and decodes each of its tokens to itself.
func FuzzReadVocab(f *testing.F) {
	v, err := CharVocab(DefaultCorpus())
	if err != nil {
		f.Fatal(err)
	}
	var b strings.Builder
	v.WriteTo(&b)
	f.Add([]byte(b.String()))
	f.Add([]byte(`{"kind":"byte"}`))
	f.Add([]byte(`{"kind":"char","chars":"aba"}`))
	f.Add([]byte(`{"kind":"char","chars":""}`))
	f.Add([]byte(`{"kind":"char","chars":"\ud800x"}`))
	f.Add([]byte(`{"kind":"word"}`))
	f.Fuzz(func(t *testing.T, in []byte) {
		v, err := ReadVocab(strings.NewReader(string(in)))
		if err != nil {
			if !strings.HasPrefix(err.Error(), "data: ") {
				t.Fatalf("error %q lacks the data: prefix", err)
			}
			return
		}
		var out strings.Builder
		if _, err := v.WriteTo(&out); err != nil {
			t.Fatalf("vocabulary read from %q cannot be written: %v", in, err)
		}
		v2, err := ReadVocab(strings.NewReader(out.String()))
		if err != nil || v2.Len() != v.Len() || v2.Bytes() != v.Bytes() {
			t.Fatalf("vocabulary read from %q, written as %q, reads back as %v, %v", in, out.String(), v2, err)
		}
		ids := make([]int, v.Len())
		for i := range ids {
			ids[i] = i
		}
		text, err := v.Decode(ids)
		if err != nil {
			t.Fatalf("vocabulary read from %q does not decode its own tokens: %v", in, err)
		}
		for _, w := range []*Vocab{v, v2} {
			back, err := w.Encode(nil, text)
			if err != nil || !slices.Equal(back, ids) {
				t.Fatalf("vocabulary read from %q: its tokens decode to %q, which encodes to %v, %v", in, text, back, err)
			}
		}
	})
}
