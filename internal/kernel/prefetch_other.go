//go:build !amd64 || noasm

package kernel

import "unsafe"

// prefetch does nothing: Go has no prefetch of its own.
func prefetch(unsafe.Pointer, int) {}
