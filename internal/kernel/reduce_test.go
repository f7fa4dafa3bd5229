package kernel

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestLerpIsTorchs checks both of torch.lerp's formulas: from x for weights
// below ½, from y otherwise, so that a weight of 1 lands on y exactly.
func TestLerpIsTorchs(t *testing.T) {
	x, y := []float32{1, 2, -3}, []float32{5, -6, 7}
	Lerp(x, y, 1)
	for i := range x {
		if x[i] != y[i] {
			t.Errorf("Lerp(w = 1)[%d] = %v; want %v", i, x[i], y[i])
		}
	}
	x = []float32{1, 2, -3}
	Lerp(x, y, 0.25)
	for i, want := range []float32{2, 0, -0.5} {
		if x[i] != want {
			t.Errorf("Lerp(w = 0.25)[%d] = %v; want %v", i, x[i], want)
		}
	}
}

// TestProdigyGatherSums checks the moments, the sum s and both returned
// sums against a direct float64 computation.
func TestProdigyGatherSums(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	n := 1000
	vec := func() []float64 {
		x := make([]float64, n)
		for i := range x {
			x[i] = rng.NormFloat64()
		}
		return x
	}
	g, p, p0, m, v, s := vec(), vec(), vec(), vec(), vec(), vec()
	for i := range v {
		v[i] = math.Abs(v[i])
	}
	m0, v0, s0 := append([]float64(nil), m...), append([]float64(nil), v...), append([]float64(nil), s...)
	dot, abs := ProdigyGather(g, p, p0, m, v, s, 0.9, 0.1, 0.99, 0.01, 0.95, 2)
	var wantDot, wantAbs float64
	for i := range g {
		wantDot += g[i] * (p0[i] - p[i])
		si := 0.95*s0[i] + 2*g[i]
		wantAbs += math.Abs(si)
		if m[i] != 0.9*m0[i]+0.1*g[i] || v[i] != 0.99*v0[i]+0.01*g[i]*g[i] || s[i] != si {
			t.Fatalf("ProdigyGather: element %d: m, v, s = %v, %v, %v", i, m[i], v[i], s[i])
		}
	}
	if math.Abs(dot-wantDot) > 1e-12*math.Abs(wantDot) || math.Abs(abs-wantAbs) > 1e-12*wantAbs {
		t.Errorf("ProdigyGather sums = %v, %v; want %v, %v", dot, abs, wantDot, wantAbs)
	}
}

// TestProdigyGatherMatchesReference checks ProdigyGatherStep of every level
// against its reference loop: the state bit for bit, with guard bands
// around every slice, and the sums to 1e-13 of the sum of their terms'
// magnitudes (the vector versions add in another order).
func TestProdigyGatherMatchesReference(t *testing.T) {
	forEachType(t, testProdigyGather[float32], testProdigyGather[float64])
}

// gatherCoefficients are the gs and wc the gather kernels are checked with:
// the values that switch a part off (gs = 1, wc = ±0) and others.
var gatherCoefficients = []struct{ gs, wc float64 }{{1, 0}, {0.37, 0}, {1, math.Copysign(0, -1)}, {0.5, 0.01}}

func testProdigyGather[T Float](t *testing.T) {
	forEachLevel(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(3, 4))
		forEachShape(func(n, j int, specials bool) {
			for _, c := range gatherCoefficients {
				for _, withM := range []bool{true, false} {
					var got, want [6]guarded[T] // p, g, p0, m, v, s
					for i := range got {
						off := offsets[(j+i)%len(offsets)]
						got[i], want[i] = newGuarded[T](n, off), newGuarded[T](n, off)
						fill(rng, got[i].s, i == 4, specials && i == 1)
						copy(want[i].s, got[i].s)
					}
					var gm, wm []T
					if withM {
						gm, wm = got[3].s, want[3].s
					}
					const b1, c1, b2, c2, b3, w = 0.9, 1e-7, 0.999, 1e-15, 0.95, 3e-4
					gs, wc := T(c.gs), T(c.wc)
					dot, abs := ProdigyGatherStep(got[0].s, got[1].s, got[2].s, gm, got[4].s, got[5].s, gs, wc, b1, c1, b2, c2, b3, w)
					wdot, wabs := prodigyGatherRef(want[0].s, want[1].s, want[2].s, wm, want[4].s, want[5].s, gs, wc, b1, c1, b2, c2, b3, w)
					name := fmt.Sprintf("ProdigyGatherStep(n=%d, off=%d, gs=%g, wc=%g, m=%v, specials=%v)", n, offsets[j], c.gs, c.wc, withM, specials)
					for i := range got {
						got[i].check(t, name)
						for k := range got[i].s {
							if !sameBits(got[i].s[k], want[i].s[k]) {
								t.Fatalf("%s: slice %d [%d] = %v; want %v", name, i, k, got[i].s[k], want[i].s[k])
							}
						}
					}
					var magDot float64
					for k, x := range want[0].s {
						u := coupled(want[1].s[k], x, gs, wc)
						magDot += math.Abs(float64(u) * float64(want[2].s[k]-x))
					}
					if !near(dot, wdot, 1e-13*magDot) || !near(abs, wabs, 1e-13*wabs) {
						t.Fatalf("%s = %v, %v; want %v, %v", name, dot, abs, wdot, wabs)
					}
				}
			}
		})
	})
}

func near(got, want, tol float64) bool {
	return got == want || math.Abs(got-want) <= tol || math.IsNaN(got) && math.IsNaN(want)
}

