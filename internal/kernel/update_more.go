package kernel

import "math"

// Update kernels of the newer optimizers (Lion, cautious Adam, ADOPT,
// AdEMAMix, Schedule-Free). Same conventions as update.go: u is rewritten
// in place, state slices are the same block, every product added to
// something is rounded on its own, and these pure-Go loops are the
// reference and the implementation.

// Lion replaces u by the sign of an interpolation of the momentum m and u,
// then moves m (Chen et al. 2023):
//
//	c := b1*m[i] + (1-b1)*u[i]
//	m[i] = b2*m[i] + (1-b2)*u[i]
//	u[i] = sign(c)                      (sign(±0) = 0, sign(NaN) = NaN)
//
// With cautious set, u[i] = sign(c)*s where sign(c)*u[i] > 0 (the update
// agrees with the gradient), else 0.
func Lion[T Float](u, m []T, b1, b2, s T, cautious bool) {
	m = m[:len(u)]
	for i, g := range u {
		u[i] = lion(g, &m[i], b1, b2, s, cautious)
	}
}

// lion is one element of Lion: it updates the momentum *m with g and
// returns the sign of the interpolation, masked and scaled by s if
// cautious.
func lion[T Float](g T, m *T, b1, b2, s T, cautious bool) T {
	c := sign(T(b1**m) + T((1-b1)*g))
	*m = T(b2**m) + T((1-b2)*g)
	if cautious {
		if c*g > 0 {
			c *= s
		} else {
			c = 0
		}
	}
	return c
}

// LionAgree returns how many i Lion's cautious mask keeps, changing
// nothing: the count of sign(b1*m[i] + (1-b1)*u[i])·u[i] > 0.
func LionAgree[T Float](u, m []T, b1 T) float64 { return LionAgreeStep(u, u, m, 1, 0, b1) }

// sign is branch-free but for zero and NaN, which are rare: gradients and
// moments are signed at random, which a branch would mispredict half the
// time. sign(NaN) is NaN, as torch.sign's: the sign bit of a NaN made by
// arithmetic depends on the order of the operands, which compilers may
// swap, so it must not decide the step.
func sign[T Float](x T) T {
	s := T(math.Copysign(1, float64(x)))
	if x == 0 {
		s = 0
	} else if x != x {
		s = x
	}
	return s
}

// CautiousAdam is Adam (see Adam) with the cautious mask: where the new
// first moment and the incoming update disagree in sign, the update is 0;
// elsewhere it is scaled by s:
//
//	a := Adam's u[i], with m[i] (and v[i], vmax[i]) updated
//	u[i] = a*s  if m[i]*u[i] > 0,  else 0
func CautiousAdam[T Float](u, m, v, vmax []T, b1, b2, c1, c2, eps, s T) {
	m, v = m[:len(u)], v[:len(u)]
	if vmax != nil {
		vmax = vmax[:len(u)]
	}
	for i, g := range u {
		var vm *T
		if vmax != nil {
			vm = &vmax[i]
		}
		a := adam(g, &m[i], &v[i], vm, b1, b2, c1, c2, eps)
		if T(m[i]*g) > 0 {
			u[i] = a * s
		} else {
			u[i] = 0
		}
	}
}

// AdamAgree returns how many i CautiousAdam's mask keeps, changing
// nothing: the count of (b1*m[i] + (1-b1)*u[i])·u[i] > 0.
func AdamAgree[T Float](u, m []T, b1 T) float64 { return AdamAgreeStep(u, u, m, 1, 0, b1) }

// ADOPT replaces u by ADOPT's momentum of the clipped, normalised update,
// then moves v (Taniguchi et al. 2024):
//
//	n := u[i] / max(sqrt(v[i]), eps)
//	n = min(max(n, -clip), clip)        (clip = +Inf: none)
//	m[i] = b1*m[i] + (1-b1)*n
//	v[i] = b2*v[i] + (1-b2)*u[i]*u[i]
//	u[i] = m[i]
func ADOPT[T Float](u, m, v []T, b1, b2, eps, clip T) {
	m, v = m[:len(u)], v[:len(u)]
	for i, g := range u {
		m[i], v[i] = adoptMoments(g, m[i], v[i], b1, b2, eps, clip)
		u[i] = m[i]
	}
}

