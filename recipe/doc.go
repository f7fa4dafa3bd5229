// Package recipe describes a whole training run as plain data — the
// dataset, the model, the optimizer and its hyperparameters, the schedule,
// clipping, epochs, batch size and seed — and builds the library's objects
// from it. It is the vocabulary of the descent command: `descent train`'s
// flags fill a [Recipe], `descent compare --opt "adamw lr=1e-3 wd=0.05"` and
// `descent tune --space "lr=log(1e-4,1e-1)"` name its fields the same way,
// and config.json is a Recipe, so a run can be resumed or repeated exactly.
//
// Names are resolved once: [ParseOptimizer] and [ParseSchedule] fill in
// the method's PyTorch defaults for every hyperparameter not given, so a
// saved recipe records every value the run used.
package recipe
