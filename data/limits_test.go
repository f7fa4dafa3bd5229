package data

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// allocated returns the bytes allocated while f runs (all goroutines'; the
// tests of this package do not run in parallel).
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// randomBytes returns n bytes that gzip cannot shrink.
func randomBytes(n int) []byte {
	r := rand.New(rand.NewPCG(1, 2))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// TestLoadIDXLyingHeaderAllocatesLittle reads IDX files whose headers
// declare 300,000 28×28 images (235 MB of bytes, 941 MB as float32) but
// that hold far fewer, and checks that the reader allocates in proportion
// to what the file holds, not to what its header says.
func TestLoadIDXLyingHeaderAllocatesLittle(t *testing.T) {
	const held = 228 << 10 // the bytes of data the files really hold
	dims := []int{300000, 28, 28}
	images := idxBytes(0x08, dims, randomBytes(held))
	// 8 MiB of zeros (gzipped to 8 KB) and then 228 KB that gzip cannot
	// shrink, so that the gzip file could hold 235 MB.
	mixed := idxBytes(0x08, dims, append(make([]byte, 8<<20), randomBytes(held)...))
	for _, c := range []struct {
		name  string
		file  []byte
		want  string
		bound uint64 // bytes the read may allocate
	}{
		// The file's size gives the lie away before any data is read.
		{"plain", images, "need 235200000 bytes of data but the file has 233472", 256 << 10},
		// The gzip file could hold 235 MB (deflate expands up to 1032
		// times), so the data is read until it ends: what is allocated
		// is the data the file holds, in chunks of 1 MiB, and the
		// buffers of gzip (under 1 MiB).
		{"gzip", gzipBytes(images), "say 235200000 bytes of data but the file has 233472", 2 << 20},
		{"gzip of zeros", gzipBytes(mixed), "say 235200000 bytes of data but the file has 8622080", 8<<20 + held + 2<<20},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			img := writeFile(t, filepath.Join(dir, "img"), c.file)
			lbl := writeFile(t, filepath.Join(dir, "lbl"), idxBytes(0x08, []int{300000}, labelBytes(300000)))
			var err error
			n := allocated(func() { _, err = LoadIDX(img, lbl) })
			if err == nil || !strings.Contains(err.Error(), img) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("LoadIDX = %v; want an error naming %s and saying %q", err, img, c.want)
			}
			t.Logf("%d-byte file: %d bytes allocated", len(c.file), n)
			if n > c.bound {
				t.Errorf("LoadIDX of a %d-byte file declaring 300000 images allocated %d bytes; want at most %d", len(c.file), n, c.bound)
			}
		})
	}
}

// TestLoadIDXPairCheckedFirst checks that images and labels of different
// counts are refused before the images are read.
func TestLoadIDXPairCheckedFirst(t *testing.T) {
	for _, gz := range []bool{false, true} {
		dir := t.TempDir()
		images, _ := writeIDXPair(t, dir, "train", 2000, 28, gz) // 1.5 MB, 6 MB as float32
		_, labels := writeIDXPair(t, filepath.Join(dir, "other"), "train", 1999, 1, gz)
		var err error
		n := allocated(func() { _, err = LoadIDX(images, labels) })
		if err == nil || !strings.Contains(err.Error(), images+" has 2000 images but "+labels+" has 1999 labels") {
			t.Errorf("gzip %v: LoadIDX error = %v; want it to name both files and counts", gz, err)
		}
		t.Logf("gzip %v: %d bytes allocated", gz, n)
		if n > 256<<10 {
			t.Errorf("gzip %v: LoadIDX of 2000 images and 1999 labels allocated %d bytes; want at most %d (no image data)", gz, n, 256<<10)
		}
	}
}

// TestLoadIDXDatasetPairCheckedFirst checks the same for Load, whose four
// files are read at once.
func TestLoadIDXDatasetPairCheckedFirst(t *testing.T) {
	dir := t.TempDir()
	writeIDXPair(t, dir, "train", 2000, 28, false)
	writeIDXPair(t, dir, "t10k", 10, 28, false)
	p := filepath.Join(dir, "t10k-labels-idx1-ubyte")
	writeFile(t, p, idxBytes(0x08, []int{9}, labelBytes(9)))
	var err error
	n := allocated(func() { _, err = Load("mnist", Options{Dir: dir}) })
	if err == nil || !strings.Contains(err.Error(), "has 10 images but "+p+" has 9 labels") {
		t.Errorf("Load error = %v; want it to name %s and both counts", err, p)
	}
	if n > 512<<10 {
		t.Errorf("Load with a mismatched pair allocated %d bytes; want at most %d (no image data)", n, 512<<10)
	}
}