// adoptMoments returns ADOPT's moments after gradient g: the first moves
// toward g normalized by the previous second moment's root (at least eps)
// and clipped to ±clip, the second toward g².
func adoptMoments[T Float](g, m, v, b1, b2, eps, clip T) (T, T) {
	d := T(math.Sqrt(float64(v)))
	if d < eps {
		d = eps
	}
	n := g / d
	if n > clip {
		n = clip
	} else if n < -clip {
		n = -clip
	}
	return T(b1*m) + T((1-b1)*n), T(b2*v) + T((1-b2)*g*g)
}

// ADOPTFirst is ADOPT's first step, which only sets v:
//
//	v[i] = u[i]*u[i]
//	u[i] = 0
func ADOPTFirst[T Float](u, v []T) {
	v = v[:len(u)]
	for i, g := range u {
		v[i] = g * g
		u[i] = 0
	}
}

// AdEMAMix replaces u by AdEMAMix's mix of a fast and a slow moment over
// the second moment's root (Pagliardini et al. 2024):
//
//	m1[i] = b1*m1[i] + (1-b1)*u[i]
//	m2[i] = b3*m2[i] + (1-b3)*u[i]
//	v[i]  = b2*v[i] + (1-b2)*u[i]*u[i]
//	u[i]  = (m1[i]*c1 + alpha*m2[i]) / (sqrt(v[i])*c2 + eps)
//
// with c1 = 1/(1−β₁ᵗ) and c2 = 1/√(1−β₂ᵗ).
func AdEMAMix[T Float](u, m1, m2, v []T, b1, b2, b3, c1, c2, alpha, eps T) {
	m1, m2, v = m1[:len(u)], m2[:len(u)], v[:len(u)]
	for i, g := range u {
		a := T(b1*m1[i]) + T((1-b1)*g)
		b := T(b3*m2[i]) + T((1-b3)*g)
		w := T(b2*v[i]) + T((1-b2)*g*g)
		m1[i], m2[i], v[i] = a, b, w
		u[i] = (T(a*c1) + T(alpha*b)) / (T(T(math.Sqrt(float64(w)))*c2) + eps)
	}
}

// ScheduleFree is one Schedule-Free step (Defazio et al. 2024) on the
// training point y, with the base sequence z, turned into the update that
// the optimizer subtracts from y:
//
//	g := u[i]
//	v[i] = b2*v[i] + (1-b2)*g*g; g = g / (sqrt(v[i]/bc2) + eps)   (v != nil: AdamW)
//	g += wd*y[i]                                                   (skipped when wd == 0)
//	y' := lerp(y[i], z[i], c) + a*g
//	z[i] -= lr*g
//	u[i] = y[i] - y'
//
// where lerp(y, z, c) is y + c*(z − y) for c < 0.5 and z − (z − y)*(1 − c)
// otherwise, as PyTorch computes it.
func ScheduleFree[T Float](u, y, z, v []T, b2, bc2, eps, wd, c, a, lr T) {
	y, z = y[:len(u)], z[:len(u)]
	if v != nil {
		v = v[:len(u)]
	}
	for i, g := range u {
		if v != nil {
			w := T(b2*v[i]) + T((1-b2)*g*g)
			v[i] = w
			g = g / (T(math.Sqrt(float64(w/bc2))) + eps)
		}
		yi := y[i]
		if wd != 0 {
			g += T(wd * yi)
		}
		y2 := LerpScalar(yi, z[i], c) + T(a*g)
		z[i] -= T(lr * g)
		u[i] = yi - y2
	}
}

// LerpScalar is PyTorch's linear interpolation from x to y by w:
//
//	x + w*(y − x)        for |w| < 0.5
//	y − (y − x)*(1 − w)  otherwise
func LerpScalar[T Float](x, y, w T) T {
	if w < 0.5 && w > -0.5 {
		return x + T(w*(y-x))
	}
	return y - T((y-x)*(1-w))
}

