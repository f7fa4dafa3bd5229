package data

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"unicode/utf8"
)

// A Vocab maps text to token ids and back. A character-level Vocab has one
// token per distinct character (Unicode code point) of the text it was
// built from, numbered in code-point order; a byte-level one has the 256
// byte values, so it reads any file and never meets an unknown token.
//
// Save a Vocab with the model that was trained on it ([Vocab.WriteTo],
// [ReadVocab], or encoding/json): sampling and evaluation must map text to
// the same ids.
type Vocab struct {
	bytes bool
	chars []rune       // char-level: the characters, by id
	index map[rune]int // char-level: id of each character
}

// A Vocab is saved as JSON, with the model it belongs to.
var (
	_ json.Marshaler   = (*Vocab)(nil)
	_ json.Unmarshaler = (*Vocab)(nil)
	_ io.WriterTo      = (*Vocab)(nil)
)

// maxVocabBytes bounds what ReadVocab reads: a vocabulary of every Unicode
// character, each escaped as JSON's longest form (a \uXXXX surrogate pair,
// 12 bytes for 4 of UTF-8), takes 13 MB.
const maxVocabBytes = 16 << 20

// CharVocab returns the character-level Vocab of text: its distinct
// characters in code-point order. text must be valid UTF-8.
func CharVocab(text string) (*Vocab, error) {
	if i := invalidUTF8(text); i >= 0 {
		return nil, fmt.Errorf("data: text is not UTF-8: invalid byte %#02x at offset %d", text[i], i)
	}
	seen := make(map[rune]bool)
	for _, r := range text {
		seen[r] = true
	}
	chars := make([]rune, 0, len(seen))
	for r := range seen {
		chars = append(chars, r)
	}
	slices.Sort(chars)
	return vocabOf(chars), nil
}

// ByteVocab returns the byte-level Vocab: token b is byte b.
func ByteVocab() *Vocab { return &Vocab{bytes: true} }

func vocabOf(chars []rune) *Vocab {
	v := &Vocab{chars: chars, index: make(map[rune]int, len(chars))}
	for i, r := range chars {
		v.index[r] = i
	}
	return v
}

// invalidUTF8 returns the offset of the first byte of s that is not valid
// UTF-8, or −1.
func invalidUTF8(s string) int {
	for i, r := range s {
		if r == utf8.RuneError {
			if _, n := utf8.DecodeRuneInString(s[i:]); n == 1 {
				return i
			}
		}
	}
	return -1
}

// Len returns the number of tokens.
func (v *Vocab) Len() int {
	if v.bytes {
		return 256
	}
	return len(v.chars)
}

// Bytes reports whether v is byte-level.
func (v *Vocab) Bytes() bool { return v.bytes }

// Encode appends the token ids of text to dst and returns it. A character
// the Vocab does not hold (or, character-level, text that is not UTF-8) is
// an error naming it and its byte offset.
func (v *Vocab) Encode(dst []int, text string) ([]int, error) {
	if v.bytes {
		for i := 0; i < len(text); i++ {
			dst = append(dst, int(text[i]))
		}
		return dst, nil
	}
	for i, r := range text {
		id, ok := v.index[r]
		if !ok {
			if _, n := utf8.DecodeRuneInString(text[i:]); r == utf8.RuneError && n == 1 {
				return dst, fmt.Errorf("data: text is not UTF-8: invalid byte %#02x at offset %d", text[i], i)
			}
			return dst, fmt.Errorf("data: character %q at byte offset %d is not in the vocabulary of %d characters", r, i, len(v.chars))
		}
		dst = append(dst, id)
	}
	return dst, nil
}

// Decode returns the text of ids. An id out of range is an error naming it.
func (v *Vocab) Decode(ids []int) (string, error) {
	var b strings.Builder
	for i, id := range ids {
		if id < 0 || id >= v.Len() {
			return b.String(), fmt.Errorf("data: token %d at position %d is out of the vocabulary [0, %d)", id, i, v.Len())
		}
		if v.bytes {
			b.WriteByte(byte(id))
		} else {
			b.WriteRune(v.chars[id])
		}
	}
	return b.String(), nil
}

// vocabJSON is a Vocab's file format: {"kind": "char", "chars": "…"} (the
// characters by id, as one string) or {"kind": "byte"}.
type vocabJSON struct {
	Kind  string `json:"kind"`
	Chars string `json:"chars,omitempty"`
}

// MarshalJSON encodes v as {"kind": "char", "chars": "<the characters by
// id>"} or {"kind": "byte"}.
func (v *Vocab) MarshalJSON() ([]byte, error) {
	if v.bytes {
		return json.Marshal(vocabJSON{Kind: "byte"})
	}
	return json.Marshal(vocabJSON{Kind: "char", Chars: string(v.chars)})
}

// UnmarshalJSON decodes what MarshalJSON encodes. A repeated character, an
// empty character set or an unknown kind is an error.
func (v *Vocab) UnmarshalJSON(b []byte) error {
	var j vocabJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return fmt.Errorf("data: vocabulary: %w", err)
	}
	switch j.Kind {
	case "byte":
		*v = Vocab{bytes: true}
		return nil
	case "char":
		chars := []rune(j.Chars)
		if len(chars) == 0 {
			return errors.New("data: vocabulary: no characters")
		}
		nv := vocabOf(chars)
		if len(nv.index) != len(chars) {
			return errors.New("data: vocabulary: a character appears twice")
		}
		*v = *nv
		return nil
	}
	return fmt.Errorf("data: vocabulary of kind %q: want \"char\" or \"byte\"", j.Kind)
}

// WriteTo writes v as JSON (see MarshalJSON), for a file saved beside a
// model.
func (v *Vocab) WriteTo(w io.Writer) (int64, error) {
	b, err := v.MarshalJSON()
	if err != nil {
		return 0, err
	}
	n, err := w.Write(append(b, '\n'))
	return int64(n), err
}

// ReadVocab reads a Vocab that WriteTo wrote. It reads at most 16 MiB, more
// than a vocabulary of every Unicode character takes: a longer input (a
// wrong file) is an error, not a read without end.
func ReadVocab(r io.Reader) (*Vocab, error) {
	b, err := io.ReadAll(io.LimitReader(r, maxVocabBytes+1))
	if err != nil {
		return nil, fmt.Errorf("data: vocabulary: %w", err)
	}
	if len(b) > maxVocabBytes {
		return nil, fmt.Errorf("data: vocabulary: more than %d bytes: not a vocabulary file", maxVocabBytes)
	}
	v := new(Vocab)
	if err := v.UnmarshalJSON(b); err != nil {
		return nil, err
	}
	return v, nil
}
