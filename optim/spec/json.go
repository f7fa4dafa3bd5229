package spec

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// MarshalJSON writes o as config.json holds it: one object with the name,
// lr and every key the name exposes, '_' for '-' ("eps_in_sqrt").
func (o Optimizer) MarshalJSON() ([]byte, error) {
	e, err := lookup(o.Name)
	if err != nil {
		return nil, fmt.Errorf("spec: %w", err)
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, `{"name":%q,"lr":`, o.Name)
	lr, err := json.Marshal(o.LR)
	if err != nil {
		return nil, fmt.Errorf("spec: optimizer %s: lr: %w", o.Name, err)
	}
	b.Write(lr)
	for _, k := range e.keys {
		v, err := json.Marshal(getField(o.Method, k))
		if err != nil {
			return nil, fmt.Errorf("spec: optimizer %s: %s: %w", o.Name, k.Name, err)
		}
		fmt.Fprintf(&b, ",%q:%s", jsonKey(k.Name), v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// legacyKeys are the keys config.json files of descent ≤ v0 wrote only
// when they were not zero: missing from such a file, they are zero. A key
// that is not on this list and missing from a file is a hyperparameter
// added since it was written, and takes its default. (Files written now
// hold every key.)
var legacyKeys = []string{"wd", "l2", "beta1", "beta2", "eps", "momentum", "dampening", "nesterov", "ema", "amsgrad",
	"alpha", "centered", "schedule-decay", "eps-in-sqrt", "rho", "lr-decay", "initial-accumulator", "momentum-decay"}

// UnmarshalJSON reads what MarshalJSON writes, and the config.json of
// earlier versions (see legacyKeys). A key the optimizer does not take is
// an error, except a field a preset fixes given at its fixed value.
func (o *Optimizer) UnmarshalJSON(b []byte) error {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	var name string
	if err := json.Unmarshal(raw["name"], &name); err != nil || name == "" {
		return fmt.Errorf("spec: optimizer: want a \"name\"")
	}
	e, err := lookup(name)
	if err != nil {
		return fmt.Errorf("spec: %w", err)
	}
	n := Optimizer{Name: name, LR: e.defaultLR(), Method: e.defaults()}
	if v, ok := raw["lr"]; ok {
		if err := json.Unmarshal(v, &n.LR); err != nil {
			return fmt.Errorf("spec: optimizer %s: lr: %w", name, err)
		}
	}
	seen := map[string]bool{"name": true, "lr": true}
	for _, k := range slices.Concat(e.keys, e.hidden) {
		j := jsonKey(k.Name)
		seen[j] = true
		v, ok := raw[j]
		if !ok {
			if slices.Contains(legacyKeys, k.Name) && slices.ContainsFunc(e.keys, func(x key) bool { return x.Name == k.Name }) {
				n.Method = setField(n.Method, k, zero(k.Kind))
			}
			continue
		}
		x := any(new(float64))
		switch k.Kind {
		case Int:
			x = new(int64)
		case Bool:
			x = new(bool)
		}
		if err := json.Unmarshal(v, x); err != nil {
			return fmt.Errorf("spec: optimizer %s: %s: %w", name, j, err)
		}
		n.Method = setField(n.Method, k, reflectElem(x))
	}
	for j := range raw {
		if !seen[j] {
			return fmt.Errorf("spec: optimizer %s has no hyperparameter %q (valid: %s)", name, j, strings.Join(KeyNames(OptimizerKeys(name)), ", "))
		}
	}
	*o = n
	return nil
}

func jsonKey(k string) string { return strings.ReplaceAll(k, "-", "_") }

func zero(k Kind) any {
	switch k {
	case Int:
		return int64(0)
	case Bool:
		return false
	}
	return 0.0
}

func reflectElem(p any) any {
	switch p := p.(type) {
	case *float64:
		return *p
	case *int64:
		return *p
	case *bool:
		return *p
	}
	panic("spec: unexpected value type")
}
