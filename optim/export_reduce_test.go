package optim

// SetReplay turns replayed last passes (see replayer) on or off for
// optimizers made after the call, so that tests can compare them with the
// staged chain that keeps the whole update.
func SetReplay(on bool) { replaying = on }

// Replayed reports whether group's staged chain forms its last pass again
// from the gradient.
func (o *Optimizer[T]) Replayed(group int) bool {
	s := o.groups[group].staged
	return s != nil && s.replay
}