// LionStep is one fused Lion step on a block (see step.go for the
// conventions), bit for bit the chain's copy, Lion, decoupled decay and
// subtraction:
//
//	u := gs*g[i]; u += wc*p[i] (skipped when wc == 0)
//	c := sign(b1*m[i] + (1-b1)*u)
//	m[i] = b2*m[i] + (1-b2)*u
//	c += wd*p[i]                  (skipped when wd == 0)
//	p[i] += nlr*c
func LionStep[T Float](p, g, m []T, gs, wc, b1, b2, wd, nlr T) {
	n := len(p)
	table[T]().lionStep(p, g[:n], m[:n], gs, wc, b1, b2, wd, nlr)
}

func lionStepRef[T Float](p, g, m []T, gs, wc, b1, b2, wd, nlr T) {
	lionSteps(p, g, m, gs, wc, b1, b2, 1, wd, nlr, false)
}

// ADOPTStep is one fused ADOPT step on a block (see step.go), bit for bit
// the chain's copy, ADOPT (ADOPTFirst when first), decoupled decay and
// subtraction:
//
//	u := gs*g[i]; u += wc*p[i] (skipped when wc == 0)
//	a := ADOPT's u[i] (first: v[i] = u*u and a = 0)
//	a += wd*p[i]                  (skipped when wd == 0)
//	p[i] += nlr*a
func ADOPTStep[T Float](p, g, m, v []T, gs, wc, b1, b2, eps, clip, wd, nlr T, first bool) {
	n := len(p)
	table[T]().adoptStep(p, g[:n], m[:n], v[:n], gs, wc, b1, b2, eps, clip, wd, nlr, first)
}

func adoptStepRef[T Float](p, g, m, v []T, gs, wc, b1, b2, eps, clip, wd, nlr T, first bool) {
	n := len(p)
	g, m, v = g[:n], m[:n], v[:n]
	for i, x := range p {
		u := coupled(g[i], x, gs, wc)
		var a T
		if first {
			v[i] = u * u
		} else {
			m[i], v[i] = adoptMoments(u, m[i], v[i], b1, b2, eps, clip)
			a = m[i]
		}
		if wd != 0 {
			a += T(wd * x)
		}
		p[i] = x + T(nlr*a)
	}
}

// AdEMAMixStep is one fused AdEMAMix step on a block (see step.go), bit
// for bit the chain's copy, AdEMAMix, decoupled decay and subtraction:
//
//	u := gs*g[i]; u += wc*p[i] (skipped when wc == 0)
//	a := AdEMAMix's u[i]
//	a += wd*p[i]                  (skipped when wd == 0)
//	p[i] += nlr*a
func AdEMAMixStep[T Float](p, g, m1, m2, v []T, gs, wc, b1, b2, b3, c1, c2, alpha, eps, wd, nlr T) {
	n := len(p)
	table[T]().ademamixStep(p, g[:n], m1[:n], m2[:n], v[:n], gs, wc, b1, b2, b3, c1, c2, alpha, eps, wd, nlr)
}

func ademamixStepRef[T Float](p, g, m1, m2, v []T, gs, wc, b1, b2, b3, c1, c2, alpha, eps, wd, nlr T) {
	n := len(p)
	g, m1, m2, v = g[:n], m1[:n], m2[:n], v[:n]
	for i, x := range p {
		u := coupled(g[i], x, gs, wc)
		a := T(b1*m1[i]) + T((1-b1)*u)
		b := T(b3*m2[i]) + T((1-b3)*u)
		w := T(b2*v[i]) + T((1-b2)*u*u)
		m1[i], m2[i], v[i] = a, b, w
		r := (T(a*c1) + T(alpha*b)) / (T(T(math.Sqrt(float64(w)))*c2) + eps)
		if wd != 0 {
			r += T(wd * x)
		}
		p[i] = x + T(nlr*r)
	}
}

// LionCautiousStep is one fused step of cautious Lion on a block (see
// step.go), bit for bit the chain's copy, Lion with the mask (scale s),
// decoupled decay and subtraction:
//
//	u := gs*g[i]; u += wc*p[i] (skipped when wc == 0)
//	c := sign(b1*m[i] + (1-b1)*u)
//	m[i] = b2*m[i] + (1-b2)*u
//	c = c*s where c*u > 0, else 0
//	c += wd*p[i]                  (skipped when wd == 0)
//	p[i] += nlr*c
func LionCautiousStep[T Float](p, g, m []T, gs, wc, b1, b2, s, wd, nlr T) {
	n := len(p)
	table[T]().lionCautiousStep(p, g[:n], m[:n], gs, wc, b1, b2, s, wd, nlr)
}