// zeros is an endless stream of zero bytes, as /dev/zero.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

func TestReadCSVLimits(t *testing.T) {
	row := "1.5,2,cat\n"
	rows := func(n int) string { return "a,b,label\n" + strings.Repeat(row, n) }
	wide := strings.Repeat("0,", 1<<19) + "x\n" // 1 MiB + 2 bytes, 2¹⁹+1 columns
	for _, c := range []struct {
		name string
		r    io.Reader
		lim  csvLimits
		want string // "" if the data is within the limits
	}{
		{"/dev/zero", zeros{}, csvLimits{line: 1 << 20}, "line 1: longer than 1048576 bytes (at byte offset 1048576)"},
		{"/dev/zero, no line limit", zeros{}, csvLimits{bytes: 1 << 20, line: -1}, "more than 1048576 bytes of data (at byte offset 1048576, line 1)"},
		{"too many bytes", strings.NewReader(rows(1000)), csvLimits{bytes: 5000}, "more than 5000 bytes of data (at byte offset 5000, line 501)"},
		{"exactly at the limit", strings.NewReader(rows(1000)), csvLimits{bytes: int64(len(rows(1000)))}, ""},
		{"no limit", strings.NewReader(rows(1000)), csvLimits{bytes: -1, line: -1}, ""},
		{"half a million columns within the default limits", strings.NewReader(wide), csvLimits{}, ""},
		{"too many columns for the line limit", strings.NewReader(wide), csvLimits{line: 1 << 20}, "line 1: longer than 1048576 bytes"},
		{"line exactly at the limit", strings.NewReader("1,2\n" + strings.Repeat("0", 97) + "1,2\n"), csvLimits{line: 100}, ""},
		{"line one beyond the limit", strings.NewReader("1,2\n" + strings.Repeat("0", 98) + "1,2\n"), csvLimits{line: 100}, "line 2: longer than 100 bytes (at byte offset 104)"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var err error
			n := allocated(func() { _, err = readCSVLimited(c.r, "f.csv", "", c.lim) })
			switch {
			case c.want == "" && err != nil:
				t.Fatalf("readCSV = %v; want no error", err)
			case c.want == "":
				return
			case err == nil || !strings.Contains(err.Error(), "data: f.csv: "+c.want) || !errors.Is(err, ErrCSVTooLarge):
				t.Fatalf("readCSV error = %v; want one wrapping ErrCSVTooLarge and saying %q", err, c.want)
			}
			// What is read is held a few times over: the line as read,
			// as its fields, as a string, each grown as it is read; a
			// line of 2-byte fields has 40 bytes of bookkeeping per field.
			lim := c.lim.resolve()
			per := uint64(10)
			if strings.Contains(c.name, "columns") {
				per = 80
			}
			bound := per*uint64(min(lim.bytes, lim.line)) + 64<<10
			t.Logf("%d bytes allocated", n)
			if n > bound {
				t.Errorf("readCSV(%s) allocated %d bytes; want at most %d", c.name, n, bound)
			}
		})
	}
}

// TestLoadCSVDevZero reads /dev/zero as a CSV file within the default
// limits.
func TestLoadCSVDevZero(t *testing.T) {
	if _, err := os.Stat("/dev/zero"); err != nil {
		t.Skip(err)
	}
	var err error
	n := allocated(func() { _, err = Load("csv:/dev/zero", DefaultOptions()) })
	if err == nil || !errors.Is(err, ErrCSVTooLarge) || !strings.Contains(err.Error(), "data: /dev/zero: line 1: longer than 4194304 bytes") {
		t.Errorf("Load(csv:/dev/zero) = %v; want an error wrapping ErrCSVTooLarge naming the file and line 1", err)
	}
	t.Logf("%d bytes allocated", n)
	if bound := uint64(10 * DefaultMaxCSVLineBytes); n > bound {
		t.Errorf("Load(csv:/dev/zero) allocated %d bytes; want at most %d", n, bound)
	}
	// The limits come from Options.
	opts := DefaultOptions()
	opts.MaxCSVLineBytes = -1
	opts.MaxCSVBytes = 1 << 20
	if _, err := Load("csv:/dev/zero", opts); err == nil || !strings.Contains(err.Error(), "data: /dev/zero: more than 1048576 bytes") {
		t.Errorf("Load(csv:/dev/zero) with MaxCSVBytes 1 MiB = %v; want an error saying so", err)
	}
}

