package data

import (
	"bytes"
	"compress/gzip"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"
)

// streamText separates the window draws of a text from the other streams.
const streamText uint64 = 0x7f4a7c159e3779b9

// TextOptions configures [LoadText] and [NewText]. Use [DefaultTextOptions]
// and change what differs.
type TextOptions struct {
	// Bytes makes the vocabulary byte-level (256 tokens, any file) instead
	// of one token per character of the text.
	Bytes bool

	// Vocab, if not nil, is the vocabulary to encode with: give it the one
	// saved with a model to evaluate or sample that model on text encoded
	// the same way. A character it does not hold is an error. Nil means a
	// new vocabulary of the whole text (all three splits, so that the
	// validation and test text hold no unknown character).
	Vocab *Vocab

	// ValFraction and TestFraction are the parts of the text, by position,
	// held out for validation and testing: the text is cut into train
	// (first), validation, test (last). Each in [0, 1), together below 1;
	// zero means no such split. DefaultTextOptions sets 0.1 and 0.1.
	ValFraction, TestFraction float64

	// MaxBytes bounds the size of a file read by LoadText ("text:PATH"):
	// reading stops with an error wrapping [ErrTextTooLarge] at the first
	// byte beyond it, so that a wrong path (text:/dev/zero) or a runaway
	// file is refused before it exhausts memory. Zero means
	// [DefaultMaxTextBytes] (128 MiB); a negative value means no limit.
	MaxBytes int64

	// Dir is where the extracted King James Bible is cached (as kjv.txt),
	// for the spec "kjv". Empty means $DESCENT_DATA, or else the user's
	// cache directory (os.UserCacheDir()/descent).
	Dir string
}

// DefaultTextOptions returns a character-level vocabulary of the text and
// 10% of it for validation, 10% for testing.
func DefaultTextOptions() TextOptions {
	return TextOptions{ValFraction: 0.1, TestFraction: 0.1}
}

// DefaultMaxTextBytes is the default of TextOptions.MaxBytes, 128 MiB:
// enwik8 (100 MB) fits. A loaded text keeps about nine times its size in
// memory (the text and an 8-byte id per byte of it), so this bounds what a
// wrong path can take to about 1.2 GiB.
const DefaultMaxTextBytes = 128 << 20

// ErrTextTooLarge is wrapped by the error for a text file beyond
// TextOptions.MaxBytes.
var ErrTextTooLarge = errors.New("beyond the limit for text")

// Text is a corpus encoded as token ids and split by position into train,
// validation and test parts (consecutive, in that order).
type Text struct {
	Name             string // the spec or file it came from
	Vocab            *Vocab
	Train, Val, Test []int
}

// TextNames lists the specs LoadText accepts besides "text:PATH".
func TextNames() []string { return []string{"text", "kjv"} }

// LoadText reads a corpus for a language model by spec: "text" (the
// embedded default corpus, [DefaultCorpus]), "text:PATH" (any UTF-8 file;
// any file with Bytes) or "kjv" (the King James Bible, [KJV]).
func LoadText(spec string, opts TextOptions) (*Text, error) {
	var src string
	switch {
	case spec == "text":
		src = DefaultCorpus()
	case spec == "kjv":
		s, err := KJV(opts.Dir)
		if err != nil {
			return nil, err
		}
		src = s
	case strings.HasPrefix(spec, "text:"):
		path := strings.TrimPrefix(spec, "text:")
		if path == "" {
			return nil, errors.New("data: text: no file named (want text:PATH)")
		}
		binary := opts.Bytes || opts.Vocab != nil && opts.Vocab.Bytes()
		b, err := readText(path, opts.MaxBytes, !binary)
		if err != nil {
			return nil, err
		}
		src = string(b)
	default:
		return nil, fmt.Errorf("data: unknown text dataset %q (want text, text:PATH or kjv)", spec)
	}
	t, err := NewText(src, opts)
	if err != nil {
		return nil, fmt.Errorf("%w (%s)", err, spec)
	}
	t.Name = spec
	return t, nil
}

