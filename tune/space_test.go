package tune

import (
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"testing"
)

func TestParseSpace(t *testing.T) {
	s, err := ParseSpace("lr=log(1e-4,1e-1) wd=log(1e-5,1e-1) batch=choice(64,128) beta1=uniform(0.8,0.99) layers=int(1,4)")
	if err != nil {
		t.Fatal(err)
	}
	want := []Dim{
		{Name: "lr", Kind: Log, Lo: 1e-4, Hi: 0.1},
		{Name: "wd", Kind: Log, Lo: 1e-5, Hi: 0.1},
		{Name: "batch", Kind: Choice, Values: []Value{Num(64), Num(128)}},
		{Name: "beta1", Kind: Uniform, Lo: 0.8, Hi: 0.99},
		{Name: "layers", Kind: Int, Lo: 1, Hi: 4},
	}
	if len(s.Dims) != len(want) {
		t.Fatalf("ParseSpace gave %d dims; want %d", len(s.Dims), len(want))
	}
	for i, d := range s.Dims {
		w := want[i]
		if d.Name != w.Name || d.Kind != w.Kind || d.Lo != w.Lo || d.Hi != w.Hi || !slices.Equal(d.Values, w.Values) {
			t.Errorf("dim %d = %+v; want %+v", i, d, w)
		}
	}
	canon := "lr=log(0.0001,0.1) wd=log(1e-05,0.1) batch=choice(64,128) beta1=uniform(0.8,0.99) layers=int(1,4)"
	if s.String() != canon {
		t.Errorf("String() = %q; want %q", s.String(), canon)
	}

	// Spaces inside parentheses, words, fixed values; the canonical form
	// reads back the same.
	s, err = ParseSpace("  opt=choice( adam , sgd,rmsprop )\tmomentum=0.9 act=relu  n=int(-2, 2) ")
	if err != nil {
		t.Fatal(err)
	}
	if got := s.String(); got != "opt=choice(adam,sgd,rmsprop) momentum=0.9 act=relu n=int(-2,2)" {
		t.Errorf("String() = %q", got)
	}
	again, err := ParseSpace(s.String())
	if err != nil || again.String() != s.String() {
		t.Errorf("ParseSpace(String()) = %v, %v; want the same space", again, err)
	}
	if d := s.Dims[0]; d.Values[1] != Word("sgd") || d.Values[1].IsNumber() {
		t.Errorf("choice value = %+v; want the word sgd", d.Values[1])
	}
	if d := s.Dims[2]; d.Kind != Fixed || d.Values[0] != Word("relu") {
		t.Errorf("act = %+v; want the fixed word relu", d)
	}
}

