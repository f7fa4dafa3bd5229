package kernel

import (
	"math"
	"math/rand/v2"
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