// readText reads the file at path, at most max bytes of it (zero means
// DefaultMaxTextBytes, negative no limit). With utf8Only it checks the text
// as it reads, so that a binary file is refused at its first NUL byte or
// invalid UTF-8 sequence, not after it has been read whole. Errors wrap
// ErrTextTooLarge for a file beyond the limit and are prefixed "data: PATH: "
// (or "data: text: " for a file that cannot be opened).
func readText(path string, max int64, utf8Only bool) ([]byte, error) {
	switch {
	case max == 0:
		max = DefaultMaxTextBytes
	case max < 0:
		max = math.MaxInt64
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("data: text: %w", err)
	}
	defer f.Close()
	tooLarge := func() error {
		return &LimitError{Field: "TextOptions.MaxBytes", Limit: max, Err: ErrTextTooLarge,
			msg: fmt.Sprintf("data: %s: more than %d bytes of text", path, max)}
	}
	size := int64(512)
	if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() {
		if fi.Size() > max {
			return nil, tooLarge() // known before reading
		}
		size = fi.Size() + 1 // the read that sees the end
	}
	buf := make([]byte, 0, min(size, max+1, 1<<30))
	checked := 0 // the bytes checked to be UTF-8 without NUL
	for {
		if len(buf) == cap(buf) {
			buf = slices.Grow(buf, min(cap(buf), 64<<20))
		}
		end := int64(cap(buf))
		if room := max + 1 - int64(len(buf)); end-int64(len(buf)) > room {
			end = int64(len(buf)) + room // at most one byte beyond the limit
		}
		n, err := f.Read(buf[len(buf):end])
		buf = buf[:len(buf)+n]
		if int64(len(buf)) > max {
			return nil, tooLarge() // a file that grew, or not a regular one
		}
		if utf8Only {
			var bad error
			if checked, bad = checkText(buf, checked, err == io.EOF); bad != nil {
				return nil, fmt.Errorf("data: %s: %w", path, bad)
			}
		}
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return nil, fmt.Errorf("data: %s: %w", path, err)
		}
	}
}

// checkText checks b[from:] for NUL bytes and invalid UTF-8 and returns the
// offset up to which b is checked: a character cut by the end of b is left
// for the next call, unless eof.
func checkText(b []byte, from int, eof bool) (int, error) {
	for from < len(b) {
		if !eof && !utf8.FullRune(b[from:]) {
			break
		}
		r, n := utf8.DecodeRune(b[from:])
		switch {
		case r == 0:
			return from, fmt.Errorf("text looks binary: a NUL byte at offset %d (use the byte-level vocabulary for binary files)", from)
		case r == utf8.RuneError && n == 1:
			return from, fmt.Errorf("text is not UTF-8: invalid byte %#02x at offset %d", b[from], from)
		}
		from += n
	}
	return from, nil
}

// NewText encodes src and splits it as opts say. An empty text, a binary
// one (not UTF-8, or holding NUL bytes, unless Bytes), or fractions out of
// range are errors naming the problem.
func NewText(src string, opts TextOptions) (*Text, error) {
	v, f := opts.ValFraction, opts.TestFraction
	if !(v >= 0 && v < 1 && f >= 0 && f < 1 && v+f < 1) {
		return nil, fmt.Errorf("data: text: validation fraction %v and test fraction %v: want each in [0, 1) and their sum below 1", v, f)
	}
	if len(src) == 0 {
		return nil, errors.New("data: text is empty")
	}
	vocab := opts.Vocab
	switch {
	case vocab != nil:
	case opts.Bytes:
		vocab = ByteVocab()
	default:
		if i := strings.IndexByte(src, 0); i >= 0 {
			return nil, fmt.Errorf("data: text looks binary: a NUL byte at offset %d (use the byte-level vocabulary for binary files)", i)
		}
		var err error
		if vocab, err = CharVocab(src); err != nil {
			return nil, err
		}
	}
	ids, err := vocab.Encode(make([]int, 0, len(src)), src)
	if err != nil {
		return nil, err
	}
	n := len(ids)
	nTest, nVal := int(f*float64(n)), int(v*float64(n))
	nTrain := n - nVal - nTest
	return &Text{Vocab: vocab, Train: ids[:nTrain:nTrain], Val: ids[nTrain : nTrain+nVal : nTrain+nVal], Test: ids[nTrain+nVal:]}, nil
}