// Every malformed form is an error that names the problem, points at its
// column and shows the valid form.
func TestParseSpaceErrors(t *testing.T) {
	cases := []struct {
		in   string
		col  int
		msg  string
		want string
	}{
		{"", 1, "the space is empty", "name=log(low,high)"},
		{"   ", 1, "the space is empty", "name=log(low,high)"},
		{"lr", 3, `expected '=' after "lr"`, "name=log(low,high)"},
		{"lr:log(1,2)", 3, `expected '=' after "lr"`, ""},
		{"=log(1,2)", 1, `"=log(1,2)" is not a name`, "a name of letters"},
		{"1lr=0.1", 1, `"1lr=0.1" is not a name`, "a name of letters"},
		{"lr=", 4, `"lr" has no value`, "name=value"},
		{"lr= log(1,2)", 4, `"lr" has no value`, ""},
		{"lr=loguniform(1e-4,1e-1)", 4, `unknown distribution "loguniform"`, "log, uniform, int or choice"},
		{"lr=log(1e-4)", 4, `log takes 2 bounds, got 1 in "log(1e-4)"`, "name=log(low,high) with 0 < low < high"},
		{"lr=log(1e-4,1e-2,1)", 4, "log takes 2 bounds, got 3", ""},
		{"lr=log()", 4, "log takes 2 bounds, got 0", ""},
		{"lr=log(0,1)", 8, "bound 0 of log is not positive", "0 < low < high"},
		{"lr=log(-1,1)", 8, "bound -1 of log is not positive", ""},
		{"lr=log(1e-1,1e-4)", 8, `the bounds of "log(1e-1,1e-4)" are out of order`, "0 < low < high"},
		{"lr=log(1,x)", 10, `bound "x" of log is not a finite number`, ""},
		{"lr=uniform(1,inf)", 14, `bound "inf" of uniform is not a finite number`, "low < high"},
		{"b=uniform(0.5,0.5)", 11, "out of order", "name=uniform(low,high) with low < high"},
		{"n=int(1,2.5)", 9, "bound 2.5 of int is not an integer", "integers low ≤ high"},
		{"n=int(4,1)", 7, "out of order", ""},
		{"lr=log(1e-4,1e-1", 7, "log( is never closed", ""},
		{"lr=log(1e-4,,1)", 13, "empty argument to log", ""},
		{"lr=log(1e-4 1e-1)", 13, `unexpected "1" in log(…)`, ""},
		{"lr=log(1e-4,1e-1)x", 18, `unexpected "x" after log(…)`, ""},
		{"b=choice()", 3, "choice() has no values", "name=choice(v1,v2,…)"},
		{"b=choice(64,64)", 13, "64 appears twice in choice(64,64)", "distinct"},
		{"b=choice(64,)", 13, "empty argument to choice", ""},
		{"b=choice(-x)", 10, `"-x" is neither a number nor a word`, "distinct numbers or words"},
		{"m=0.9x", 3, `"0.9x" is neither a number nor a word`, "a number or a word"},
		{"m=0.9)", 6, `unexpected ")" after m=0.9`, ""},
		{"m=NaN", 3, "NaN is not a finite number", "a number or a word"},
		{"lr=log(1e-4,1e-1) wd=0 lr=uniform(0,1)", 24, `"lr" is defined twice (first at column 1)`, ""},
	}
	for _, c := range cases {
		_, err := ParseSpace(c.in)
		var se *SpaceError
		if !errors.As(err, &se) {
			t.Errorf("ParseSpace(%q) = %v; want a *SpaceError", c.in, err)
			continue
		}
		msg := err.Error()
		if se.Column != c.col || !strings.Contains(msg, c.msg) || !strings.Contains(msg, c.want) {
			t.Errorf("ParseSpace(%q) = %s (column %d); want column %d, %q and %q", c.in, msg, se.Column, c.col, c.msg, c.want)
		}
		lines := strings.Split(msg, "\n")
		if len(lines) != 3 || lines[1] != "\t"+c.in || lines[2] != "\t"+strings.Repeat(" ", c.col-1)+"^" {
			t.Errorf("ParseSpace(%q): the error does not quote the input with a caret at column %d:\n%s", c.in, c.col, msg)
		}
	}
}

func TestSampleDeterministicAndInRange(t *testing.T) {
	s, _ := ParseSpace("lr=log(1e-4,1e-1) b=uniform(-1,1) n=int(1,4) c=choice(x,y,3) m=0.9")
	draw := func(seed uint64) []Config {
		rng := rand.New(rand.NewPCG(seed, 0))
		cs := make([]Config, 2000)
		for i := range cs {
			cs[i] = s.sample(rng)
		}
		return cs
	}
	a, b, other := draw(7), draw(7), draw(8)
	same := 0
	ints := map[int]int{}
	choices := map[string]int{}
	for i := range a {
		if !sameConfig(a[i], b[i]) {
			t.Fatalf("config %d differs between two draws with seed 7: %v, %v", i, a[i], b[i])
		}
		if sameConfig(a[i], other[i]) {
			same++
		}
		c := a[i]
		if lr := c.Float("lr"); !(lr >= 1e-4 && lr <= 1e-1) {
			t.Errorf("lr = %v outside [1e-4, 1e-1]", lr)
		}
		if v := c.Float("b"); !(v >= -1 && v <= 1) {
			t.Errorf("b = %v outside [-1, 1]", v)
		}
		if n := c.Float("n"); n != math.Trunc(n) || n < 1 || n > 4 {
			t.Errorf("n = %v is not an integer in [1, 4]", n)
		}
		if c.Float("m") != 0.9 {
			t.Errorf("m = %v; want the fixed 0.9", c["m"])
		}
		ints[c.Int("n")]++
		choices[c.String("c")]++
	}
	if same > 0 {
		t.Errorf("%d configs are the same with seeds 7 and 8", same)
	}
	for n := 1; n <= 4; n++ { // int(1,4) includes both ends, each about 500 times
		if ints[n] < 400 || ints[n] > 600 {
			t.Errorf("int(1,4) drew %d %d times in 2000; want about 500", n, ints[n])
		}
	}
	for _, v := range []string{"x", "y", "3"} {
		if choices[v] < 560 || choices[v] > 780 {
			t.Errorf("choice drew %s %d times in 2000; want about 667", v, choices[v])
		}
	}
}

