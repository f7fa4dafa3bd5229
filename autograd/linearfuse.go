package autograd

// LinearReLU returns ReLU(Linear(x, w, b)) as one operation, with the
// results of the two bit for bit, forward and backward: the bias and the
// rectification are applied to each band of the product on the core that
// computed it, in one kernel call (kernel.BiasReLU) while the band is in
// its cache, and the backward pass masks the output's gradient in the
// bands it reads (kernel.ReLUGradRows), so that neither needs a pass over
// the layer's output (and a wait for the other cores) of its own. The
// output before the rectification is not kept.
func (t *Tape[T]) LinearReLU(x, w, b *Var[T]) *Var[T] { return t.linear(x, w, b, true) }
