// Package explore is how descent shows optimizers at work on real
// training: it trains recipes (package recipe) side by side and measures
// them. The descent commands compare, lr-find and tune are thin layers over
// it; landscape, on two-variable test functions, is package landscape.
//
//   - [Compare] trains one recipe with several optimizers and several seeds
//     (the same seeds, so the same initial weights and batches, for every
//     optimizer), in parallel, and gathers every run's history and the
//     mean ± standard deviation of where they ended ([Comparison]): a
//     table, JSON, and curves per epoch with bands ([Comparison.Figures]).
//   - [RunDecayGrid] trains a learning rate × weight decay grid for
//     several optimizers — by default Adam with L2 regularization and
//     AdamW, the experiment of Loshchilov & Hutter (2019) — and scores each
//     cell by its validation error ([DecayGrid]): two heatmaps with one
//     colour scale, and where each optimizer's good region lies.
//   - [FindLR] runs the learning-rate range test (Smith 2017): a short run
//     whose rate grows exponentially, the smoothed loss against the rate,
//     stopped when the loss explodes, and a suggested rate ([LRFind]).
//   - [Tune] searches hyperparameters with package tune over a recipe:
//     each name of the space ([TuneNames]) sets a recipe value ([Apply]),
//     the trials train in parallel, and a journal makes the search
//     resumable ([Tuning]).
//
// Trainings run concurrently on [Parallelism] goroutines, one model each.
// Each has its own model, optimizer and random streams and only reads the
// shared data, so the results do not depend on the number of goroutines or
// on the order in which runs finish. A run whose loss becomes NaN is a
// result — the run failed, it is recorded with its error — not an error of
// the whole experiment.
//
// Every result encodes to JSON as is (NaN as null), prints as a text table
// and returns its figures as plot specs, which package plot draws.
package explore