// log(a,b) is uniform in log space: the q-quantile of log10(lr) over
// log(1e-4,1e-1) is −4 + 3q; a uniform(1e-4,1e-1) would put its median
// near log10(0.05) ≈ −1.3.
func TestLogUniformQuantiles(t *testing.T) {
	s, _ := ParseSpace("lr=log(1e-4,1e-1)")
	rng := rand.New(rand.NewPCG(1, 1))
	logs := make([]float64, 20000)
	for i := range logs {
		logs[i] = math.Log10(s.sample(rng).Float("lr"))
	}
	sort.Float64s(logs)
	for _, q := range []float64{0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95} {
		got, want := logs[int(q*float64(len(logs)))], -4+3*q
		if math.Abs(got-want) > 0.05 {
			t.Errorf("quantile %v of log10(lr) = %.3f; want %.3f", q, got, want)
		}
	}
}

func TestGrid(t *testing.T) {
	s, _ := ParseSpace("lr=log(1e-4,1e-2) opt=choice(adam,sgd) n=int(1,3) m=0.9")
	cs, err := s.Grid(3)
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 3*2*3 {
		t.Fatalf("Grid(3) has %d configs; want 18", len(cs))
	}
	// The first dimension varies slowest, the last fastest.
	wantLR := []float64{1e-4, 1e-3, 1e-2}
	for i, c := range cs {
		lr, opt, n := wantLR[i/6], []string{"adam", "sgd"}[i/3%2], i%3+1
		if math.Abs(c.Float("lr")-lr) > 1e-15 || c.String("opt") != opt || c.Int("n") != n || c.Float("m") != 0.9 {
			t.Errorf("config %d = %v; want lr=%v opt=%s n=%d m=0.9", i, c, lr, opt, n)
		}
	}
	wide, _ := ParseSpace("n=int(1,10) u=uniform(0,1)")
	cs, _ = wide.Grid(4)
	var ns, us []float64
	for _, c := range cs[:4] {
		us = append(us, c.Float("u"))
	}
	for i := 0; i < len(cs); i += 4 {
		ns = append(ns, cs[i].Float("n"))
	}
	if !slices.Equal(ns, []float64{1, 4, 7, 10}) || !slices.Equal(us, []float64{0, 1. / 3, 2. / 3, 1}) {
		t.Errorf("Grid(4): n %v, u %v; want n 1 4 7 10 and u 0 ⅓ ⅔ 1", ns, us)
	}
	one, _ := ParseSpace("lr=log(1e-4,1e-2) u=uniform(0,1)")
	cs, _ = one.Grid(1)
	if len(cs) != 1 || math.Abs(cs[0].Float("lr")-1e-3) > 1e-15 || cs[0].Float("u") != 0.5 {
		t.Errorf("Grid(1) = %v; want the midpoints lr=0.001 u=0.5", cs)
	}
	if _, err := one.Grid(0); err == nil {
		t.Errorf("Grid(0) succeeded")
	}
	huge, _ := ParseSpace("a=uniform(0,1) b=uniform(0,1) c=uniform(0,1) d=uniform(0,1)")
	if _, err := huge.Grid(100); err == nil || !strings.Contains(err.Error(), "over 1000000 configs") {
		t.Errorf("Grid of 10⁸ = %v; want an error", err)
	}
}