func lionCautiousStepRef[T Float](p, g, m []T, gs, wc, b1, b2, s, wd, nlr T) {
	lionSteps(p, g, m, gs, wc, b1, b2, s, wd, nlr, true)
}

// lionSteps is the loop of LionStep and, with cautious set,
// LionCautiousStep.
func lionSteps[T Float](p, g, m []T, gs, wc, b1, b2, s, wd, nlr T, cautious bool) {
	n := len(p)
	g, m = g[:n], m[:n]
	for i, x := range p {
		c := lion(coupled(g[i], x, gs, wc), &m[i], b1, b2, s, cautious)
		if wd != 0 {
			c += T(wd * x)
		}
		p[i] = x + T(nlr*c)
	}
}

// ScheduleFreeStep is one fused Schedule-Free step on a block (see
// step.go), bit for bit the chain's copy, ScheduleFree and subtraction; p
// holds the training point y:
//
//	u := gs*g[i]; u += wc*p[i] (skipped when wc == 0)
//	d := ScheduleFree's u[i] = y[i] − y'   (v, z updated; see ScheduleFree)
//	p[i] += nlr*d
//
// The first step's z[i] = y[i] is the caller's.
func ScheduleFreeStep[T Float](p, g, z, v []T, gs, wc, b2, bc2, eps, wd, c, a, lr, nlr T) {
	n := len(p)
	near := c < 0.5 && c > -0.5 // LerpScalar's choice of form
	table[T]().scheduleFreeStep(p, g[:n], z[:n], fit(v, n), gs, wc, b2, bc2, eps, wd, c, a, lr, nlr, near)
}

func scheduleFreeStepRef[T Float](p, g, z, v []T, gs, wc, b2, bc2, eps, wd, c, a, lr, nlr T, near bool) {
	n := len(p)
	g, z, v = g[:n], z[:n], fit(v, n)
	for i, y := range p {
		u := coupled(g[i], y, gs, wc)
		if v != nil {
			w := T(b2*v[i]) + T((1-b2)*u*u)
			v[i] = w
			u = u / (T(math.Sqrt(float64(w/bc2))) + eps)
		}
		if wd != 0 {
			u += T(wd * y)
		}
		zi := z[i]
		var l T
		if near {
			l = y + T(c*(zi-y))
		} else {
			l = zi - T((zi-y)*(1-c))
		}
		y2 := l + T(a*u)
		z[i] = zi - T(lr*u)
		p[i] = y + T(nlr*(y-y2))
	}
}

// AdamCautiousStep is one fused step of cautious Adam on a block (see
// step.go), bit for bit the chain's copy, CautiousAdam (scale s),
// decoupled decay and subtraction:
//
//	u := gs*g[i]; u += wc*p[i] (skipped when wc == 0)
//	a := Adam's u[i], with m[i] (and v[i], vmax[i]) updated
//	a = a*s where m[i]*u > 0, else 0
//	a += wd*p[i]                  (skipped when wd == 0)
//	p[i] += nlr*a
func AdamCautiousStep[T Float](p, g, m, v, vmax []T, gs, wc, b1, b2, c1, c2, eps, s, wd, nlr T) {
	n := len(p)
	table[T]().adamCautiousStep(p, g[:n], m[:n], v[:n], fit(vmax, n), gs, wc, b1, b2, c1, c2, eps, s, wd, nlr)
}

func adamCautiousStepRef[T Float](p, g, m, v, vmax []T, gs, wc, b1, b2, c1, c2, eps, s, wd, nlr T) {
	adamSteps(p, g, m, v, vmax, gs, wc, b1, b2, c1, c2, eps, s, wd, nlr, true)
}

// AdamAgreeStep is AdamAgree on the update a fused step starts from,
// u = gs*g[i] (+ wc*p[i] when wc ≠ 0): the count of
// (b1*m[i] + (1-b1)*u)·u > 0. It changes nothing. The count is exact: the
// vector versions count in lanes of T, in pieces small enough for that.
func AdamAgreeStep[T Float](p, g, m []T, gs, wc, b1 T) float64 {
	if wc == 0 {
		return agreeBy(table[T]().adamAgree, g[:len(p)], m[:len(p)], gs, b1)
	}
	return adamAgreeStepRef(p, g, m, gs, wc, b1)
}

