//go:build amd64 && !noasm

package autograd

import "golang.org/x/sys/cpu"

// asmKernels reports whether internal/kernel runs its assembly kernels
// (as it does on a CPU with AVX2 and FMA), which fix the NaN payload of an
// operation on two NaNs; its pure Go kernels leave that to the compiler's
// order of the operands.
func asmKernels() bool { return cpu.X86.HasAVX2 && cpu.X86.HasFMA }
