package tune

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"

	"github.com/descentml/descent/comm"
	"github.com/descentml/descent/internal/pool"
)

// Method chooses which configs a search tries: Random, Grid or Halving.
type Method interface {
	// String describes the method and its settings; a journal records it.
	String() string
	validate() error
}

// CheckMethod reports settings of m that no search can run with (Random
// with no trials, a Halving whose budgets are out of order), as Search.Run
// would, so that a caller can refuse them before preparing anything.
func CheckMethod(m Method) error {
	if m == nil {
		return errors.New("tune: no method")
	}
	return m.validate()
}

var (
	_ Method = Random{}
	_ Method = Grid{}
	_ Method = Halving{}
)

// Random tries Trials configs drawn independently from the space. Trial i
// draws from its own random stream, seeded by the search's seed and i, so
// which configs are tried depends on nothing else.
type Random struct {
	Trials int
}

// String returns "random(trials=N)".
func (m Random) String() string { return fmt.Sprintf("random(trials=%d)", m.Trials) }

func (m Random) validate() error {
	if m.Trials < 1 {
		return fmt.Errorf("tune: Random.Trials = %d: want at least 1", m.Trials)
	}
	return nil
}

// Grid tries every config of a grid with Points values along each log or
// uniform axis (log-spaced for log), every integer of an int axis with at
// most Points of them (else Points spread evenly), and every choice. The
// first dimension written varies slowest.
type Grid struct {
	Points int
}

// String returns "grid(points=N)".
func (m Grid) String() string { return fmt.Sprintf("grid(points=%d)", m.Points) }

func (m Grid) validate() error {
	if m.Points < 1 {
		return fmt.Errorf("tune: Grid.Points = %d: want at least 1", m.Points)
	}
	return nil
}

// Halving is successive halving (Jamieson & Talwalkar 2016; one bracket of
// Hyperband, Li et al. 2018): Configs random configs run at MinBudget; the
// best 1/Eta of them (at least one) run again at Eta times the budget; and
// so on until the budget reaches MaxBudget, where the survivors make the
// last round. The round that keeps a single config runs it at MaxBudget
// (a single config, at once): the final survivor always trains the whole
// budget, as each bracket of Hyperband ends at its maximum resource R,
// however few configs there are. A config's trials share its ID; a
// promoted config runs again from scratch with the larger budget, unless
// the objective keeps its own checkpoints (Trial.Rung says which round).
type Halving struct {
	Configs   int // configs in the first round
	MinBudget int // budget of the first round, ≥ 1
	MaxBudget int // the budget no round exceeds, ≥ MinBudget
	Eta       int // the reduction factor; 0 means 3
}

func (m Halving) eta() int {
	if m.Eta == 0 {
		return 3
	}
	return m.Eta
}

// String returns "halving(configs=N,min=A,max=B,eta=E)", Eta defaulted.
func (m Halving) String() string {
	return fmt.Sprintf("halving(configs=%d,min=%d,max=%d,eta=%d)", m.Configs, m.MinBudget, m.MaxBudget, m.eta())
}

func (m Halving) validate() error {
	if m.Configs < 1 || m.MinBudget < 1 || m.MaxBudget < m.MinBudget || m.eta() < 2 {
		return fmt.Errorf("tune: %v: want Configs ≥ 1, 1 ≤ MinBudget ≤ MaxBudget and Eta ≥ 2", m)
	}
	return nil
}

// Trial is one run of the objective: a config at a budget.
type Trial struct {
	// ID numbers the config in the order the method generates them; a
	// config promoted by Halving keeps its ID.
	ID int `json:"id"`
	// Rung is the Halving round (0 for the first, and for Random and Grid).
	Rung int `json:"rung"`
	// Budget is what the objective may spend, in its own units (epochs,
	// say): Search.Budget for Random and Grid, the round's for Halving.
	Budget int    `json:"budget"`
	Config Config `json:"config"`
}

// Outcome is what the objective reports for a trial.
type Outcome struct {
	// Value is the objective, lower is better (higher with
	// Search.Maximize). NaN or ±Inf marks the trial failed.
	Value float64
	// Metrics are anything else worth keeping: accuracy, time, epochs run.
	Metrics map[string]float64
}

