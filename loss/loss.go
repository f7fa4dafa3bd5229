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
	if err := noNaN("cross-entropy", "logits", logits); err != nil {
		return fail(t, err)
	}
	return t.CrossEntropy(rows(t, logits), labels), t.Err()
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
	if err := noNaN("cross-entropy", "logits", logits); err != nil {
		return fail(t, err)
	}
	return t.CrossEntropyIgnore(rows(t, logits), labels, ignore), t.Err()
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
	if err := noNaN("mse", "prediction", pred); err != nil {
		return fail(t, err)
	}
	if err := noNaN("mse", "target", target); err != nil {
		return fail(t, err)
	}
	return t.Mean(t.Square(t.Sub(pred, target))), t.Err()
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
	if err := noNaN("binary cross-entropy", "logits", logits); err != nil {
		return fail(t, err)
	}
	if err := noNaN("binary cross-entropy", "targets", targets); err != nil {
		return fail(t, err)
	}
	return t.BCEWithLogits(logits, targets), t.Err()
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
