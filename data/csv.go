package data

import (
	"cmp"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
)

// LoadCSV reads a CSV file (plain or gzipped, told from its first bytes) of
// numeric features and one label column into a Set of shape [features], as
// [ReadCSV] does, within the default limits ([DefaultMaxCSVBytes],
// [DefaultMaxCSVLineBytes]; [Load] takes others in its Options). Errors name
// the file.
func LoadCSV(path, label string) (*Set, error) {
	return loadCSV(path, label, csvLimits{})
}

// loadCSV is LoadCSV within limits.
func loadCSV(path, label string, lim csvLimits) (*Set, error) {
	src, err := openMaybeGzip(path)
	if err != nil {
		return nil, err
	}
	defer src.Close()
	return readCSVLimited(src, path, label, lim)
}

// ReadCSV reads CSV data of numeric features and one label column into a Set
// of shape [features].
//
// The first row is a header, whose cells name the features, if any of its
// cells other than the label's is not a number, or if label is a name.
// label chooses the label column: a name from the header, or an index
// counted from 0; empty means the last column. Every other column is a
// feature and must hold a finite number in every row.
//
// Labels may be any strings, integers or not: each distinct value is a class,
// and classes are numbered in sorted order of their values (numeric order if
// every value is a number, else byte order), which ClassNames keeps. More
// than [MaxCSVClasses] distinct labels is an error naming the column.
//
// A row with the wrong number of cells, a cell that is not a finite number,
// or an empty label is an error naming its line and column (counted from 1).
// So is data beyond [DefaultMaxCSVBytes] or a line longer than
// [DefaultMaxCSVLineBytes]: such errors wrap [ErrCSVTooLarge].
func ReadCSV(r io.Reader, label string) (*Set, error) {
	return readCSV(r, "", label)
}

// The default limits on CSV data, which Options.MaxCSVBytes and
// Options.MaxCSVLineBytes change. Loading a CSV file keeps up to about ten
// times its size in memory (a cell of two bytes, "0,", becomes a 4-byte
// float32 in a slice grown as rows arrive; each row's label an 8-byte int;
// each distinct label a map entry). Reading one line allocates up to about
// 80 times its length, briefly: encoding/csv keeps an index, a position and
// a string per field, each slice grown as the line is read. So these bound
// what a wrong path (csv:/dev/zero) or a runaway file can take before it is
// refused (about 10 GiB, and 320 MiB for a line), well above the tabular
// datasets descent trains on.
const (
	// DefaultMaxCSVBytes is 1 GiB, nine times the CSV form of MNIST's
	// training set.
	DefaultMaxCSVBytes = 1 << 30
	// DefaultMaxCSVLineBytes is 4 MiB: 250,000 features of up to 15
	// characters each.
	DefaultMaxCSVLineBytes = 4 << 20
)

// ErrCSVTooLarge is wrapped by the error for CSV data beyond a limit of
// size or line length.
var ErrCSVTooLarge = errors.New("beyond the limit for CSV data")

// A LimitError is the error for data beyond a limit that an option sets:
// it wraps [ErrCSVTooLarge] or [ErrTextTooLarge] and names the option, so
// that a program can say how to raise the limit.
type LimitError struct {
	// Field is the option that sets the limit: "MaxCSVBytes" or
	// "MaxCSVLineBytes" (of Options), or "TextOptions.MaxBytes".
	Field string
	Limit int64 // the limit, in bytes
	Err   error // ErrCSVTooLarge or ErrTextTooLarge
	msg   string
}

func (e *LimitError) Error() string { return e.msg }
func (e *LimitError) Unwrap() error { return e.Err }

// csvLimits bounds CSV data: the total bytes and the bytes of one line
// (decompressed). Zero means the default, negative no limit.
type csvLimits struct {
	bytes, line int64
}