// Objective runs one trial. It should return promptly with ctx's error
// when ctx is cancelled; a trial that returns an error (or panics) for any
// other reason is recorded as failed and the search goes on.
type Objective func(ctx context.Context, t Trial) (Outcome, error)

// Search is a hyperparameter search: a space, a method, a seed, the
// objective's direction and where to keep the journal.
type Search struct {
	Space  Space
	Method Method
	// Seed fixes the configs Random and Halving draw.
	Seed uint64
	// Maximize makes higher objective values better.
	Maximize bool
	// Budget is passed to every Random and Grid trial (Halving sets its
	// own); 0 means 1.
	Budget int
	// Workers is how many trials run at once; 0 means GOMAXPROCS. Each
	// worker holds one trial, so memory grows with Workers: lower it for
	// trials that train large models.
	Workers int
	// Journal, if not "", is a file of finished trials (JSON lines,
	// appended and synced to disk as each trial finishes). A search whose
	// journal exists skips the trials it records, so an interrupted search
	// continues where it stopped; a journal written by a different search
	// (space, method, seed, direction or budget) is an error.
	Journal string
	// Comm, if it has several processes (the ranks of mpirun), shares the
	// search among them (distributed.go): each rank runs one trial at a
	// time, Workers is ignored, every rank returns the same report, and
	// rank 0 alone writes the journal. Every rank must call Run with the
	// same search. nil: one process.
	Comm *comm.Comm
}

// Run runs the search and returns the report of every finished trial.
// Which configs are tried, and so the report, depends only on the search
// and the objective's results, not on the number of workers or on timing.
//
// When ctx is cancelled Run stops starting trials, waits for those running,
// records the ones that finished, and returns the report so far with
// ctx's error; running it again with the same journal goes on from there.
func (s Search) Run(ctx context.Context, obj Objective) (*Report, error) {
	if s.Method == nil {
		return nil, errors.New("tune: Search.Method is nil: choose Random, Grid or Halving")
	}
	if err := s.Method.validate(); err != nil {
		return nil, err
	}
	if len(s.Space.Dims) == 0 {
		return nil, errors.New("tune: Search.Space is empty: see ParseSpace")
	}
	if s.Budget < 0 || s.Workers < 0 {
		return nil, fmt.Errorf("tune: Search.Budget = %d, Workers = %d: must not be negative", s.Budget, s.Workers)
	}
	r := &runner{s: s, obj: obj, done: map[trialKey]TrialResult{}}
	r.workers = s.Workers
	if r.workers == 0 {
		r.workers = runtime.GOMAXPROCS(0)
	}
	if s.Comm.Distributed() && s.Journal != "" {
		if err := r.openShared(); err != nil {
			return nil, err
		}
		defer func() {
			if r.journal != nil {
				r.journal.close()
			}
		}()
	} else if s.Journal != "" {
		j, done, err := openJournal(s.Journal, s.header())
		if err != nil {
			return nil, err
		}
		defer j.close()
		r.journal = j
		for _, t := range done {
			r.done[t.key()] = t
		}
	}
	var err error
	switch m := s.Method.(type) {
	case Random:
		err = r.runAll(ctx, r.randomTrials(m.Trials, 0, s.budget()))
	case Grid:
		var configs []Config
		if configs, err = s.Space.Grid(m.Points); err == nil {
			trials := make([]Trial, len(configs))
			for i, c := range configs {
				trials[i] = Trial{ID: i, Budget: s.budget(), Config: c}
			}
			err = r.runAll(ctx, trials)
		}
	case Halving:
		err = r.halving(ctx, m)
	default:
		err = fmt.Errorf("tune: unknown method %T", s.Method)
	}
	return r.report(), err
}

func (s Search) budget() int { return max(1, s.Budget) }

// trialKey identifies a trial: a config at a rung.
type trialKey struct{ id, rung int }

func (t Trial) key() trialKey { return trialKey{t.ID, t.Rung} }

type runner struct {
	s       Search
	obj     Objective
	workers int
	journal *journal
	done    map[trialKey]TrialResult
}

// randomTrials returns n trials whose configs are drawn from the space,
// trial i from the stream (Seed, i).
func (r *runner) randomTrials(n, rung, budget int) []Trial {
	trials := make([]Trial, n)
	for i := range trials {
		rng := rand.New(rand.NewPCG(r.s.Seed, uint64(i)))
		trials[i] = Trial{ID: i, Rung: rung, Budget: budget, Config: r.s.Space.sample(rng)}
	}
	return trials
}

