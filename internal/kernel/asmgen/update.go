package main

import (
	op "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// The optimizers' block kernels. Each body repeats its reference loop in
// internal/kernel/update.go operation by operation, in the same order and
// without fused multiply-adds, so that results match it bit for bit.
//
// Bodies load all their inputs before they store anything, so that no load
// has to be checked against a store to another slice at the same offset
// (which can cost a stall when the slices lie a multiple of 4 KiB apart).

// oneMinus defines "1-x" for each scalar x, as the reference computes it.
func oneMinus(xs ...string) func(e *step) {
	return func(e *step) {
		one := e.one()
		for _, x := range xs {
			e.def("1-"+x, e.sub(one, e.c(x)))
		}
	}
}

// ema returns b·old + (1−b)·x, the update of an exponential moving average.
func ema(e *step, b string, old, x op.Op) reg.VecVirtual {
	return e.add(e.mul(e.c(b), old), e.mul(e.c("1-"+b), x))
}

// emaSq returns b·old + (1−b)·x·x, evaluated left to right as Go does.
func emaSq(e *step, b string, old, x op.Op) reg.VecVirtual {
	return e.add(e.mul(e.c(b), old), e.mul(e.mul(e.c("1-"+b), x), x))
}

// moments loads u, m and v, updates the moments as Adam does, stores them and
// returns u and the new moments.
func moments(e *step) (g, m, v reg.VecVirtual) {
	g, m, v = e.ld("u"), e.ld("m"), e.ld("v")
	m = ema(e, "b1", m, g)
	v = emaSq(e, "b2", v, g)
	e.st("m", m)
	e.st("v", v)
	return g, m, v
}

// rms updates the mean square v (and, when g is not nil, the mean g, stored
// to the slice named gName) with x as RMSprop does, stores them and returns
// x divided by the root of the (centered) mean square. All loads must
// precede it.
func rms(e *step, epsInSqrt bool, x, v, g reg.VecVirtual, gName string) reg.VecVirtual {
	v = emaSq(e, "a", v, x)
	e.st("v", v)
	s := v
	if g != nil {
		g = ema(e, "a", g, x)
		e.st(gName, g)
		s = e.sub(v, e.mul(g, g))
	}
	var d reg.VecVirtual
	if epsInSqrt {
		d = e.sqrt(e.add(s, e.c("eps")))
	} else {
		d = e.add(e.sqrt(s), e.c("eps"))
	}
	return e.div(x, d)
}

var updates = []stream{
	{
		name: "axpy", params: "a T, x, y []T", slices: []string{"x", "y"}, scalars: []string{"a"}, unroll: 4,
		body: func(e *step, _ map[string]bool) {
			e.st("y", e.add(e.ld("y"), e.mul(e.c("a"), e.ld("x"))))
		},
	},
	{
		name: "scale", params: "a T, x []T", slices: []string{"x"}, scalars: []string{"a"}, unroll: 4,
		body: func(e *step, _ map[string]bool) {
			e.st("x", e.mul(e.ld("x"), e.c("a")))
		},
	},
	{
		name: "clamp", params: "lo, hi T, x []T", slices: []string{"x"}, scalars: []string{"lo", "hi"}, unroll: 4,
		body: func(e *step, _ map[string]bool) {
			x := e.ld("x")
			r := e.sel(e.cmp(cmpGT, x, e.c("hi")), e.c("hi"), x)
			e.st("x", e.sel(e.cmp(cmpLT, x, e.c("lo")), e.c("lo"), r))
		},
	},
	{
		name: "momentum", params: "u, b []T, mu, damp T, nesterov bool", slices: []string{"u", "b"},
		scalars: []string{"mu", "damp"}, flags: []choice{{name: "nesterov"}}, unroll: 2,
		body: func(e *step, on map[string]bool) {
			g, b := e.ld("u"), e.ld("b")
			b = e.add(e.mul(e.c("mu"), b), e.mul(e.c("damp"), g))
			e.st("b", b)
			if on["nesterov"] {
				b = e.add(g, e.mul(e.c("mu"), b))
			}
			e.st("u", b)
		},
	},
	{
		name: "adam", params: "u, m, v, vmax []T, b1, b2, c1, c2, eps T", slices: []string{"u", "m", "v", "vmax"},
		scalars: []string{"b1", "b2", "c1", "c2", "eps"}, flags: []choice{{name: "vmax", slice: true}}, unroll: 2,
		prep: oneMinus("b1", "b2"),
		body: func(e *step, on map[string]bool) {
			var vmax reg.VecVirtual
			if on["vmax"] {
				vmax = e.ld("vmax")
			}
			_, m, v := moments(e)
			if on["vmax"] {
				v = e.maxNaN(vmax, v)
				e.st("vmax", v)
			}
			d := e.add(e.mul(e.sqrt(v), e.c("c2")), e.c("eps"))
			e.st("u", e.div(e.mul(m, e.c("c1")), d))
		},
	},
	{
		name: "rmsprop", params: "u, v, g []T, a, eps T, epsInSqrt bool", slices: []string{"u", "v", "g"},
		scalars: []string{"a", "eps"}, flags: []choice{{name: "g", slice: true}, {name: "epsInSqrt"}}, unroll: 2,
		prep: oneMinus("a"),
		body: func(e *step, on map[string]bool) {
			x, v := e.ld("u"), e.ld("v")
			var g reg.VecVirtual
			if on["g"] {
				g = e.ld("g")
			}
			e.st("u", rms(e, on["epsInSqrt"], x, v, g, "g"))
		},
	},
	{
		name: "adagrad", params: "u, s []T, eps T", slices: []string{"u", "s"}, scalars: []string{"eps"}, unroll: 2,
		body: func(e *step, _ map[string]bool) {
			g, s := e.ld("u"), e.ld("s")
			s = e.add(s, e.mul(g, g))
			e.st("s", s)
			e.st("u", e.div(g, e.add(e.sqrt(s), e.c("eps"))))
		},
	},
	{
		name: "adadelta", params: "u, v, d []T, rho, eps T", slices: []string{"u", "v", "d"},
		scalars: []string{"rho", "eps"}, unroll: 2, prep: oneMinus("rho"),
		body: func(e *step, _ map[string]bool) {
			g, v, d := e.ld("u"), e.ld("v"), e.ld("d")
			v = emaSq(e, "rho", v, g)
			e.st("v", v)
			x := e.mul(e.div(e.sqrt(e.add(d, e.c("eps"))), e.sqrt(e.add(v, e.c("eps")))), g)
			e.st("d", emaSq(e, "rho", d, x))
			e.st("u", x)
		},
	},
	{
		name: "adamax", params: "u, m, n []T, b1, b2, c1, eps T", slices: []string{"u", "m", "n"},
		scalars: []string{"b1", "b2", "c1", "eps"}, unroll: 2,
		prep: func(e *step) {
			oneMinus("b1")(e)
			e.def("abs", e.absMask())
		},
		body: func(e *step, _ map[string]bool) {
			g, m, n := e.ld("u"), e.ld("m"), e.ld("n")
			m = ema(e, "b1", m, g)
			e.st("m", m)
			a := e.add(e.and(g, e.c("abs")), e.c("eps"))
			n = e.mul(e.c("b2"), n)
			n = e.sel(e.cmp(cmpGE, n, a), n, a)
			e.st("n", n)
			e.st("u", e.div(e.mul(m, e.c("c1")), n))
		},
	},
	{
		name: "nadam", params: "u, m, v []T, b1, b2, c2, cg, cm, eps T", slices: []string{"u", "m", "v"},
		scalars: []string{"b1", "b2", "c2", "cg", "cm", "eps"}, unroll: 2, prep: oneMinus("b1", "b2"),
		body: func(e *step, _ map[string]bool) {
			g, m, v := moments(e)
			d := e.add(e.sqrt(e.mul(v, e.c("c2"))), e.c("eps"))
			e.st("u", e.add(e.div(e.mul(e.c("cg"), g), d), e.div(e.mul(e.c("cm"), m), d)))
		},
	},
	{
		name: "radam", params: "u, m, v []T, b1, b2, c1, r, eps T, rect bool", slices: []string{"u", "m", "v"},
		scalars: []string{"b1", "b2", "c1", "r", "eps"}, flags: []choice{{name: "rect"}}, unroll: 2,
		prep: oneMinus("b1", "b2"),
		body: func(e *step, on map[string]bool) {
			_, m, v := moments(e)
			u := e.mul(m, e.c("c1"))
			if on["rect"] {
				u = e.mul(u, e.div(e.c("r"), e.add(e.sqrt(v), e.c("eps"))))
			}
			e.st("u", u)
		},
	},
}
