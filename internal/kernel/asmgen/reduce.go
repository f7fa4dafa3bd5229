package main

import (
	"strings"

	asm "github.com/mmcloughlin/avo/build"
	op "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// A reduction folds a slice into a few vector accumulators, then folds the
// accumulators and their lanes in a fixed order, so the result depends only
// on the input and its length.
type reduction struct {
	name   string
	inputs []string // the slices read together, all of the first one's length; nil means x
	params string   // Go parameters after the slices (scalars for prep), if any
	result string   // the Go result type
	widen  bool     // float32 input is converted to float64 lanes as it is loaded
	unroll int      // vectors per iteration of the main loop
	accs   int      // accumulators the unrolled vectors take turns at
	prep   func(w *vm, k map[string]reg.VecVirtual)
	// step folds the inputs' vectors into acc in place (acc is carried
	// around the loop).
	step func(w *vm, k map[string]reg.VecVirtual, acc reg.VecVirtual, in []reg.VecVirtual)
	// merge combines two accumulators (or halves of one) into a new register.
	merge func(w *vm, a, b reg.Register) reg.Register
	// finish stores lane 0 of the folded accumulator as the result.
	finish func(w *vm, r reg.Register)
}

func (rd reduction) emit(v vm) {
	inputs := rd.inputs
	if inputs == nil {
		inputs = []string{"x"}
	}
	sig := strings.Join(inputs, ", ") + " []" + v.goType
	if rd.params != "" {
		sig += ", " + strings.ReplaceAll(rd.params, " T", " "+v.goType)
	}
	text(v.fn(rd.name), "func("+sig+") "+rd.result)
	w := v // the lanes the work is done in
	step := v.bytes
	if rd.widen && v.single() {
		w.elem = f64
		step = v.bytes / 2
	}
	lanes := w.lanes()
	bases := make([]reg.Register, len(inputs))
	for i, name := range inputs {
		bases[i] = asm.Load(asm.Param(name).Base(), asm.GP64())
	}
	n := asm.Load(asm.Param(inputs[0]).Len(), asm.GP64()).(reg.GPVirtual)
	idx := asm.GP64()
	asm.XORQ(idx, idx)
	k := map[string]reg.VecVirtual{}
	if rd.prep != nil {
		rd.prep(&w, k)
	}
	acc := make([]reg.VecVirtual, rd.accs)
	for i := range acc {
		acc[i] = w.zero()
	}
	var loadMask reg.Register // the tail's mask of float32 elements, when widening on AVX2
	loadOne := func(x reg.Register, off int) reg.VecVirtual {
		m := op.Mem{Base: x, Index: idx, Scale: 1, Disp: off}
		if w.elem == v.elem {
			return w.load(m)
		}
		r := w.vec()
		switch {
		case w.tail == nil:
			asm.VCVTPS2PD(m, r)
		case w.is512():
			asm.VCVTPS2PD_Z(m, w.tail, r)
		default:
			t := asm.XMM()
			asm.VMASKMOVPS(m, loadMask.(reg.VecVirtual).AsX(), t)
			asm.VCVTPS2PD(t, r)
		}
		return r
	}
	load := func(off int) []reg.VecVirtual {
		in := make([]reg.VecVirtual, len(bases))
		for i, b := range bases {
			in[i] = loadOne(b, off)
		}
		return in
	}
	asm.Label("unrolled")
	asm.CMPQ(n, op.U32(rd.unroll*lanes))
	asm.JB(op.LabelRef("single"))
	for j := 0; j < rd.unroll; j++ {
		rd.step(&w, k, acc[j%rd.accs], load(j*step))
	}
	asm.ADDQ(op.U32(rd.unroll*step), idx)
	asm.SUBQ(op.U32(rd.unroll*lanes), n)
	asm.JMP(op.LabelRef("unrolled"))
	asm.Label("single")
	asm.CMPQ(n, op.U32(lanes))
	asm.JB(op.LabelRef("tail"))
	rd.step(&w, k, acc[0], load(0))
	asm.ADDQ(op.U32(step), idx)
	asm.SUBQ(op.U32(lanes), n)
	asm.JMP(op.LabelRef("single"))
	asm.Label("tail")
	asm.TESTQ(n, n)
	asm.JZ(op.LabelRef("fold"))
	tv := vm{isa: v.isa, elem: v.elem} // the mask counts input elements
	tv.setTail(n)
	w.tail = tv.tail
	if w.elem != v.elem && !w.is512() { // the step's lanes are float64: widen the mask
		loadMask = tv.tail
		wide := asm.YMM()
		asm.VPMOVSXDQ(loadMask.(reg.VecVirtual).AsX(), wide)
		w.tail = wide
	}
	rd.step(&w, k, acc[0], load(0))
	w.tail = nil
	asm.Label("fold")
	for len(acc) > 1 {
		var next []reg.VecVirtual
		for i := 0; i < len(acc); i += 2 {
			next = append(next, rd.merge(&w, acc[i], acc[i+1]).(reg.VecVirtual))
		}
		acc = next
	}
	r := w.fold(acc[0], rd.merge)
	asm.VZEROUPPER() // before finish's legacy-SSE store of the result
	rd.finish(&w, r)
	asm.RET()
}

// inside returns x with the lanes past the end of the slice, in the tail,
// set to zero (loads leave zeros there, but x − c does not).
func (v *vm) inside(x reg.VecVirtual) reg.VecVirtual {
	if v.tail == nil {
		return x
	}
	r := v.vec()
	if v.is512() {
		v.masked(x, v.tail, r)
	} else {
		v.ps(asm.VANDPS, asm.VANDPD)(v.tail, x, r)
	}
	return r
}

// like returns a new virtual register as wide as r.
func like(r reg.Register) reg.VecVirtual {
	switch r.Size() {
	case 64:
		return asm.ZMM()
	case 32:
		return asm.YMM()
	}
	return asm.XMM()
}

// fold merges the lanes of r down to lane 0: upper half into lower half,
// until one element is left.
func (v *vm) fold(r reg.VecVirtual, merge func(w *vm, a, b reg.Register) reg.Register) reg.Register {
	var cur reg.Register = r
	if cur.Size() == 64 {
		hi := asm.YMM()
		asm.VEXTRACTF64X4(op.U8(1), cur, hi)
		cur = merge(v, r.AsY(), hi)
	}
	if cur.Size() == 32 {
		hi := asm.XMM()
		asm.VEXTRACTF128(op.U8(1), cur, hi)
		cur = merge(v, cur.(reg.VecVirtual).AsX(), hi)
	}
	hi := asm.XMM()
	asm.VPSHUFD(op.U8(0x4e), cur, hi) // swap the 64-bit halves
	cur = merge(v, cur, hi)
	if v.single() {
		hi := asm.XMM()
		asm.VPSHUFD(op.U8(0xb1), cur, hi) // swap the 32-bit halves
		cur = merge(v, cur, hi)
	}
	return cur
}

func addMerge(w *vm, a, b reg.Register) reg.Register {
	r := like(a)
	w.ps(asm.VADDPS, asm.VADDPD)(b, a, r)
	return r
}

func storeFloat64(w *vm, r reg.Register) {
	asm.Store(r.(reg.VecVirtual).AsX(), asm.ReturnIndex(0))
}

// umax sets dst to the unsigned maximum of a and b, element by element.
func (v *vm) umax(a, b, dst reg.Register) {
	switch {
	case v.single():
		asm.VPMAXUD(b, a, dst)
	case v.is512():
		asm.VPMAXUQ(b, a, dst)
	default: // no 64-bit max before AVX-512; the operands have no sign bit set
		gt := like(a)
		asm.VPCMPGTQ(b, a, gt)
		asm.VPBLENDVB(gt, a, b, dst)
	}
}

// agree returns the count reduction of a cautious mask over the update
// u = gs·g: the lanes where keep(c, u) holds, c = b1·m + (1−b1)·u, are
// counted in the element type (exact while a call counts fewer than 2²⁴
// elements, which the Go wrappers see to), then converted to float64.
func agree(name string, keep func(w *vm, k map[string]reg.VecVirtual, c, u reg.VecVirtual) reg.Register) reduction {
	return reduction{
		name: name, inputs: []string{"g", "m"}, params: "gs, b1 T", result: "float64", unroll: 4, accs: 2,
		prep: func(w *vm, k map[string]reg.VecVirtual) {
			k["gs"], k["b1"] = w.broadcast(w.param("gs")), w.broadcast(w.param("b1"))
			k["one"], k["zero"] = w.one(), w.zero()
			k["1-b1"] = w.sub(k["one"], k["b1"])
			if w.single() {
				k["signbit"] = w.splat("signbit", 0x80000000)
			} else {
				k["signbit"] = w.splat("signbit", 0x8000000000000000)
			}
		},
		step: func(w *vm, k map[string]reg.VecVirtual, acc reg.VecVirtual, in []reg.VecVirtual) {
			u := w.mul(in[0], k["gs"])
			c := w.add(w.mul(k["b1"], in[1]), w.mul(k["1-b1"], u))
			w.ps(asm.VADDPS, asm.VADDPD)(w.sel(keep(w, k, c, u), k["one"], k["zero"]), acc, acc)
		},
		merge: addMerge,
		finish: func(w *vm, r reg.Register) {
			x := r.(reg.VecVirtual).AsX()
			if w.single() {
				d := asm.XMM()
				asm.VCVTSS2SD(x, x, d)
				x = d
			}
			asm.Store(x, asm.ReturnIndex(0))
		},
	}
}

var reductions = []reduction{
	agree("adamAgree", func(w *vm, k map[string]reg.VecVirtual, c, u reg.VecVirtual) reg.Register {
		return w.cmp(cmpGT, w.mul(c, u), k["zero"]) // c·u > 0
	}),
	agree("lionAgree", func(w *vm, k map[string]reg.VecVirtual, c, u reg.VecVirtual) reg.Register {
		s := w.or(w.and(c, k["signbit"]), k["one"]) // sign(c) as the reference's sign
		s = w.sel(w.cmp(cmpEQ, c, k["zero"]), k["zero"], s)
		s = w.sel(w.cmp(cmpUNORD, c, c), c, s)
		return w.cmp(cmpGT, w.mul(s, u), k["zero"]) // sign(c)·u > 0
	}),
	{
		name: "sumSquares", result: "float64", widen: true, unroll: 8, accs: 4,
		step: func(w *vm, _ map[string]reg.VecVirtual, acc reg.VecVirtual, in []reg.VecVirtual) {
			asm.VFMADD231PD(in[0], in[0], acc)
		},
		merge: addMerge, finish: storeFloat64,
	},
	{
		name: "sum", result: "float64", widen: true, unroll: 8, accs: 4,
		step: func(w *vm, _ map[string]reg.VecVirtual, acc reg.VecVirtual, in []reg.VecVirtual) {
			w.ps(asm.VADDPS, asm.VADDPD)(in[0], acc, acc)
		},
		merge: addMerge, finish: storeFloat64,
	},
	{
		// Σ (x − c)², with c and the differences in float64.
		name: "sumSqDiff", params: "c float64", result: "float64", widen: true, unroll: 8, accs: 4,
		prep: func(w *vm, k map[string]reg.VecVirtual) {
			k["c"] = w.vec()
			asm.VBROADCASTSD(w.param("c"), k["c"])
		},
		step: func(w *vm, k map[string]reg.VecVirtual, acc reg.VecVirtual, in []reg.VecVirtual) {
			d := w.inside(w.sub(in[0], k["c"]))
			asm.VFMADD231PD(d, d, acc)
		},
		merge: addMerge, finish: storeFloat64,
	},
	{
		// Σ (x − c)·y, with c, the differences and the products in float64.
		name: "dotDiff", inputs: []string{"x", "y"}, params: "c float64", result: "float64", widen: true, unroll: 8, accs: 4,
		prep: func(w *vm, k map[string]reg.VecVirtual) {
			k["c"] = w.vec()
			asm.VBROADCASTSD(w.param("c"), k["c"])
		},
		step: func(w *vm, k map[string]reg.VecVirtual, acc reg.VecVirtual, in []reg.VecVirtual) {
			asm.VFMADD231PD(in[1], w.inside(w.sub(in[0], k["c"])), acc)
		},
		merge: addMerge, finish: storeFloat64,
	},
	{
		name: "sumAbs", result: "float64", widen: true, unroll: 8, accs: 4,
		prep: func(w *vm, k map[string]reg.VecVirtual) { k["abs"] = w.absMask() },
		step: func(w *vm, k map[string]reg.VecVirtual, acc reg.VecVirtual, in []reg.VecVirtual) {
			asm.VADDPD(w.and(in[0], k["abs"]), acc, acc)
		},
		merge: addMerge, finish: storeFloat64,
	},
	{
		name: "maxAbs", result: "float64", unroll: 4, accs: 4,
		prep: func(w *vm, k map[string]reg.VecVirtual) { k["abs"] = w.absMask() },
		step: func(w *vm, k map[string]reg.VecVirtual, acc reg.VecVirtual, in []reg.VecVirtual) {
			w.umax(acc, w.and(in[0], k["abs"]), acc)
		},
		merge: func(w *vm, a, b reg.Register) reg.Register {
			r := like(a)
			w.umax(a, b, r)
			return r
		},
		finish: func(w *vm, r reg.Register) {
			x := r.(reg.VecVirtual).AsX()
			if w.single() { // the largest |x| as float32, or a NaN: both convert exactly
				d := asm.XMM()
				asm.VCVTSS2SD(x, x, d)
				x = d
			}
			asm.Store(x, asm.ReturnIndex(0))
		},
	},
	{
		// finiteSum: Σ (x − x), which is +0 when every x is finite and NaN otherwise.
		name: "allFinite", result: "bool", unroll: 4, accs: 4,
		step: func(w *vm, _ map[string]reg.VecVirtual, acc reg.VecVirtual, in []reg.VecVirtual) {
			w.ps(asm.VADDPS, asm.VADDPD)(w.sub(in[0], in[0]), acc, acc)
		},
		merge: addMerge,
		finish: func(w *vm, r reg.Register) {
			bits := asm.GP64()
			if w.single() {
				asm.VMOVD(r.(reg.VecVirtual).AsX(), bits.As32())
			} else {
				asm.VMOVQ(r.(reg.VecVirtual).AsX(), bits)
			}
			ok := asm.GP8()
			asm.TESTQ(bits, bits)
			asm.SETEQ(ok)
			asm.Store(ok, asm.ReturnIndex(0))
		},
	},
}
