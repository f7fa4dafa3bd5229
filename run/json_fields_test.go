package run

import (
	"reflect"
	"strings"
	"testing"
)

// TestJSONFields holds each type of json.go to the struct it is written
// through: the same fields in the same order under the same keys, a
// pointer that is left out when nil as a jsonfloat.Optional that is left
// out when it holds nothing. A field added to Summary, TextSummary or
// Evaluation and not to its JSON would be lost silently.
func TestJSONFields(t *testing.T) {
	for _, c := range []struct{ typ, js any }{
		{Summary{}, summaryJSON{}},
		{TextSummary{}, textSummaryJSON{}},
		{Evaluation{}, evaluationJSON{}},
	} {
		typ, js := reflect.TypeOf(c.typ), reflect.TypeOf(c.js)
		if typ.NumField() != js.NumField() {
			t.Errorf("%v has %d fields, %v %d; want as many", typ, typ.NumField(), js, js.NumField())
			continue
		}
		for i := range typ.NumField() {
			f, j := typ.Field(i), js.Field(i)
			tag := f.Tag.Get("json")
			if f.Type.Kind() == reflect.Pointer {
				tag = strings.Replace(tag, ",omitempty", ",omitzero", 1)
			}
			if f.Name != j.Name || tag != j.Tag.Get("json") {
				t.Errorf("%v field %d is %s `json:%q`, %v's %s `json:%q`; want the same", typ, i, f.Name, f.Tag.Get("json"), js, j.Name, j.Tag.Get("json"))
			}
		}
	}
}
