package optim

import "fmt"

// A builder is a Method that makes its own chain of transforms, so that a
// new optimizer is one file with no case to add elsewhere. Go methods
// cannot have type parameters, so build fills dst, a *Chain[float32] or a
// *Chain[float64], from the two instantiations of one generic function
// (see fill).
type builder interface {
	Method
	build(dst any) error
}

// buildChain returns b's chain for parameters of type T, validated. Its
// transforms check their own fields with the same range functions as b's
// Validate, so this refuses nothing that b accepts (a test tries each
// method's fields at their bounds); it catches a method whose checks miss
// what one of its transforms needs.
func buildChain[T Float](b builder) (Chain[T], error) {
	var c Chain[T]
	if err := b.build(&c); err != nil {
		return nil, err
	}
	if c == nil {
		var zero T
		return nil, fmt.Errorf("optim: method %T cannot update %T parameters", b, zero)
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return c, nil
}

// fill sets *dst, a *Chain[float32] or *Chain[float64], to make's chain
// for m; another dst is left alone, which buildChain reports.
func fill[M any](dst any, m M, make32 func(M) Chain[float32], make64 func(M) Chain[float64]) error {
	switch c := dst.(type) {
	case *Chain[float32]:
		*c = make32(m)
	case *Chain[float64]:
		*c = make64(m)
	}
	return nil
}
