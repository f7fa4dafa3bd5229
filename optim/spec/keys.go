package spec

import (
	"fmt"
	"reflect"
	"strconv"

	"github.com/descentml/descent/optim"
)

// Kind is the type of a hyperparameter's value.
type Kind int

const (
	Float Kind = iota // a number: 1e-3, 0.9
	Int               // a whole number: 5
	Bool              // true or false; a flag that needs no value
)

// Key is one hyperparameter, as read from a method's struct tags.
type Key struct {
	Name    string // as flags and specs spell it: "beta1", "eps-in-sqrt"
	Help    string // one line
	Kind    Kind
	Default string // the value the method's constructor gives it, as a spec writes it
}

// key is a Key with the field it sets.
type key struct {
	Key
	index []int // reflect.Value.FieldByIndex
}

// keysOf returns the tagged fields of method m, in the order of its
// struct (embedded structs in place), with m's values as defaults. A
// tagged field of another type than a float, an int or a bool is a
// programmer error.
func keysOf(m optim.Method) []key {
	v := reflect.ValueOf(m)
	var keys []key
	var walk func(t reflect.Type, prefix []int)
	walk = func(t reflect.Type, prefix []int) {
		for i := range t.NumField() {
			f := t.Field(i)
			idx := append(append([]int(nil), prefix...), i)
			if f.Anonymous && f.Type.Kind() == reflect.Struct {
				walk(f.Type, idx)
				continue
			}
			name, ok := f.Tag.Lookup("key")
			if !ok || !f.IsExported() {
				continue
			}
			var kind Kind
			switch f.Type.Kind() {
			case reflect.Float64, reflect.Float32:
				kind = Float
			case reflect.Int, reflect.Int64, reflect.Int32:
				kind = Int
			case reflect.Bool:
				kind = Bool
			default:
				panic("spec: " + t.String() + "." + f.Name + ": a key must be a float, an int or a bool")
			}
			k := key{Key: Key{Name: name, Help: f.Tag.Get("help"), Kind: kind}, index: idx}
			k.Default = format(v.FieldByIndex(idx).Interface())
			keys = append(keys, k)
		}
	}
	walk(v.Type(), nil)
	return keys
}

// getField returns the value of k in m: a float64, an int64 or a bool.
func getField(m optim.Method, k key) any {
	f := reflect.ValueOf(m).FieldByIndex(k.index)
	switch k.Kind {
	case Float:
		return f.Float()
	case Int:
		return f.Int()
	}
	return f.Bool()
}

// setField returns m with k set to v, a value parseValue returned.
func setField(m optim.Method, k key, v any) optim.Method {
	c := reflect.New(reflect.TypeOf(m)).Elem()
	c.Set(reflect.ValueOf(m))
	f := c.FieldByIndex(k.index)
	switch k.Kind {
	case Float:
		f.SetFloat(v.(float64))
	case Int:
		f.SetInt(v.(int64))
	default:
		f.SetBool(v.(bool))
	}
	return c.Interface().(optim.Method)
}

// parseValue reads a value of kind.
func parseValue(kind Kind, s string) (any, error) {
	switch kind {
	case Bool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return nil, fmt.Errorf("want true or false")
		}
		return b, nil
	case Int:
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("want a whole number")
		}
		return n, nil
	}
	x, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return nil, fmt.Errorf("want a number")
	}
	return x, nil
}

// format writes a float64, int64 or bool as a spec does.
func format(v any) string {
	switch v := v.(type) {
	case float64:
		return formatFloat(v)
	case float32:
		return formatFloat(float64(v))
	case bool:
		return strconv.FormatBool(v)
	}
	return fmt.Sprint(v)
}

func formatFloat(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
