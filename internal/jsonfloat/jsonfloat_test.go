package jsonfloat_test

import (
	"encoding/json"
	"math"
	"testing"

	"github.com/descentml/descent/internal/jsonfloat"
)

// TestFloatFinite writes finite numbers byte for byte as encoding/json
// writes a float64, and reads them back bit for bit.
func TestFloatFinite(t *testing.T) {
	for _, v := range []float64{0, math.Copysign(0, -1), 1, -2.5, 1e-7, 1e-6, 1e20, 1e21, 123456789012345678, math.MaxFloat64, math.SmallestNonzeroFloat64, 0.1 + 0.2} {
		got, err := json.Marshal(jsonfloat.Float(v))
		want, _ := json.Marshal(v)
		if err != nil || string(got) != string(want) {
			t.Errorf("json.Marshal(Float(%v)) = %s, %v; want %s", v, got, err, want)
		}
		var back jsonfloat.Float
		if err := json.Unmarshal(got, &back); err != nil || math.Float64bits(float64(back)) != math.Float64bits(v) && v != 0 {
			t.Errorf("json.Unmarshal(%s) = %v, %v; want %v", got, back, err, v)
		}
	}
}

// TestFloatNotFinite writes NaN and ±Inf as null, in a field, a slice and
// a map, and reads null back as NaN in each.
func TestFloatNotFinite(t *testing.T) {
	type rec struct {
		X  jsonfloat.Float            `json:"x"`
		Xs []jsonfloat.Float          `json:"xs"`
		M  map[string]jsonfloat.Float `json:"m"`
	}
	in := rec{jsonfloat.Float(math.NaN()), []jsonfloat.Float{1, jsonfloat.Float(math.Inf(1)), jsonfloat.Float(math.Inf(-1))}, map[string]jsonfloat.Float{"a": jsonfloat.Float(math.Inf(1)), "b": 2}}
	b, err := json.Marshal(in)
	const want = `{"x":null,"xs":[1,null,null],"m":{"a":null,"b":2}}`
	if err != nil || string(b) != want {
		t.Fatalf("json.Marshal(%v) = %s, %v; want %s", in, b, err, want)
	}
	var out rec
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	for i, v := range []jsonfloat.Float{out.X, out.Xs[1], out.Xs[2], out.M["a"]} {
		if !math.IsNaN(float64(v)) {
			t.Errorf("json.Unmarshal(%s): null %d reads as %v; want NaN", b, i, v)
		}
	}
	if out.Xs[0] != 1 || out.M["b"] != 2 {
		t.Errorf("json.Unmarshal(%s) = %+v; want the finite numbers as written", b, out)
	}
	var f jsonfloat.Float
	for _, bad := range []string{`"1"`, `true`, `[]`, `nan`} {
		if err := json.Unmarshal([]byte(bad), &f); err == nil {
			t.Errorf("json.Unmarshal(%s) = %v, nil; want an error", bad, f)
		}
	}
}

// TestOptional tells apart the three states of an omitzero field: absent
// (left out, and missing reads as absent), NaN (null, which reads as NaN)
// and a number.
func TestOptional(t *testing.T) {
	type rec struct {
		A jsonfloat.Optional `json:"a,omitzero"`
		B jsonfloat.Optional `json:"b,omitzero"`
		C jsonfloat.Optional `json:"c,omitzero"`
		D jsonfloat.Optional `json:"d,omitzero"`
	}
	in := rec{jsonfloat.FromPtr(nil), jsonfloat.Of(math.NaN()), jsonfloat.Of(0.5), jsonfloat.Finite(math.Inf(1))}
	b, err := json.Marshal(in)
	const want = `{"b":null,"c":0.5}`
	if err != nil || string(b) != want {
		t.Fatalf("json.Marshal(%+v) = %s, %v; want %s", in, b, err, want)
	}
	var out rec
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	if p := out.A.Ptr(); p != nil {
		t.Errorf("a, missing, reads as %v; want absent", *p)
	}
	if p := out.B.Ptr(); p == nil || !math.IsNaN(*p) {
		t.Errorf("b, null, reads as %v; want NaN", p)
	}
	if got := out.C.Or(-1); got != 0.5 {
		t.Errorf("c.Or(-1) = %v; want 0.5", got)
	}
	if got := out.D.Or(-1); got != -1 {
		t.Errorf("d.Or(-1) = %v; want -1 (absent)", got)
	}
	if b, err := json.Marshal(jsonfloat.Optional{}); err != nil || string(b) != "null" {
		t.Errorf("json.Marshal(Optional{}) = %s, %v; want null", b, err)
	}
}
