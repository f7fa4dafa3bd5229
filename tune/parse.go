package tune

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// SpaceError reports malformed search-space text: what is wrong, where
// (the 1-based column of the offending token), and the valid form.
type SpaceError struct {
	Input  string
	Column int    // 1-based, in runes
	Token  string // the offending text
	Msg    string
	Want   string // the valid form
}

// Error returns the message with the input and a caret under the column:
//
//	tune: space: column 4: log takes 2 bounds, got 1 in "log(1e-4)": want name=log(low,high) with 0 < low < high
//		lr=log(1e-4)
//		   ^
func (e *SpaceError) Error() string {
	caret := strings.Repeat(" ", max(0, e.Column-1)) + "^"
	msg := e.Msg
	if e.Want != "" {
		msg += ": want " + e.Want
	}
	return fmt.Sprintf("tune: space: column %d: %s\n\t%s\n\t%s", e.Column, msg, e.Input, caret)
}

// The valid forms, for error messages.
const (
	wantItem    = "name=log(low,high), name=uniform(low,high), name=int(low,high), name=choice(v1,v2,…) or name=value"
	wantLog     = "name=log(low,high) with 0 < low < high"
	wantUniform = "name=uniform(low,high) with low < high"
	wantInt     = "name=int(low,high) with integers low ≤ high"
	wantChoice  = "name=choice(v1,v2,…) with distinct numbers or words"
	wantName    = "a name of letters, digits, '_' and '.', starting with a letter or '_'"
	wantValue   = "a number or a word of letters, digits, '_', '.' and '-'"
)

// ParseSpace reads a search space from one line of text: dimensions
// separated by spaces, each name=distribution:
//
//	lr=log(1e-4,1e-1)      log-uniform on [1e-4, 1e-1]
//	beta1=uniform(0.8,0.99) uniform on [0.8, 0.99]
//	layers=int(1,4)        an integer from 1 to 4, both included
//	batch=choice(64,128)   one of the values: numbers or bare words
//	momentum=0.9           a fixed value (a number or a word)
//
// Spaces are allowed inside the parentheses. Malformed text is a
// *SpaceError that names the problem, its column and the valid form.
func ParseSpace(text string) (Space, error) {
	p := &parser{in: []rune(text), text: text}
	var s Space
	seen := map[string]int{}
	for {
		p.skipSpace()
		if p.done() {
			break
		}
		d, err := p.dim()
		if err != nil {
			return Space{}, err
		}
		if col, dup := seen[d.Name]; dup {
			return Space{}, p.errAt(p.dimStart, d.Name, fmt.Sprintf("%q is defined twice (first at column %d)", d.Name, col), "")
		}
		seen[d.Name] = p.dimStart + 1
		s.Dims = append(s.Dims, d)
	}
	if len(s.Dims) == 0 {
		return Space{}, &SpaceError{Input: text, Column: 1, Msg: "the space is empty", Want: wantItem}
	}
	return s, nil
}

type parser struct {
	in       []rune
	text     string
	pos      int
	dimStart int
}

func (p *parser) done() bool { return p.pos >= len(p.in) }

func (p *parser) skipSpace() {
	for !p.done() && (p.in[p.pos] == ' ' || p.in[p.pos] == '\t') {
		p.pos++
	}
}

func (p *parser) errAt(pos int, tok, msg, want string) *SpaceError {
	return &SpaceError{Input: p.text, Column: pos + 1, Token: tok, Msg: msg, Want: want}
}

// word reads a run of runes allowed by ok.
func (p *parser) word(ok func(r rune, first bool) bool) string {
	start := p.pos
	for !p.done() && ok(p.in[p.pos], p.pos == start) {
		p.pos++
	}
	return string(p.in[start:p.pos])
}

func isNameRune(r rune, first bool) bool {
	return r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || !first && (r == '.' || r >= '0' && r <= '9')
}

func isValueRune(r rune, _ bool) bool {
	return isNameRune(r, false) || r == '-' || r == '+'
}

// dim reads name=distribution.
func (p *parser) dim() (Dim, error) {
	p.dimStart = p.pos
	name := p.word(isNameRune)
	if name == "" {
		tok := p.token()
		return Dim{}, p.errAt(p.dimStart, tok, fmt.Sprintf("%q is not a name", tok), wantName)
	}
	if p.done() || p.in[p.pos] != '=' {
		return Dim{}, p.errAt(p.pos, p.token(), fmt.Sprintf("expected '=' after %q", name), wantItem)
	}
	p.pos++
	valStart := p.pos
	val := p.word(isValueRune)
	if !p.done() && p.in[p.pos] == '(' {
		return p.distribution(name, val, valStart)
	}
	if val == "" {
		return Dim{}, p.errAt(valStart, p.token(), fmt.Sprintf("%q has no value", name), wantItem)
	}
	if !p.done() && p.in[p.pos] != ' ' && p.in[p.pos] != '\t' {
		return Dim{}, p.errAt(p.pos, p.token(), fmt.Sprintf("unexpected %q after %s=%s", string(p.in[p.pos]), name, val), wantItem)
	}
	v, err := p.value(val, valStart)
	if err != nil {
		return Dim{}, err
	}
	return Dim{Name: name, Kind: Fixed, Values: []Value{v}}, nil
}

