package kernel

import "math"

// The update kernels below are the inner loops of the optimizers' gradient
// transforms. Each works on one block of one parameter: u holds the block's
// incoming update (at the head of a chain, a copy of the gradient) and is
// rewritten in place; state slices are the same block of the transform's
// per-parameter state. All slices passed to one call have the same length.
// Scalars that depend only on the step (bias corrections, rates) are computed
// once per step by the caller and passed in.
//
// Each kernel's vector versions carry out the operations of its reference
// loop in the same order, in the element type, with IEEE division and square
// root and without fused multiply-adds, so their results equal the reference
// loop's bit for bit. The reference loops round every product that is added
// to something (the conversions T(x*y), which the doc comments leave out), so
// that no compiler fuses the two into one FMA, as Go may on arm64 or with
// GOAMD64=v3: results are the same on every machine. They do not run in parallel: callers spread blocks over
// the cores.

// Axpy adds a·x to y:
//
//	y[i] += a * x[i]
func Axpy[T Float](a T, x, y []T) {
	y = y[:len(x)]
	table[T]().axpy(a, x, y)
}

func axpyRef[T Float](a T, x, y []T) {
	y = y[:len(x)]
	for i, v := range x {
		y[i] += T(a * v)
	}
}

// Scale multiplies x by a:
//
//	x[i] *= a
func Scale[T Float](a T, x []T) {
	table[T]().scale(a, x)
}

func scaleRef[T Float](a T, x []T) {
	for i := range x {
		x[i] *= a
	}
}

// Clamp limits x to [lo, hi]; NaN stays NaN:
//
//	x[i] = min(max(x[i], lo), hi)
func Clamp[T Float](lo, hi T, x []T) {
	table[T]().clamp(lo, hi, x)
}

func clampRef[T Float](lo, hi T, x []T) {
	for i, v := range x {
		if v < lo {
			x[i] = lo
		} else if v > hi {
			x[i] = hi
		}
	}
}

// Momentum accumulates u into the buffer b and replaces u by the step to take:
//
//	b[i] = mu*b[i] + damp*u[i]
//	u[i] = b[i]                 (nesterov: u[i] += mu*b[i])
//
// damp is 1 − dampening for PyTorch's heavy ball, 1 − β for an exponential
// moving average.
func Momentum[T Float](u, b []T, mu, damp T, nesterov bool) {
	b = b[:len(u)]
	table[T]().momentum(u, b, mu, damp, nesterov)
}

func momentumRef[T Float](u, b []T, mu, damp T, nesterov bool) {
	b = b[:len(u)]
	for i, g := range u {
		bi := T(mu*b[i]) + T(damp*g)
		b[i] = bi
		if nesterov {
			u[i] = g + T(mu*bi)
		} else {
			u[i] = bi
		}
	}
}

// Adam updates the first and second moments and replaces u by the
// bias-corrected ratio:
//
//	m[i] = b1*m[i] + (1-b1)*u[i]
//	v[i] = b2*v[i] + (1-b2)*u[i]*u[i]
//	u[i] = (m[i]*c1) / (sqrt(v[i])*c2 + eps)
//
// with c1 = 1/(1−β₁ᵗ) and c2 = 1/√(1−β₂ᵗ). When vmax is not nil (AMSGrad),
// vmax[i] = max(vmax[i], v[i]) is used in place of v[i] in the denominator.
func Adam[T Float](u, m, v, vmax []T, b1, b2, c1, c2, eps T) {
	m, v = m[:len(u)], v[:len(u)]
	if vmax != nil {
		vmax = vmax[:len(u)]
	}
	table[T]().adam(u, m, v, vmax, b1, b2, c1, c2, eps)
}

func adamRef[T Float](u, m, v, vmax []T, b1, b2, c1, c2, eps T) {
	m, v = m[:len(u)], v[:len(u)]
	if vmax != nil {
		vmax = vmax[:len(u)]
	}
	for i, g := range u {
		var vm *T
		if vmax != nil {
			vm = &vmax[i]
		}
		u[i] = adam(g, &m[i], &v[i], vm, b1, b2, c1, c2, eps)
	}
}

// adam is one element of Adam: it updates the moments *m and *v (and *vmax
// when vmax is not nil) with g and returns the bias-corrected ratio.
func adam[T Float](g T, m, v, vmax *T, b1, b2, c1, c2, eps T) T {
	mi := T(b1**m) + T((1-b1)*g)
	vi := T(b2**v) + T((1-b2)*g*g)
	*m, *v = mi, vi
	if vmax != nil {
		vi = max(vi, *vmax)
		*vmax = vi
	}
	return (mi * c1) / (T(T(math.Sqrt(float64(vi)))*c2) + eps)
}

