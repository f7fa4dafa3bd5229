// Package loss holds the training objectives: cross-entropy from logits
// with integer class labels, mean squared error, binary cross-entropy with
// logits (all with mean reduction, as PyTorch's defaults), and the L2
// penalty λ‖θ‖² over parameters.
//
// Each loss is a function of an [autograd.Tape] and Vars that records its
// computation on the tape and returns a scalar Var to call Backward on. The
// losses check what a user's data can get wrong: a label out of the class
// range, a count of labels or targets that does not match the batch, a NaN
// in the input. Such a problem is a returned error naming what is wrong
// (and is also recorded on the tape, so a later Backward fails too); it is
// never an index-out-of-range panic in a loop. A NaN makes the loss NaN, so
// the inputs are scanned for it only when the loss comes out NaN (the
// error names the first, as a scan before the loss would), and a loss
// without NaN costs no pass over its inputs on one core, but for
// CrossEntropyIgnore's scan of the rows whose label is ignored (which do
// not reach the loss).
//
// Losses compose on the tape: a regularized objective is the sum of a data
// loss and a penalty,
//
//	ce, err := loss.CrossEntropy(tape, logits, labels)
//	…
//	l2, err := loss.L2(tape, 1e-4, weights...)
//	…
//	total := tape.Add(ce, l2)
//	err = tape.Backward(total)
//
// Package loss builds on package autograd; it knows nothing of layers.
package loss