// runAll runs the trials not already done, Workers at a time, recording
// each as it finishes.
func (r *runner) runAll(ctx context.Context, trials []Trial) error {
	var todo []Trial
	for _, t := range trials {
		if prev, ok := r.done[t.key()]; ok {
			if !sameConfig(prev.Config, t.Config) {
				return fmt.Errorf("tune: journal %s: trial %d (rung %d) has config %v there, %v here: the search has changed", r.s.Journal, t.ID, t.Rung, prev.Config, t.Config)
			}
			if prev.Budget != t.Budget { // a halving journal of a version whose last rung stopped short
				return fmt.Errorf("tune: journal %s: trial %d (rung %d) ran with budget %d there, %d here: the search has changed, or the journal is of a descent before 7 December 2026, whose successive halving stopped its last round short of the whole budget (continue it with that descent, or start again in another directory)", r.s.Journal, t.ID, t.Rung, prev.Budget, t.Budget)
			}
			continue
		}
		todo = append(todo, t)
	}
	if r.s.Comm.Distributed() {
		return r.runRanks(ctx, todo)
	}
	type result struct {
		res TrialResult
		ok  bool
	}
	return pool.Run(ctx, len(todo), r.workers, func(ctx context.Context, i int) result {
		res, ok := r.runOne(ctx, todo[i])
		return result{res, ok}
	}, func(_ int, res result) error {
		if !res.ok {
			return nil
		}
		if r.journal != nil {
			if err := r.journal.append(res.res); err != nil {
				return err
			}
		}
		r.done[res.res.key()] = res.res
		return nil
	})
}

// runOne runs a trial. It reports false for a trial interrupted by ctx,
// which is not finished and must run again.
func (r *runner) runOne(ctx context.Context, t Trial) (res TrialResult, ok bool) {
	res.Trial = t
	defer func() {
		if p := recover(); p != nil {
			res.Failed, res.Error, ok = true, fmt.Sprintf("panic: %v", p), true
			res.Value = math.NaN()
		}
	}()
	out, err := r.obj(ctx, t)
	if err != nil && ctx.Err() != nil {
		return res, false
	}
	res.Value, res.Metrics = out.Value, out.Metrics
	switch {
	case err != nil:
		res.Failed, res.Error = true, err.Error()
	case math.IsNaN(out.Value) || math.IsInf(out.Value, 0):
		res.Failed, res.Error = true, fmt.Sprintf("objective is %v", out.Value)
	}
	if res.Failed {
		res.Value = math.NaN()
	}
	return res, true
}

// halving runs the rounds of successive halving.
func (r *runner) halving(ctx context.Context, m Halving) error {
	eta := m.eta()
	budget := m.MinBudget
	if m.Configs == 1 {
		budget = m.MaxBudget // the survivor already
	}
	trials := r.randomTrials(m.Configs, 0, budget)
	for rung := 0; ; rung++ {
		if err := r.runAll(ctx, trials); err != nil {
			return err
		}
		if budget >= m.MaxBudget {
			return nil
		}
		results := make([]TrialResult, len(trials))
		for i, t := range trials {
			results[i] = r.done[t.key()]
		}
		slices.SortStableFunc(results, r.better)
		keep := max(1, len(results)/eta)
		budget = min(budget*eta, m.MaxBudget)
		if keep == 1 {
			budget = m.MaxBudget // the final survivor trains the whole budget
		}
		trials = trials[:0:0]
		for _, res := range results[:keep] {
			trials = append(trials, Trial{ID: res.ID, Rung: rung + 1, Budget: budget, Config: res.Config})
		}
		slices.SortFunc(trials, func(a, b Trial) int { return a.ID - b.ID })
	}
}

// better orders results best first: by value in the search's direction,
// failed trials last, ties by ID.
func (r *runner) better(a, b TrialResult) int {
	if a.Failed != b.Failed {
		if a.Failed {
			return 1
		}
		return -1
	}
	if !a.Failed && a.Value != b.Value {
		if (a.Value < b.Value) != r.s.Maximize {
			return -1
		}
		return 1
	}
	return a.ID - b.ID
}
