// Package jsonfloat carries float64 values through encoding/json where
// they need not be finite. JSON has no literal for NaN or ±Inf, and
// encoding/json refuses them; descent's files (metrics.jsonl,
// summary.json, compare.json, lr-find.json, landscape.json, descent eval
// --json) write them as null instead, and read null back as NaN. A loss may be NaN, a
// perplexity e^loss overflows above 709 nats, and a metric a run did not
// measure (validation without a validation set) is NaN.
//
// Float is such a number, always written. Optional is one that may be
// absent: a field of that type tagged omitzero is left out when it holds
// nothing, and reads back as holding nothing when it is missing, while a
// NaN it holds is written as null. A file's exported struct keeps its
// float64 and *float64 fields; its MarshalJSON and UnmarshalJSON go
// through a struct of these types with the same keys.
package jsonfloat

import (
	"encoding/json"
	"math"
)

// Float is a float64 that encoding/json writes as encoding/json writes a
// float64, but null when it is NaN or ±Inf, and reads null back as NaN.
type Float float64

var _ interface {
	json.Marshaler
	json.Unmarshaler
} = (*Float)(nil)

// MarshalJSON writes the number, or null if it is not finite.
func (f Float) MarshalJSON() ([]byte, error) {
	v := float64(f)
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return []byte("null"), nil
	}
	return json.Marshal(v)
}

// UnmarshalJSON reads a number, null as NaN.
func (f *Float) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*f = Float(math.NaN())
		return nil
	}
	var v float64
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*f = Float(v)
	return nil
}

// Optional is a Float that may be absent. Its zero value holds nothing.
// In a struct field tagged omitzero, encoding/json leaves it out when it
// holds nothing and leaves it holding nothing when the key is missing;
// null reads as holding NaN.
type Optional struct {
	v  Float
	ok bool
}

var _ interface {
	json.Marshaler
	json.Unmarshaler
} = (*Optional)(nil)

// Of returns an Optional that holds v, written even if it is not finite
// (as null).
func Of(v float64) Optional { return Optional{Float(v), true} }

// Finite returns an Optional that holds v if it is finite and nothing
// otherwise: a field that is left out rather than null.
func Finite(v float64) Optional {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return Optional{}
	}
	return Of(v)
}

// FromPtr returns an Optional that holds *p, or nothing if p is nil.
func FromPtr(p *float64) Optional {
	if p == nil {
		return Optional{}
	}
	return Of(*p)
}

// Ptr returns a pointer to a copy of the value o holds, or nil.
func (o Optional) Ptr() *float64 {
	if !o.ok {
		return nil
	}
	v := float64(o.v)
	return &v
}

// Or returns the value o holds, or def if it holds none.
func (o Optional) Or(def float64) float64 {
	if !o.ok {
		return def
	}
	return float64(o.v)
}

// IsZero reports whether o holds nothing, for encoding/json's omitzero.
func (o Optional) IsZero() bool { return !o.ok }

// MarshalJSON writes the value as Float does. A field that holds nothing
// and is not tagged omitzero is written as null.
func (o Optional) MarshalJSON() ([]byte, error) {
	if !o.ok {
		return []byte("null"), nil
	}
	return o.v.MarshalJSON()
}

// UnmarshalJSON reads a value as Float does, which o then holds.
func (o *Optional) UnmarshalJSON(b []byte) error {
	if err := o.v.UnmarshalJSON(b); err != nil {
		return err
	}
	o.ok = true
	return nil
}