// Windows draws training batches from a token sequence: windows of Ctx
// tokens at random positions, each with the Ctx tokens that follow its
// positions (the next-token targets). The start of the k-th window drawn
// is a pure function of (seed, k), so the whole state is the number of
// windows drawn so far, [Windows.Position]: save it with a checkpoint and
// [Windows.Seek] back to it, and a resumed run draws exactly the windows
// the uninterrupted one would have.
//
// Chunks and Chunk cut the sequence into consecutive windows instead, for
// an evaluation over all of it.
type Windows struct {
	tokens []int
	ctx    int
	seed   uint64
	drawn  uint64
}

// NewWindows returns windows of ctx tokens over tokens, drawn with seed.
// A sequence too short for one window with its targets (ctx + 1 tokens)
// is an error naming both lengths.
func NewWindows(tokens []int, ctx int, seed uint64) (*Windows, error) {
	if ctx <= 0 {
		return nil, fmt.Errorf("data: windows of %d tokens: want a positive context", ctx)
	}
	if len(tokens) < ctx+1 {
		return nil, fmt.Errorf("data: text of %d tokens is shorter than one window of %d tokens and its next token", len(tokens), ctx)
	}
	return &Windows{tokens: tokens, ctx: ctx, seed: seed}, nil
}

// Ctx returns the window length.
func (w *Windows) Ctx() int { return w.ctx }

// Position returns the number of windows drawn so far.
func (w *Windows) Position() uint64 { return w.drawn }

// Seek sets the number of windows drawn so far: the next window drawn is
// the one an uninterrupted run would draw after pos windows.
func (w *Windows) Seek(pos uint64) { w.drawn = pos }

// Next fills x with the next len(x)/Ctx windows, one after another
// (row-major [B, Ctx]), and y with their targets (each position's next
// token). It panics if x and y differ in length or are not a whole number
// of windows.
func (w *Windows) Next(x, y []int) {
	if len(x) != len(y) || len(x)%w.ctx != 0 {
		panic("data: window buffers of the wrong length")
	}
	starts := uint64(len(w.tokens) - w.ctx)
	for o := 0; o < len(x); o += w.ctx {
		r := newRand(w.seed, streamText, w.drawn)
		s := int(bounded(&r, starts))
		copy(x[o:o+w.ctx], w.tokens[s:s+w.ctx])
		copy(y[o:o+w.ctx], w.tokens[s+1:s+1+w.ctx])
		w.drawn++
	}
}

// Chunks returns the number of consecutive windows the sequence holds
// (each with its targets): (len − 1)/Ctx.
func (w *Windows) Chunks() int { return (len(w.tokens) - 1) / w.ctx }

// Chunk fills x and y (Ctx each) with consecutive window k and its
// targets. It panics if k is out of range or the buffers are too short.
func (w *Windows) Chunk(k int, x, y []int) {
	if k < 0 || k >= w.Chunks() {
		panic("data: chunk out of range")
	}
	s := k * w.ctx
	copy(x[:w.ctx], w.tokens[s:s+w.ctx])
	copy(y[:w.ctx], w.tokens[s+1:s+1+w.ctx])
}

// Tokens converts token ids to the values a model's input holds (package
// nn's Embedding reads ids from float values): dst[i] = T(ids[i]).
func Tokens[T float32 | float64](dst []T, ids []int) {
	dst = dst[:len(ids)]
	for i, id := range ids {
		dst[i] = T(id)
	}
}

// opticks is the default corpus, gzipped: see DefaultCorpus.
//
//go:embed opticks.txt.gz
var opticks []byte

var corpus = sync.OnceValue(func() string {
	r, err := gzip.NewReader(bytes.NewReader(opticks))
	if err != nil {
		panic("data: embedded corpus: " + err.Error())
	}
	b, err := io.ReadAll(r)
	if err != nil {
		panic("data: embedded corpus: " + err.Error())
	}
	return string(b)
})

// DefaultCorpus returns the embedded default corpus: Isaac Newton's
// Opticks (fourth edition, 1730), 567 KB of English prose, in the Project
// Gutenberg transcription (produced by Suzanne Lybarger, steve harris,
// Josephine Paolucci and the Online Distributed Proofreading Team) that the
// Go distribution carries as $GOROOT/src/testdata/Isaac.Newton-Opticks.txt
// (SHA-256 d4a9ac22…d507bbd). The work is in the public domain; it is
// embedded gzipped (173 KB) so that a language model trains with no
// download.
func DefaultCorpus() string { return corpus() }