// RMSprop updates the mean square v (and, when centered, the mean g) and
// divides u by the root of the (centered) mean square:
//
//	v[i] = a*v[i] + (1-a)*u[i]*u[i]
//	g[i] = a*g[i] + (1-a)*u[i]                   (g != nil: centered)
//	s    = v[i] - g[i]*g[i]                      (s = v[i] when not centered)
//	u[i] = u[i] / (sqrt(s) + eps)                (epsInSqrt: u[i] / sqrt(s + eps))
func RMSprop[T Float](u, v, g []T, a, eps T, epsInSqrt bool) {
	v = v[:len(u)]
	if g != nil {
		g = g[:len(u)]
	}
	table[T]().rmsprop(u, v, g, a, eps, epsInSqrt)
}

func rmspropRef[T Float](u, v, g []T, a, eps T, epsInSqrt bool) {
	v = v[:len(u)]
	if g != nil {
		g = g[:len(u)]
	}
	for i, x := range u {
		var gi *T
		if g != nil {
			gi = &g[i]
		}
		u[i] = rms(x, &v[i], gi, a, eps, epsInSqrt)
	}
}

// rms is one element of RMSprop: it updates the mean square *v (and the mean
// *g when g is not nil) with x and returns x over the root.
func rms[T Float](x T, v, g *T, a, eps T, epsInSqrt bool) T {
	vi := T(a**v) + T((1-a)*x*x)
	*v = vi
	s := vi
	if g != nil {
		gi := T(a**g) + T((1-a)*x)
		*g = gi
		s = vi - T(gi*gi)
	}
	if epsInSqrt {
		return x / T(math.Sqrt(float64(s+eps)))
	}
	return x / (T(math.Sqrt(float64(s))) + eps)
}

// Adagrad adds the square of u to the running sum s and divides u by its root:
//
//	s[i] += u[i]*u[i]
//	u[i] = u[i] / (sqrt(s[i]) + eps)
func Adagrad[T Float](u, s []T, eps T) {
	s = s[:len(u)]
	table[T]().adagrad(u, s, eps)
}

func adagradRef[T Float](u, s []T, eps T) {
	s = s[:len(u)]
	for i, g := range u {
		si := s[i] + T(g*g)
		s[i] = si
		u[i] = g / (T(math.Sqrt(float64(si))) + eps)
	}
}

// Adadelta updates the mean squares of gradients v and of steps d and
// replaces u by the step:
//
//	v[i] = rho*v[i] + (1-rho)*u[i]*u[i]
//	x    = sqrt(d[i]+eps) / sqrt(v[i]+eps) * u[i]
//	d[i] = rho*d[i] + (1-rho)*x*x
//	u[i] = x
func Adadelta[T Float](u, v, d []T, rho, eps T) {
	v, d = v[:len(u)], d[:len(u)]
	table[T]().adadelta(u, v, d, rho, eps)
}

func adadeltaRef[T Float](u, v, d []T, rho, eps T) {
	v, d = v[:len(u)], d[:len(u)]
	for i, g := range u {
		vi := T(rho*v[i]) + T((1-rho)*g*g)
		v[i] = vi
		x := T(math.Sqrt(float64(d[i]+eps))) / T(math.Sqrt(float64(vi+eps))) * g
		d[i] = T(rho*d[i]) + T((1-rho)*x*x)
		u[i] = x
	}
}

// Adamax updates the first moment m and the infinity norm n and replaces u by
// their bias-corrected ratio:
//
//	m[i] = b1*m[i] + (1-b1)*u[i]
//	n[i] = max(b2*n[i], |u[i]| + eps)
//	u[i] = m[i]*c1 / n[i]
//
// with c1 = 1/(1−β₁ᵗ). NaN in u propagates to n.
func Adamax[T Float](u, m, n []T, b1, b2, c1, eps T) {
	m, n = m[:len(u)], n[:len(u)]
	table[T]().adamax(u, m, n, b1, b2, c1, eps)
}

func adamaxRef[T Float](u, m, n []T, b1, b2, c1, eps T) {
	m, n = m[:len(u)], n[:len(u)]
	for i, g := range u {
		mi := T(b1*m[i]) + T((1-b1)*g)
		m[i] = mi
		a := T(math.Abs(float64(g))) + eps
		ni := b2 * n[i]
		if !(ni >= a) { // also takes a NaN in a
			ni = a
		}
		n[i] = ni
		u[i] = mi * c1 / ni
	}
}

