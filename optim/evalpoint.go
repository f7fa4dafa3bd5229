package optim

import "errors"

// Some methods train at one point and should be evaluated at another:
// Schedule-Free's parameters hold the training point y during training,
// while its average x is what to evaluate and save. The optimizer switches
// between them itself, exactly, so that a training loop need only say which
// it wants.

// evalPointer is a transform whose method evaluates at a point other than
// the one it trains: evalPoint writes that point of parameter k, whose
// training point is y, into x.
type evalPointer[T Float] interface {
	evalPoint(k int, y, x []T)
}

var _ evalPointer[float32] = (*ScheduleFree[float32])(nil)

// errEvaluating is returned by Step, Save and Load between Eval and Train.
var errEvaluating = errors.New("optim: the parameters hold the evaluation point: call Train first")

// HasEvalPoint reports whether some group's method evaluates at a point
// other than the one it trains (Schedule-Free), so that Eval changes the
// parameters.
func (o *Optimizer[T]) HasEvalPoint() bool {
	for _, g := range o.groups {
		if g.eval != nil {
			return true
		}
	}
	return false
}

// Eval puts the evaluation point in the parameters' values — for
// Schedule-Free, x = y + (1 − 1/β)·(z − y) — and keeps the training point
// aside, until Train. Evaluate the model, or save it, between the two. Step,
// Save and Load refuse to run until Train. For methods without an
// evaluation point Eval changes no parameter, so a training loop can call
// it for every method. The first call allocates a copy of the parameters.
func (o *Optimizer[T]) Eval() {
	if o.evaluating {
		return
	}
	o.evaluating = true
	for gi, g := range o.groups {
		if g.eval == nil {
			continue
		}
		if o.trainPoint == nil {
			o.trainPoint = make([][][]T, len(o.groups))
		}
		if o.trainPoint[gi] == nil {
			o.trainPoint[gi] = make([][]T, len(g.params))
			for k, p := range g.params {
				o.trainPoint[gi][k] = make([]T, len(p.Value))
			}
		}
		for k, p := range g.params {
			y := o.trainPoint[gi][k]
			copy(y, p.Value)
			if o.t > 0 { // before the first step x = y
				g.eval.evalPoint(k, y, p.Value)
			}
		}
	}
}

// Train puts back the training point that Eval set aside, bit for bit.
func (o *Optimizer[T]) Train() {
	if !o.evaluating {
		return
	}
	o.evaluating = false
	for gi, g := range o.groups {
		if g.eval == nil {
			continue
		}
		for k, p := range g.params {
			copy(p.Value, o.trainPoint[gi][k])
		}
	}
}

// Evaluating reports whether the parameters hold the evaluation point
// (between Eval and Train).
func (o *Optimizer[T]) Evaluating() bool { return o.evaluating }

// evalPointOf returns chain's evalPointer, or nil.
func evalPointOf[T Float](chain Chain[T]) evalPointer[T] {
	for _, tr := range chain {
		if e, ok := tr.(evalPointer[T]); ok {
			return e
		}
	}
	return nil
}
