// Package kernel holds descent's hot loops: matrix multiply, convolution
// lowering, the fused per-block updates of the optimizers, and the
// elementwise and reduction loops of the layers.
//
// Every kernel's doc comment is its reference loop. Architecture-specific
// versions (Go assembly, chosen at run time from the CPU's features) sit
// behind build tags, with the pure-Go loop as the fallback and under the
// noasm tag; tests check each against its reference.
//
// Work is spread over the cores by one fixed pool of workers ([Parallel]),
// never a goroutine per element or per row. Nothing here imports any other
// package of descent.
package kernel

// Float is the element type of every kernel: float32 or float64.
type Float interface {
	~float32 | ~float64
}
