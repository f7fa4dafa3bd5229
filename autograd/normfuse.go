package autograd

// BatchNormReLU returns ReLU(BatchNorm(x, gamma, beta, eps, mean,
// variance)) as one operation, with the results of the two bit for bit,
// forward and backward. For an input [N, C] (a batch norm after a Linear
// layer) the output is normalized and rectified in one pass
// (kernel.AffineReLURows), and the backward pass masks the output's
// gradient as it reads it (kernel.ReLUColumnSumsDots and
// kernel.ReLUBatchNormGradRows), so that neither needs a pass over the
// batch (and a wait for the other cores) of its own; other inputs, and a
// batch norm synchronised across processes, run as the two operations.
// The output before the rectification is not kept.
func (t *Tape[T]) BatchNormReLU(x, gamma, beta *Var[T], eps float64, mean, variance []T) *Var[T] {
	return t.batchNorm(opBatchNorm, x, gamma, beta, eps, mean, variance, true)
}

// BatchNormEvalReLU is ReLU(BatchNormEval(x, gamma, beta, eps, mean,
// variance)) as one operation, as BatchNormReLU.
func (t *Tape[T]) BatchNormEvalReLU(x, gamma, beta *Var[T], eps float64, mean, variance []T) *Var[T] {
	return t.batchNorm(opBatchNormEval, x, gamma, beta, eps, mean, variance, true)
}
