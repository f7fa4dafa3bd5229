// Package tune searches hyperparameters: it draws configs from a search
// space, runs an objective on each, in parallel, and ranks the results.
//
// A [Space] is parsed from one line ([ParseSpace]):
//
//	lr=log(1e-4,1e-1) wd=log(1e-5,1e-1) batch=choice(64,128) beta1=uniform(0.8,0.99) layers=int(1,4) momentum=0.9
//
// A [Search] sets the space, the [Method] — [Random] (n seeded draws),
// [Grid] (points per axis, log-spaced for log) or [Halving] (successive
// halving: many configs at a small budget, the best 1/η promoted to η times
// the budget, until one is left) — a seed, the direction, the number of
// workers and a journal. The [Objective] is a callback: it gets a [Trial]
// (an ID, the [Config] and a budget, such as epochs) and returns an
// [Outcome] (the value, lower is better unless Search.Maximize, and free
// metrics). The package knows nothing of training: the callback does it.
//
// Trials run on Search.Workers goroutines (GOMAXPROCS by default); each
// worker holds one trial at a time, so the worker count bounds memory.
// Which configs are tried depends only on the search and the objective's
// values, never on the worker count or timing, so a parallel search reports
// what a serial one would. A trial that returns an error, panics or gives
// NaN is recorded as failed; the search goes on.
//
// With a journal file, every finished trial is appended as a JSON line and
// synced to disk. Running the same search with the same journal skips the
// trials it records: a search stopped by Ctrl-C (a cancelled context) or a
// crash continues where it stopped and ends with the report an
// uninterrupted search gives. A journal from a different search is an
// error that says what differs.
//
// The [Report] ranks the results best first ([Report.Ranked],
// [Report.Best]), prints an aligned table ([Report.WriteTable]) and
// encodes to JSON.
package tune
