//go:build !amd64 || noasm

package autograd

// asmKernels reports whether internal/kernel runs its assembly kernels:
// never here.
func asmKernels() bool { return false }
