// Package train is where models, losses, optimizers and data meet: a
// training loop with metrics, early stopping, hooks, and checkpoints that
// resume a run exactly.
//
// A [Trainer] runs epochs of mini-batch steps over a training set:
//
//	batch → model.Forward → loss → Backward → optimizer.Step → discard gradients
//
// [New] checks the run before it starts: the configuration, the optimizer
// (made over the model's parameters), and, from one example run forward in
// eval mode, that the model takes the data's examples and gives an output
// for every class, and, if the run has batches of one example, that the
// model can train on one in training mode (1-d batch norm cannot: one
// value per channel).
//
// The loop shuffles the examples in an order that is a pure function of the seed
// and the epoch, evaluating loss and accuracy on the validation set after
// each epoch, and showing the validation loss to Config.ValLoss (a
// reduce-on-plateau schedule). A NaN or infinite loss stops the run with an error that says where;
// the last good checkpoint stays as it was.
//
// The gradients are discarded after a step (nn.DiscardGrads), not zeroed:
// the next backward pass overwrites them, so no pass writes zeros for it to
// read back. Between steps (in Config.OnBatch, say) a parameter's Grad holds
// stale values; its Var's Grad method reads as zero.
//
// # Checkpoints
//
// A checkpoint holds everything the run depends on: the model's parameters
// and buffers, the optimizer's state (moments, step count, schedule state),
// the random source of the dropout layers, the position in the data (epoch
// and batch) and the metrics so far. It is one file, written atomically —
// to a temporary file that is synced and then renamed over the old one — at
// the end of every epoch and when the run is interrupted (its context is
// cancelled, as on Ctrl-C). [Trainer.Resume] loads it into a trainer built
// the same way, and the run continues bit for bit: the model at the end is
// byte-identical to that of a run that never stopped, also after the process
// was killed mid-epoch.
//
// # The evaluated model
//
// Some runs evaluate another model than the one they train: Schedule-Free
// trains y and is evaluated at x (optim.Optimizer.Eval), and a run with
// Config.Average evaluates an average of its weights. The trainer switches
// by itself ([Trainer.AtEvalPoint]): [Trainer.Evaluate], the validation
// after each epoch and the checkpoint's model use the evaluated model, with
// batch normalization's running statistics recomputed for it from training
// batches; the checkpoint keeps the trained model and the average too, and
// the training state is put back exactly after each switch. The trainer
// finds the batch-norm layers through nn.Container: a model of one's own
// that holds batch norm must list its layers for such a run, or New
// refuses it.
//
// With Config.Accumulate, several batches make one optimizer step; the
// last step of an epoch averages the batches left, and a checkpoint taken
// between the batches of a step keeps their gradients' sum (accumulate.go).
//
// # Data-parallel training
//
// With Config.Comm set to the processes of an MPI job (package comm; run
// under mpirun with a build tagged mpi), every rank trains a replica of the
// model on its share of each global batch, and one exact all-reduce per
// step gives every rank the gradient of the whole batch, so every rank
// takes the same step as a single process would, up to the order of the
// additions. Rank 0's state is copied to all at the start, rank 0 alone
// writes checkpoints, and errors and interruptions stop every rank at the
// same step. distributed.go has the details.
package train
