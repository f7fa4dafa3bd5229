package kernel

import "math"

// Kernels of the optimizers whose chains hold reductions (Muon, Prodigy,
// LAMB). They are pure Go: each is its own reference loop, and like the
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
	n := len(g)
	p, p0, v, s = p[:n], p0[:n], v[:n], s[:n]
	if m != nil {
		m = m[:n]
		for i, gi := range g {
			m[i] = T(b1*m[i]) + T(c1*gi)
		}
	}
	for i, gi := range g {
		dot += float64(gi) * float64(p0[i]-p[i])
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
