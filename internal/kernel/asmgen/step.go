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
	adamStep(false),
	adamStep(true),
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

// sign returns sign(x) as the reference's sign does: ±1 with the sign bit
// of x, 0 where x is ±0, x where x is NaN. It needs the constants
// "signbit", "one" and "zero" (see signConstants).
func sign(e *step, x reg.VecVirtual) reg.VecVirtual {
	s := e.or(e.and(x, e.c("signbit")), e.c("one"))
	s = e.sel(e.cmp(cmpEQ, x, e.c("zero")), e.c("zero"), s)
	return e.sel(e.cmp(cmpUNORD, x, x), x, s)
}

func signConstants(e *step) {
	if e.single() {
		e.def("signbit", e.splat("signbit", 0x80000000))
	} else {
		e.def("signbit", e.splat("signbit", 0x8000000000000000))
	}
	e.def("one", e.one())
	e.def("zero", e.zero())
}

// decayed returns a + wd·p when the variant has a decoupled decay.
func decayed(e *step, on map[string]bool, a, p reg.VecVirtual) reg.VecVirtual {
	if on["wd"] {
		return e.add(a, e.mul(e.c("wd"), p))
	}
	return a
}

var wdChoice = choice{name: "wd", nonzero: true}

// The fused steps of the newer optimizers (update_more.go).
var moreSteps = []stream{
	lionStep(false),
	lionStep(true),
	{
		name: "adoptStep", params: "p, g, m, v []T, gs, wc, b1, b2, eps, clip, wd, nlr T, first bool",
		slices: []string{"p", "g", "m", "v"}, scalars: []string{"gs", "wc", "b1", "b2", "eps", "clip", "wd", "nlr"},
		lazy:  []string{"gs", "wc", "eps", "wd", "nlr"},
		flags: []choice{{name: "first"}, wcChoice, wdChoice}, unroll: 2,
		prep: func(e *step) {
			oneMinus("b1", "b2")(e)
			signConstants(e)
			e.def("-clip", e.xor(e.c("clip"), e.c("signbit"))) // −clip, as Go negates: −(+0) = −0
		},
		body: func(e *step, on map[string]bool) {
			p, u := couple(e, on)
			if on["first"] {
				e.st("v", e.mul(u, u))
				a := e.c("zero")
				if on["wd"] {
					a = e.add(a, e.mul(e.c("wd"), p))
				}
				apply(e, p, a)
				return
			}
			m, v := e.ld("m"), e.ld("v")
			d := e.sqrt(v)
			d = e.sel(e.cmp(cmpLT, d, e.c("eps")), e.c("eps"), d)
			q := e.div(u, d)
			r := e.sel(e.cmp(cmpLT, q, e.c("-clip")), e.c("-clip"), q)
			r = e.sel(e.cmp(cmpGT, q, e.c("clip")), e.c("clip"), r) // q > clip is tested first
			m = ema(e, "b1", m, r)
			e.st("m", m)
			e.st("v", emaSq(e, "b2", v, u))
			apply(e, p, decayed(e, on, m, p))
		},
	},
	{
		name: "ademamixStep", params: "p, g, m1, m2, v []T, gs, wc, b1, b2, b3, c1, c2, alpha, eps, wd, nlr T",
		slices:  []string{"p", "g", "m1", "m2", "v"},
		scalars: []string{"gs", "wc", "b1", "b2", "b3", "c1", "c2", "alpha", "eps", "wd", "nlr"},
		lazy:    []string{"gs", "wc", "c1", "c2", "alpha", "eps", "wd", "nlr"},
		flags:   []choice{wcChoice, wdChoice}, unroll: 2,
		prep: oneMinus("b1", "b2", "b3"),
		body: func(e *step, on map[string]bool) {
			p, u := couple(e, on)
			m1, m2, v := e.ld("m1"), e.ld("m2"), e.ld("v")
			a := ema(e, "b1", m1, u)
			b := ema(e, "b3", m2, u)
			w := emaSq(e, "b2", v, u)
			e.st("m1", a)
			e.st("m2", b)
			e.st("v", w)
			d := e.add(e.mul(e.sqrt(w), e.c("c2")), e.c("eps"))
			r := e.div(e.add(e.mul(a, e.c("c1")), e.mul(e.c("alpha"), b)), d)
			apply(e, p, decayed(e, on, r, p))
		},
	},
	{
		// The trust ratio's norms: Σ u² and Σ p² of the update a fused
		// step starts from (u = g for the chain's gather).
		name: "normsStep", params: "p, g []T, gs, wc T",
		slices: []string{"p", "g"}, scalars: []string{"gs", "wc"},
		flags: []choice{wcChoice}, unroll: 2,
		results: []string{"uu", "pp"},
		body: func(e *step, on map[string]bool) {
			p, u := couple(e, on)
			e.dot(0, u, u)
			e.dot(1, p, p)
		},
	},
	{
		// LAMB's gather pass: Adam's moments move, its update with the
		// decoupled decay is written to u, and Σ u² and Σ p² are returned,
		// added as normsStep adds them on the stored u. In the tail the
		// sums read u back, so that its masked-off lanes add 0 even when
		// eps = 0 makes them 0/0.
		name: "lambGather", params: "p, g, m, v, u []T, gs, wc, b1, b2, c1, c2, eps, wd T",
		slices:  []string{"p", "g", "m", "v", "u"},
		scalars: []string{"gs", "wc", "b1", "b2", "c1", "c2", "eps", "wd"},
		lazy:    []string{"gs", "wc", "c1", "c2", "eps", "wd"},
		flags:   []choice{wcChoice, wdChoice}, unroll: 2,
		results: []string{"uu", "pp"},
		prep:    oneMinus("b1", "b2"),
		body: func(e *step, on map[string]bool) {
			p, x := couple(e, on)
			m, v := e.ld("m"), e.ld("v")
			m = ema(e, "b1", m, x)
			v = emaSq(e, "b2", v, x)
			e.st("m", m)
			e.st("v", v)
			d := e.add(e.mul(e.sqrt(v), e.c("c2")), e.c("eps"))
			a := decayed(e, on, e.div(e.mul(m, e.c("c1")), d), p)
			e.st("u", a)
			if e.tail != nil {
				a = e.ld("u")
			}
			e.dot(0, a, a)
			e.dot(1, p, p)
		},
	},
	{
		// LARS's step: the trust ratio r, the rate lr, then momentum
		// (when b is not nil) and the subtraction.
		name: "trustStep", params: "p, g, b []T, gs, wc, r, lr, mu, damp, nlr T, nesterov bool",
		slices: []string{"p", "g", "b"}, scalars: []string{"gs", "wc", "r", "lr", "mu", "damp", "nlr"},
		lazy:  []string{"gs", "wc", "damp", "nlr"},
		flags: []choice{{name: "b", slice: true}, wcChoice, {name: "nesterov"}}, unroll: 2,
		body: func(e *step, on map[string]bool) {
			p, u := couple(e, on)
			u = e.mul(e.c("lr"), e.mul(e.c("r"), u))
			if on["b"] {
				b := e.add(e.mul(e.c("mu"), e.ld("b")), e.mul(e.c("damp"), u))
				e.st("b", b)
				if on["nesterov"] {
					u = e.add(u, e.mul(e.c("mu"), b))
				} else {
					u = b
				}
			}
			apply(e, p, u)
		},
	},
	{
		// Prodigy's gather pass: the moments and s move, and the sums
		// Σ u·(p0 − p) and Σ |s| are returned.
		name: "prodigyGather", params: "p, g, p0, m, v, s []T, gs, wc, b1, c1, b2, c2, b3, w T",
		slices: []string{"p", "g", "p0", "m", "v", "s"}, scalars: []string{"gs", "wc", "b1", "c1", "b2", "c2", "b3", "w"},
		lazy:  []string{"gs", "wc", "c1", "c2", "w"},
		flags: []choice{{name: "m", slice: true}, wcChoice}, unroll: 2,
		results: []string{"dot", "abs"},
		body: func(e *step, on map[string]bool) {
			p, u := couple(e, on)
			if on["m"] {
				e.st("m", e.add(e.mul(e.c("b1"), e.ld("m")), e.mul(e.c("c1"), u)))
			}
			e.dot(0, u, e.sub(e.ld("p0"), p))
			e.st("v", e.add(e.mul(e.c("b2"), e.ld("v")), e.mul(e.mul(e.c("c2"), u), u)))
			si := e.add(e.mul(e.c("b3"), e.ld("s")), e.mul(e.c("w"), u))
			e.st("s", si)
			e.sum(1, si, true)
		},
	},
	{
		// Prodigy's update pass: the gradient is read only when m is nil.
		name: "prodigyStep", params: "p, g, m, v []T, gs, wc, a, de, aw, nlr T",
		slices: []string{"p", "g", "m", "v"}, scalars: []string{"gs", "wc", "a", "de", "aw", "nlr"},
		lazy:  []string{"gs", "wc", "aw", "nlr"},
		flags: []choice{{name: "m", slice: true}, wcChoice, {name: "aw", nonzero: true}}, unroll: 2,
		body: func(e *step, on map[string]bool) {
			var p, mi reg.VecVirtual
			if on["m"] {
				p, mi = e.ld("p"), e.ld("m")
			} else {
				p, mi = couple(e, on)
			}
			r := e.mul(e.c("a"), e.div(mi, e.add(e.sqrt(e.ld("v")), e.c("de"))))
			if on["aw"] {
				r = e.add(r, e.mul(e.c("aw"), p))
			}
			apply(e, p, r)
		},
	},
	{
		name: "scheduleFreeStep", params: "p, g, z, v []T, gs, wc, b2, bc2, eps, wd, c, a, lr, nlr T, near bool",
		slices:  []string{"p", "g", "z", "v"},
		scalars: []string{"gs", "wc", "b2", "bc2", "eps", "wd", "c", "a", "lr", "nlr"},
		lazy:    []string{"gs", "wc", "bc2", "eps", "wd", "a", "lr", "nlr"},
		flags:   []choice{{name: "v", slice: true}, wcChoice, wdChoice, {name: "near"}}, unroll: 2,
		prep: oneMinus("b2", "c"),
		body: func(e *step, on map[string]bool) {
			y, u := couple(e, on)
			z := e.ld("z")
			if on["v"] {
				w := emaSq(e, "b2", e.ld("v"), u)
				e.st("v", w)
				u = e.div(u, e.add(e.sqrt(e.div(w, e.c("bc2"))), e.c("eps")))
			}
			u = decayed(e, on, u, y)
			var l reg.VecVirtual
			if on["near"] { // |c| < 0.5: y + c·(z − y)
				l = e.add(y, e.mul(e.c("c"), e.sub(z, y)))
			} else { // z − (z − y)·(1 − c)
				l = e.sub(z, e.mul(e.sub(z, y), e.c("1-c")))
			}
			y2 := e.add(l, e.mul(e.c("a"), u))
			e.st("z", e.sub(z, e.mul(e.c("lr"), u)))
			apply(e, y, e.sub(y, y2))
		},
	},
}