// NAdam updates the moments and replaces u by the Nesterov-accelerated ratio:
//
//	m[i] = b1*m[i] + (1-b1)*u[i]
//	v[i] = b2*v[i] + (1-b2)*u[i]*u[i]
//	d    = sqrt(v[i]*c2) + eps
//	u[i] = cg*u[i]/d + cm*m[i]/d
//
// with c2 = 1/(1−β₂ᵗ) and cg, cm the gradient and momentum weights of step t.
func NAdam[T Float](u, m, v []T, b1, b2, c2, cg, cm, eps T) {
	m, v = m[:len(u)], v[:len(u)]
	table[T]().nadam(u, m, v, b1, b2, c2, cg, cm, eps)
}

func nadamRef[T Float](u, m, v []T, b1, b2, c2, cg, cm, eps T) {
	m, v = m[:len(u)], v[:len(u)]
	for i, g := range u {
		mi := T(b1*m[i]) + T((1-b1)*g)
		vi := T(b2*v[i]) + T((1-b2)*g*g)
		m[i], v[i] = mi, vi
		d := T(math.Sqrt(float64(vi*c2))) + eps
		u[i] = cg*g/d + cm*mi/d
	}
}

// RAdam updates the moments and replaces u by the rectified step:
//
//	m[i] = b1*m[i] + (1-b1)*u[i]
//	v[i] = b2*v[i] + (1-b2)*u[i]*u[i]
//	u[i] = m[i]*c1 * (r / (sqrt(v[i]) + eps))   (rect)
//	u[i] = m[i]*c1                              (not rect)
//
// with c1 = 1/(1−β₁ᵗ) and r = √(1−β₂ᵗ) times the variance rectification.
func RAdam[T Float](u, m, v []T, b1, b2, c1, r, eps T, rect bool) {
	m, v = m[:len(u)], v[:len(u)]
	table[T]().radam(u, m, v, b1, b2, c1, r, eps, rect)
}

func radamRef[T Float](u, m, v []T, b1, b2, c1, r, eps T, rect bool) {
	m, v = m[:len(u)], v[:len(u)]
	for i, g := range u {
		mi := T(b1*m[i]) + T((1-b1)*g)
		vi := T(b2*v[i]) + T((1-b2)*g*g)
		m[i], v[i] = mi, vi
		if rect {
			u[i] = mi * c1 * (r / (T(math.Sqrt(float64(vi))) + eps))
		} else {
			u[i] = mi * c1
		}
	}
}

// The reductions below accumulate in float64 whatever the element type. The
// vector versions keep several partial sums (float32 input is converted to
// float64 as it is loaded) and add them up in a fixed order at the end, so a
// result depends only on the input and its length, never on timing; it
// differs from the reference loop's sequential sum by rounding only, well
// inside 1e-12 relative for sums of non-negative terms of 10M elements
// (float64 has 53 bits; each partial sum adds a relative error below
// n·2⁻⁵³ ≈ 1e-9 in the worst case, typically √n·2⁻⁵³).

// SumSquares returns Σ x[i]², accumulated in float64.
func SumSquares[T Float](x []T) float64 {
	return table[T]().sumSquares(x)
}

func sumSquaresRef[T Float](x []T) float64 {
	var s float64
	for _, v := range x {
		s += float64(v) * float64(v)
	}
	return s
}

// SumAbs returns Σ |x[i]|, accumulated in float64.
func SumAbs[T Float](x []T) float64 {
	return table[T]().sumAbs(x)
}

func sumAbsRef[T Float](x []T) float64 {
	var s float64
	for _, v := range x {
		s += math.Abs(float64(v))
	}
	return s
}

// SumPow returns Σ |x[i]|^p, accumulated in float64. For p = 1 and p = 2 it
// is SumAbs and SumSquares.
func SumPow[T Float](x []T, p float64) float64 {
	switch p {
	case 1:
		return SumAbs(x)
	case 2:
		return SumSquares(x)
	}
	var s float64
	for _, v := range x {
		s += math.Pow(math.Abs(float64(v)), p)
	}
	return s
}

// MaxAbs returns max |x[i]|, or NaN if x holds a NaN; 0 for an empty x. The
// vector versions compare the bit patterns of |x[i]| as unsigned integers,
// which order non-negative floats as their values do and put every NaN
// above +Inf.
func MaxAbs[T Float](x []T) float64 {
	return table[T]().maxAbs(x)
}

func maxAbsRef[T Float](x []T) float64 {
	var m float64
	for _, v := range x {
		a := math.Abs(float64(v))
		if !(a <= m) {
			m = a
			if a != a {
				return a
			}
		}
	}
	return m
}

// AllFinite reports whether no x[i] is NaN or ±Inf. It reads x once, at
// memory bandwidth, with no early exit: a gradient is almost always finite.
func AllFinite[T Float](x []T) bool {
	return table[T]().allFinite(x)
}

func allFiniteRef[T Float](x []T) bool {
	var s T
	for _, v := range x {
		s += v - v // 0 for finite v, NaN for NaN and ±Inf
	}
	return s == 0
}
