// Package recipe describes a whole training run as plain data — the
// dataset, the model, the optimizer and its hyperparameters, the schedule,
// clipping, epochs, batch size and seed — and builds the library's objects
// from it. config.json is a Recipe, so a run can be resumed or repeated
// exactly.
//
// The optimizer and the schedule are named in the vocabulary of package
// optim/spec ("adamw lr=1e-3 wd=0.05", "cosine min=1e-5"), which fills in
// the method's PyTorch defaults for every hyperparameter not given, so a
// saved recipe records every value the run used. [Recipe.Build] resolves
// the recipe for the data (the schedule's lengths), validates it once and
// builds the model, the optimizer and the trainer.
package recipe
