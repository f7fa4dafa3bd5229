package tune

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// bowl is a synthetic objective: a quadratic in log10(lr) and x with its
// minimum at lr = 10^-2.5, x = 0.3, plus a term that shrinks as the budget
// grows and noise that does too, both fixed by the trial so that a rerun
// gives the same value.
func bowl(_ context.Context, t Trial) (Outcome, error) {
	q := math.Pow(math.Log10(t.Config.Float("lr"))+2.5, 2) + math.Pow(t.Config.Float("x")-0.3, 2)
	h := fnv.New64a()
	fmt.Fprint(h, t.ID, t.Budget)
	noise := float64(h.Sum64()%1000)/1000 - 0.5
	b := float64(t.Budget)
	return Outcome{Value: q + 1/b + 0.1*noise/math.Sqrt(b), Metrics: map[string]float64{"epochs": b}}, nil
}

func bowlSpace(t *testing.T) Space {
	s, err := ParseSpace("lr=log(1e-5,1) x=uniform(-1,1) opt=choice(adam,sgd)")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func reportJSON(t *testing.T, r *Report) string {
	t.Helper()
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// The same search gives the same report on one worker or many, whatever
// order the trials finish in.
func TestParallelEqualsSerial(t *testing.T) {
	for _, m := range []Method{Random{Trials: 40}, Grid{Points: 4}, Halving{Configs: 27, MinBudget: 1, MaxBudget: 27}} {
		s := Search{Space: bowlSpace(t), Method: m, Seed: 3, Workers: 1, Budget: 5}
		serial, err := s.Run(context.Background(), bowl)
		if err != nil {
			t.Fatal(err)
		}
		s.Workers = 8
		var calls atomic.Int64
		jittery := func(ctx context.Context, tr Trial) (Outcome, error) {
			// Later trials finish first, often.
			for range (50 - tr.ID%50) * 200 {
				calls.Add(1)
			}
			return bowl(ctx, tr)
		}
		parallel, err := s.Run(context.Background(), jittery)
		if err != nil {
			t.Fatal(err)
		}
		if a, b := reportJSON(t, serial), reportJSON(t, parallel); a != b {
			t.Errorf("%v: 1 worker and 8 workers differ:\n%s\n%s", m, a, b)
		}
	}
}

func TestRandomSearch(t *testing.T) {
	s := Search{Space: bowlSpace(t), Method: Random{Trials: 30}, Seed: 1}
	rep, err := s.Run(context.Background(), bowl)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Trials) != 30 || rep.TotalBudget() != 30 {
		t.Fatalf("%d trials, budget %d; want 30 and 30", len(rep.Trials), rep.TotalBudget())
	}
	ranked := rep.Ranked()
	for i := 1; i < len(ranked); i++ {
		if ranked[i].Value < ranked[i-1].Value {
			t.Errorf("Ranked()[%d] = %v after %v: not best first", i, ranked[i].Value, ranked[i-1].Value)
		}
	}
	best, ok := rep.Best()
	if !ok || best.ID != ranked[0].ID {
		t.Errorf("Best() = %v, %v; want trial %d", best.ID, ok, ranked[0].ID)
	}
	// Trial i's config depends on the seed and i only: a longer search
	// starts with the same configs.
	longer, _ := Search{Space: bowlSpace(t), Method: Random{Trials: 50}, Seed: 1}.Run(context.Background(), bowl)
	for i, tr := range rep.Trials {
		if !sameConfig(tr.Config, longer.Trials[i].Config) {
			t.Errorf("trial %d: %v in 30 trials, %v in 50", i, tr.Config, longer.Trials[i].Config)
		}
	}
	// Maximize turns the order round.
	s.Maximize = true
	max, _ := s.Run(context.Background(), bowl)
	if b, _ := max.Best(); b.ID != ranked[len(ranked)-1].ID {
		t.Errorf("maximizing: best is trial %d; want %d, the worst when minimizing", b.ID, ranked[len(ranked)-1].ID)
	}
}

// A trial that errs, panics or returns NaN is recorded as failed, ranks
// last, and the search goes on.
func TestFailedTrials(t *testing.T) {
	obj := func(ctx context.Context, tr Trial) (Outcome, error) {
		switch tr.ID {
		case 1:
			return Outcome{}, errors.New("loss exploded")
		case 2:
			return Outcome{Value: math.NaN()}, nil
		case 3:
			panic("index out of range")
		case 4:
			return Outcome{Value: 1, Metrics: map[string]float64{"acc": math.Inf(1)}}, nil
		}
		return bowl(ctx, tr)
	}
	dir := t.TempDir()
	s := Search{Space: bowlSpace(t), Method: Random{Trials: 6}, Seed: 1, Journal: filepath.Join(dir, "j")}
	rep, err := s.Run(context.Background(), obj)
	if err != nil {
		t.Fatal(err)
	}
	ranked := rep.Ranked()
	wantErr := map[int]string{1: "loss exploded", 2: "objective is NaN", 3: "panic: index out of range"}
	for _, tr := range ranked[3:] {
		if !tr.Failed || !math.IsNaN(tr.Value) || tr.Error != wantErr[tr.ID] {
			t.Errorf("trial %d: failed %v, value %v, error %q; want failed with %q", tr.ID, tr.Failed, tr.Value, tr.Error, wantErr[tr.ID])
		}
	}
	var table bytes.Buffer
	rep.WriteTable(&table)
	if !strings.Contains(table.String(), "failed") || !strings.Contains(table.String(), "loss exploded") || !strings.Contains(table.String(), "+Inf") {
		t.Errorf("table does not show the failures:\n%s", table.String())
	}
	// Failed trials are finished: a rerun runs nothing again.
	again, err := s.Run(context.Background(), func(context.Context, Trial) (Outcome, error) {
		t.Error("a finished trial ran again")
		return Outcome{}, nil
	})
	if err != nil || reportJSON(t, again) != reportJSON(t, rep) {
		t.Errorf("rerun from the journal: %v; report differs", err)
	}
	if a4 := again.Trials[4].Metrics["acc"]; !math.IsInf(a4, 1) {
		t.Errorf("metric +Inf came back from the journal as %v", a4)
	}
}

// Successive halving finds the bowl's minimum region for a fraction of the
// budget of running every config to the end.
func TestHalving(t *testing.T) {
	m := Halving{Configs: 81, MinBudget: 1, MaxBudget: 81, Eta: 3}
	rep, err := Search{Space: bowlSpace(t), Method: m, Seed: 5}.Run(context.Background(), bowl)
	if err != nil {
		t.Fatal(err)
	}
	// Rounds: 81 configs at 1, 27 at 3, 9 at 9, 3 at 27, 1 at 81.
	perRung := map[int][2]int{}
	for _, tr := range rep.Trials {
		c := perRung[tr.Rung]
		perRung[tr.Rung] = [2]int{c[0] + 1, tr.Budget}
	}
	want := map[int][2]int{0: {81, 1}, 1: {27, 3}, 2: {9, 9}, 3: {3, 27}, 4: {1, 81}}
	for r, w := range want {
		if perRung[r] != w {
			t.Errorf("rung %d: %d trials at budget %d; want %d at %d", r, perRung[r][0], perRung[r][1], w[0], w[1])
		}
	}
	full := 81 * 81
	if spent := rep.TotalBudget(); spent != 405 || spent*10 > full {
		t.Errorf("halving spent %d; want 405, far below the %d of a full search", spent, full)
	}
	best, _ := rep.Best()
	q := func(c Config) float64 {
		return math.Pow(math.Log10(c.Float("lr"))+2.5, 2) + math.Pow(c.Float("x")-0.3, 2)
	}
	better := 0
	for _, tr := range rep.Trials {
		if tr.Rung == 0 && q(tr.Config) < q(best.Config) {
			better++
		}
	}
	if best.Budget != 81 || q(best.Config) > 0.3 || better > 4 {
		t.Errorf("best config %v (budget %d) has q = %.3f, %d of 81 configs better; want q ≤ 0.3 and among the best 5",
			best.Config, best.Budget, q(best.Config), better)
	}
	// A maximum budget reached before one config is left ends the search
	// with the survivors at that budget.
	short, _ := Search{Space: bowlSpace(t), Method: Halving{Configs: 20, MinBudget: 2, MaxBudget: 5, Eta: 2}, Seed: 5}.Run(context.Background(), bowl)
	last := short.Trials[len(short.Trials)-1]
	if n := len(short.Trials); n != 20+10+5 || last.Budget != 5 || last.Rung != 2 {
		t.Errorf("halving 20 configs from 2 to 5: %d trials, last at budget %d rung %d; want 35, 5, 2", n, last.Budget, last.Rung)
	}
	// Few configs: the round that keeps one trains it to MaxBudget, not to
	// Eta times the budget before (3 at 1, then 1 at 9, not at 3).
	for _, tc := range []struct {
		m    Halving
		want [][2]int // trials and budget of each rung
	}{
		{Halving{Configs: 3, MinBudget: 1, MaxBudget: 9}, [][2]int{{3, 1}, {1, 9}}},
		{Halving{Configs: 2, MinBudget: 1, MaxBudget: 20}, [][2]int{{2, 1}, {1, 20}}},
		{Halving{Configs: 1, MinBudget: 1, MaxBudget: 9}, [][2]int{{1, 9}}},
		{Halving{Configs: 9, MinBudget: 1, MaxBudget: 100}, [][2]int{{9, 1}, {3, 3}, {1, 100}}},
	} {
		rep, err := Search{Space: bowlSpace(t), Method: tc.m, Seed: 5}.Run(context.Background(), bowl)
		if err != nil {
			t.Fatal(err)
		}
		var got [][2]int
		for _, tr := range rep.Trials {
			if tr.Rung == len(got) {
				got = append(got, [2]int{0, tr.Budget})
			}
			got[tr.Rung][0]++
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("%v: rungs (trials, budget) %v; want %v", tc.m, got, tc.want)
		}
		if best, _ := rep.Best(); best.Budget != tc.m.MaxBudget {
			t.Errorf("%v: best trial at budget %d; want the whole %d", tc.m, best.Budget, tc.m.MaxBudget)
		}
	}
}

// An interrupted search, run again with its journal, reruns no finished
// trial and ends with the report of an uninterrupted one.
func TestResume(t *testing.T) {
	for _, m := range []Method{Random{Trials: 30}, Halving{Configs: 27, MinBudget: 1, MaxBudget: 9}} {
		t.Run(m.String(), func(t *testing.T) {
			whole, err := Search{Space: bowlSpace(t), Method: m, Seed: 9, Workers: 3}.Run(context.Background(), bowl)
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(t.TempDir(), "journal.jsonl")
			s := Search{Space: bowlSpace(t), Method: m, Seed: 9, Workers: 3, Journal: path}
			var mu sync.Mutex
			runs := map[trialKey]int{}
			ctx, cancel := context.WithCancel(context.Background())
			var finished atomic.Int64
			stopAt := int64(len(whole.Trials) / 2)
			obj := func(ctx context.Context, tr Trial) (Outcome, error) {
				if finished.Add(1) > stopAt {
					cancel()
				}
				if ctx.Err() != nil {
					return Outcome{}, ctx.Err() // interrupted: not finished
				}
				mu.Lock()
				runs[tr.key()]++
				mu.Unlock()
				return bowl(ctx, tr)
			}
			part, err := s.Run(ctx, obj)
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("interrupted Run = %v; want context.Canceled", err)
			}
			if n := len(part.Trials); n == 0 || n >= len(whole.Trials) {
				t.Fatalf("the interrupted search finished %d of %d trials", n, len(whole.Trials))
			}
			lines := countLines(t, path)
			if lines != len(part.Trials)+1 {
				t.Errorf("journal has %d lines; want a header and %d trials", lines, len(part.Trials))
			}

			rest, err := s.Run(context.Background(), func(ctx context.Context, tr Trial) (Outcome, error) {
				mu.Lock()
				runs[tr.key()]++
				mu.Unlock()
				return bowl(ctx, tr)
			})
			if err != nil {
				t.Fatal(err)
			}
			for k, n := range runs {
				if n != 1 {
					t.Errorf("trial %d rung %d ran %d times", k.id, k.rung, n)
				}
			}
			if len(runs) != len(whole.Trials) {
				t.Errorf("%d trials ran over both runs; want %d", len(runs), len(whole.Trials))
			}
			if a, b := reportJSON(t, whole), reportJSON(t, rest); a != b {
				t.Errorf("resumed report differs from the uninterrupted one:\n%s\n%s", a, b)
			}
		})
	}
}

