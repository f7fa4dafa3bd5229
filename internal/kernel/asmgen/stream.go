package main

import (
	"strings"

	asm "github.com/mmcloughlin/avo/build"
	op "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// A stream is an elementwise kernel: it walks its slices together, a few
// vectors per iteration, then one vector at a time, then one partial vector
// under a mask, so it handles any length without reading or writing outside
// the slices. Its Go signature is that of the reference loop.
type stream struct {
	name    string
	params  string   // the Go parameter list, with T for the element type
	slices  []string // the slices it touches; the first one's length is n
	scalars []string // element-type parameters, broadcast before the loop
	// lazy names scalars that AVX2 kernels broadcast from the arguments at
	// each use instead of holding them in a register all along: with 16
	// registers, a kernel with many scalars runs out of them.
	lazy   []string
	flags  []choice // parameters that select a variant of the loop
	unroll int      // vectors per iteration of the main loop
	// float32Only kernels have no float64 version: the float64 table
	// keeps the reference loop.
	float32Only bool
	// results names float64 sums the kernel returns: the body adds to
	// them with e.sum and e.dot, in float64 lanes (float32 vectors are
	// widened in two halves, low then high). Each sum is folded at the end
	// in a fixed order, so it depends only on the input and its length.
	results []string
	prep    func(e *step)
	body    func(e *step, on map[string]bool)
}

// A choice is a bool parameter, or (slice) whether a slice parameter is
// non-nil, or (nonzero) whether a scalar parameter is neither +0 nor −0.
// Each combination of flags gets a loop of its own, chosen on entry. A
// scalar whose nonzero choice is off is not broadcast.
type choice struct {
	name    string
	slice   bool
	nonzero bool
}

// step is the code generator's view of one vector position: the slices at the
// current index, and the broadcast scalars.
type step struct {
	*vm
	ptr  map[string]reg.GPVirtual
	idx  reg.GPVirtual // byte offset of the current iteration
	off  int           // byte offset of this vector within the iteration
	k    map[string]reg.VecVirtual
	lazy map[string]op.Mem // scalars broadcast at each use
	acc  []reg.VecVirtual  // the float64 accumulators of results
}

// wide returns x as float64 vectors: x itself, or for float32 its low and
// high halves converted.
func (e *step) wide(x reg.VecVirtual) []reg.VecVirtual {
	if !e.single() {
		return []reg.VecVirtual{x}
	}
	lo, hi := e.vec(), e.vec()
	if e.is512() {
		h := asm.YMM()
		asm.VCVTPS2PD(x.AsY(), lo)
		asm.VEXTRACTF64X4(op.U8(1), x, h)
		asm.VCVTPS2PD(h, hi)
	} else {
		h := asm.XMM()
		asm.VCVTPS2PD(x.AsX(), lo)
		asm.VEXTRACTF128(op.U8(1), x, h)
		asm.VCVTPS2PD(h, hi)
	}
	return []reg.VecVirtual{lo, hi}
}

// sum adds x, in float64, to result i; with abs, |x|.
func (e *step) sum(i int, x reg.VecVirtual, abs bool) {
	f := vm{isa: e.isa, elem: f64}
	for _, w := range e.wide(x) {
		if abs {
			w = f.and(w, f.absMask())
		}
		asm.VADDPD(w, e.acc[i], e.acc[i])
	}
}

// dot adds x·y, in float64, to result i.
func (e *step) dot(i int, x, y reg.VecVirtual) {
	xs, ys := e.wide(x), e.wide(y)
	for j := range xs {
		asm.VFMADD231PD(ys[j], xs[j], e.acc[i])
	}
}

func (e *step) at(s string) op.Mem {
	p, ok := e.ptr[s]
	if !ok {
		panic("asmgen: slice " + s + " not loaded")
	}
	return op.Mem{Base: p, Index: e.idx, Scale: 1, Disp: e.off}
}

func (e *step) ld(s string) reg.VecVirtual        { return e.load(e.at(s)) }
func (e *step) st(s string, r reg.Register)       { e.store(r, e.at(s)) }
func (e *step) def(name string, r reg.VecVirtual) { e.k[name] = r }

// c returns the broadcast scalar or constant name.
func (e *step) c(name string) reg.VecVirtual {
	if r, ok := e.k[name]; ok {
		return r
	}
	if m, ok := e.lazy[name]; ok {
		return e.broadcast(m)
	}
	panic("asmgen: no scalar " + name)
}
func (s stream) hasElem(t elem) bool { return !s.float32Only || t.size == 4 }

func (s stream) emit(v vm) {
	sig := "func(" + strings.ReplaceAll(s.params, "T", v.goType) + ")"
	if len(s.results) > 0 {
		sig += " (" + strings.Join(s.results, ", ") + " float64)"
	}
	text(v.fn(s.name), sig)
	s.choose(v, 0, map[string]bool{})
}

// choose emits the tests of flags[i:] and, at the leaves, the loops.
func (s stream) choose(v vm, i int, on map[string]bool) {
	if i == len(s.flags) {
		s.loop(v, on)
		return
	}
	f := s.flags[i]
	r := asm.GP64()
	switch {
	case f.slice:
		asm.Load(asm.Param(f.name).Base(), r)
		asm.TESTQ(r, r)
	case f.nonzero && v.single():
		asm.MOVL(v.param(f.name), r.As32())
		asm.SHLL(op.U8(1), r.As32()) // drop the sign: −0 is 0 too
	case f.nonzero:
		asm.MOVQ(v.param(f.name), r)
		asm.SHLQ(op.U8(1), r)
	default:
		asm.Load(asm.Param(f.name), r)
		asm.TESTB(r.As8(), r.As8())
	}
	yes := "with_" + f.name + s.variant(on)
	asm.JNZ(op.LabelRef(yes))
	on[f.name] = false
	s.choose(v, i+1, on)
	asm.Label(yes)
	on[f.name] = true
	s.choose(v, i+1, on)
	delete(on, f.name)
}

// variant names the flags that are on, for labels.
func (s stream) variant(on map[string]bool) string {
	var b strings.Builder
	for _, f := range s.flags {
		if on[f.name] {
			b.WriteString("_" + f.name)
		}
	}
	return b.String()
}

func (s stream) loop(v vm, on map[string]bool) {
	e := &step{vm: &v, ptr: map[string]reg.GPVirtual{}, k: map[string]reg.VecVirtual{}, lazy: map[string]op.Mem{}}
	off := map[string]bool{}
	for _, f := range s.flags {
		if (f.slice || f.nonzero) && !on[f.name] {
			off[f.name] = true
		}
	}
	for _, name := range s.slices {
		if !off[name] {
			e.ptr[name] = asm.Load(asm.Param(name).Base(), asm.GP64()).(reg.GPVirtual)
		}
	}
	n := asm.Load(asm.Param(s.slices[0]).Len(), asm.GP64()).(reg.GPVirtual)
	e.idx = asm.GP64()
	asm.XORQ(e.idx, e.idx)
	lazy := map[string]bool{}
	if !v.is512() {
		for _, name := range s.lazy {
			lazy[name] = true
		}
	}
	for _, name := range s.scalars {
		switch {
		case off[name]:
		case lazy[name]:
			e.lazy[name] = v.param(name)
		default:
			e.k[name] = v.broadcast(v.param(name))
		}
	}
	if s.prep != nil {
		s.prep(e)
	}
	f := vm{isa: v.isa, elem: f64}
	for range s.results {
		e.acc = append(e.acc, f.zero())
	}
	l := "loop" + s.variant(on)
	lanes := v.lanes()
	body := func(vectors int) {
		for j := 0; j < vectors; j++ {
			e.off = j * v.bytes
			s.body(e, on)
		}
		e.off = 0
	}
	if s.unroll > 1 {
		asm.Label(l + "_unrolled")
		asm.CMPQ(n, op.U32(s.unroll*lanes))
		asm.JB(op.LabelRef(l + "_single"))
		body(s.unroll)
		asm.ADDQ(op.U32(s.unroll*v.bytes), e.idx)
		asm.SUBQ(op.U32(s.unroll*lanes), n)
		asm.JMP(op.LabelRef(l + "_unrolled"))
	}
	asm.Label(l + "_single")
	asm.CMPQ(n, op.U32(lanes))
	asm.JB(op.LabelRef(l + "_tail"))
	body(1)
	asm.ADDQ(op.U32(v.bytes), e.idx)
	asm.SUBQ(op.U32(lanes), n)
	asm.JMP(op.LabelRef(l + "_single"))
	asm.Label(l + "_tail")
	asm.TESTQ(n, n)
	asm.JZ(op.LabelRef(l + "_done"))
	v.setTail(n)
	body(1)
	v.tail = nil
	asm.Label(l + "_done")
	var out []reg.Register
	for _, a := range e.acc {
		out = append(out, f.fold(a, addMerge))
	}
	asm.VZEROUPPER() // before the legacy-SSE stores of the results
	for i, r := range out {
		asm.Store(r.(reg.VecVirtual).AsX(), asm.ReturnIndex(i))
	}
	asm.RET()
}
