package data

import (
	"bufio"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strings"
)

// The IDX format (LeCun et al., the MNIST files): a 4-byte magic number 0x00
// 0x00 TYPE NDIMS, NDIMS big-endian uint32 dimensions, then the data, row
// major. Only TYPE 0x08 (unsigned bytes) is used by MNIST and Fashion-MNIST,
// and only that is read here.
const idxUbyte = 0x08

// maxDeflateRatio bounds how many bytes a deflate stream can expand to per
// byte of input (258-byte matches coded in under 2 bits: about 1032). A gzip
// file whose IDX header declares more data than that cannot hold it.
const maxDeflateRatio = 1032

// LoadIDX reads a pair of IDX files, images (3 dimensions: n, rows, columns)
// and labels (1 dimension: n), into a Set of shape [1 rows columns] with the
// pixels scaled from 0..255 to [0, 1]. Either file may be gzipped: that is
// told from its first bytes, not its name. There are max(label)+1 classes,
// without names.
//
// A missing, truncated or corrupt file, or images and labels of different
// counts, is an error that names the file and the problem. Both headers are
// checked, against their files' sizes and against each other, before any
// memory is allocated for the data.
func LoadIDX(images, labels string) (*Set, error) {
	img, lbl, err := openIDXPair(images, labels)
	if err != nil {
		return nil, err
	}
	defer img.Close()
	defer lbl.Close()
	x, err := readIDXData(img, &pixelScale)
	if err != nil {
		return nil, err
	}
	y, err := readIDXData(lbl, &byteValue)
	if err != nil {
		return nil, err
	}
	classes := 0
	for _, l := range y {
		classes = max(classes, l+1)
	}
	return idxSet(x, img.dims, y, labels, classes)
}

// openIDXPair opens an images file and a labels file and checks that their
// headers declare the same number of examples.
func openIDXPair(images, labels string) (img, lbl *idxFile, err error) {
	if img, err = openIDX(images, 3); err != nil {
		return nil, nil, err
	}
	if lbl, err = openIDX(labels, 1); err != nil {
		img.Close()
		return nil, nil, err
	}
	if img.dims[0] != lbl.dims[0] {
		img.Close()
		lbl.Close()
		return nil, nil, fmt.Errorf("data: %s has %d images but %s has %d labels (as their headers say at byte offset 4)", images, img.dims[0], labels, lbl.dims[0])
	}
	return img, lbl, nil
}

// idxSet pairs images with labels read from labelsName, checking that the
// labels are below classes. Their counts agree: openIDXPair compared the
// headers, and readIDXData returns what its header declares.
func idxSet(x []float32, dims []int, y []int, labelsName string, classes int) (*Set, error) {
	for i, l := range y {
		if l >= classes {
			return nil, fmt.Errorf("data: %s: label %d of example %d out of range [0, %d)", labelsName, l, i, classes)
		}
	}
	return NewSet(x, y, []int{1, dims[1], dims[2]}, classes)
}

// pixelScale maps a byte to [0, 1]; byteValue maps it to its value.
var pixelScale, byteValue = func() (p [256]float32, id [256]int) {
	for i := range p {
		p[i] = float32(i) / 255
		id[i] = i
	}
	return p, id
}()

// source is an opened data file, plain or gzipped.
type source struct {
	io.Reader       // the contents, decompressed
	io.Closer       // the file
	gzip      bool  // whether the file is gzipped
	limit     int64 // an upper bound on the bytes Reader yields
	exact     bool  // whether Reader yields exactly limit bytes (a plain, regular file)
}

// openMaybeGzip opens the file at path and returns a reader of its contents,
// decompressed if it starts with gzip's magic bytes.
func openMaybeGzip(path string) (*source, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("data: %w", err)
	}
	info, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("data: %w", err)
	}
	if info.IsDir() {
		f.Close()
		return nil, fmt.Errorf("data: %s is a directory", path)
	}
	size, regular := info.Size(), info.Mode().IsRegular()
	if !regular {
		size = math.MaxInt64 // a device or a pipe: its size is not known
	}
	br := bufio.NewReaderSize(f, 1<<16)
	magic, _ := br.Peek(2)
	if len(magic) < 2 || magic[0] != 0x1f || magic[1] != 0x8b {
		return &source{br, f, false, size, regular}, nil
	}
	zr, err := gzip.NewReader(br)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("data: %s: corrupt gzip file: %w", path, err)
	}
	return &source{&gzipStream{r: zr}, f, true, satMul(size, maxDeflateRatio), false}, nil
}