// token returns the text from the current position to the next space, for
// error messages.
func (p *parser) token() string {
	end := p.pos
	for end < len(p.in) && p.in[end] != ' ' && p.in[end] != '\t' {
		end++
	}
	if end == p.pos {
		return "end of input"
	}
	return string(p.in[p.pos:end])
}

// value reads a number or a word.
func (p *parser) value(s string, pos int) (Value, error) {
	if s == "" {
		return Value{}, p.errAt(pos, "", "missing value", wantValue)
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return Value{}, p.errAt(pos, s, fmt.Sprintf("%s is not a finite number", s), wantValue)
		}
		return Num(f), nil
	}
	if !isNameRune([]rune(s)[0], true) {
		return Value{}, p.errAt(pos, s, fmt.Sprintf("%q is neither a number nor a word", s), wantValue)
	}
	return Word(s), nil
}

type arg struct {
	text string
	pos  int
}

// distribution reads fn(args) after name=.
func (p *parser) distribution(name, fn string, fnPos int) (Dim, error) {
	kinds := map[string]struct {
		kind Kind
		want string
	}{"log": {Log, wantLog}, "uniform": {Uniform, wantUniform}, "int": {Int, wantInt}, "choice": {Choice, wantChoice}}
	k, ok := kinds[fn]
	if !ok {
		return Dim{}, p.errAt(fnPos, fn+"(", fmt.Sprintf("unknown distribution %q", fn), "log, uniform, int or choice: "+wantItem)
	}
	open := p.pos
	p.pos++ // '('
	var args []arg
	for {
		p.skipSpace()
		start := p.pos
		for !p.done() && !strings.ContainsRune(",() \t", p.in[p.pos]) {
			p.pos++
		}
		a := arg{string(p.in[start:p.pos]), start}
		p.skipSpace()
		if p.done() {
			return Dim{}, p.errAt(open, fn+"(", fmt.Sprintf("%s( is never closed", fn), k.want)
		}
		switch p.in[p.pos] {
		case ',':
			if a.text == "" {
				return Dim{}, p.errAt(p.pos, ",", fmt.Sprintf("empty argument to %s", fn), k.want)
			}
			args = append(args, a)
			p.pos++
			continue
		case ')':
			if a.text != "" {
				args = append(args, a)
			} else if len(args) > 0 {
				return Dim{}, p.errAt(p.pos, ")", fmt.Sprintf("empty argument to %s", fn), k.want)
			}
			p.pos++
		default:
			return Dim{}, p.errAt(p.pos, string(p.in[p.pos]), fmt.Sprintf("unexpected %q in %s(…)", string(p.in[p.pos]), fn), k.want)
		}
		break
	}
	if !p.done() && p.in[p.pos] != ' ' && p.in[p.pos] != '\t' {
		return Dim{}, p.errAt(p.pos, p.token(), fmt.Sprintf("unexpected %q after %s(…)", p.token(), fn), wantItem)
	}
	call := string(p.in[fnPos:p.pos])
	d := Dim{Name: name, Kind: k.kind}
	if k.kind == Choice {
		if len(args) == 0 {
			return Dim{}, p.errAt(fnPos, call, "choice() has no values", k.want)
		}
		for _, a := range args {
			v, err := p.value(a.text, a.pos)
			if err != nil {
				err.(*SpaceError).Want = k.want
				return Dim{}, err
			}
			if slices.Contains(d.Values, v) {
				return Dim{}, p.errAt(a.pos, a.text, fmt.Sprintf("%s appears twice in %s", a.text, call), k.want)
			}
			d.Values = append(d.Values, v)
		}
		return d, nil
	}
	if len(args) != 2 {
		return Dim{}, p.errAt(fnPos, call, fmt.Sprintf("%s takes 2 bounds, got %d in %q", fn, len(args), call), k.want)
	}
	var bounds [2]float64
	for i, a := range args {
		f, err := strconv.ParseFloat(a.text, 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return Dim{}, p.errAt(a.pos, a.text, fmt.Sprintf("bound %q of %s is not a finite number", a.text, fn), k.want)
		}
		if k.kind == Int && f != math.Trunc(f) {
			return Dim{}, p.errAt(a.pos, a.text, fmt.Sprintf("bound %s of int is not an integer", a.text), k.want)
		}
		if k.kind == Log && f <= 0 {
			return Dim{}, p.errAt(a.pos, a.text, fmt.Sprintf("bound %s of log is not positive", a.text), k.want)
		}
		bounds[i] = f
	}
	d.Lo, d.Hi = bounds[0], bounds[1]
	if d.Lo > d.Hi || d.Lo == d.Hi && k.kind != Int {
		return Dim{}, p.errAt(args[0].pos, call, fmt.Sprintf("the bounds of %q are out of order", call), k.want)
	}
	if k.kind == Int && d.Hi-d.Lo >= 1<<31 {
		return Dim{}, p.errAt(args[0].pos, call, fmt.Sprintf("%q spans too many integers", call), k.want)
	}
	return d, nil
}