// lionStep returns Lion's fused step, or with cautious its cautious form
// (scale s where sign(c)·u > 0, else 0).
func lionStep(cautious bool) stream {
	k := stream{
		name: "lionStep", params: "p, g, m []T, gs, wc, b1, b2, wd, nlr T",
		slices: []string{"p", "g", "m"}, scalars: []string{"gs", "wc", "b1", "b2", "wd", "nlr"},
		lazy:  []string{"gs", "wc", "s", "wd", "nlr"},
		flags: []choice{wcChoice, wdChoice}, unroll: 2,
		prep: func(e *step) {
			oneMinus("b1", "b2")(e)
			signConstants(e)
		},
		body: func(e *step, on map[string]bool) {
			p, u := couple(e, on)
			m := e.ld("m")
			c := sign(e, ema(e, "b1", m, u))
			e.st("m", ema(e, "b2", m, u))
			if cautious {
				keep := e.cmp(cmpGT, e.mul(c, u), e.c("zero"))
				c = e.sel(keep, e.mul(c, e.c("s")), e.c("zero"))
			}
			apply(e, p, decayed(e, on, c, p))
		},
	}
	if cautious {
		k.name, k.params = "lionCautiousStep", "p, g, m []T, gs, wc, b1, b2, s, wd, nlr T"
		k.scalars = []string{"gs", "wc", "b1", "b2", "s", "wd", "nlr"}
	}
	return k
}