// resolve returns the limits with zero made the default and negative no
// limit.
func (l csvLimits) resolve() csvLimits {
	pick := func(v, def int64) int64 {
		switch {
		case v == 0:
			return def
		case v < 0:
			return math.MaxInt64
		}
		return v
	}
	return csvLimits{pick(l.bytes, DefaultMaxCSVBytes), pick(l.line, DefaultMaxCSVLineBytes)}
}

// limitedReader reads from r, returning an error wrapping ErrCSVTooLarge
// once more than lim.bytes have been read, or more than lim.line since the
// last newline.
type limitedReader struct {
	r         io.Reader
	lim       csvLimits
	n         int64 // bytes read
	lineStart int64 // offset of the first byte after the last newline
	lines     int   // newlines read
	err       error // the sticky limit error
}

func (l *limitedReader) Read(p []byte) (int, error) {
	if l.err != nil {
		return 0, l.err
	}
	// Read at most one byte beyond each limit, so that a file exactly at
	// the limit is accepted.
	if room := l.lim.bytes - l.n; room < int64(len(p)) {
		p = p[:room+1]
	}
	n, err := l.r.Read(p)
	for _, b := range p[:n] {
		l.n++
		if b == '\n' {
			l.lines++
			l.lineStart = l.n
		} else if l.n-l.lineStart > l.lim.line {
			l.err = &LimitError{Field: "MaxCSVLineBytes", Limit: l.lim.line, Err: ErrCSVTooLarge,
				msg: fmt.Sprintf("line %d: longer than %d bytes (at byte offset %d): %v", l.lines+1, l.lim.line, l.n-1, ErrCSVTooLarge)}
			return 0, l.err
		}
		if l.n > l.lim.bytes {
			l.err = &LimitError{Field: "MaxCSVBytes", Limit: l.lim.bytes, Err: ErrCSVTooLarge,
				msg: fmt.Sprintf("more than %d bytes of data (at byte offset %d, line %d): %v", l.lim.bytes, l.n-1, l.lines+1, ErrCSVTooLarge)}
			return 0, l.err
		}
	}
	return n, err
}

// readCSV is ReadCSV with errors prefixed by name.
func readCSV(r io.Reader, name, label string) (*Set, error) {
	return readCSVLimited(r, name, label, csvLimits{})
}

// readCSVLimited is readCSV within lim.
func readCSVLimited(r io.Reader, name, label string, lim csvLimits) (*Set, error) {
	prefix := "data: "
	if name != "" {
		prefix += name + ": "
	}
	fail := func(format string, a ...any) (*Set, error) {
		return nil, fmt.Errorf(prefix+format, a...)
	}
	cr := csv.NewReader(&limitedReader{r: r, lim: lim.resolve()})
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	cr.ReuseRecord = true

	first, err := cr.Read()
	if err == io.EOF {
		return fail("no rows")
	}
	if err != nil {
		return fail("%w", csvError(err))
	}
	first = slices.Clone(first) // the next Read reuses the record
	ncols := len(first)
	if ncols < 2 {
		return fail("line 1: %d column; want at least 2 (features and a label)", ncols)
	}
	col, header := ncols-1, false
	if label != "" {
		if i, err := strconv.Atoi(label); err == nil {
			if i < 0 || i >= ncols {
				return fail("label column %d out of range: the file has %d columns, 0 to %d", i, ncols, ncols-1)
			}
			col = i
		} else {
			header = true
			if col = slices.IndexFunc(first, func(c string) bool { return strings.TrimSpace(c) == label }); col < 0 {
				return fail("no column named %q in the header: %s", label, strings.Join(first, ", "))
			}
		}
	}
	if !header {
		for j, c := range first {
			if j != col && !isNumber(c) {
				header = true
				break
			}
		}
	}

	var names []string
	if header {
		for j, c := range first {
			if j != col {
				names = append(names, strings.TrimSpace(c))
			}
		}
	}
	var (
		x      []float32
		y      []int
		labels = map[string]int{} // label → order of first appearance
		row    = first
	)
	if header {
		row = nil
	}
	for {
		if row != nil {
			line, _ := cr.FieldPos(0)
			if len(row) != ncols {
				return fail("line %d: %d columns; want %d as on line 1", line, len(row), ncols)
			}
			for j, c := range row {
				if j == col {
					continue
				}
				v, err := parseCell(c)
				if err != nil {
					return fail("line %d, column %d%s: %v", line, j+1, columnName(first, j, header), err)
				}
				x = append(x, v)
			}
			l := strings.TrimSpace(row[col])
			if l == "" {
				return fail("line %d, column %d%s: empty label", line, col+1, columnName(first, col, header))
			}
			k, ok := labels[l]
			if !ok {
				k = len(labels)
				labels[strings.Clone(l)] = k
			}
			y = append(y, k)
		}
		row, err = cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fail("%w", csvError(err))
		}
	}
	if len(y) == 0 {
		return fail("no data rows")
	}
	if len(labels) > MaxCSVClasses {
		return fail("label column %d%s has %d distinct values: more than %d classes, so it looks continuous (descent classifies; --label chooses another column)",
			col, columnName(first, col, header), len(labels), MaxCSVClasses) // counted from 0, as label is
	}

	classNames, remap := sortClasses(labels)
	for i, k := range y {
		y[i] = remap[k]
	}
	s, err := NewSet(x, y, []int{ncols - 1}, len(classNames))
	if err != nil {
		return nil, err
	}
	s.ClassNames, s.FeatureNames = classNames, names
	return s, nil
}

