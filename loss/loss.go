package loss

import (
	"fmt"

	"github.com/descentml/descent/autograd"
	"github.com/descentml/descent/tensor"
)

// CrossEntropy returns the mean over the batch of −log softmax(logits)[label],
// PyTorch's F.cross_entropy with integer class targets and mean reduction:
// logits is [N, C] (unnormalized scores), labels holds N class indices in
// [0, C). It is computed by log-sum-exp, so it stays finite and exact for
// logits as large as ±1000; the gradient with respect to the logits is
// (softmax(logits) − onehot(label))/N.
//
// Logits of a higher rank, [..., C] (a language model's [B, T, V]), are
// taken as rows [N, C] with N the product of the leading dimensions, and
// labels then follow the same row-major order.
//
// A label out of range, a number of labels other than N, or a NaN in the
// logits is an error that names it.
func CrossEntropy[T tensor.Float](t *autograd.Tape[T], logits *autograd.Var[T], labels []int) (*autograd.Var[T], error) {
	if err := t.Err(); err != nil {
		return nil, err
	}
	return crossEntropy(t, logits, labels, false, 0)
}

// IgnoreIndex is PyTorch's default ignore_index, -100: the label of a
// position that no loss is computed for (padding).
const IgnoreIndex = -100

// CrossEntropyIgnore is CrossEntropy with PyTorch's ignore_index: positions
// whose label equals ignore (usually [IgnoreIndex]) contribute nothing, and
// the mean divides by the number of the others. This is the next-token loss
// of a language model over padded sequences: logits [B, T, V], labels the
// B·T next tokens in row-major order.
func CrossEntropyIgnore[T tensor.Float](t *autograd.Tape[T], logits *autograd.Var[T], labels []int, ignore int) (*autograd.Var[T], error) {
	if err := t.Err(); err != nil {
		return nil, err
	}
	return crossEntropy(t, logits, labels, true, ignore)
}

// crossEntropy is CrossEntropy, or CrossEntropyIgnore if skip. The logits
// are scanned for NaN after the loss, and only if it is NaN: a NaN in a row
// whose label is not ignored always makes the loss NaN (its row's maximum
// skips it, and the exp, the row's float64 sum, the log and the sum of the
// rows' terms all keep it: kernel.SoftmaxRowsStats), so a loss that is not
// NaN proves there is none there. The scan then names the first NaN, as an
// eager scan would, and a loss that is NaN for another reason (a row
// holding +Inf, or only −Inf) is returned as it was. Ignored rows do not
// reach the loss, so they are scanned first; logits or labels the tape
// would refuse (a label out of range, a count of labels that is not N)
// are scanned first too, so that a NaN is the error named, as before. The
// scan over all logits was a serial pass on the caller between the loss's
// spread passes: up to 51M floats for a language model's logits.
func crossEntropy[T tensor.Float](t *autograd.Tape[T], logits *autograd.Var[T], labels []int, skip bool, ignore int) (*autograd.Var[T], error) {
	if !ceAccepts(logits.Shape(), labels, skip, ignore) || (skip && ignoredNaN(logits, labels, ignore)) {
		if err := noNaN("cross-entropy", "logits", logits); err != nil {
			return fail(t, err)
		}
	}
	var l *autograd.Var[T]
	if x := rows(t, logits); skip {
		l = t.CrossEntropyIgnore(x, labels, ignore)
	} else {
		l = t.CrossEntropy(x, labels)
	}
	return checkNaN(t, l, func() error { return noNaN("cross-entropy", "logits", logits) })
}

// ceAccepts reports whether the tape's cross-entropy takes logits of that
// shape (after rows) with those labels: one label per row, at least one
// row, each label in [0, C) or, if skip, ignore.
func ceAccepts(shape, labels []int, skip bool, ignore int) bool {
	if len(shape) < 2 || shape[len(shape)-1] <= 0 {
		return false
	}
	c, n := shape[len(shape)-1], tensor.Size(shape[:len(shape)-1])
	if n == 0 || len(labels) != n {
		return false
	}
	for _, l := range labels {
		if (l < 0 || l >= c) && !(skip && l == ignore) {
			return false
		}
	}
	return true
}

// ignoredNaN reports whether a row of logits [..., C] whose label is
// ignore holds a NaN.
func ignoredNaN[T tensor.Float](logits *autograd.Var[T], labels []int, ignore int) bool {
	x := logits.Value().Data()
	c := len(x) / len(labels)
	for i, l := range labels {
		if l != ignore {
			continue
		}
		for _, v := range x[i*c : (i+1)*c] {
			if v != v {
				return true
			}
		}
	}
	return false
}

// rows returns logits [..., C] as a matrix [N, C] (a view).
func rows[T tensor.Float](t *autograd.Tape[T], logits *autograd.Var[T]) *autograd.Var[T] {
	s := logits.Shape()
	if len(s) <= 2 {
		return logits
	}
	return t.Reshape(logits, -1, s[len(s)-1])
}

