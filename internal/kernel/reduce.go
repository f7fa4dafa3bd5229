package kernel

import "math"

// Kernels of the optimizers whose chains hold reductions (Muon, Prodigy,
// LAMB). Most are pure Go, each its own reference loop; those with
// assembly (ProdigyStep, ProdigyGatherStep) go through the table. Like the
// update kernels they round every product that is added to something.

// Lerp moves x towards y by w, as torch.lerp computes it:
//
//	x[i] = x[i] + w*(y[i] - x[i])        |w| < 0.5
//	x[i] = y[i] - (y[i] - x[i])*(1 - w)  otherwise
func Lerp[T Float](x, y []T, w T) {
	y = y[:len(x)]
	for i, a := range x {
		x[i] = LerpScalar(a, y[i], w)
	}
}

// ProdigyGather updates Prodigy's moments and its sum s with the gradient
// g, and returns Σ g[i]·(p0[i] − p[i]) and Σ |s[i]| (after the update),
// accumulated in float64:
//
//	m[i] = b1*m[i] + c1*g[i]          (skipped when m is nil)
//	v[i] = b2*v[i] + c2*g[i]*g[i]
//	s[i] = b3*s[i] + w*g[i]
func ProdigyGather[T Float](g, p, p0, m, v, s []T, b1, c1, b2, c2, b3, w T) (dot, abs float64) {
	return ProdigyGatherStep(p[:len(g)], g, p0, m, v, s, 1, 0, b1, c1, b2, c2, b3, w)
}

// ProdigyGatherStep is ProdigyGather on the update a fused step starts
// from, u = gs*g[i] (+ wc*p[i] when wc ≠ 0), in place of g. The state moves
// as the reference loop moves it, bit for bit; the vector versions keep
// the sums as Sum does (partial sums in float64 lanes, added in a fixed
// order), so they differ from the loop's by rounding only.
func ProdigyGatherStep[T Float](p, g, p0, m, v, s []T, gs, wc, b1, c1, b2, c2, b3, w T) (dot, abs float64) {
	n := len(p)
	return table[T]().prodigyGather(p, g[:n], p0[:n], fit(m, n), v[:n], s[:n], gs, wc, b1, c1, b2, c2, b3, w)
}

func prodigyGatherRef[T Float](p, g, p0, m, v, s []T, gs, wc, b1, c1, b2, c2, b3, w T) (dot, abs float64) {
	n := len(p)
	g, p0, v, s, m = g[:n], p0[:n], v[:n], s[:n], fit(m, n)
	for i, x := range p {
		gi := coupled(g[i], x, gs, wc)
		if m != nil {
			m[i] = T(b1*m[i]) + T(c1*gi)
		}
		dot += float64(gi) * float64(p0[i]-x)
		v[i] = T(b2*v[i]) + T(c2*gi*gi)
		si := T(b3*s[i]) + T(w*gi)
		s[i] = si
		abs += math.Abs(float64(si))
	}
	return dot, abs
}

// ProdigyUpdate replaces u by Prodigy's step direction:
//
//	u[i] = a*(m[i]/(sqrt(v[i]) + de)) + aw*p[i]
//
// where m nil means m = u (Prodigy with β₁ = 0 steps along the gradient).
func ProdigyUpdate[T Float](u, m, v, p []T, a, de, aw T) {
	n := len(u)
	if m == nil {
		m = u
	}
	m, v = m[:n], v[:n]
	if aw == 0 {
		for i := range u {
			u[i] = a * (m[i] / (T(math.Sqrt(float64(v[i]))) + de))
		}
		return
	}
	p = p[:n]
	for i := range u {
		u[i] = T(a*(m[i]/(T(math.Sqrt(float64(v[i])))+de))) + T(aw*p[i])
	}
}

// AdamEpsRoot is Adam (see Adam) with ε_root inside the square root, as
// optax's scale_by_adam puts it:
//
//	m[i] = b1*m[i] + (1-b1)*u[i]
//	v[i] = b2*v[i] + (1-b2)*u[i]*u[i]
//	u[i] = (m[i]*c1) / (sqrt(v[i]*c2 + epsRoot) + eps)
//
// with c1 = 1/(1−β₁ᵗ) and c2 = 1/(1−β₂ᵗ).
func AdamEpsRoot[T Float](u, m, v []T, b1, b2, c1, c2, epsRoot, eps T) {
	m, v = m[:len(u)], v[:len(u)]
	for i, g := range u {
		mi := T(b1*m[i]) + T((1-b1)*g)
		vi := T(b2*v[i]) + T((1-b2)*g*g)
		m[i], v[i] = mi, vi
		u[i] = (mi * c1) / (T(math.Sqrt(float64(T(vi*c2)+epsRoot))) + eps)
	}
}

