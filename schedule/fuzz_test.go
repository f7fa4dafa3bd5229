package schedule

import (
	"math"
	"strings"
	"testing"
)

// FuzzPlateauState checks that no saved state (as a checkpoint holds it)
// makes UnmarshalBinary panic, that a state it accepts gives a rate that a
// run can use (a finite number ≥ 0), and that it is written again as a
// state that reads back bit for bit.
func FuzzPlateauState(f *testing.F) {
	p, err := NewPlateau(DefaultPlateau(0.1))
	if err != nil {
		f.Fatal(err)
	}
	for _, loss := range []float64{1, 0.9, 0.95, 0.97} {
		p.Observe(loss)
	}
	b, _ := p.MarshalBinary()
	f.Add(b)
	f.Add([]byte(`{"lr":"0.01","best":"+Inf","bad_epochs":0,"cooldown_left":0,"observations":0}`))
	f.Add([]byte(`{"lr":"NaN","best":"1","bad_epochs":0,"cooldown_left":0,"observations":3}`))
	f.Add([]byte(`{"lr":"-1","best":"1","bad_epochs":-1}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := NewPlateau(DefaultPlateau(0.1))
		if err != nil {
			t.Fatal(err)
		}
		if err := p.UnmarshalBinary(b); err != nil {
			if !strings.HasPrefix(err.Error(), "schedule: ") {
				t.Fatalf("error %q lacks the schedule: prefix", err)
			}
			return
		}
		if lr := p.At(0); !(lr >= 0) || math.IsInf(lr, 0) {
			t.Fatalf("state %s gives the rate %v", b, lr)
		}
		again, err := p.MarshalBinary()
		if err != nil {
			t.Fatalf("state %s cannot be written again: %v", b, err)
		}
		q, _ := NewPlateau(DefaultPlateau(0.1))
		if err := q.UnmarshalBinary(again); err != nil {
			t.Fatalf("state %s, written as %s, does not read: %v", b, again, err)
		}
		if math.Float64bits(q.lr) != math.Float64bits(p.lr) || math.Float64bits(q.best) != math.Float64bits(p.best) || q.bad != p.bad || q.cool != p.cool || q.seen != p.seen {
			t.Fatalf("state %s, written as %s, reads back as %+v; want %+v", b, again, q, p)
		}
		p.Observe(0.5)
		if lr := p.At(0); !(lr >= 0) || math.IsInf(lr, 0) {
			t.Fatalf("state %s gives the rate %v after an observation", b, lr)
		}
	})
}
