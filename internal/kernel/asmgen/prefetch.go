package main

import (
	asm "github.com/mmcloughlin/avo/build"
	op "github.com/mmcloughlin/avo/operand"
)

// A prefetcher asks the caches for every line of a span of bytes with a
// software prefetch hint, and returns without waiting for the data: a pass
// that reads the span a while later finds it in cache instead of memory.
// It changes no byte a program can see and never faults, so it has no
// reference loop; the Go fallback does nothing.
type prefetcher struct {
	name string
	hint func(op.Op)
}

// prefetchers are the kernels of the set prefetch. Only T0 (all levels):
// T1 and NTA, screened in the training step's gather of a batch's rows
// (issue 18), were no faster.
var prefetchers = []prefetcher{
	{"prefetchT0", asm.PREFETCHT0},
}

// lineBytes is the size of a cache line of the CPUs descent targets.
const lineBytes = 64

func (f prefetcher) emit() {
	text(f.name, "func(p *byte, n int)")
	p, n := gp("p"), gp("n")
	asm.TESTQ(n, n)
	asm.JLE(op.LabelRef("done"))
	end := asm.GP64()
	asm.LEAQ(op.Mem{Base: p, Index: n, Scale: 1}, end)
	asm.ANDQ(op.I32(-lineBytes), p) // the line that holds the first byte
	asm.Label("line")
	f.hint(op.Mem{Base: p})
	asm.ADDQ(op.U32(lineBytes), p)
	asm.CMPQ(p, end)
	asm.JB(op.LabelRef("line"))
	asm.Label("done")
	asm.RET()
}
