//go:build amd64 && !noasm

package kernel

import "unsafe"

//go:generate sh -c "cd asmgen && go run . -set prefetch -out ../prefetch_amd64.s -stubs ../prefetch_decl_amd64.go -pkg kernel"

// prefetch asks for the cache lines of the n bytes at p (PREFETCHT0).
func prefetch(p unsafe.Pointer, n int) { prefetchT0((*byte)(p), n) }
