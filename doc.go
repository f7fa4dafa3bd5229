// Package descent is the root of a Go library for training machine-learning
// models with gradient-based optimizers, and of the descent command.
//
// The library reads in the order of one training step:
//
//	data → tensor/autograd (forward on a tape) → loss → backward →
//	gradients → optim (clip → transforms → update, with a schedule) → parameters
//
// Each stage is its own package:
//
//   - [github.com/descentml/descent/optim]: optimizers built from small,
//     composable gradient transforms, with parameter groups, clipping and
//     saveable state. It knows nothing of models: it updates plain slices.
//   - [github.com/descentml/descent/schedule]: learning-rate (and momentum)
//     schedules as pure functions of the step, plus reduce-on-plateau.
//   - tensor, autograd, nn and loss: models with exact gradients.
//   - data: datasets, loaders, shuffling and batching.
//   - train: the training loop, metrics and checkpoints.
//
// Above them sit the vocabulary, [github.com/descentml/descent/optim/spec]
// (optimizer and schedule names, keys, defaults and docs, read from
// optim's struct tags), recipe (a whole run as data), run (a run
// directory's life), and explore, landscape and tune; the command
// cmd/descent only parses flags and prints.
//
// The conformance test in this directory checks every reference file in
// testdata/conformance against the library.
package descent