// DecayAfter folds a weight decay applied after the step into the update u
// that the step subtracts times lr: θ ← (θ − lr·u)·(1 − lr·wd) is
// θ − lr·u' with
//
//	u[i] = u[i] + wd*(p[i] - lr*u[i])
func DecayAfter[T Float](u, p []T, wd, lr T) {
	p = p[:len(u)]
	for i, x := range u {
		u[i] = x + T(wd*(p[i]-T(lr*x)))
	}
}

// ProdigyStep is Prodigy's update pass as one fused step on a block (see
// step.go), bit for bit ProdigyUpdate on the chain's update and the
// subtraction:
//
//	u := gs*g[i]; u += wc*p[i] (skipped when wc == 0; read only when m is nil)
//	r := a*(m[i]/(sqrt(v[i]) + de)) + aw*p[i]   (m nil: u in place of m[i]; aw*p[i] skipped when aw == 0)
//	p[i] += nlr*r
func ProdigyStep[T Float](p, g, m, v []T, gs, wc, a, de, aw, nlr T) {
	n := len(p)
	table[T]().prodigyStep(p, g[:n], fit(m, n), v[:n], gs, wc, a, de, aw, nlr)
}

func prodigyStepRef[T Float](p, g, m, v []T, gs, wc, a, de, aw, nlr T) {
	n := len(p)
	g, m, v = g[:n], fit(m, n), v[:n]
	for i, x := range p {
		var mi T
		if m != nil {
			mi = m[i]
		} else {
			mi = coupled(g[i], x, gs, wc)
		}
		r := a * (mi / (T(math.Sqrt(float64(v[i]))) + de))
		if aw != 0 {
			r = T(r) + T(aw*x)
		}
		p[i] = x + T(nlr*r)
	}
}

// NormsStep returns Σ u[i]² and Σ p[i]² in float64, for the update a fused
// step starts from, u = gs*g[i] (+ wc*p[i] when wc ≠ 0): the norms of the
// trust ratio (LAMB, LARS). The chain's gather calls it with gs = 1 and
// wc = 0 on its update, so both add in the same order. The vector
// versions keep the sums as ProdigyGatherStep does.
func NormsStep[T Float](p, g []T, gs, wc T) (uu, pp float64) {
	return table[T]().normsStep(p, g[:len(p)], gs, wc)
}

func normsStepRef[T Float](p, g []T, gs, wc T) (uu, pp float64) {
	g = g[:len(p)]
	for i, x := range p {
		u := float64(coupled(g[i], x, gs, wc))
		uu += u * u
		pp += float64(x) * float64(x)
	}
	return uu, pp
}

// TrustStep is LARS's step on a block as one fused kernel, bit for bit the
// chain's Scale(r), Scale(lr), Momentum (when b is not nil) and the
// subtraction:
//
//	u := gs*g[i]; u += wc*p[i] (skipped when wc == 0)
//	u = lr*(r*u)
//	b[i] = mu*b[i] + damp*u; u = b[i] (nesterov: u += mu*b[i])   (b not nil)
//	p[i] += nlr*u
func TrustStep[T Float](p, g, b []T, gs, wc, r, lr, mu, damp, nlr T, nesterov bool) {
	n := len(p)
	table[T]().trustStep(p, g[:n], fit(b, n), gs, wc, r, lr, mu, damp, nlr, nesterov)
}

func trustStepRef[T Float](p, g, b []T, gs, wc, r, lr, mu, damp, nlr T, nesterov bool) {
	n := len(p)
	g, b = g[:n], fit(b, n)
	for i, x := range p {
		u := lr * T(r*coupled(g[i], x, gs, wc))
		if b != nil {
			u = heavyBall(u, &b[i], mu, damp, nesterov)
		}
		p[i] = x + T(nlr*u)
	}
}
