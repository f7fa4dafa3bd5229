package run

import (
	"encoding/json"
	"math"
	"reflect"
	"strings"
)

// The files and results of a run (summary.json, descent eval --json) hold
// numbers that need not be finite: a perplexity e^loss overflows for a
// loss above 709 nats, and a loss may be NaN. encoding/json refuses NaN
// and ±Inf, so these types write them as null, as metrics.jsonl does
// (train.Epoch), and read null back as NaN.

// MarshalJSON writes the summary as a JSON object, a number that is not
// finite as null.
func (s Summary) MarshalJSON() ([]byte, error) { return marshalFinite(s) }

// UnmarshalJSON reads what MarshalJSON writes, null as NaN.
func (s *Summary) UnmarshalJSON(b []byte) error {
	type plain Summary
	return unmarshalFinite(b, (*plain)(s))
}

// MarshalJSON writes the summary as a JSON object, a number that is not
// finite (a perplexity beyond 1.8e308) as null.
func (s TextSummary) MarshalJSON() ([]byte, error) { return marshalFinite(s) }

// UnmarshalJSON reads what MarshalJSON writes, null as NaN.
func (s *TextSummary) UnmarshalJSON(b []byte) error {
	type plain TextSummary
	return unmarshalFinite(b, (*plain)(s))
}

// MarshalJSON writes the evaluation as a JSON object, a number that is
// not finite as null.
func (e Evaluation) MarshalJSON() ([]byte, error) { return marshalFinite(e) }

// UnmarshalJSON reads what MarshalJSON writes, null as NaN.
func (e *Evaluation) UnmarshalJSON(b []byte) error {
	type plain Evaluation
	return unmarshalFinite(b, (*plain)(e))
}

// marshalFinite writes the struct v as encoding/json does, field by field
// in order, but a float64 field, or the float64 a *float64 field points
// to, that is not a finite number as null. Its fields are flat (numbers,
// strings, booleans, pointers to them) with json tags. It reads the
// fields by reflection so that a field added later is written safely
// with no other change.
func marshalFinite(v any) ([]byte, error) {
	rv := reflect.ValueOf(v)
	b := []byte{'{'}
	for i := range rv.NumField() {
		name, omitEmpty := jsonName(rv.Type().Field(i))
		f := rv.Field(i)
		if name == "" || omitEmpty && (f.IsZero() || f.Kind() == reflect.Float64 && f.Float() == 0) {
			continue
		}
		if len(b) > 1 {
			b = append(b, ',')
		}
		key, err := json.Marshal(name)
		if err != nil {
			return nil, err
		}
		b = append(append(b, key...), ':')
		if x, ok := floatOf(f); ok && (math.IsNaN(x) || math.IsInf(x, 0)) {
			b = append(b, "null"...)
			continue
		}
		val, err := json.Marshal(f.Interface())
		if err != nil {
			return nil, err
		}
		b = append(b, val...)
	}
	return append(b, '}'), nil
}

// unmarshalFinite reads into v, a pointer to a struct without methods,
// what marshalFinite writes: a float64 field, or a *float64 one, that is
// null reads as NaN.
func unmarshalFinite(b []byte, v any) error {
	if err := json.Unmarshal(b, v); err != nil {
		return err
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	rv := reflect.ValueOf(v).Elem()
	for i := range rv.NumField() {
		name, _ := jsonName(rv.Type().Field(i))
		if string(raw[name]) != "null" {
			continue
		}
		switch f := rv.Field(i); {
		case f.Kind() == reflect.Float64:
			f.SetFloat(math.NaN())
		case f.Type() == reflect.TypeFor[*float64]():
			f.Set(reflect.ValueOf(ptr(math.NaN())))
		}
	}
	return nil
}

// jsonName returns the key encoding/json writes field f under ("" for
// none) and whether its tag says omitempty.
func jsonName(f reflect.StructField) (name string, omitEmpty bool) {
	tag := f.Tag.Get("json")
	if !f.IsExported() || tag == "-" {
		return "", false
	}
	name, opts, _ := strings.Cut(tag, ",")
	if name == "" {
		name = f.Name
	}
	return name, strings.Contains(","+opts+",", ",omitempty,")
}

// floatOf returns the float64 that f is, or points to.
func floatOf(f reflect.Value) (float64, bool) {
	switch {
	case f.Kind() == reflect.Float64:
		return f.Float(), true
	case f.Type() == reflect.TypeFor[*float64]() && !f.IsNil():
		return f.Elem().Float(), true
	}
	return 0, false
}
