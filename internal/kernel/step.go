package kernel

// The fused steps below are whole optimizer updates of one block, for the
// chains users run most: they read the parameter p, its gradient g and the
// state once, straight from memory, and write p and the state once. Each
// gives, bit for bit and for every input (±0, NaN and ±Inf in p included),
// what the optimizer's chain of block kernels gives on a copy u of g:
//
//	copy(u, g)
//	if gs != 1 { Scale(gs, u) }
//	if wc != 0 { Axpy(wc, p, u) }
//	the transform: Adam, Momentum, or RMSprop (then Momentum(u, buf, mu, 1, false))
//	if wd != 0 { Axpy(wd, p, u) }         (AdamStep)
//	Axpy(nlr, u, p)
//
// Like the block kernels, they use no fused multiply-adds and do not run in
// parallel: callers spread blocks over the cores. g and the state slices
// must be at least as long as p; the step covers len(p) elements.

// AdamStep is one fused Adam/AdamW step on a block, reading the gradient
// from memory:
//
//	u := gs*g[i]                  (gs = 1: exactly g[i])
//	u += wc*p[i]                  (skipped entirely when wc == 0: coupled L2)
//	m[i] = b1*m[i] + (1-b1)*u
//	v[i] = b2*v[i] + (1-b2)*u*u
//	w := v[i]; if vmax != nil { vmax[i] = max(vmax[i], v[i]); w = vmax[i] }
//	a := (m[i]*c1) / (sqrt(w)*c2 + eps)
//	a += wd*p[i]                  (skipped entirely when wd == 0: decoupled decay, AdamW)
//	p[i] += nlr*a                 (nlr = −lr)
func AdamStep[T Float](p, g, m, v, vmax []T, gs, wc, b1, b2, c1, c2, eps, wd, nlr T) {
	n := len(p)
	g, m, v, vmax = g[:n], m[:n], v[:n], fit(vmax, n)
	table[T]().adamStep(p, g, m, v, vmax, gs, wc, b1, b2, c1, c2, eps, wd, nlr)
}

func adamStepRef[T Float](p, g, m, v, vmax []T, gs, wc, b1, b2, c1, c2, eps, wd, nlr T) {
	adamSteps(p, g, m, v, vmax, gs, wc, b1, b2, c1, c2, eps, 1, wd, nlr, false)
}

// adamSteps is the loop of AdamStep and, with cautious set,
// AdamCautiousStep.
func adamSteps[T Float](p, g, m, v, vmax []T, gs, wc, b1, b2, c1, c2, eps, s, wd, nlr T, cautious bool) {
	n := len(p)
	g, m, v, vmax = g[:n], m[:n], v[:n], fit(vmax, n)
	for i, x := range p {
		var vm *T
		if vmax != nil {
			vm = &vmax[i]
		}
		u := coupled(g[i], x, gs, wc)
		a := adam(u, &m[i], &v[i], vm, b1, b2, c1, c2, eps)
		if cautious {
			if T(m[i]*u) > 0 {
				a *= s
			} else {
				a = 0
			}
		}
		if wd != 0 {
			a += T(wd * x)
		}
		p[i] = x + T(nlr*a)
	}
}

// fit returns s[:n], or nil for a nil s (a state a variant does without).
func fit[T Float](s []T, n int) []T {
	if s == nil {
		return nil
	}
	return s[:n]
}

// coupled returns the update a chain starts from: gs·g, plus wc·p unless wc
// is 0.
func coupled[T Float](g, p, gs, wc T) T {
	if gs != 1 {
		g *= gs
	}
	if wc != 0 {
		g += T(wc * p)
	}
	return g
}

// MomentumStep is one fused SGD-with-momentum step:
//
//	u := gs*g[i]; u += wc*p[i] (skipped when wc == 0)
//	b[i] = mu*b[i] + damp*u
//	u = b[i]   (nesterov: u = u + mu*b[i])
//	p[i] += nlr*u
func MomentumStep[T Float](p, g, b []T, gs, wc, mu, damp, nlr T, nesterov bool) {
	n := len(p)
	g, b = g[:n], b[:n]
	table[T]().momentumStep(p, g, b, gs, wc, mu, damp, nlr, nesterov)
}

func momentumStepRef[T Float](p, g, b []T, gs, wc, mu, damp, nlr T, nesterov bool) {
	n := len(p)
	g, b = g[:n], b[:n]
	for i, x := range p {
		p[i] = x + T(nlr*heavyBall(coupled(g[i], x, gs, wc), &b[i], mu, damp, nesterov))
	}
}

// heavyBall is one element of Momentum: it moves the buffer *b by u and
// returns the step to take.
func heavyBall[T Float](u T, b *T, mu, damp T, nesterov bool) T {
	bi := T(mu**b) + T(damp*u)
	*b = bi
	if nesterov {
		return u + T(mu*bi)
	}
	return bi
}

// RMSpropStep is one fused RMSprop step:
//
//	u := gs*g[i]; u += wc*p[i] (skipped when wc == 0)
//	v[i] = a*v[i] + (1-a)*u*u
//	s := v[i]; if ga != nil { ga[i] = a*ga[i] + (1-a)*u; s = v[i] - ga[i]*ga[i] }
//	u = u / (sqrt(s) + eps)        (epsInSqrt: u / sqrt(s + eps))
//	if buf != nil { buf[i] = mu*buf[i] + u; u = buf[i] }
//	p[i] += nlr*u
func RMSpropStep[T Float](p, g, v, ga, buf []T, gs, wc, a, eps, mu, nlr T, epsInSqrt bool) {
	n := len(p)
	g, v, ga, buf = g[:n], v[:n], fit(ga, n), fit(buf, n)
	table[T]().rmspropStep(p, g, v, ga, buf, gs, wc, a, eps, mu, nlr, epsInSqrt)
}

func rmspropStepRef[T Float](p, g, v, ga, buf []T, gs, wc, a, eps, mu, nlr T, epsInSqrt bool) {
	n := len(p)
	g, v, ga, buf = g[:n], v[:n], fit(ga, n), fit(buf, n)
	for i, x := range p {
		var gi *T
		if ga != nil {
			gi = &ga[i]
		}
		u := rms(coupled(g[i], x, gs, wc), &v[i], gi, a, eps, epsInSqrt)
		if buf != nil {
			bi := T(mu*buf[i]) + u
			buf[i] = bi
			u = bi
		}
		p[i] = x + T(nlr*u)
	}
}
