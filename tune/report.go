package tune

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
)

// TrialResult is a finished trial: its outcome, or why it failed.
type TrialResult struct {
	Trial
	Value   float64            // NaN for a failed trial
	Metrics map[string]float64 // as the objective reported them
	Failed  bool
	Error   string // why it failed
}

// trialJSON is TrialResult as JSON writes it: non-finite numbers as strings.
type trialJSON struct {
	Trial
	Value   jsonFloat            `json:"value"`
	Metrics map[string]jsonFloat `json:"metrics,omitempty"`
	Failed  bool                 `json:"failed,omitempty"`
	Error   string               `json:"error,omitempty"`
}

// MarshalJSON writes the result as one JSON object, NaN and ±Inf as the
// strings "NaN", "+Inf" and "-Inf".
func (t TrialResult) MarshalJSON() ([]byte, error) {
	j := trialJSON{Trial: t.Trial, Value: jsonFloat(t.Value), Failed: t.Failed, Error: t.Error}
	if t.Metrics != nil {
		j.Metrics = make(map[string]jsonFloat, len(t.Metrics))
		for k, v := range t.Metrics {
			j.Metrics[k] = jsonFloat(v)
		}
	}
	return json.Marshal(j)
}

// UnmarshalJSON reads what MarshalJSON writes.
func (t *TrialResult) UnmarshalJSON(b []byte) error {
	var j trialJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*t = TrialResult{Trial: j.Trial, Value: float64(j.Value), Failed: j.Failed, Error: j.Error}
	if j.Metrics != nil {
		t.Metrics = make(map[string]float64, len(j.Metrics))
		for k, v := range j.Metrics {
			t.Metrics[k] = float64(v)
		}
	}
	return nil
}

// Report holds every finished trial of a search.
type Report struct {
	Space    string `json:"space"`
	Method   string `json:"method"`
	Seed     uint64 `json:"seed"`
	Maximize bool   `json:"maximize"`
	// Trials are in the order the method generates them: by rung, then ID.
	Trials []TrialResult `json:"trials"`

	dims []string
}

func (r *runner) report() *Report {
	rep := &Report{Space: r.s.Space.String(), Method: r.s.Method.String(), Seed: r.s.Seed, Maximize: r.s.Maximize}
	for _, t := range r.done {
		rep.Trials = append(rep.Trials, t)
	}
	slices.SortFunc(rep.Trials, func(a, b TrialResult) int {
		if a.Rung != b.Rung {
			return a.Rung - b.Rung
		}
		return a.ID - b.ID
	})
	for _, d := range r.s.Space.Dims {
		rep.dims = append(rep.dims, d.Name)
	}
	return rep
}

// Ranked returns each config's result at the largest budget it ran with
// (for Halving, how far it got), best first: a larger budget first, then
// the better value; failed trials last; ties by ID.
func (rep *Report) Ranked() []TrialResult {
	last := map[int]TrialResult{}
	for _, t := range rep.Trials {
		if prev, ok := last[t.ID]; !ok || t.Rung > prev.Rung {
			last[t.ID] = t
		}
	}
	ranked := slices.Collect(maps.Values(last))
	r := runner{s: Search{Maximize: rep.Maximize}}
	slices.SortFunc(ranked, func(a, b TrialResult) int {
		if a.Budget != b.Budget {
			return b.Budget - a.Budget
		}
		return r.better(a, b)
	})
	return ranked
}

// Best returns the best trial (see Ranked), and false if no trial
// succeeded.
func (rep *Report) Best() (TrialResult, bool) {
	ranked := rep.Ranked()
	if len(ranked) == 0 || ranked[0].Failed {
		return TrialResult{}, false
	}
	return ranked[0], true
}

// TotalBudget returns the budget spent over all finished trials.
func (rep *Report) TotalBudget() int {
	n := 0
	for _, t := range rep.Trials {
		n += t.Budget
	}
	return n
}

// WriteTable writes the ranked results as an aligned text table: rank,
// ID, budget, value, each hyperparameter, each metric (in name order),
// and, if any trial failed, why.
func (rep *Report) WriteTable(w io.Writer) error {
	ranked := rep.Ranked()
	dims := rep.dims
	if dims == nil { // a decoded report: the names from the configs
		seen := map[string]bool{}
		for _, t := range ranked {
			for k := range t.Config {
				seen[k] = true
			}
		}
		dims = slices.Sorted(maps.Keys(seen))
	}
	metricSet := map[string]bool{}
	for _, t := range ranked {
		for k := range t.Metrics {
			metricSet[k] = true
		}
	}
	metrics := slices.Sorted(maps.Keys(metricSet))
	failed := slices.ContainsFunc(ranked, func(t TrialResult) bool { return t.Failed })
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	row := append([]string{"rank", "id", "budget", "value"}, dims...)
	row = append(row, metrics...)
	if failed {
		row = append(row, "error")
	}
	fmt.Fprintln(tw, strings.Join(row, "\t"))
	for i, t := range ranked {
		value := fmtFloat(t.Value)
		if t.Failed {
			value = "failed"
		}
		row = append(row[:0], strconv.Itoa(i+1), strconv.Itoa(t.ID), strconv.Itoa(t.Budget), value)
		for _, d := range dims {
			row = append(row, fmtValue(t.Config[d]))
		}
		for _, m := range metrics {
			s := ""
			if v, ok := t.Metrics[m]; ok {
				s = fmtFloat(v)
			}
			row = append(row, s)
		}
		if failed {
			row = append(row, t.Error)
		}
		fmt.Fprintln(tw, strings.Join(row, "\t"))
	}
	return tw.Flush()
}

func fmtFloat(v float64) string { return strconv.FormatFloat(v, 'g', 4, 64) }

func fmtValue(v Value) string {
	if v.IsNumber() {
		return fmtFloat(v.Float())
	}
	return v.String()
}