// agreeBy runs a count kernel f over pieces of at most 2²⁰ elements, which
// float32 lanes count exactly, and adds the counts.
func agreeBy[T Float](f func(g, m []T, gs, b1 T) float64, g, m []T, gs, b1 T) float64 {
	const piece = 1 << 20
	var k float64
	for lo := 0; lo < len(g); lo += piece {
		hi := min(len(g), lo+piece)
		k += f(g[lo:hi], m[lo:hi], gs, b1)
	}
	return k
}

func adamAgreeRef[T Float](g, m []T, gs, b1 T) float64 {
	return adamAgreeStepRef(g, g, m, gs, 0, b1)
}

func lionAgreeRef[T Float](g, m []T, gs, b1 T) float64 {
	return lionAgreeStepRef(g, g, m, gs, 0, b1)
}

func adamAgreeStepRef[T Float](p, g, m []T, gs, wc, b1 T) float64 {
	n := len(p)
	g, m = g[:n], m[:n]
	k := 0
	for i, x := range p {
		u := coupled(g[i], x, gs, wc)
		if T((T(b1*m[i])+T((1-b1)*u))*u) > 0 {
			k++
		}
	}
	return float64(k)
}

// LionAgreeStep is LionAgree on the update a fused step starts from,
// u = gs*g[i] (+ wc*p[i] when wc ≠ 0): the count of
// sign(b1*m[i] + (1-b1)*u)·u > 0. It changes nothing.
func LionAgreeStep[T Float](p, g, m []T, gs, wc, b1 T) float64 {
	if wc == 0 {
		return agreeBy(table[T]().lionAgree, g[:len(p)], m[:len(p)], gs, b1)
	}
	return lionAgreeStepRef(p, g, m, gs, wc, b1)
}

func lionAgreeStepRef[T Float](p, g, m []T, gs, wc, b1 T) float64 {
	n := len(p)
	g, m = g[:n], m[:n]
	k := 0
	for i, x := range p {
		u := coupled(g[i], x, gs, wc)
		if sign(T(b1*m[i])+T((1-b1)*u))*u > 0 {
			k++
		}
	}
	return float64(k)
}

// LAMBGather is LAMB's gather pass on a block as one kernel: Adam's step
// on the update a fused step starts from, with the decoupled decay, written
// to u, and the sums of the trust ratio's norms, bit for bit the chain's
// copy, Scale(gs), Axpy(wc), Adam, Axpy(wd) and NormsStep(p, u, 1, 0):
//
//	x := gs*g[i]; x += wc*p[i]    (skipped when wc == 0)
//	m[i] = b1*m[i] + (1-b1)*x
//	v[i] = b2*v[i] + (1-b2)*x*x
//	a := (m[i]*c1) / (sqrt(v[i])*c2 + eps)
//	a += wd*p[i]                  (skipped when wd == 0)
//	u[i] = a
//	uu += a*a; pp += p[i]*p[i]    (in float64, added as NormsStep adds them)
//
// The step that follows the reduction is TrustStep on u.
func LAMBGather[T Float](p, g, m, v, u []T, gs, wc, b1, b2, c1, c2, eps, wd T) (uu, pp float64) {
	n := len(p)
	return table[T]().lambGather(p, g[:n], m[:n], v[:n], u[:n], gs, wc, b1, b2, c1, c2, eps, wd)
}

func lambGatherRef[T Float](p, g, m, v, u []T, gs, wc, b1, b2, c1, c2, eps, wd T) (uu, pp float64) {
	n := len(p)
	g, m, v, u = g[:n], m[:n], v[:n], u[:n]
	for i, x := range p {
		a := adam(coupled(g[i], x, gs, wc), &m[i], &v[i], nil, b1, b2, c1, c2, eps)
		if wd != 0 {
			a += T(wd * x)
		}
		u[i] = a
		w := float64(a)
		uu += w * w
		pp += float64(x) * float64(x)
	}
	return uu, pp
}