// MSE returns the mean of (pred − target)², PyTorch's F.mse_loss with mean
// reduction. pred and target must have the same shape (PyTorch would
// broadcast, with a warning; here a mismatch is an error naming both
// shapes), and a NaN in either is an error.
func MSE[T tensor.Float](t *autograd.Tape[T], pred, target *autograd.Var[T]) (*autograd.Var[T], error) {
	if err := t.Err(); err != nil {
		return nil, err
	}
	if !tensor.SameShape(pred.Shape(), target.Shape()) {
		return fail(t, fmt.Errorf("loss: mse: prediction %v and target %v: want the same shape", pred.Shape(), target.Shape()))
	}
	// A NaN in pred or target makes the loss NaN (each step is plain
	// arithmetic, the mean a float64 sum), so they are scanned only then.
	return checkNaN(t, t.Mean(t.Square(t.Sub(pred, target))), func() error {
		return noNaN2("mse", "prediction", pred, "target", target)
	})
}

// BCEWithLogits returns the mean binary cross-entropy between σ(logits) and
// targets (probabilities, usually 0 or 1), PyTorch's
// F.binary_cross_entropy_with_logits with mean reduction, in the stable
// form max(x, 0) − x·z + log(1 + e^(−|x|)). logits and targets must have
// the same shape, and a NaN in either is an error.
func BCEWithLogits[T tensor.Float](t *autograd.Tape[T], logits, targets *autograd.Var[T]) (*autograd.Var[T], error) {
	if err := t.Err(); err != nil {
		return nil, err
	}
	// A NaN in logits or targets makes the loss NaN (max(x, 0) and x·z are
	// NaN, and so their sum), so they are scanned only then, or first if
	// the tape will refuse their shapes, so that a NaN is the error named.
	scan := func() error { return noNaN2("binary cross-entropy", "logits", logits, "targets", targets) }
	if !tensor.SameShape(logits.Shape(), targets.Shape()) {
		if err := scan(); err != nil {
			return fail(t, err)
		}
	}
	return checkNaN(t, t.BCEWithLogits(logits, targets), scan)
}

// L2 returns the penalty λ·Σ‖θ‖² over the given parameters (usually a
// model's weights, from nn.Param.Var), the textbook form of L2
// regularization: added to a loss, it adds 2λθ to each parameter's
// gradient. (PyTorch's weight_decay on SGD or Adam adds λθ, without the
// factor 2; decoupled weight decay, as in AdamW, is the optimizer's.) With
// no parameters it is 0.
func L2[T tensor.Float](t *autograd.Tape[T], lambda float64, params ...*autograd.Var[T]) (*autograd.Var[T], error) {
	if err := t.Err(); err != nil {
		return nil, err
	}
	var sum *autograd.Var[T]
	for _, p := range params {
		s := t.SumSquares(p)
		if sum == nil {
			sum = s
		} else {
			sum = t.Add(sum, s)
		}
	}
	if sum == nil {
		return t.Const(tensor.Scalar[T](0)), nil
	}
	return t.Scale(sum, lambda), t.Err()
}

func fail[T tensor.Float](t *autograd.Tape[T], err error) (*autograd.Var[T], error) {
	return t.Fail(err), err
}

// checkNaN returns the loss l and the tape's error, except that if l is
// NaN and scan (of the loss's inputs) returns an error, it returns that
// error, recorded on the tape: the error an eager scan would have given.
func checkNaN[T tensor.Float](t *autograd.Tape[T], l *autograd.Var[T], scan func() error) (*autograd.Var[T], error) {
	if err := t.Err(); err != nil {
		return l, err
	}
	if v := l.Value().Data()[0]; v != v {
		if err := scan(); err != nil {
			return fail(t, err)
		}
	}
	return l, nil
}

// noNaN2 returns noNaN's error for a, or else for b.
func noNaN2[T tensor.Float](loss, whatA string, a *autograd.Var[T], whatB string, b *autograd.Var[T]) error {
	if err := noNaN(loss, whatA, a); err != nil {
		return err
	}
	return noNaN(loss, whatB, b)
}

// noNaN returns an error naming the first NaN in x, if any.
func noNaN[T tensor.Float](loss, what string, x *autograd.Var[T]) error {
	for i, v := range x.Value().Data() {
		if v != v {
			return fmt.Errorf("loss: %s: %s %v hold NaN at %v", loss, what, x.Shape(), unravel(i, x.Shape()))
		}
	}
	return nil
}

// unravel turns a flat row-major index into one coordinate per dimension.
func unravel(i int, shape []int) []int {
	idx := make([]int, len(shape))
	for d := len(shape) - 1; d >= 0; d-- {
		if shape[d] > 0 {
			idx[d] = i % shape[d]
			i /= shape[d]
		}
	}
	return idx
}
