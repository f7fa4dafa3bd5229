package data

import (
	"bufio"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
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
// counts, is an error that names the file and the problem.
func LoadIDX(images, labels string) (*Set, error) {
	x, dims, err := readIDXFile(images, 3, &pixelScale)
	if err != nil {
		return nil, err
	}
	y, _, err := readIDXFile(labels, 1, &byteValue)
	if err != nil {
		return nil, err
	}
	classes := 0
	for _, l := range y {
		classes = max(classes, l+1)
	}
	return idxSet(x, dims, images, y, labels, classes)
}

// idxSet pairs images read from imagesName with labels read from labelsName,
// checking that the counts agree and the labels are below classes.
func idxSet(x []float32, dims []int, imagesName string, y []int, labelsName string, classes int) (*Set, error) {
	if dims[0] != len(y) {
		return nil, fmt.Errorf("data: %s has %d images but %s has %d labels", imagesName, dims[0], labelsName, len(y))
	}
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

// readIDXFile reads the IDX file at path, plain or gzipped, which must have
// ndims dimensions, and returns its data mapped through lut and its
// dimensions. Errors are prefixed with "data: PATH: ".
func readIDXFile[T any](path string, ndims int, lut *[256]T) ([]T, []int, error) {
	src, err := openMaybeGzip(path)
	if err != nil {
		return nil, nil, err
	}
	defer src.Close()
	data, dims, err := readIDX(src, ndims, lut)
	if err != nil {
		return nil, nil, fmt.Errorf("data: %s: %w", path, err)
	}
	return data, dims, nil
}

// source is an opened data file, plain or gzipped.
type source struct {
	io.Reader       // the contents, decompressed
	io.Closer       // the file
	gzip      bool  // whether the file is gzipped
	limit     int64 // an upper bound on the bytes Reader yields
	size      int64 // the bytes Reader yields (modulo 2³² if gzip) if known, else -1
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
	br := bufio.NewReaderSize(f, 1<<16)
	magic, _ := br.Peek(2)
	if len(magic) < 2 || magic[0] != 0x1f || magic[1] != 0x8b {
		return &source{br, f, false, info.Size(), info.Size()}, nil
	}
	zr, err := gzip.NewReader(br)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("data: %s: corrupt gzip file: %w", path, err)
	}
	src := &source{zr, f, true, info.Size() * maxDeflateRatio, -1}
	// A gzip file ends with the decompressed size modulo 2³². Trusted only
	// as a hint to allocate once: the data itself is what is checked.
	var isize [4]byte
	if info.Size() >= 18 {
		if _, err := f.ReadAt(isize[:], info.Size()-4); err == nil {
			src.size = int64(binary.LittleEndian.Uint32(isize[:]))
		}
	}
	return src, nil
}

// readIDX reads an IDX stream of unsigned bytes with ndims dimensions and
// returns its data mapped through lut and its dimensions. It reads to the end
// of the stream, so that trailing data is caught and a gzip checksum is
// verified.
//
// Memory is allocated at once only when the file's size (a gzip file's
// trailer) confirms the header's dimensions; otherwise it grows as data
// arrives, so that a header corrupted by accident cannot make it allocate
// much more than the file holds. Nothing beyond what the file could hold
// (the most a deflate stream can expand to) is ever allocated.
func readIDX[T any](src *source, ndims int, lut *[256]T) ([]T, []int, error) {
	r := src.Reader
	var magic [4]byte
	if n, err := io.ReadFull(r, magic[:]); err != nil {
		if n == 0 && err == io.EOF {
			return nil, nil, errors.New("empty file")
		}
		return nil, nil, src.readError(err, "truncated IDX header")
	}
	if magic[0] != 0 || magic[1] != 0 {
		return nil, nil, fmt.Errorf("not an IDX file: magic number 0x%x; want 0x0000%02x%02x", magic, idxUbyte, ndims)
	}
	if magic[2] != idxUbyte {
		return nil, nil, fmt.Errorf("IDX data type 0x%02x; want 0x%02x (unsigned bytes)", magic[2], idxUbyte)
	}
	if int(magic[3]) != ndims {
		what := "labels"
		if ndims == 3 {
			what = "images"
		}
		return nil, nil, fmt.Errorf("IDX file has %d dimensions; want %d (%s)", magic[3], ndims, what)
	}
	raw := make([]byte, 4*ndims)
	if _, err := io.ReadFull(r, raw); err != nil {
		return nil, nil, src.readError(err, "truncated IDX header")
	}
	head := int64(len(magic) + len(raw))
	room := src.limit - head // bytes of data the file can hold
	dims := make([]int, ndims)
	for i := range dims {
		dims[i] = int(binary.BigEndian.Uint32(raw[4*i:]))
	}
	size := int64(1)
	for i := range dims {
		if dims[i] == 0 {
			return nil, nil, fmt.Errorf("IDX dimension %d is 0", i)
		}
		if int64(dims[i]) > room/size {
			if src.gzip {
				return nil, nil, fmt.Errorf("truncated or corrupt: IDX dimensions %s need more data than a gzip file of %d bytes can hold", dimString(dims), src.limit/maxDeflateRatio)
			}
			return nil, nil, fmt.Errorf("truncated: IDX dimensions %s need more than the %d bytes of data the file has after its header", dimString(dims), max(room, 0))
		}
		size *= int64(dims[i])
	}
	prealloc := min(size, 1<<20)
	if src.size >= 0 && (head+size)%(1<<32) == src.size%(1<<32) {
		prealloc = size
	}
	out := make([]T, 0, prealloc)
	buf := make([]byte, min(size, 1<<16))
	for int64(len(out)) < size {
		n, err := io.ReadFull(r, buf[:min(int64(len(buf)), size-int64(len(out)))])
		start := len(out)
		out = slices.Grow(out, n)[:start+n]
		for k, b := range buf[:n] {
			out[start+k] = lut[b]
		}
		if err != nil {
			return nil, nil, src.readError(err, fmt.Sprintf("truncated: IDX dimensions %s say %d bytes of data but the file has %d", dimString(dims), size, len(out)))
		}
	}
	if n, err := io.ReadFull(r, buf[:1]); n > 0 {
		extra, _ := io.Copy(io.Discard, r)
		return nil, nil, fmt.Errorf("%d bytes after the %d bytes of data that IDX dimensions %s say", extra+1, size, dimString(dims))
	} else if err != io.EOF {
		return nil, nil, src.readError(err, "")
	}
	return out, dims, nil
}

// readError describes an error from reading IDX data: an early end of the
// data is reported as truncated (with the message short), a gzip error (such
// as a checksum mismatch) as corrupt.
func (src *source) readError(err error, short string) error {
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