// TestLoadCSVGzipBomb reads a gzip file that expands 1000 times beyond the
// limit on bytes.
func TestLoadCSVGzipBomb(t *testing.T) {
	p := writeFile(t, filepath.Join(t.TempDir(), "bomb.csv.gz"), gzipBytes(bytes.Repeat([]byte("0,1\n"), 1<<20)))
	opts := DefaultOptions()
	opts.MaxCSVBytes = 1 << 20
	if _, err := Load("csv:"+p, opts); err == nil || !strings.Contains(err.Error(), p+": more than 1048576 bytes of data (at byte offset 1048576, line 262145)") {
		t.Errorf("Load(%s) = %v; want an error naming it and the byte", p, err)
	}
}

// TestLoadTextDevZero reads /dev/zero as a text: a character-level
// vocabulary refuses it at its first byte, a byte-level one at the limit,
// and neither allocates much more than it read.
func TestLoadTextDevZero(t *testing.T) {
	if _, err := os.Stat("/dev/zero"); err != nil {
		t.Skip(err)
	}
	var err error
	n := allocated(func() { _, err = LoadText("text:/dev/zero", DefaultTextOptions()) })
	if err == nil || !strings.Contains(err.Error(), "data: /dev/zero: text looks binary: a NUL byte at offset 0") {
		t.Errorf("LoadText(text:/dev/zero) = %v; want an error saying it is binary", err)
	}
	if bound := uint64(64 << 10); n > bound {
		t.Errorf("LoadText(text:/dev/zero) allocated %d bytes; want at most %d", n, bound)
	}
	opts := DefaultTextOptions()
	opts.Bytes, opts.MaxBytes = true, 1<<20
	n = allocated(func() { _, err = LoadText("text:/dev/zero", opts) })
	var le *LimitError
	if !errors.Is(err, ErrTextTooLarge) || !errors.As(err, &le) || le.Field != "TextOptions.MaxBytes" ||
		!strings.Contains(err.Error(), "data: /dev/zero: more than 1048576 bytes of text") {
		t.Errorf("LoadText(text:/dev/zero) with Bytes and MaxBytes 1 MiB = %v; want a LimitError for TextOptions.MaxBytes wrapping ErrTextTooLarge", err)
	}
	t.Logf("%d bytes allocated", n)
	if bound := uint64(3 << 20); n > bound {
		t.Errorf("LoadText(text:/dev/zero) with MaxBytes 1 MiB allocated %d bytes; want at most %d", n, bound)
	}
}

// TestLoadTextLimit checks that a file of exactly MaxBytes is read and one
// byte more is refused, and that text is checked across the reads' ends.
func TestLoadTextLimit(t *testing.T) {
	dir := t.TempDir()
	text := strings.Repeat("héllo, wörld\n", 1000)
	p := writeFile(t, filepath.Join(dir, "t.txt"), []byte(text))
	opts := DefaultTextOptions()
	opts.MaxBytes = int64(len(text))
	if tx, err := LoadText("text:"+p, opts); err != nil || len(tx.Train)+len(tx.Val)+len(tx.Test) != len([]rune(text)) {
		t.Errorf("LoadText of a file at the limit = %v; want its text", err)
	}
	opts.MaxBytes--
	if _, err := LoadText("text:"+p, opts); !errors.Is(err, ErrTextTooLarge) {
		t.Errorf("LoadText of a file one byte beyond the limit = %v; want ErrTextTooLarge", err)
	}
	// Invalid UTF-8 far into a file, and a character cut by the file's end.
	bad := []byte(strings.Repeat("a", 100000) + "\xff")
	p = writeFile(t, filepath.Join(dir, "bad.txt"), bad)
	if _, err := LoadText("text:"+p, DefaultTextOptions()); err == nil || !strings.Contains(err.Error(), "invalid byte 0xff at offset 100000") {
		t.Errorf("LoadText(%s) = %v; want invalid UTF-8 at offset 100000", p, err)
	}
	p = writeFile(t, filepath.Join(dir, "cut.txt"), []byte("ab\xc3"))
	if _, err := LoadText("text:"+p, DefaultTextOptions()); err == nil || !strings.Contains(err.Error(), "invalid byte 0xc3 at offset 2") {
		t.Errorf("LoadText(%s) = %v; want invalid UTF-8 at offset 2", p, err)
	}
}

// TestReadVocabBounded reads an endless input as a vocabulary.
func TestReadVocabBounded(t *testing.T) {
	var err error
	n := allocated(func() { _, err = ReadVocab(zeros{}) })
	if err == nil || !strings.Contains(err.Error(), "data: vocabulary: more than 16777216 bytes") {
		t.Errorf("ReadVocab(endless zeros) = %v; want an error naming the limit", err)
	}
	if bound := uint64(64 << 20); n > bound {
		t.Errorf("ReadVocab(endless zeros) allocated %d bytes; want at most %d", n, bound)
	}
}