// gzipStream reads a gzip stream and records whether the compressed data
// ended early, which io.ReadFull would otherwise confuse with IDX data
// shorter than its header declares.
type gzipStream struct {
	r         io.Reader
	truncated bool
}

func (g *gzipStream) Read(p []byte) (int, error) {
	n, err := g.r.Read(p)
	if err == io.ErrUnexpectedEOF {
		g.truncated = true
	}
	return n, err
}

// satMul returns a·b, or math.MaxInt64 if that overflows (a, b ≥ 0).
func satMul(a, b int64) int64 {
	if b != 0 && a > math.MaxInt64/b {
		return math.MaxInt64
	}
	return a * b
}

// idxFile is an opened IDX file of unsigned bytes whose header has been
// read and checked against the size of the file.
type idxFile struct {
	*source
	path string
	dims []int
	size int64 // the bytes of data the header declares
}

// openIDX opens the IDX file at path, plain or gzipped, reads its header,
// which must declare ndims dimensions, and checks that the file can hold
// the data it declares: a plain file must hold exactly that, a gzipped one
// no more than deflate can expand it to. Nothing is allocated from the
// header's sizes. Errors are prefixed with "data: PATH: ".
func openIDX(path string, ndims int) (*idxFile, error) {
	src, err := openMaybeGzip(path)
	if err != nil {
		return nil, err
	}
	dims, size, err := readIDXHeader(src, ndims)
	if err != nil {
		src.Close()
		return nil, fmt.Errorf("data: %s: %w", path, err)
	}
	return &idxFile{src, path, dims, size}, nil
}

// idxHeaderSize is the size of the header of an IDX file of ndims
// dimensions: the magic number, then one uint32 per dimension.
func idxHeaderSize(ndims int) int64 { return 4 + 4*int64(ndims) }

// readIDXHeader reads the header of an IDX stream of unsigned bytes with
// ndims dimensions and returns the dimensions and the bytes of data they
// declare, having checked them against src.limit.
func readIDXHeader(src *source, ndims int) ([]int, int64, error) {
	var magic [4]byte
	if n, err := io.ReadFull(src, magic[:]); err != nil {
		if n == 0 && err == io.EOF {
			return nil, 0, errors.New("empty file")
		}
		return nil, 0, src.readError(err, fmt.Sprintf("truncated IDX header: the file ends at byte offset %d of the 4-byte magic number", n))
	}
	if magic[0] != 0 || magic[1] != 0 {
		return nil, 0, fmt.Errorf("not an IDX file: magic number 0x%x; want 0x0000%02x%02x", magic, idxUbyte, ndims)
	}
	if magic[2] != idxUbyte {
		return nil, 0, fmt.Errorf("IDX data type 0x%02x at byte offset 2; want 0x%02x (unsigned bytes)", magic[2], idxUbyte)
	}
	if int(magic[3]) != ndims {
		what := "labels"
		if ndims == 3 {
			what = "images"
		}
		return nil, 0, fmt.Errorf("IDX file has %d dimensions (byte offset 3); want %d (%s)", magic[3], ndims, what)
	}
	var raw [4 * 3]byte
	if n, err := io.ReadFull(src, raw[:4*ndims]); err != nil {
		return nil, 0, src.readError(err, fmt.Sprintf("truncated IDX header: the file ends at byte offset %d of the %d-byte header", 4+n, idxHeaderSize(ndims)))
	}
	head := idxHeaderSize(ndims)
	room := src.limit - head // bytes of data the file can hold
	dims := make([]int, ndims)
	size := int64(1)
	for i := range dims {
		d := int64(binary.BigEndian.Uint32(raw[4*i:]))
		dims[i] = int(d)
		if d == 0 {
			return nil, 0, fmt.Errorf("IDX dimension %d (at byte offset %d) is 0", i, 4+4*i)
		}
		size = satMul(size, d)
	}
	switch {
	case src.gzip && size > room:
		return nil, 0, fmt.Errorf("truncated or corrupt: IDX dimensions %s need more data than a gzip file of %d bytes can hold", dimString(dims), src.limit/maxDeflateRatio)
	case !src.gzip && size > room:
		need := fmt.Sprint(size)
		if size == math.MaxInt64 {
			need = "more than 2⁶³"
		}
		return nil, 0, fmt.Errorf("truncated: IDX dimensions %s need %s bytes of data but the file has %d after its %d-byte header", dimString(dims), need, max(room, 0), head)
	case src.exact && size < room:
		return nil, 0, fmt.Errorf("%d bytes after the %d bytes of data that IDX dimensions %s say (from byte offset %d)", room-size, size, dimString(dims), head+size)
	}
	return dims, size, nil
}