func countLines(t *testing.T, path string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Count(b, []byte("\n"))
}

// A line cut short by a crash is dropped and rewritten.
func TestJournalTornLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "j")
	s := Search{Space: bowlSpace(t), Method: Random{Trials: 4}, Seed: 2, Journal: path}
	first, err := s.Run(context.Background(), bowl)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	lines := bytes.SplitAfter(b, []byte("\n"))
	torn := bytes.Join(lines[:4], nil) // header and trials 0…2
	torn = append(torn, lines[4][:10]...)
	os.WriteFile(path, torn, 0o644)
	var ran []int
	again, err := s.Run(context.Background(), func(ctx context.Context, tr Trial) (Outcome, error) {
		ran = append(ran, tr.ID)
		return bowl(ctx, tr)
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(ran) != 1 || reportJSON(t, again) != reportJSON(t, first) {
		t.Errorf("after a torn line, trials %v ran again; want only the torn one, and the same report", ran)
	}
	if n := countLines(t, path); n != 5 {
		t.Errorf("repaired journal has %d lines; want 5", n)
	}
}

func TestJournalMismatch(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "j")
	base := Search{Space: bowlSpace(t), Method: Random{Trials: 3}, Seed: 1, Journal: path}
	if _, err := base.Run(context.Background(), bowl); err != nil {
		t.Fatal(err)
	}
	other := func(f func(*Search)) Search { s := base; f(&s); return s }
	space, _ := ParseSpace("lr=log(1e-5,1)")
	for _, c := range []struct {
		s    Search
		want string
	}{
		{other(func(s *Search) { s.Seed = 2 }), "seed 1 there, 2 here"},
		{other(func(s *Search) { s.Method = Random{Trials: 4} }), "method random(trials=3) there, random(trials=4) here"},
		{other(func(s *Search) { s.Method = Grid{Points: 2} }), "method random(trials=3) there, grid(points=2) here"},
		{other(func(s *Search) { s.Space = space }), `space "lr=log(1e-05,1) x=uniform(-1,1) opt=choice(adam,sgd)" there, "lr=log(1e-05,1)" here`},
		{other(func(s *Search) { s.Maximize = true }), "maximize false there, true here"},
		{other(func(s *Search) { s.Budget = 7 }), "budget 1 there, 7 here"},
	} {
		_, err := c.s.Run(context.Background(), bowl)
		if err == nil || !strings.Contains(err.Error(), "was written by a different search: "+c.want) {
			t.Errorf("Run = %v; want an error saying %q", err, c.want)
		}
	}
	notJournal := filepath.Join(dir, "notes.txt")
	os.WriteFile(notJournal, []byte("hello\n"), 0o644)
	base.Journal = notJournal
	if _, err := base.Run(context.Background(), bowl); err == nil || !strings.Contains(err.Error(), "is not a tune journal") {
		t.Errorf("Run with a foreign file = %v", err)
	}
	bad := filepath.Join(dir, "bad")
	b, _ := os.ReadFile(path)
	os.WriteFile(bad, append(b, "{not json}\n"...), 0o644)
	base.Journal = bad
	if _, err := base.Run(context.Background(), bowl); err == nil || !strings.Contains(err.Error(), "line 5") {
		t.Errorf("Run with a corrupt line = %v; want it named", err)
	}
}

