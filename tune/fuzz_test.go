package tune

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
)

// FuzzParseSpace checks that no --space text makes ParseSpace panic, that
// an error is a *SpaceError pointing inside the text, and that an accepted
// space is written by String as text that parses back to the same space,
// whose every draw and grid point lies in it.
func FuzzParseSpace(f *testing.F) {
	for _, s := range []string{
		"lr=log(1e-4,1e-1)",
		"lr=log(1e-4,1e-1) beta1=uniform(0.8,0.99) layers=int(1,4) batch=choice(64,128) opt=choice(adam,sgd) momentum=0.9",
		"wd=choice( 0 , 1e-4 ,0.01) act=relu",
		"n=int(-3,-3)",
		"lr=log(0,1)", "lr=log(1e-4)", "x=uniform(1,1)", "x=choice()", "x=choice(a,a)", "1x=2", "x=", "x=int(0,1e300)",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		s, err := ParseSpace(text)
		if err != nil {
			se, ok := err.(*SpaceError)
			if !ok {
				t.Fatalf("ParseSpace(%q): error %T %v; want a *SpaceError", text, err, err)
			}
			if n := len([]rune(text)); se.Column < 1 || se.Column > n+1 {
				t.Fatalf("ParseSpace(%q): column %d outside the %d runes of the text", text, se.Column, n)
			}
			return
		}
		canon := s.String()
		s2, err := ParseSpace(canon)
		if err != nil {
			t.Fatalf("ParseSpace(%q) = %q, which does not parse: %v", text, canon, err)
		}
		if !reflect.DeepEqual(s, s2) {
			t.Fatalf("ParseSpace(%q) = %#v; its String %q parses to %#v", text, s, canon, s2)
		}
		rng := rand.New(rand.NewPCG(1, 2))
		for range 3 {
			checkInSpace(t, text, s, s.sample(rng))
		}
		grid, err := s.Grid(2)
		if err != nil {
			return // too many points is a refusal, not a failure
		}
		for _, c := range grid {
			checkInSpace(t, text, s, c)
		}
	})
}

// checkInSpace fails unless c has a value of every dimension of s, inside
// its bounds.
func checkInSpace(t *testing.T, text string, s Space, c Config) {
	t.Helper()
	if len(c) != len(s.Dims) {
		t.Fatalf("space %q: config %v has %d values for %d dimensions", text, c, len(c), len(s.Dims))
	}
	for _, d := range s.Dims {
		v, ok := c[d.Name]
		if !ok {
			t.Fatalf("space %q: config %v lacks %s", text, c, d.Name)
		}
		switch d.Kind {
		case Log, Uniform, Int:
			x := v.Float()
			tol := 1e-12 * math.Max(math.Abs(d.Lo), math.Abs(d.Hi)) // Log's exp(log) rounds
			if !v.IsNumber() || !(x >= d.Lo-tol && x <= d.Hi+tol) {
				t.Fatalf("space %q: %s = %v outside [%v, %v]", text, d.Name, v, d.Lo, d.Hi)
			}
			if d.Kind == Int && x != math.Trunc(x) {
				t.Fatalf("space %q: %s = %v is not an integer", text, d.Name, v)
			}
		default:
			found := false
			for _, w := range d.Values {
				found = found || w == v
			}
			if !found {
				t.Fatalf("space %q: %s = %v is not one of %v", text, d.Name, v, d.Values)
			}
		}
	}
}

// FuzzJournal checks that no journal makes readJournal panic, that it
// returns only whole lines, and that the trials it accepts are written
// again (as the journal writes them) as lines that read back the same.
func FuzzJournal(f *testing.F) {
	space, err := ParseSpace("lr=log(1e-4,1e-1) opt=choice(adam,sgd)")
	if err != nil {
		f.Fatal(err)
	}
	s := Search{Space: space, Method: Random{Trials: 4}, Seed: 7, Budget: 2}
	h, _ := json.Marshal(s.header())
	trial := func(t TrialResult) string {
		b, err := json.Marshal(t)
		if err != nil {
			f.Fatal(err)
		}
		return string(b) + "\n"
	}
	good := string(h) + "\n" +
		trial(TrialResult{Trial: Trial{ID: 0, Budget: 2, Config: Config{"lr": Num(0.003), "opt": Word("adam")}}, Value: 0.25, Metrics: map[string]float64{"val_loss": 0.25, "val_accuracy": 0.93}}) +
		trial(TrialResult{Trial: Trial{ID: 1, Budget: 2, Config: Config{"lr": Num(0.05), "opt": Word("sgd")}}, Value: math.NaN(), Failed: true, Error: "loss is NaN at epoch 1", Metrics: map[string]float64{"val_loss": math.Inf(1)}})
	f.Add([]byte(good))
	f.Add([]byte(good[:len(good)-9])) // a torn last line
	f.Add([]byte(string(h) + "\n{\"id\":2,\"config\":{\"lr\":\"\"}}\n"))
	f.Add([]byte(string(h) + "\n{\"id\":2,\"value\":\"1e999\"}\n"))
	f.Add([]byte("{\"journal\":\"descent tune\",\"version\":2}\n"))
	f.Add([]byte("not a journal\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		done, good, err := readJournal("j", b, s.header())
		if err != nil {
			if !strings.HasPrefix(err.Error(), "tune: ") {
				t.Fatalf("error %q lacks the tune: prefix", err)
			}
			return
		}
		if good <= 0 || good > int64(len(b)) || b[good-1] != '\n' {
			t.Fatalf("readJournal of %d bytes: %d good bytes, not whole lines", len(b), good)
		}
		again := string(h) + "\n"
		for _, tr := range done {
			line, err := json.Marshal(tr)
			if err != nil {
				t.Fatalf("trial %+v read from the journal cannot be written again: %v", tr, err)
			}
			again += string(line) + "\n"
		}
		done2, _, err := readJournal("j", []byte(again), s.header())
		if err != nil {
			t.Fatalf("the trials read, written again, do not read: %v\n%s", err, again)
		}
		if len(done2) != len(done) {
			t.Fatalf("%d trials read, %d read again", len(done), len(done2))
		}
		for i := range done {
			if !sameResult(done[i], done2[i]) {
				t.Fatalf("trial %d read as %+v, written and read again as %+v", i, done[i], done2[i])
			}
		}
	})
}

// sameResult compares trial results, NaN equal to NaN.
func sameResult(a, b TrialResult) bool {
	same := func(x, y float64) bool { return x == y || x != x && y != y }
	if !reflect.DeepEqual(a.Trial, b.Trial) || !same(a.Value, b.Value) || a.Failed != b.Failed || a.Error != b.Error || len(a.Metrics) != len(b.Metrics) {
		return false
	}
	for k, v := range a.Metrics {
		w, ok := b.Metrics[k]
		if !ok || !same(v, w) {
			return false
		}
	}
	return true
}
