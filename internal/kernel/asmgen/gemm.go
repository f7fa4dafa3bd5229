package main

import (
	"fmt"

	asm "github.com/mmcloughlin/avo/build"
	op "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// The matrix multiply of internal/kernel/gemm.go is built from the kernels
// below: micro-kernels that update an mr×(nv vectors) tile of C with the
// product of mr rows of A and a panel of B, and the two routines that
// pack B into panels.
//
// C is row-major and vectors run along its rows. A is not packed: a
// micro-kernel reads its rows where they are, broadcasting one element per
// row and step of k, either from rows lda apart (op(A) = A, "N") or from one
// row of Aᵀ per step (op(A) = Aᵀ, "T"). B is read from a panel of k rows
// of w = nv·lanes elements, ldb apart: packed (zero beyond the matrix, ldb
// = w, so its loads are contiguous) or, when B is not transposed, the
// panel has no partial vector and its rows start on cache lines and are
// not a multiple of 4 KiB apart (gemmCall.inPlace), B where it is.

// tileRows is the number of rows of C a micro-kernel handles at most: the
// accumulators take tileRows·2 of the 32 zmm (16 ymm) registers.
func (v *vm) tileRows() int {
	if v.is512() {
		return 12
	}
	return 6
}

// kUnroll is the number of steps of k per iteration of a micro-kernel.
const kUnroll = 4

type tile struct {
	mr, nv int
	transA bool
}

func (t tile) name() string {
	l := "N"
	if t.transA {
		l = "T"
	}
	return fmt.Sprintf("gemm%s%dx%d_", l, t.mr, t.nv)
}

// emit writes the micro-kernel
//
//	C[i][j] = alpha·Σₚ op(A)[i][p]·B̃[p][j] + beta·C[i][j]   (i < mr, j < nr)
//
// where B̃ is a panel of k rows of nv vectors, ldb apart. beta = 0 does not
// read C.
func (t tile) emit(v vm) {
	text(v.fn(t.name()), fmt.Sprintf("func(k int, a *%[1]s, lda int, b *%[1]s, ldb int, c *%[1]s, ldc int, nr int, claim int, alpha, beta %[1]s)", v.goType))
	k := gp("k")
	t.claim(v, k)
	a, lda := gp("a"), v.stride("lda")
	lda3 := asm.GP64()
	asm.LEAQ(op.Mem{Base: lda, Index: lda, Scale: 2}, lda3)
	b, ldb := gp("b"), v.stride("ldb")
	ldb3 := asm.GP64()
	asm.LEAQ(op.Mem{Base: ldb, Index: ldb, Scale: 2}, ldb3)

	acc := make([][]reg.VecVirtual, t.mr)
	for r := range acc {
		acc[r] = make([]reg.VecVirtual, t.nv)
		for j := range acc[r] {
			acc[r][j] = v.zero()
		}
	}

	// aAt is the element of row r at step u of the current iteration.
	var aAt func(r, u int) op.Mem
	var advanceA func(steps int)
	if t.transA {
		aAt = func(r, u int) op.Mem { return rowAt(a, lda, lda3, u, r*v.size) }
		advanceA = func(steps int) {
			if steps == 1 {
				asm.ADDQ(lda, a)
			} else {
				asm.LEAQ(op.Mem{Base: a, Index: lda, Scale: byte(steps)}, a)
			}
		}
	} else {
		bases := []reg.GPVirtual{a.(reg.GPVirtual)}
		for len(bases)*3 < t.mr {
			next := asm.GP64()
			asm.LEAQ(op.Mem{Base: bases[len(bases)-1], Index: lda3, Scale: 1}, next)
			bases = append(bases, next)
		}
		aAt = func(r, u int) op.Mem {
			m := op.Mem{Base: bases[r/3], Disp: u * v.size}
			if r%3 > 0 {
				m.Index, m.Scale = lda, byte(r%3)
			}
			return m
		}
		advanceA = func(steps int) {
			for _, p := range bases {
				asm.ADDQ(op.U32(steps*v.size), p)
			}
		}
	}
	step := func(u int) {
		bv := make([]reg.VecVirtual, t.nv)
		for j := range bv {
			bv[j] = v.load(rowAt(b, ldb, ldb3, u, j*v.bytes))
		}
		for r := 0; r < t.mr; r++ {
			av := v.broadcast(aAt(r, u))
			for j := range bv {
				v.ps(asm.VFMADD231PS, asm.VFMADD231PD)(bv[j], av, acc[r][j])
			}
		}
	}
	asm.Label("unrolled")
	asm.CMPQ(k, op.U32(kUnroll))
	asm.JB(op.LabelRef("single"))
	for u := 0; u < kUnroll; u++ {
		step(u)
	}
	advanceA(kUnroll)
	asm.LEAQ(op.Mem{Base: b, Index: ldb, Scale: kUnroll}, b)
	asm.SUBQ(op.U32(kUnroll), k)
	asm.JMP(op.LabelRef("unrolled"))
	asm.Label("single")
	asm.TESTQ(k, k)
	asm.JZ(op.LabelRef("update"))
	step(0)
	advanceA(1)
	asm.ADDQ(ldb, b)
	asm.DECQ(k)
	asm.JMP(op.LabelRef("single"))

	asm.Label("update")
	c, ldc, last := gp("c"), v.stride("ldc"), gp("nr")
	asm.SUBQ(op.U32((t.nv-1)*v.lanes()), last) // columns in the last vector
	v.setTail(last)
	mask := v.tail
	v.tail = nil
	alpha := v.broadcast(v.param("alpha"))
	beta := v.broadcast(v.param("beta"))
	betaBits := asm.GP64()
	if v.single() {
		asm.MOVL(v.param("beta"), betaBits.As32())
		asm.SHLL(op.U8(1), betaBits.As32()) // drop the sign: −0 is 0 too
	} else {
		asm.MOVQ(v.param("beta"), betaBits)
		asm.SHLQ(op.U8(1), betaBits)
	}
	asm.JZ(op.LabelRef("overwrite"))
	update := func(readC bool) {
		for r := 0; r < t.mr; r++ {
			for j := 0; j < t.nv; j++ {
				if j == t.nv-1 {
					v.tail = mask
				}
				at := op.Mem{Base: c, Disp: j * v.bytes}
				s := v.mul(acc[r][j], alpha)
				if readC {
					v.ps(asm.VFMADD231PS, asm.VFMADD231PD)(beta, v.load(at), s)
				}
				v.store(s, at)
				v.tail = nil
			}
			if r < t.mr-1 {
				asm.ADDQ(ldc, c)
			}
		}
		asm.VZEROUPPER()
		asm.RET()
	}
	update(true)
	asm.Label("overwrite")
	update(false)
}

// rowAt returns the address disp bytes into row u < 4 of rows ld bytes apart
// from base; ld3 holds 3·ld.
func rowAt(base, ld, ld3 reg.Register, u, disp int) op.Mem {
	m := op.Mem{Base: base, Disp: disp}
	switch u {
	case 1, 2:
		m.Index, m.Scale = ld, byte(u)
	case 3:
		m.Index, m.Scale = ld3, 1
	}
	return m
}

// stride loads a row stride parameter, in elements, as bytes.
func (v *vm) stride(name string) reg.GPVirtual {
	r := gp(name)
	asm.SHLQ(op.U8(v.log2size()), r)
	return r
}

func (v *vm) log2size() int {
	if v.single() {
		return 2
	}
	return 3
}

// param returns the address of a scalar parameter.
func (v *vm) param(name string) op.Mem {
	b, err := asm.Param(name).Resolve()
	if err != nil {
		panic(err)
	}
	return b.Addr
}

// A pack routine copies k rows of a panel of B into dst, w = nv·lanes
// elements a row, the columns from n on set to zero:
//
//	packN: dst[p*w+j] = src[p*lds+j]   (B as stored)
//	packT: dst[p*w+j] = src[j*lds+p]   (Bᵀ as stored)
//
// packT writes whole blocks of lanes rows: dst must hold k rounded up to a
// multiple of lanes rows.
type pack struct {
	nv    int
	trans bool
}

func (p pack) name() string {
	l := "N"
	if p.trans {
		l = "T"
	}
	return fmt.Sprintf("pack%s%d_", l, p.nv)
}

func (p pack) emit(v vm) {
	text(v.fn(p.name()), fmt.Sprintf("func(dst, src *%s, lds, k, n int)", v.goType))
	dst, src, lds, k, n := gp("dst"), gp("src"), v.stride("lds"), gp("k"), gp("n")
	if p.trans {
		p.transposing(v, dst, src, lds, k, n)
	} else {
		p.copying(v, dst, src, lds, k, n)
	}
}

// clampCount returns min(max(n−lo, 0), lanes) in a new register.
func (v *vm) clampCount(n reg.Register, lo int) reg.GPVirtual {
	c := asm.GP64()
	asm.MOVQ(n, c)
	asm.SUBQ(op.U32(lo), c)
	zero := asm.GP64()
	asm.XORQ(zero, zero)
	asm.CMPQ(c, zero)
	asm.CMOVQLT(zero, c)
	full := asm.GP64()
	asm.MOVQ(op.U32(v.lanes()), full)
	asm.CMPQ(c, full)
	asm.CMOVQGT(full, c)
	return c
}

func (p pack) copying(v vm, dst, src, lds, k reg.Register, n reg.Register) {
	masks := make([]reg.Register, p.nv)
	for j := range masks {
		v.setTail(v.clampCount(n, j*v.lanes()))
		masks[j] = v.tail
	}
	lds3 := asm.GP64()
	asm.LEAQ(op.Mem{Base: lds, Index: lds, Scale: 2}, lds3)
	row := func(u int) {
		for j := range masks {
			at := rowAt(src, lds, lds3, u, j*v.bytes)
			v.tail = masks[j]
			x := v.load(at)
			v.tail = nil
			v.store(x, op.Mem{Base: dst, Disp: (u*p.nv + j) * v.bytes})
		}
	}
	asm.Label("unrolled")
	asm.CMPQ(k, op.U32(4))
	asm.JB(op.LabelRef("single"))
	for u := 0; u < 4; u++ {
		row(u)
	}
	asm.LEAQ(op.Mem{Base: src, Index: lds, Scale: 4}, src)
	asm.ADDQ(op.U32(4*p.nv*v.bytes), dst)
	asm.SUBQ(op.U32(4), k)
	asm.JMP(op.LabelRef("unrolled"))
	asm.Label("single")
	asm.TESTQ(k, k)
	asm.JZ(op.LabelRef("done"))
	row(0)
	asm.ADDQ(lds, src)
	asm.ADDQ(op.U32(p.nv*v.bytes), dst)
	asm.DECQ(k)
	asm.JMP(op.LabelRef("single"))
	asm.Label("done")
	asm.VZEROUPPER()
	asm.RET()
}

// transposing packs Bᵀ a square block of lanes×lanes at a time: lanes rows of
// the source (columns of the panel), lanes elements each, transposed in
// registers into lanes rows of the panel.
func (p pack) transposing(v vm, dst, src, lds, k reg.Register, n reg.Register) {
	lanes := v.lanes()
	rows := make([]reg.GPVirtual, p.nv) // source rows of each block, 0..lanes
	for j := range rows {
		rows[j] = v.clampCount(n, j*lanes)
	}
	asm.Label("block")
	asm.TESTQ(k, k)
	asm.JLE(op.LabelRef("done"))
	v.setTail(v.clampCount(k, 0)) // the steps of k in this block
	mask := v.tail
	v.tail = nil
	for j := range rows {
		x := make([]reg.VecVirtual, lanes)
		row := asm.GP64()
		asm.MOVQ(src, row)
		if j > 0 {
			step := asm.GP64()
			asm.IMUL3Q(op.U32(j*lanes), lds, step)
			asm.ADDQ(step, row)
		}
		for r := range x {
			x[r] = v.vec()
			zero, next := fmt.Sprintf("zero_%d_%d", j, r), fmt.Sprintf("next_%d_%d", j, r)
			asm.CMPQ(rows[j], op.U32(r))
			asm.JLE(op.LabelRef(zero))
			v.tail = mask
			v.loadInto(op.Mem{Base: row}, x[r])
			v.tail = nil
			asm.JMP(op.LabelRef(next))
			asm.Label(zero)
			v.ps(asm.VXORPS, asm.VXORPD)(x[r], x[r], x[r])
			asm.Label(next)
			if r < lanes-1 {
				asm.ADDQ(lds, row)
			}
		}
		y := v.transpose(x)
		for c := range y {
			v.store(y[c], op.Mem{Base: dst, Disp: (c*p.nv + j) * v.bytes})
		}
	}
	asm.ADDQ(op.U32(v.bytes), src)
	asm.ADDQ(op.U32(lanes*p.nv*v.bytes), dst)
	asm.SUBQ(op.U32(lanes), k)
	asm.JMP(op.LabelRef("block"))
	asm.Label("done")
	asm.VZEROUPPER()
	asm.RET()
}

// transpose returns the columns of the square matrix whose rows are x.
func (v *vm) transpose(x []reg.VecVirtual) []reg.VecVirtual {
	unpack := func(lo, hi func(...op.Op), a, b reg.VecVirtual) (reg.VecVirtual, reg.VecVirtual) {
		l, h := v.vec(), v.vec()
		lo(b, a, l)
		hi(b, a, h)
		return l, h
	}
	n := len(x)
	// Within each 128-bit lane, gather the elements of one column: after
	// this, lane L of t[g*q+i] holds column q·L+i (q columns a lane) of the
	// rows g·(group)…, in order.
	var t []reg.VecVirtual
	var perLane int // columns a 128-bit lane holds
	if v.single() {
		s := make([]reg.VecVirtual, n)
		for i := 0; i < n; i += 2 {
			s[i], s[i+1] = unpack(asm.VUNPCKLPS, asm.VUNPCKHPS, x[i], x[i+1])
		}
		t = make([]reg.VecVirtual, n)
		for i := 0; i < n; i += 4 {
			t[i], t[i+1] = unpack(asm.VUNPCKLPD, asm.VUNPCKHPD, s[i], s[i+2])
			t[i+2], t[i+3] = unpack(asm.VUNPCKLPD, asm.VUNPCKHPD, s[i+1], s[i+3])
		}
		perLane = 4
	} else {
		t = make([]reg.VecVirtual, n)
		for i := 0; i < n; i += 2 {
			t[i], t[i+1] = unpack(asm.VUNPCKLPD, asm.VUNPCKHPD, x[i], x[i+1])
		}
		perLane = 2
	}
	// Lane L of t[g·perLane+q] holds column perLane·L+q of rows
	// g·perLane…g·perLane+perLane−1. Column c = perLane·L+q of the result
	// takes lane L of t[q], t[perLane+q], t[2·perLane+q], …: a transpose of
	// 128-bit lanes.
	lanesPerVec := v.bytes / 16
	y := make([]reg.VecVirtual, n)
	for q := 0; q < perLane; q++ {
		var g []reg.VecVirtual
		for i := q; i < n; i += perLane {
			g = append(g, t[i])
		}
		var cols []reg.VecVirtual
		if lanesPerVec == 4 {
			shuf := v.ps(asm.VSHUFF32X4, asm.VSHUFF64X2)
			sh := func(a, b reg.VecVirtual, imm uint8) reg.VecVirtual {
				r := v.vec()
				shuf(op.U8(imm), b, a, r)
				return r
			}
			s0, s1 := sh(g[0], g[1], 0x44), sh(g[0], g[1], 0xee)
			s2, s3 := sh(g[2], g[3], 0x44), sh(g[2], g[3], 0xee)
			cols = []reg.VecVirtual{sh(s0, s2, 0x88), sh(s0, s2, 0xdd), sh(s1, s3, 0x88), sh(s1, s3, 0xdd)}
		} else {
			lo, hi := v.vec(), v.vec()
			asm.VPERM2F128(op.U8(0x20), g[1], g[0], lo)
			asm.VPERM2F128(op.U8(0x31), g[1], g[0], hi)
			cols = []reg.VecVirtual{lo, hi}
		}
		for L, c := range cols {
			y[perLane*L+q] = c
		}
	}
	return y
}

// claimSteps is the fewest steps of k for which a tile claims its lines.
const claimSteps = 32

// claim writes zeros over the tile of c before the products when claim is
// set, beta is 0 (c is overwritten) and there are at least claimSteps
// steps of k: the stores wait in the store buffer for their lines while
// the loop over k runs, so that a line another core holds (an activation
// it read, a partial gradient it summed) is this core's by the time the
// results are written, instead of each store waiting for it then. A
// shorter loop would not hide the wait, and the tile's stores would
// double. On one core, with no other core's lines to take, the early
// stores cost about 2% of a training step, so the caller asks for them
// only when the kernels run on several threads.
func (t tile) claim(v vm, k reg.GPVirtual) {
	asm.CMPQ(k, op.U32(claimSteps))
	asm.JB(op.LabelRef("claimed"))
	asm.CMPQ(v.param("claim"), op.U32(0))
	asm.JE(op.LabelRef("claimed"))
	betaBits := asm.GP64()
	if v.single() {
		asm.MOVL(v.param("beta"), betaBits.As32())
		asm.SHLL(op.U8(1), betaBits.As32())
	} else {
		asm.MOVQ(v.param("beta"), betaBits)
		asm.SHLQ(op.U8(1), betaBits)
	}
	asm.JNZ(op.LabelRef("claimed"))
	c, ldc, last := gp("c"), v.stride("ldc"), gp("nr")
	asm.SUBQ(op.U32((t.nv-1)*v.lanes()), last)
	v.setTail(last)
	mask := v.tail
	v.tail = nil
	z := v.zero()
	for r := 0; r < t.mr; r++ {
		for j := 0; j < t.nv; j++ {
			if j == t.nv-1 {
				v.tail = mask
			}
			v.store(z, op.Mem{Base: c, Disp: j * v.bytes})
			v.tail = nil
		}
		if r < t.mr-1 {
			asm.ADDQ(ldc, c)
		}
	}
	asm.Label("claimed")
}