// TestNormsStepMatchesReference checks NormsStep of every level against its
// reference loop (to 1e-13 of the sums), and that the fused form (from g
// with gs and wc) adds exactly as the chain's (from the update it formed,
// with gs = 1 and wc = 0).
func TestNormsStepMatchesReference(t *testing.T) {
	forEachType(t, testNormsStep[float32], testNormsStep[float64])
}

func testNormsStep[T Float](t *testing.T) {
	forEachLevel(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(7, 9))
		forEachShape(func(n, j int, specials bool) {
			for _, c := range gatherCoefficients {
				p, g := newGuarded[T](n, offsets[j]), newGuarded[T](n, offsets[(j+1)%len(offsets)])
				fill(rng, p.s, false, specials)
				fill(rng, g.s, false, specials)
				gs, wc := T(c.gs), T(c.wc)
				uu, pp := NormsStep(p.s, g.s, gs, wc)
				wuu, wpp := normsStepRef(p.s, g.s, gs, wc)
				name := fmt.Sprintf("NormsStep(n=%d, off=%d, gs=%g, wc=%g, specials=%v)", n, offsets[j], c.gs, c.wc, specials)
				p.check(t, name)
				g.check(t, name)
				if !near(uu, wuu, 1e-13*wuu) || !near(pp, wpp, 1e-13*wpp) {
					t.Fatalf("%s = %v, %v; want %v, %v", name, uu, pp, wuu, wpp)
				}
				u := make([]T, n)
				for i := range u {
					u[i] = coupled(g.s[i], p.s[i], gs, wc)
				}
				cu, cp := NormsStep(p.s, u, 1, 0)
				if !sameBits(cu, uu) || !sameBits(cp, pp) {
					t.Fatalf("%s = %v, %v; the chain's form gives %v, %v", name, uu, pp, cu, cp)
				}
			}
		})
	})
}

// TestLAMBGatherMatchesChain checks LAMBGather of every level against its
// reference loop (u and the moments bit for bit, the sums to 1e-13), and
// that it gives, bit for bit, what the chain's kernels give on the same
// level: Adam on u = gs·g (+ wc·θ), the decay, and NormsStep on u. eps = 0
// is among the cases: the tail's masked-off lanes must add nothing.
func TestLAMBGatherMatchesChain(t *testing.T) {
	forEachType(t, testLAMBGather[float32], testLAMBGather[float64])
}

func testLAMBGather[T Float](t *testing.T) {
	forEachLevel(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(11, 12))
		forEachShape(func(n, j int, specials bool) {
			for _, c := range gatherCoefficients {
				for _, k := range []struct{ wd, eps float64 }{{0, 1e-6}, {0.01, 1e-6}, {math.Copysign(0, -1), 0}} {
					var got, want [5]guarded[T] // p, g, m, v, u
					for i := range got {
						off := offsets[(j+i)%len(offsets)]
						got[i], want[i] = newGuarded[T](n, off), newGuarded[T](n, off)
						fill(rng, got[i].s, i == 3, specials && i < 2)
						copy(want[i].s, got[i].s)
					}
					// The chain's u, m and v: Adam on u = gs·g (+ wc·θ), then the decay.
					u, m, v := make([]T, n), slices.Clone(got[2].s), slices.Clone(got[3].s)
					gs, wc, wd, eps := T(c.gs), T(c.wc), T(k.wd), T(k.eps)
					const b1, b2, c1, c2 = 0.9, 0.999, 10, 31.6
					name := fmt.Sprintf("LAMBGather(n=%d, off=%d, gs=%g, wc=%g, wd=%g, eps=%g, specials=%v)", n, offsets[j], c.gs, c.wc, k.wd, k.eps, specials)
					uu, pp := LAMBGather(got[0].s, got[1].s, got[2].s, got[3].s, got[4].s, gs, wc, b1, b2, c1, c2, eps, wd)
					wuu, wpp := lambGatherRef(want[0].s, want[1].s, want[2].s, want[3].s, want[4].s, gs, wc, b1, b2, c1, c2, eps, wd)
					for i := range got {
						got[i].check(t, name)
						for e := range got[i].s {
							if !sameBits(got[i].s[e], want[i].s[e]) {
								t.Fatalf("%s: slice %d [%d] = %v; want %v", name, i, e, got[i].s[e], want[i].s[e])
							}
						}
					}
					if !near(uu, wuu, 1e-13*wuu) || !near(pp, wpp, 1e-13*wpp) {
						t.Fatalf("%s = %v, %v; want %v, %v", name, uu, pp, wuu, wpp)
					}
					copy(u, want[1].s)
					Scale(gs, u)
					if wc != 0 {
						Axpy(wc, want[0].s, u)
					}
					Adam(u, m, v, nil, b1, b2, c1, c2, eps)
					if wd != 0 {
						Axpy(wd, want[0].s, u)
					}
					cu, cp := NormsStep(want[0].s, u, 1, 0)
					for e := range u {
						if !sameBits(got[4].s[e], u[e]) || !sameBits(got[2].s[e], m[e]) || !sameBits(got[3].s[e], v[e]) {
							t.Fatalf("%s: u, m, v [%d] = %v, %v, %v; the chain's %v, %v, %v", name, e, got[4].s[e], got[2].s[e], got[3].s[e], u[e], m[e], v[e])
						}
					}
					if !sameBits(cu, uu) || !sameBits(cp, pp) {
						t.Fatalf("%s = %v, %v; the chain's NormsStep gives %v, %v", name, uu, pp, cu, cp)
					}
				}
			}
		})
	})
}
