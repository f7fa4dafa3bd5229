package data

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestVocabRoundTrip(t *testing.T) {
	text := "héllo, wörld\n"
	v, err := CharVocab(text)
	if err != nil {
		t.Fatal(err)
	}
	if v.Len() != 11 {
		t.Errorf("CharVocab(%q).Len() = %d; want 11", text, v.Len())
	}
	ids, err := v.Encode(nil, text)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := v.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	w, err := ReadVocab(&buf)
	if err != nil {
		t.Fatal(err)
	}
	got, err := w.Decode(ids)
	if err != nil || got != text {
		t.Errorf("Decode(Encode(%q)) after a save and load = %q, %v", text, got, err)
	}
	if _, err := w.Encode(nil, "hi"); err == nil || !strings.Contains(err.Error(), `'i'`) {
		t.Errorf("Encode of an unknown character: error %v; want one naming 'i'", err)
	}
	if _, err := w.Decode([]int{11}); err == nil {
		t.Errorf("Decode of token 11 of 11: no error")
	}
	b, _ := json.Marshal(ByteVocab())
	var bv Vocab
	if err := json.Unmarshal(b, &bv); err != nil || !bv.Bytes() || bv.Len() != 256 {
		t.Errorf("byte vocabulary after JSON: %s, bytes %v, len %d, %v", b, bv.Bytes(), bv.Len(), err)
	}
}

func TestNewTextErrors(t *testing.T) {
	for _, c := range []struct {
		name, src, want string
	}{
		{"empty", "", "empty"},
		{"binary", "ab\x00cd", "binary"},
		{"not utf-8", "ab\xffcd", "not UTF-8"},
	} {
		if _, err := NewText(c.src, DefaultTextOptions()); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("NewText(%s) error %v; want one saying %q", c.name, err, c.want)
		}
	}
	opts := DefaultTextOptions()
	opts.Bytes = true
	if _, err := NewText("ab\xff\x00", opts); err != nil {
		t.Errorf("NewText of binary bytes, byte-level: %v", err)
	}
	if _, err := NewWindows([]int{1, 2, 3}, 3, 0); err == nil {
		t.Errorf("NewWindows of 3 tokens, ctx 3: no error")
	}
}

func TestTextSplitsByPosition(t *testing.T) {
	src := strings.Repeat("abcdefghij", 10)
	tx, err := NewText(src, DefaultTextOptions())
	if err != nil {
		t.Fatal(err)
	}
	if len(tx.Train) != 80 || len(tx.Val) != 10 || len(tx.Test) != 10 {
		t.Fatalf("splits of 100 tokens: %d, %d, %d; want 80, 10, 10", len(tx.Train), len(tx.Val), len(tx.Test))
	}
	all := slices.Concat(tx.Train, tx.Val, tx.Test)
	if got, _ := tx.Vocab.Decode(all); got != src {
		t.Errorf("the splits in order decode to %q; want the text", got)
	}
}

// TestWindowsResume checks that seeking to a saved position draws what an
// uninterrupted run draws, and that targets are the next tokens.
func TestWindowsResume(t *testing.T) {
	tokens := make([]int, 500)
	for i := range tokens {
		tokens[i] = i
	}
	const ctx, batch = 8, 4
	a, _ := NewWindows(tokens, ctx, 42)
	x, y := make([]int, batch*ctx), make([]int, batch*ctx)
	var want [][]int
	for range 5 {
		a.Next(x, y)
		want = append(want, slices.Clone(x))
		for i := range x {
			if y[i] != x[i]+1 {
				t.Fatalf("target %d of %d; want the next token", y[i], x[i])
			}
		}
	}
	b, _ := NewWindows(tokens, ctx, 42)
	b.Seek(3 * batch)
	for k := 3; k < 5; k++ {
		b.Next(x, y)
		if !slices.Equal(x, want[k]) {
			t.Errorf("batch %d after Seek(%d) = %v; want %v", k, 3*batch, x, want[k])
		}
	}
	if b.Position() != 5*batch {
		t.Errorf("Position() = %d; want %d", b.Position(), 5*batch)
	}
	c, _ := NewWindows(tokens, ctx, 43)
	c.Next(x, y)
	if slices.Equal(x, want[0]) {
		t.Errorf("seeds 42 and 43 draw the same first batch")
	}
	if n := a.Chunks(); n != 499/ctx {
		t.Errorf("Chunks() = %d; want %d", n, 499/ctx)
	}
	a.Chunk(2, x, y)
	if x[0] != 16 || y[ctx-1] != 24 {
		t.Errorf("Chunk(2) = %v → %v; want 16… → …24", x[:ctx], y[:ctx])
	}
}

func TestDefaultCorpus(t *testing.T) {
	tx, err := LoadText("text", DefaultTextOptions())
	if err != nil {
		t.Fatal(err)
	}
	if n := len(tx.Train) + len(tx.Val) + len(tx.Test); n < 500000 {
		t.Errorf("default corpus of %d characters; want the whole of Opticks", n)
	}
	if s := DefaultCorpus(); !strings.Contains(s, "OPTICKS") {
		t.Errorf("default corpus does not hold its title")
	}
}

// TestKJV extracts the King James Bible from Debian's bible-kjv. Without
// it the test skips, unless DESCENT_KJV_TESTS is set (as CI sets it, having
// installed the package): then a failed install fails it.
func TestKJV(t *testing.T) {
	if _, err := exec.LookPath("bible"); err != nil {
		if os.Getenv("DESCENT_KJV_TESTS") != "" {
			t.Fatal("DESCENT_KJV_TESTS is set but the bible command of Debian's bible-kjv was not found")
		}
		t.Skip("Debian's bible-kjv is not installed")
	}
	dir := t.TempDir()
	text, err := KJV(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(text, "In the beginning God created the heaven and the earth.\n") {
		t.Errorf("KJV starts %.60q", text)
	}
	if !strings.HasSuffix(text, "The grace of our Lord Jesus Christ be with you all. Amen.\n") {
		t.Errorf("KJV ends %q", text[len(text)-60:])
	}
	again, err := KJV(dir) // from the cache
	if err != nil || again != text {
		t.Errorf("KJV from the cache in %s differs (%v)", filepath.Join(dir, "kjv.txt"), err)
	}
	opts := DefaultTextOptions()
	opts.Dir = dir
	if _, err := LoadText("kjv", opts); err != nil {
		t.Error(err)
	}
}
