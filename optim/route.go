package optim

import (
	"fmt"
	"strings"

	"github.com/descentml/descent/schedule"
)

// A Route sends the parameters it matches to a parameter group of their
// own, with its own method and learning rate: Muon for the hidden weight
// matrices and AdamW for the rest, or no weight decay on biases.
type Route struct {
	// Name says what the route is for, in errors ("muon", "no-decay").
	Name string
	// Match reports whether a parameter belongs to the route; nil matches
	// every parameter (a catch-all, usually last).
	Match  func(name string, shape []int) bool
	Method Method            // nil: Config.Method
	LR     schedule.Schedule // nil: Config.LR, else the method's default
}

// Split divides params into groups, one per route in order, each holding
// the parameters for which that route is the first to match; a parameter
// keeps its position within its group. It is an error for a parameter to
// match no route, and for a route with a Match function to match nothing —
// a pattern with a typo, or Muon on a model with no hidden matrix — so
// that neither passes unnoticed. A catch-all route (nil Match) that is
// left with nothing makes no group.
func Split[T Float](params []Param[T], routes ...Route) ([]Group[T], error) {
	groups := make([]Group[T], len(routes))
	for i, p := range params {
		r := -1
		for j, rt := range routes {
			if rt.Match == nil || rt.Match(p.Name, p.Shape) {
				r = j
				break
			}
		}
		if r < 0 {
			name := p.Name
			if name == "" {
				name = fmt.Sprint(i)
			}
			return nil, fmt.Errorf("optim: parameter %q (shape %v) matches no route: add a catch-all route (nil Match)", name, p.Shape)
		}
		groups[r].Params = append(groups[r].Params, p)
	}
	var out []Group[T]
	for j, rt := range routes {
		g := groups[j]
		if len(g.Params) == 0 {
			if rt.Match != nil {
				return nil, fmt.Errorf("optim: route %d (%s) matches no parameter", j, rt.describe())
			}
			continue
		}
		g.Method, g.LR = rt.Method, rt.LR
		out = append(out, g)
	}
	return out, nil
}

func (r Route) describe() string {
	if r.Name != "" {
		return r.Name
	}
	if r.Method != nil {
		return fmt.Sprintf("%T", r.Method)
	}
	return "unnamed"
}

// HiddenMatrix reports whether a parameter is the weight matrix of a hidden
// layer, the kind Muon is made for: two-dimensional, and not named as an
// embedding or an output layer (a name holding "emb", "wte", "wpe", "head",
// "classifier" or "output", in any case). Biases and normalization gains
// (one dimension) and convolution kernels (four) are not. A model whose
// output layer has a plain name ("2.weight") should exclude it by name:
//
//	func(name string, shape []int) bool {
//		return optim.HiddenMatrix(name, shape) && name != "2.weight"
//	}
func HiddenMatrix(name string, shape []int) bool {
	if len(shape) != 2 {
		return false
	}
	n := strings.ToLower(name)
	for _, s := range []string{"emb", "wte", "wpe", "head", "classifier", "output"} {
		if strings.Contains(n, s) {
			return false
		}
	}
	return true
}
