package tune

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
)

// Value is one hyperparameter's value: a number or a bare word (such as
// an optimizer's name in choice(adam,sgd)).
type Value struct {
	num  float64
	word string // "" for a number
}

// Num returns the value v as a number.
func Num(v float64) Value { return Value{num: v} }

// Word returns the value w as a word.
func Word(w string) Value { return Value{word: w} }

// IsNumber reports whether v is a number rather than a word.
func (v Value) IsNumber() bool { return v.word == "" }

// Float returns v's number (NaN for a word).
func (v Value) Float() float64 {
	if !v.IsNumber() {
		return math.NaN()
	}
	return v.num
}

// Int returns v's number rounded to the nearest integer (0 for a word).
func (v Value) Int() int {
	if !v.IsNumber() {
		return 0
	}
	return int(math.Round(v.num))
}

// String returns the word, or the number in Go's shortest form (1e-04 as
// 0.0001).
func (v Value) String() string {
	if !v.IsNumber() {
		return v.word
	}
	return strconv.FormatFloat(v.num, 'g', -1, 64)
}

// MarshalJSON writes a number as a JSON number and a word as a string.
func (v Value) MarshalJSON() ([]byte, error) {
	if v.IsNumber() {
		return json.Marshal(v.num)
	}
	return json.Marshal(v.word)
}

// UnmarshalJSON reads what MarshalJSON writes.
func (v *Value) UnmarshalJSON(b []byte) error {
	var w string
	if err := json.Unmarshal(b, &w); err == nil {
		if w == "" {
			return fmt.Errorf("tune: empty word value")
		}
		*v = Word(w)
		return nil
	}
	var f float64
	if err := json.Unmarshal(b, &f); err != nil {
		return fmt.Errorf("tune: value %s is neither a number nor a word", b)
	}
	*v = Num(f)
	return nil
}

// Kind is how a dimension of a search space is drawn.
type Kind int

const (
	Fixed   Kind = iota // name=value: always the same
	Log                 // log(a,b): log-uniform on [a, b], a > 0
	Uniform             // uniform(a,b): uniform on [a, b]
	Int                 // int(a,b): an integer in [a, b], both included
	Choice              // choice(v1,v2,…): one of the values, equally likely
)

// Dim is one named dimension of a search space.
type Dim struct {
	Name   string
	Kind   Kind
	Lo, Hi float64 // the bounds of Log, Uniform and Int
	Values []Value // the choices of Choice; the one value of Fixed
}

// String writes the dimension as ParseSpace reads it.
func (d Dim) String() string {
	f := func(x float64) string { return strconv.FormatFloat(x, 'g', -1, 64) }
	switch d.Kind {
	case Log:
		return fmt.Sprintf("%s=log(%s,%s)", d.Name, f(d.Lo), f(d.Hi))
	case Uniform:
		return fmt.Sprintf("%s=uniform(%s,%s)", d.Name, f(d.Lo), f(d.Hi))
	case Int:
		return fmt.Sprintf("%s=int(%s,%s)", d.Name, f(d.Lo), f(d.Hi))
	case Choice:
		vs := make([]string, len(d.Values))
		for i, v := range d.Values {
			vs[i] = v.String()
		}
		return fmt.Sprintf("%s=choice(%s)", d.Name, strings.Join(vs, ","))
	}
	return d.Name + "=" + d.Values[0].String()
}

// sample draws one value of d.
func (d Dim) sample(rng *rand.Rand) Value {
	switch d.Kind {
	case Log:
		return Num(math.Exp(math.Log(d.Lo) + rng.Float64()*(math.Log(d.Hi)-math.Log(d.Lo))))
	case Uniform:
		return Num(d.Lo + rng.Float64()*(d.Hi-d.Lo))
	case Int:
		return Num(d.Lo + float64(rng.IntN(int(d.Hi-d.Lo)+1)))
	case Choice:
		return d.Values[rng.IntN(len(d.Values))]
	}
	return d.Values[0]
}