func TestSearchErrors(t *testing.T) {
	sp := bowlSpace(t)
	for _, c := range []struct {
		s    Search
		want string
	}{
		{Search{Space: sp}, "Search.Method is nil"},
		{Search{Method: Random{Trials: 1}}, "Search.Space is empty"},
		{Search{Space: sp, Method: Random{}}, "Random.Trials = 0"},
		{Search{Space: sp, Method: Grid{}}, "Grid.Points = 0"},
		{Search{Space: sp, Method: Halving{Configs: 9, MinBudget: 3, MaxBudget: 1}}, "MinBudget ≤ MaxBudget"},
		{Search{Space: sp, Method: Halving{Configs: 9, MinBudget: 1, MaxBudget: 3, Eta: 1}}, "Eta ≥ 2"},
		{Search{Space: sp, Method: Random{Trials: 1}, Workers: -1}, "must not be negative"},
		{Search{Space: sp, Method: Random{Trials: 1}, Journal: filepath.Join(t.TempDir(), "no", "such", "dir")}, "tune: journal"},
	} {
		if _, err := c.s.Run(context.Background(), bowl); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Run(%+v) = %v; want %q", c.s, err, c.want)
		}
	}
}

func TestReportTableAndJSON(t *testing.T) {
	rep, _ := Search{Space: bowlSpace(t), Method: Grid{Points: 2}, Seed: 1}.Run(context.Background(), bowl)
	var table bytes.Buffer
	if err := rep.WriteTable(&table); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(table.String()), "\n")
	if len(lines) != 9 || !strings.HasPrefix(lines[0], "rank  id  budget  value") || !strings.Contains(lines[0], "lr") || !strings.Contains(lines[0], "epochs") {
		t.Errorf("table:\n%s", table.String())
	}
	var back Report
	if err := json.Unmarshal([]byte(reportJSON(t, rep)), &back); err != nil {
		t.Fatal(err)
	}
	var again bytes.Buffer
	back.WriteTable(&again)
	if b1, _ := rep.Best(); func() bool { b2, _ := back.Best(); return b1.ID != b2.ID }() || !strings.Contains(again.String(), "opt") {
		t.Errorf("decoded report differs:\n%s", again.String())
	}
}
