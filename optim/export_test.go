package optim

// SetFusion turns the fused kernels on or off for optimizers made after the
// call, so that tests can compare the fused path with the chain.
func SetFusion(on bool) { fusion = on }

// Fused reports whether group's chain runs as a fused kernel.
func (o *Optimizer[T]) Fused(group int) bool { return o.groups[group].fused != nil }

// Claims reports whether tr is a built-in transform, which New refuses to
// give a second optimizer.
func Claims[T Float](tr Transform[T]) bool { _, ok := tr.(claimer); return ok }