// grid returns the values of d on a grid of n points an axis: n evenly
// spaced points from Lo to Hi for Uniform, log-spaced for Log (n = 1: the
// midpoint, geometric for Log); every integer for Int if there are at most
// n, else n evenly spaced ones, rounded; every choice; the fixed value.
func (d Dim) grid(n int) []Value {
	at := func(k int) float64 {
		if n == 1 {
			return 0.5
		}
		return float64(k) / float64(n-1)
	}
	var vs []Value
	switch d.Kind {
	case Log:
		for k := range n {
			vs = append(vs, Num(math.Exp(math.Log(d.Lo)+at(k)*(math.Log(d.Hi)-math.Log(d.Lo)))))
		}
		vs[0] = Num(d.Lo)
		if n > 1 {
			vs[n-1] = Num(d.Hi)
		}
		if n == 1 {
			vs[0] = Num(math.Sqrt(d.Lo * d.Hi))
		}
	case Uniform:
		for k := range n {
			vs = append(vs, Num(d.Lo+at(k)*(d.Hi-d.Lo)))
		}
	case Int:
		count := int(d.Hi-d.Lo) + 1
		if count <= n {
			for k := range count {
				vs = append(vs, Num(d.Lo+float64(k)))
			}
			break
		}
		for k := range n {
			v := Num(math.Round(d.Lo + at(k)*(d.Hi-d.Lo)))
			if len(vs) == 0 || vs[len(vs)-1] != v {
				vs = append(vs, v)
			}
		}
	default:
		vs = d.Values
	}
	return vs
}

// Space is a search space: named dimensions in the order written.
type Space struct {
	Dims []Dim
}

// String writes the space as ParseSpace reads it, dimensions separated by
// spaces: the canonical form, which journals record.
func (s Space) String() string {
	parts := make([]string, len(s.Dims))
	for i, d := range s.Dims {
		parts[i] = d.String()
	}
	return strings.Join(parts, " ")
}

// Config is one point of a space: a value for every dimension, by name.
type Config map[string]Value

// Float returns the named value as a number; NaN if it is missing or a word.
func (c Config) Float(name string) float64 {
	v, ok := c[name]
	if !ok {
		return math.NaN()
	}
	return v.Float()
}

// Int returns the named value rounded to an integer; 0 if it is missing or
// a word.
func (c Config) Int(name string) int { return c[name].Int() }

// String returns the named value as written; "" if it is missing.
func (c Config) String(name string) string {
	v, ok := c[name]
	if !ok {
		return ""
	}
	return v.String()
}

// sameConfig reports whether a and b hold the same values.
func sameConfig(a, b Config) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// sample draws a config from the space with rng.
func (s Space) sample(rng *rand.Rand) Config {
	c := make(Config, len(s.Dims))
	for _, d := range s.Dims {
		c[d.Name] = d.sample(rng)
	}
	return c
}

// Grid returns every config of the grid with n points an axis (see
// Method Grid), the first dimension varying slowest, or an error if there
// would be more than maxGrid.
func (s Space) Grid(n int) ([]Config, error) {
	if n < 1 {
		return nil, fmt.Errorf("tune: a grid of %d points an axis: want at least 1", n)
	}
	axes := make([][]Value, len(s.Dims))
	total := 1
	for i, d := range s.Dims {
		axes[i] = d.grid(n)
		total *= len(axes[i])
		if total > maxGrid {
			return nil, fmt.Errorf("tune: the grid of %s with %d points an axis has over %d configs", s, n, maxGrid)
		}
	}
	configs := make([]Config, 0, total)
	idx := make([]int, len(axes))
	for range total {
		c := make(Config, len(axes))
		for i, d := range s.Dims {
			c[d.Name] = axes[i][idx[i]]
		}
		configs = append(configs, c)
		for i := len(idx) - 1; i >= 0; i-- { // odometer: the last axis turns fastest
			if idx[i]++; idx[i] < len(axes[i]) {
				break
			}
			idx[i] = 0
		}
	}
	return configs, nil
}

// maxGrid bounds the size of a grid search.
const maxGrid = 1_000_000
