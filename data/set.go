package data

import (
	"fmt"
	"slices"
)

// Dataset is a collection of labelled examples for classification. [Set] is
// the in-memory implementation the loaders return; a program that keeps its
// examples elsewhere (or makes them on the fly) implements Dataset to use
// [Gather] and the training loop.
type Dataset interface {
	// Len is the number of examples.
	Len() int
	// Shape is the shape of one example's features, such as [1 28 28] for a
	// grey image (channels first) or [64] for a row of a table. The caller
	// must not modify it.
	Shape() []int
	// Classes is the number of classes: every label is in [0, Classes()).
	Classes() int
	// Example copies the features of example i into x, whose length is the
	// product of Shape, and returns its label.
	Example(i int, x []float32) (label int)
}

var _ Dataset = (*Set)(nil)

// Set is an in-memory labelled dataset: n examples of d features each, stored
// row-major as float32. Create one with [NewSet] or a loader; the zero Set is
// empty and has no shape.
//
// X and Y may be read and changed in place (a [Normalizer] rewrites X) but
// not resized.
type Set struct {
	// X holds the features, Len()×Dim() values: example i is
	// X[i*Dim() : (i+1)*Dim()].
	X []float32
	// Y holds the labels, one per example, each in [0, Classes()).
	Y []int
	// ClassNames names the classes, indexed by label. Nil if the classes
	// have no names; otherwise of length Classes().
	ClassNames []string
	// FeatureNames names the features (the header of a CSV file). Nil if
	// the features have no names; otherwise of length Dim().
	FeatureNames []string

	shape   []int
	dim     int
	classes int
}

// NewSet returns a Set of the examples in x and y, each example of the given
// shape, with labels in [0, classes). It keeps x, y and shape without copying.
// It returns an error if the lengths disagree or a label is out of range.
func NewSet(x []float32, y []int, shape []int, classes int) (*Set, error) {
	if len(shape) == 0 {
		return nil, fmt.Errorf("data: empty shape")
	}
	dim := 1
	for _, n := range shape {
		if n <= 0 {
			return nil, fmt.Errorf("data: shape %v has a dimension ≤ 0", shape)
		}
		dim *= n
	}
	if len(x) != len(y)*dim {
		return nil, fmt.Errorf("data: %d feature values for %d examples of shape %v; want %d", len(x), len(y), shape, len(y)*dim)
	}
	if classes <= 0 {
		return nil, fmt.Errorf("data: %d classes; want at least 1", classes)
	}
	for i, l := range y {
		if l < 0 || l >= classes {
			return nil, fmt.Errorf("data: label %d of example %d out of range [0, %d)", l, i, classes)
		}
	}
	return &Set{X: x, Y: y, shape: shape, dim: dim, classes: classes}, nil
}

// Len returns the number of examples.
func (s *Set) Len() int { return len(s.Y) }

// Shape returns the shape of one example's features. The caller must not
// modify it.
func (s *Set) Shape() []int { return s.shape }

// Dim returns the number of features of one example: the product of Shape.
func (s *Set) Dim() int { return s.dim }

// Classes returns the number of classes.
func (s *Set) Classes() int { return s.classes }

// Row returns the features of example i, a slice of X (not a copy).
func (s *Set) Row(i int) []float32 { return s.X[i*s.dim : (i+1)*s.dim : (i+1)*s.dim] }

// Example copies the features of example i into x and returns its label. It
// panics if len(x) is not Dim().
func (s *Set) Example(i int, x []float32) int {
	if len(x) != s.dim {
		panic("data: Example buffer length is not Dim()")
	}
	copy(x, s.Row(i))
	return s.Y[i]
}

// Subset returns a new Set holding copies of the examples at idx, in that
// order. Its names are shared with s.
func (s *Set) Subset(idx []int) *Set {
	t := &Set{
		X:            make([]float32, len(idx)*s.dim),
		Y:            make([]int, len(idx)),
		ClassNames:   s.ClassNames,
		FeatureNames: s.FeatureNames,
		shape:        slices.Clone(s.shape),
		dim:          s.dim,
		classes:      s.classes,
	}
	for k, i := range idx {
		copy(t.X[k*s.dim:], s.Row(i))
		t.Y[k] = s.Y[i]
	}
	return t
}

