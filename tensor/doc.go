// Package tensor holds descent's n-dimensional arrays: generic over float32
// and float64, dense and row-major (C order), with the shape operations a
// model needs.
//
// A [Tensor] is a shape and a flat data slice. Reshaping and slicing a batch
// along the first axis return views that share the data; [Transpose] and
// [MatMul] compute new tensors. Shapes that do not fit an operation are
// returned errors that name the operation and both shapes, for example
//
//	tensor: matmul [32 784] × [128 10]: inner dimensions 784 and 128 differ
//
// because shapes usually come from data (an image size, a CSV's width).
// Mistakes that only a program can make, such as a data slice whose length
// does not match the shape it is wrapped in or an index out of range, panic
// with a constant message.
//
// [Broadcast] and [BroadcastStrides] implement NumPy's broadcasting rules
// for the elementwise operations of package autograd, and an [Arena] hands
// out the intermediate tensors of one training step and takes them back at
// its end, so that a loop repeating the same computation allocates only in
// its first pass.
//
// Package tensor imports only internal/kernel (for matrix multiplication).
// Differentiation lives one level up, in package autograd.
package tensor
