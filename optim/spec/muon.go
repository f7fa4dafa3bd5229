package spec

import (
	"fmt"
	"slices"
	"strings"

	"github.com/descentml/descent/optim"
	"github.com/descentml/descent/schedule"
)

// Muon is the vocabulary's "muon": optim.Muon on the hidden weight
// matrices of a model and AdamW on every other parameter (biases,
// normalization gains, embeddings, the output layer), as Muon's authors
// and torch.optim.Muon's documentation prescribe. The AdamW group keeps
// the run's schedule, scaled to its own base rate AdamWLR, and AdamW's
// defaults (β = 0.9, 0.999, ε = 1e-8) with decoupled weight decay AdamWWD.
//
// Which parameter goes where is [RouteMuon]'s rule: a 2-D parameter that
// optim.HiddenMatrix accepts and that is not the model's last 2-D
// parameter (the output layer, whatever its name) goes to Muon.
type Muon struct {
	optim.Muon
	AdamWLR float64 `key:"adamw-lr" help:"learning rate of the AdamW group (the parameters that are not hidden matrices)"` // default 1e-3
	AdamWWD float64 `key:"adamw-wd" help:"decoupled weight decay of the AdamW group"`                                      // default 0.01
}

// DefaultMuon returns torch.optim.Muon's defaults, and AdamW's rate and
// weight decay for the rest.
func DefaultMuon() Muon {
	w := optim.DefaultAdamW()
	return Muon{Muon: optim.DefaultMuon(), AdamWLR: optim.DefaultLR(w), AdamWWD: w.WeightDecay}
}

// Validate checks Muon's hyperparameters and the AdamW group's.
func (m Muon) Validate() error {
	if err := m.Muon.Validate(); err != nil {
		return err
	}
	if !(m.AdamWLR >= 0) {
		return fmt.Errorf("spec: muon: adamw-lr = %v: must be ≥ 0", m.AdamWLR)
	}
	return m.adamW().Validate()
}

func (m Muon) checkLR(lr float64) error {
	if !(lr > 0) {
		return fmt.Errorf("muon scales the AdamW group's schedule by adamw-lr/lr, so lr must be positive (lr = %v)", lr)
	}
	return nil
}

func (m Muon) adamW() optim.AdamW {
	w := optim.DefaultAdamW()
	w.WeightDecay = m.AdamWWD
	return w
}

// Routing says which parameters of a model Muon updates and which AdamW:
// what config.json records, so that a resumed run routes them alike.
type Routing struct {
	Muon  []string `json:"muon"`
	AdamW []string `json:"adamw"`
}

// RouteMuon returns the routing of parameters (named, with their shapes,
// in the model's order): the 2-D parameters optim.HiddenMatrix accepts go
// to Muon, except the last 2-D parameter, which is the output layer of a
// Sequential (named "4.weight", not "head"); everything else goes to
// AdamW. toAdamW and toMuon name parameters to send to the other group
// than the rule's (toMuon only 2-D ones). A name that is no parameter, or
// a routing that leaves Muon nothing, is an error.
func RouteMuon(names []string, shapes [][]int, toAdamW, toMuon []string) (Routing, error) {
	last := -1
	for i, s := range shapes {
		if len(s) == 2 {
			last = i
		}
	}
	for _, n := range slices.Concat(toAdamW, toMuon) {
		i := slices.Index(names, n)
		if i < 0 {
			return Routing{}, fmt.Errorf("spec: muon: no parameter is named %q (the model has %s)", n, strings.Join(names, ", "))
		}
		if slices.Contains(toMuon, n) && len(shapes[i]) != 2 {
			return Routing{}, fmt.Errorf("spec: muon: parameter %q has shape %v: Muon updates matrices only", n, shapes[i])
		}
		if slices.Contains(toMuon, n) && slices.Contains(toAdamW, n) {
			return Routing{}, fmt.Errorf("spec: muon: parameter %q sent to both groups", n)
		}
	}
	var r Routing
	for i, n := range names {
		muon := optim.HiddenMatrix(n, shapes[i]) && i != last
		if slices.Contains(toAdamW, n) {
			muon = false
		}
		if slices.Contains(toMuon, n) {
			muon = true
		}
		if muon {
			r.Muon = append(r.Muon, n)
		} else {
			r.AdamW = append(r.AdamW, n)
		}
	}
	if len(r.Muon) == 0 {
		return r, fmt.Errorf("spec: muon: the model has no hidden weight matrix (Muon updates the 2-D weights between hidden layers; its parameters are %s): choose another optimizer, or name a matrix with --to-muon", describe(names, shapes))
	}
	return r, nil
}

func describe(names []string, shapes [][]int) string {
	parts := make([]string, len(names))
	for i, n := range names {
		parts[i] = fmt.Sprintf("%s %v", n, shapes[i])
	}
	return strings.Join(parts, ", ")
}

// MuonGroups splits params into the groups of routing r: Muon's, at the
// run's rate, and AdamW's, at the run's multiplier times m.AdamWLR. A
// parameter r does not name, or a name r has that params lack, is an
// error (a config.json written for another model).
func MuonGroups[T optim.Float](m Muon, params []optim.Param[T], r Routing, lr Rate) ([]optim.Group[T], error) {
	if n := len(r.Muon) + len(r.AdamW); n != len(params) {
		return nil, fmt.Errorf("spec: muon: the routing names %d parameters, the model has %d", n, len(params))
	}
	muon := optim.Route{Name: "muon", Method: m.Muon,
		Match: func(name string, _ []int) bool { return slices.Contains(r.Muon, name) }}
	// AdamW's rate is the run's multiplier η_t (its schedule built at base
	// 1) times AdamWLR; a rate without one (a caller's own schedule) is
	// scaled from the run's rate instead.
	var adamwLR schedule.Schedule = schedule.Scale{S: lr.Multiplier, Factor: m.AdamWLR}
	if lr.Multiplier == nil {
		adamwLR = schedule.Scale{S: lr.Schedule, Factor: m.AdamWLR / lr.Base}
	}
	adamw := optim.Route{Name: "adamw", Method: m.adamW(), LR: adamwLR,
		Match: func(name string, _ []int) bool { return slices.Contains(r.AdamW, name) }}
	return optim.Split(params, muon, adamw)
}

var _ Builder = Muon{}

// Build returns the method of the Muon group; [MuonGroups] makes both.
func (m Muon) Build(Rate) optim.Method { return m.Muon }