// Relabel renumbers the labels of s by name so that its classes are names,
// in that order: afterwards ClassNames is names and Classes() len(names).
// Use it to give data read later (say a CSV file to evaluate a model on) the
// classes the model was trained with, as a file lacking some classes numbers
// the others differently. It returns an error, and changes nothing, if s
// lacks class names, has a class not in names, or names repeats a name.
func (s *Set) Relabel(names []string) error {
	if len(s.ClassNames) != s.classes {
		return fmt.Errorf("data: cannot relabel a set of %d classes with %d names", s.classes, len(s.ClassNames))
	}
	index := make(map[string]int, len(names))
	for k, name := range names {
		if _, dup := index[name]; dup {
			return fmt.Errorf("data: class %q named twice in %q", name, names)
		}
		index[name] = k
	}
	remap := make([]int, len(s.ClassNames))
	for k, name := range s.ClassNames {
		var ok bool
		if remap[k], ok = index[name]; !ok {
			return fmt.Errorf("data: class %q is not one of %q", name, names)
		}
	}
	for i, l := range s.Y {
		s.Y[i] = remap[l]
	}
	s.ClassNames, s.classes = names, len(names)
	return nil
}

// Split divides s into two new Sets at random: held gets round(frac·Len())
// examples and rest the others, both in the order they have in s. The split
// is stratified: each class is divided in the same proportion, to within one
// example. It is a pure function of (s's labels, frac, seed).
//
// Split panics if frac is not in [0, 1].
func (s *Set) Split(frac float64, seed uint64) (rest, held *Set) {
	if !(frac >= 0 && frac <= 1) {
		panic("data: Split fraction not in [0, 1]")
	}
	r, h := s.holdOut(identity(s.Len()), fractionOf(s.Len(), frac), seed, streamSplit)
	return s.Subset(r), s.Subset(h)
}

// fractionOf returns round(frac·n): the number of examples a fraction takes.
func fractionOf(n int, frac float64) int {
	return int(frac*float64(n) + 0.5)
}

// identity returns 0, 1, …, n-1.
func identity(n int) []int {
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	return idx
}

// holdOut chooses k of the examples idx of s (in increasing order),
// stratified by label, and returns the others and the chosen, each in
// increasing order.
//
// The examples are put in a random order (a function of seed and stream),
// then stably sorted by label, so each class is a contiguous run in random
// order; of that list, position p is taken when ⌊(p+1)k/m⌋ > ⌊pk/m⌋ (m =
// len(idx)), which takes exactly k, evenly spread, so each class gives its
// share to within one example.
func (s *Set) holdOut(idx []int, k int, seed, stream uint64) (rest, chosen []int) {
	m := len(idx)
	order := make([]int, m) // positions in idx
	r := newRand(seed, stream, 0)
	permute(order, &r)
	slices.SortStableFunc(order, func(a, b int) int { return s.Y[idx[a]] - s.Y[idx[b]] })
	take := make([]bool, m)
	for p, pos := range order {
		take[pos] = (p+1)*k/m > p*k/m
	}
	rest = make([]int, 0, m-k)
	chosen = make([]int, 0, k)
	for pos, i := range idx {
		if take[pos] {
			chosen = append(chosen, i)
		} else {
			rest = append(rest, i)
		}
	}
	return rest, chosen
}

// cut reorders the examples of s in place so that those of parts[0] come
// first, in that order, then those of parts[1], and so on, and returns a Set
// for each part that shares s's memory: what Subset gives for each part,
// without copying. The parts must hold every index of s exactly once; s
// must not be used afterwards.
func (s *Set) cut(parts ...[]int) []*Set {
	order := make([]int, 0, s.Len())
	for _, p := range parts {
		order = append(order, p...)
	}
	if len(order) != s.Len() {
		panic("data: cut does not cover the set")
	}
	// Row k becomes old row order[k], cycle by cycle, with one row aside.
	done := make([]bool, len(order))
	tmp := make([]float32, s.dim)
	for k := range order {
		if done[k] {
			continue
		}
		copy(tmp, s.Row(k))
		y := s.Y[k]
		j := k
		for {
			done[j] = true
			next := order[j]
			if next == k {
				copy(s.Row(j), tmp)
				s.Y[j] = y
				break
			}
			copy(s.Row(j), s.Row(next))
			s.Y[j] = s.Y[next]
			j = next
		}
	}
	sets := make([]*Set, len(parts))
	lo := 0
	for i, p := range parts {
		hi := lo + len(p)
		sets[i] = &Set{
			X:            s.X[lo*s.dim : hi*s.dim : hi*s.dim],
			Y:            s.Y[lo:hi:hi],
			ClassNames:   s.ClassNames,
			FeatureNames: s.FeatureNames,
			shape:        slices.Clone(s.shape),
			dim:          s.dim,
			classes:      s.classes,
		}
		lo = hi
	}
	return sets
}