// readIDXData reads the data of f, mapped through lut. It reads to the end
// of the stream, so that trailing data is caught and a gzip checksum is
// verified. Errors are prefixed with "data: PATH: ".
//
// A plain file's size has been checked against its header, so the data is
// read into memory allocated at once. A gzip file's decompressed size is
// known only once it has been read: its bytes are read into chunks
// allocated as they arrive, and only once all of them are in, and the
// checksum verified, is the data mapped through lut. So a header that
// declares more than the file holds cannot make the reader allocate more
// than the file's decompressed contents and 1 MiB.
func readIDXData[T any](f *idxFile, lut *[256]T) ([]T, error) {
	var (
		out []T
		err error
	)
	if f.exact {
		out, err = readExact(f, lut)
	} else {
		out, err = readGrowing(f, lut)
	}
	if err != nil {
		return nil, fmt.Errorf("data: %s: %w", f.path, err)
	}
	return out, nil
}

// readExact reads the data of f, whose size is known to match its header,
// into memory allocated at once.
func readExact[T any](f *idxFile, lut *[256]T) ([]T, error) {
	out := make([]T, f.size)
	buf := make([]byte, min(f.size, 1<<16))
	for done := int64(0); done < f.size; {
		n, err := io.ReadFull(f, buf[:min(int64(len(buf)), f.size-done)])
		for k, b := range buf[:n] {
			out[done+int64(k)] = lut[b]
		}
		done += int64(n)
		if err != nil {
			return nil, f.truncated(err, done)
		}
	}
	if err := f.expectEOF(); err != nil {
		return nil, err
	}
	return out, nil
}

// readGrowing reads the data of f in chunks of at most 1 MiB, allocated as
// the data arrives, then maps them through lut.
func readGrowing[T any](f *idxFile, lut *[256]T) ([]T, error) {
	var (
		chunks [][]byte
		got    int64
	)
	for got < f.size {
		c := make([]byte, min(f.size-got, 1<<20))
		n, err := io.ReadFull(f, c)
		chunks = append(chunks, c[:n])
		got += int64(n)
		if err != nil {
			return nil, f.truncated(err, got)
		}
	}
	// The whole data is in: what is left must be the end of the stream,
	// and a gzip stream's checksum must match, before the data is
	// allocated at its full size.
	if err := f.expectEOF(); err != nil {
		return nil, err
	}
	out := make([]T, 0, f.size)
	for _, c := range chunks {
		for _, b := range c {
			out = append(out, lut[b])
		}
	}
	return out, nil
}

// truncated describes an error met after reading done bytes of data.
func (f *idxFile) truncated(err error, done int64) error {
	return f.readError(err, fmt.Sprintf("truncated: IDX dimensions %s say %d bytes of data but the file has %d (it ends at byte offset %d)", dimString(f.dims), f.size, done, idxHeaderSize(len(f.dims))+done))
}

// expectEOF reads what follows the data, which must be nothing.
func (f *idxFile) expectEOF() error {
	var b [1]byte
	n, err := io.ReadFull(f, b[:])
	if n > 0 {
		extra, _ := io.Copy(io.Discard, f)
		return fmt.Errorf("%d bytes after the %d bytes of data that IDX dimensions %s say (from byte offset %d)", extra+1, f.size, dimString(f.dims), idxHeaderSize(len(f.dims))+f.size)
	}
	if err != io.EOF {
		return f.readError(err, "")
	}
	return nil
}

// readError describes an error from reading IDX data: an early end of the
// data is reported as truncated (with the message short), a gzip error (such
// as a checksum mismatch) as corrupt.
func (src *source) readError(err error, short string) error {
	if g, ok := src.Reader.(*gzipStream); ok && g.truncated {
		return errors.New("corrupt gzip data: the compressed stream ends early (the file is cut short)")
	}
	switch {
	case err == io.EOF || err == io.ErrUnexpectedEOF:
		if short == "" {
			short = "truncated"
		}
		return errors.New(short)
	case src.gzip:
		return fmt.Errorf("corrupt gzip data: %w", err)
	}
	return err
}

// dimString formats dimensions as 60000×28×28.
func dimString(dims []int) string {
	s := make([]string, len(dims))
	for i, d := range dims {
		s[i] = fmt.Sprint(d)
	}
	return strings.Join(s, "×")
}
