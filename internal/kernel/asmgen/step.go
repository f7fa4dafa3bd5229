package main

import "github.com/mmcloughlin/avo/reg"

// The fused optimizer steps: one pass over a block straight from memory,
// reading the parameter, its gradient and the state once and writing the
// parameter and the state once. Each body carries out, operation by
// operation, what the optimizer's chain of block kernels does to a copy of
// the gradient (Scale, Axpy, the transform, Axpy, Axpy into the parameter),
// so that results match that composition bit for bit.
//
// Multiplying by gs = 1 is exact, so the bodies always scale and need no
// variant for it; adding wc·p or wd·p is not (wc·p is NaN for an infinite
// p even when wc = 0), so those have their variants.

// couple loads p and g and returns p and the update gs·g (+ wc·p).
func couple(e *step, on map[string]bool) (p, u reg.VecVirtual) {
	p, g := e.ld("p"), e.ld("g")
	u = e.mul(g, e.c("gs"))
	if on["wc"] {
		u = e.add(u, e.mul(e.c("wc"), p))
	}
	return p, u
}

// apply stores p + nlr·u.
func apply(e *step, p, u reg.VecVirtual) {
	e.st("p", e.add(p, e.mul(e.c("nlr"), u)))
}

var wcChoice = choice{name: "wc", nonzero: true}

var steps = []stream{
	{
		name: "adamStep", params: "p, g, m, v, vmax []T, gs, wc, b1, b2, c1, c2, eps, wd, nlr T",
		slices:  []string{"p", "g", "m", "v", "vmax"},
		scalars: []string{"gs", "wc", "b1", "b2", "c1", "c2", "eps", "wd", "nlr"},
		lazy:    []string{"gs", "wc", "c1", "c2", "eps", "wd", "nlr"},
		flags:   []choice{{name: "vmax", slice: true}, wcChoice, {name: "wd", nonzero: true}}, unroll: 2,
		prep: oneMinus("b1", "b2"),
		body: func(e *step, on map[string]bool) {
			p, u := couple(e, on)
			m, v := e.ld("m"), e.ld("v")
			var vmax reg.VecVirtual
			if on["vmax"] {
				vmax = e.ld("vmax")
			}
			m = ema(e, "b1", m, u)
			v = emaSq(e, "b2", v, u)
			e.st("m", m)
			e.st("v", v)
			if on["vmax"] {
				v = e.maxNaN(vmax, v)
				e.st("vmax", v)
			}
			d := e.add(e.mul(e.sqrt(v), e.c("c2")), e.c("eps"))
			a := e.div(e.mul(m, e.c("c1")), d)
			if on["wd"] {
				a = e.add(a, e.mul(e.c("wd"), p))
			}
			apply(e, p, a)
		},
	},
	{
		name: "momentumStep", params: "p, g, b []T, gs, wc, mu, damp, nlr T, nesterov bool",
		slices: []string{"p", "g", "b"}, scalars: []string{"gs", "wc", "mu", "damp", "nlr"},
		flags: []choice{wcChoice, {name: "nesterov"}}, unroll: 2,
		body: func(e *step, on map[string]bool) {
			p, u := couple(e, on)
			b := e.ld("b")
			b = e.add(e.mul(e.c("mu"), b), e.mul(e.c("damp"), u))
			e.st("b", b)
			if on["nesterov"] {
				b = e.add(u, e.mul(e.c("mu"), b))
			}
			apply(e, p, b)
		},
	},
	{
		name: "rmspropStep", params: "p, g, v, ga, buf []T, gs, wc, a, eps, mu, nlr T, epsInSqrt bool",
		slices:  []string{"p", "g", "v", "ga", "buf"},
		scalars: []string{"gs", "wc", "a", "eps", "mu", "nlr"},
		lazy:    []string{"gs", "wc", "eps", "mu", "nlr"},
		flags:   []choice{{name: "ga", slice: true}, {name: "buf", slice: true}, wcChoice, {name: "epsInSqrt"}}, unroll: 2,
		prep: oneMinus("a"),
		body: func(e *step, on map[string]bool) {
			p, x := couple(e, on)
			v := e.ld("v")
			var ga, buf reg.VecVirtual
			if on["ga"] {
				ga = e.ld("ga")
			}
			if on["buf"] {
				buf = e.ld("buf")
			}
			u := rms(e, on["epsInSqrt"], x, v, ga, "ga")
			if on["buf"] {
				// Momentum with damp = 1: 1·u is u.
				u = e.add(e.mul(e.c("mu"), buf), u)
				e.st("buf", u)
			}
			apply(e, p, u)
		},
	},
}