// MaxCSVClasses is the most distinct labels a CSV file's label column may
// hold: each is a class, and a column with more is most likely a
// continuous value, which classification cannot learn.
const MaxCSVClasses = 100

// parseCell parses one feature value.
func parseCell(c string) (float32, error) {
	c = strings.TrimSpace(c)
	v, err := strconv.ParseFloat(c, 32)
	if err != nil {
		if errors.Is(err, strconv.ErrRange) {
			return 0, fmt.Errorf("%q is out of the range of float32", c)
		}
		return 0, fmt.Errorf("%q is not a number", c)
	}
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, fmt.Errorf("%q is not a finite number", c)
	}
	return float32(v), nil
}

// isNumber reports whether c is written as a number, finite or not: a cell
// that is not makes the first row a header.
func isNumber(c string) bool {
	_, err := strconv.ParseFloat(strings.TrimSpace(c), 64)
	return err == nil || errors.Is(err, strconv.ErrRange)
}

// columnName returns ` ("name")` for column j if the file has a header.
func columnName(header []string, j int, ok bool) string {
	if !ok {
		return ""
	}
	return fmt.Sprintf(" (%q)", strings.TrimSpace(header[j]))
}

// csvError rewords encoding/csv's parse errors ("parse error on line 3,
// column 5: bare \" in non-quoted field", where the column counts bytes) so
// that "column" always means a field.
func csvError(err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return fmt.Errorf("line %d: %v (at byte %d)", pe.Line, pe.Err, pe.Column)
	}
	return err
}

// sortClasses orders the distinct labels, given with their order of first
// appearance, and returns them sorted and the map from appearance order to
// sorted position. They are sorted by numeric value if all are numbers, else
// by bytes.
func sortClasses(labels map[string]int) (names []string, remap []int) {
	names = make([]string, 0, len(labels))
	for l := range labels {
		names = append(names, l)
	}
	value := make(map[string]float64, len(labels))
	numeric := true
	for _, l := range names {
		v, err := strconv.ParseFloat(l, 64)
		if err != nil || math.IsNaN(v) {
			numeric = false
			break
		}
		value[l] = v
	}
	slices.SortFunc(names, func(a, b string) int {
		if numeric {
			if c := cmp.Compare(value[a], value[b]); c != 0 {
				return c
			}
		}
		return strings.Compare(a, b)
	})
	remap = make([]int, len(names))
	for i, l := range names {
		remap[labels[l]] = i
	}
	return names, remap
}