// adamStep returns Adam's fused step, or with cautious its cautious form
// (the Adam term scaled by s where m·u > 0, else 0; the decay is never
// masked).
func adamStep(cautious bool) stream {
	k := stream{
		name: "adamStep", params: "p, g, m, v, vmax []T, gs, wc, b1, b2, c1, c2, eps, wd, nlr T",
		slices:  []string{"p", "g", "m", "v", "vmax"},
		scalars: []string{"gs", "wc", "b1", "b2", "c1", "c2", "eps", "wd", "nlr"},
		lazy:    []string{"gs", "wc", "c1", "c2", "eps", "s", "wd", "nlr"},
		flags:   []choice{{name: "vmax", slice: true}, wcChoice, wdChoice}, unroll: 2,
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
			if cautious {
				zero := e.zero()
				a = e.sel(e.cmp(cmpGT, e.mul(m, u), zero), e.mul(a, e.c("s")), zero)
			}
			apply(e, p, decayed(e, on, a, p))
		},
	}
	if cautious {
		k.name, k.params = "adamCautiousStep", "p, g, m, v, vmax []T, gs, wc, b1, b2, c1, c2, eps, s, wd, nlr T"
		k.scalars = []string{"gs", "wc", "b1", "b2", "c1", "c2", "eps", "s", "wd", "nlr"}
	}
	return k
}
