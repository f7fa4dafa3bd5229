package data

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// idxBytes encodes an IDX file of the given data type and dimensions.
func idxBytes(dtype byte, dims []int, data []byte) []byte {
	b := []byte{0, 0, dtype, byte(len(dims))}
	for _, d := range dims {
		b = binary.BigEndian.AppendUint32(b, uint32(d))
	}
	return append(b, data...)
}

func gzipBytes(b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b)
	zw.Close()
	return buf.Bytes()
}

// pixels returns n images of size×size with pixel j of image i = (7i+j) mod 256.
func pixels(n, size int) []byte {
	p := make([]byte, n*size*size)
	for i := range n {
		for j := range size * size {
			p[i*size*size+j] = byte(7*i + j)
		}
	}
	return p
}

// labelBytes returns n labels i mod 10.
func labelBytes(n int) []byte {
	l := make([]byte, n)
	for i := range l {
		l[i] = byte(i % 10)
	}
	return l
}

func writeFile(t testing.TB, path string, b []byte) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// writeIDXPair writes the images and labels files of split ("train" or
// "t10k") in dir, with n images of size×size, gzipped or not, removing the
// other form of each.
func writeIDXPair(t testing.TB, dir, split string, n, size int, gz bool) (images, labels string) {
	t.Helper()
	files := []struct {
		name string
		b    []byte
	}{
		{split + "-images-idx3-ubyte", idxBytes(0x08, []int{n, size, size}, pixels(n, size))},
		{split + "-labels-idx1-ubyte", idxBytes(0x08, []int{n}, labelBytes(n))},
	}
	var paths [2]string
	for i, f := range files {
		p := filepath.Join(dir, f.name)
		os.Remove(p)
		os.Remove(p + ".gz")
		if gz {
			paths[i] = writeFile(t, p+".gz", gzipBytes(f.b))
		} else {
			paths[i] = writeFile(t, p, f.b)
		}
	}
	return paths[0], paths[1]
}

func TestLoadIDXRoundTrip(t *testing.T) {
	for _, gz := range []bool{false, true} {
		images, labels := writeIDXPair(t, t.TempDir(), "train", 13, 6, gz)
		s, err := LoadIDX(images, labels)
		if err != nil {
			t.Fatalf("gzip %v: %v", gz, err)
		}
		if s.Len() != 13 || !slices.Equal(s.Shape(), []int{1, 6, 6}) || s.Classes() != 10 {
			t.Fatalf("gzip %v: LoadIDX = %d examples of shape %v, %d classes; want 13 of [1 6 6], 10", gz, s.Len(), s.Shape(), s.Classes())
		}
		for i, b := range pixels(13, 6) {
			if want := float32(b) / 255; s.X[i] != want {
				t.Fatalf("gzip %v: X[%d] = %g; want %g", gz, i, s.X[i], want)
			}
		}
		if !slices.Equal(s.Y, []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1, 2}) {
			t.Errorf("gzip %v: Y = %v", gz, s.Y)
		}
	}
}

func TestLoadIDXCorrupt(t *testing.T) {
	good := idxBytes(0x08, []int{10, 5, 5}, pixels(10, 5))
	goodGz := gzipBytes(good)
	badCRC := slices.Clone(goodGz)
	badCRC[len(badCRC)-8] ^= 0xff
	labels := idxBytes(0x08, []int{10}, labelBytes(10))
	for _, c := range []struct {
		name           string
		images, labels []byte
		want           string // what the error says, besides the file's name
		inLabels       bool   // the error names the labels file
	}{
		{"empty", nil, labels, "empty file", false},
		{"bad magic", append([]byte{1, 2}, good[2:]...), labels, "not an IDX file: magic number 0x01020803", false},
		{"gzip magic inside", append([]byte{0x1f, 0x8b, 0, 0}, good[4:]...), labels, "corrupt gzip file", false},
		{"float data", idxBytes(0x0d, []int{10, 5, 5}, pixels(10, 5)), labels, "IDX data type 0x0d at byte offset 2; want 0x08", false},
		{"2 dimensions", idxBytes(0x08, []int{10, 25}, pixels(10, 5)), labels, "2 dimensions (byte offset 3); want 3 (images)", false},
		{"labels of 3 dimensions", good, good, "3 dimensions (byte offset 3); want 1 (labels)", true},
		{"truncated magic", good[:3], labels, "truncated IDX header", false},
		{"truncated header", good[:9], labels, "truncated IDX header", false},
		{"truncated data", good[:100], labels, "truncated: IDX dimensions 10×5×5 need 250 bytes of data but the file has 84 after its 16-byte header", false},
		{"truncated data in gzip", gzipBytes(good[:100]), labels, "truncated: IDX dimensions 10×5×5 say 250 bytes of data but the file has 84", false},
		{"truncated gzip", goodGz[:len(goodGz)/2], labels, "corrupt gzip data: the compressed stream ends early", false},
		{"truncated gzip trailer", goodGz[:len(goodGz)-4], labels, "corrupt gzip data: the compressed stream ends early", false},
		{"trailing data", append(slices.Clone(good), 1, 2, 3), labels, "3 bytes after the 250 bytes of data that IDX dimensions 10×5×5 say", false},
		{"trailing data in gzip", gzipBytes(append(slices.Clone(good), 1, 2, 3)), labels, "3 bytes after", false},
		{"gzip garbage", append([]byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3}, bytes.Repeat([]byte{0xff}, 40)...), labels, "corrupt gzip data: flate: corrupt input", false},
		{"gzip bad checksum", badCRC, labels, "corrupt gzip data: gzip: invalid checksum", false},
		{"zero images", idxBytes(0x08, []int{0, 5, 5}, nil), labels, "IDX dimension 0 (at byte offset 4) is 0", false},
		{"huge dimensions", idxBytes(0x08, []int{1 << 30, 1 << 30, 1 << 30}, pixels(10, 5)), labels, "truncated: IDX dimensions 1073741824×1073741824×1073741824 need more than 2⁶³ bytes of data but the file has 250", false},
		{"huge dimensions in gzip", gzipBytes(idxBytes(0x08, []int{1 << 30, 1 << 30, 1 << 30}, pixels(10, 5))), labels, "truncated or corrupt: IDX dimensions 1073741824×1073741824×1073741824 need more data than a gzip file of", false},
		{"fewer labels", good, idxBytes(0x08, []int{9}, labelBytes(9)), "has 10 images but", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			images := writeFile(t, filepath.Join(dir, "img"), c.images)
			labels := writeFile(t, filepath.Join(dir, "lbl"), c.labels)
			s, err := LoadIDX(images, labels)
			if err == nil {
				t.Fatalf("LoadIDX = %d examples, nil error; want an error saying %q", s.Len(), c.want)
			}
			name := images
			if c.inLabels {
				name = labels
			}
			t.Log(err)
			if !strings.Contains(err.Error(), name) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("LoadIDX error = %q; want it to name %s and say %q", err, name, c.want)
			}
		})
	}
}

func TestLoadIDXMissing(t *testing.T) {
	dir := t.TempDir()
	_, err := LoadIDX(filepath.Join(dir, "nope"), filepath.Join(dir, "nope2"))
	if err == nil || !strings.Contains(err.Error(), filepath.Join(dir, "nope")) {
		t.Errorf("LoadIDX of a missing file: error %v; want it to name the file", err)
	}
	if _, err = LoadIDX(dir, dir); err == nil || !strings.Contains(err.Error(), "is a directory") {
		t.Errorf("LoadIDX of a directory: error %v; want it to say so", err)
	}
}
