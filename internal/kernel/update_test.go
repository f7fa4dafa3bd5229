package kernel

import (
	"math"
	"math/rand/v2"
	"testing"
)

// An updateCase runs one elementwise kernel (an optimizer's or a layer's) on
// slices s from table k. The slices listed in nonneg hold state that stays
// non-negative (second moments).
type updateCase[T Float] struct {
	name   string
	slices int
	nonneg []int
	run    func(k *kernels[T], s [][]T)
}

func updateCases[T Float]() []updateCase[T] {
	const (
		b1, b2, eps = 0.9, 0.999, 1e-8
		c1, c2      = 1 / (1 - 0.9*0.9*0.9), 1 / 0.0545 // step 3
	)
	cases := []updateCase[T]{
		{"Axpy", 2, nil, func(k *kernels[T], s [][]T) { k.axpy(-0.37, s[0], s[1]) }},
		{"Scale", 1, nil, func(k *kernels[T], s [][]T) { k.scale(1.7e-3, s[0]) }},
		{"Clamp", 1, nil, func(k *kernels[T], s [][]T) { k.clamp(-0.5, 0.75, s[0]) }},
		{"Adagrad", 2, []int{1}, func(k *kernels[T], s [][]T) { k.adagrad(s[0], s[1], 1e-10) }},
		{"Adadelta", 3, []int{1, 2}, func(k *kernels[T], s [][]T) { k.adadelta(s[0], s[1], s[2], 0.9, 1e-6) }},
		{"Adamax", 3, []int{2}, func(k *kernels[T], s [][]T) { k.adamax(s[0], s[1], s[2], b1, b2, c1, eps) }},
		{"NAdam", 3, []int{2}, func(k *kernels[T], s [][]T) { k.nadam(s[0], s[1], s[2], b1, b2, c2, 0.3, 0.8, eps) }},
		{"ReLU", 2, nil, func(k *kernels[T], s [][]T) { k.relu(s[0], s[1]) }},
		{"ReLU/in-place", 1, nil, func(k *kernels[T], s [][]T) { k.relu(s[0], s[0]) }},
		{"AddConst", 2, nil, func(k *kernels[T], s [][]T) { k.addConst(-0.37, s[0], s[1]) }},
		{"Affine", 2, nil, func(k *kernels[T], s [][]T) { k.affine(1.3, -0.37, s[0], s[1]) }},
		{"Affine/in-place", 1, nil, func(k *kernels[T], s [][]T) { k.affine(1.3, -0.37, s[0], s[0]) }},
		{"NormGradRun", 3, nil, func(k *kernels[T], s [][]T) { k.normGradRun(s[0], s[1], s[2], 0.1, -0.2, 0.7, 1.3) }},
		{"ReLUGrad", 3, nil, func(k *kernels[T], s [][]T) { k.reluGrad(s[0], s[1], s[2]) }},
		{"AddSquaredDiff", 3, []int{2}, func(k *kernels[T], s [][]T) { k.addSquaredDiff(s[0], s[1], s[2]) }},
		{"MulAdd", 4, nil, func(k *kernels[T], s [][]T) { k.mulAdd(s[0], s[1], s[2], s[3]) }},
		{"AddDiffProduct", 4, nil, func(k *kernels[T], s [][]T) { k.addDiffProduct(s[0], s[1], s[2], s[3]) }},
		{"NormGrad", 7, nil, func(k *kernels[T], s [][]T) { k.normGrad(s[0], s[1], s[2], s[3], s[4], s[5], s[6]) }},
		{"NormGrad/in-place", 6, nil, func(k *kernels[T], s [][]T) { k.normGrad(s[0], s[1], s[2], s[3], s[4], s[5], s[1]) }},
	}
	for _, nesterov := range []bool{false, true} {
		cases = append(cases, updateCase[T]{"Momentum/nesterov=" + boolName(nesterov), 2, nil, func(k *kernels[T], s [][]T) {
			k.momentum(s[0], s[1], 0.9, 0.95, nesterov)
		}})
	}
	cases = append(cases,
		updateCase[T]{"Adam", 3, []int{2}, func(k *kernels[T], s [][]T) { k.adam(s[0], s[1], s[2], nil, b1, b2, c1, c2, eps) }},
		updateCase[T]{"Adam/amsgrad", 4, []int{2, 3}, func(k *kernels[T], s [][]T) { k.adam(s[0], s[1], s[2], s[3], b1, b2, c1, c2, eps) }},
	)
	for _, centered := range []bool{false, true} {
		for _, epsInSqrt := range []bool{false, true} {
			name := "RMSprop/centered=" + boolName(centered) + "/epsInSqrt=" + boolName(epsInSqrt)
			if centered {
				cases = append(cases, updateCase[T]{name, 3, []int{1}, func(k *kernels[T], s [][]T) { k.rmsprop(s[0], s[1], s[2], 0.99, eps, epsInSqrt) }})
			} else {
				cases = append(cases, updateCase[T]{name, 2, []int{1}, func(k *kernels[T], s [][]T) { k.rmsprop(s[0], s[1], nil, 0.99, eps, epsInSqrt) }})
			}
		}
	}
	for _, rect := range []bool{false, true} {
		cases = append(cases, updateCase[T]{"RAdam/rect=" + boolName(rect), 3, []int{2}, func(k *kernels[T], s [][]T) {
			k.radam(s[0], s[1], s[2], b1, b2, c1, 0.71, eps, rect)
		}})
	}
	return cases
}

func boolName(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

// TestUpdatesMatchReference checks every elementwise kernel of every level
// against its reference loop: bit for bit, on every length and alignment,
// with and without special values (±0, ±Inf, NaN, subnormals), and with
// guard bands around every slice.
func TestUpdatesMatchReference(t *testing.T) {
	forEachType(t, testUpdates[float32], testUpdates[float64])
}

func testUpdates[T Float](t *testing.T) {
	forEachLevel(t, func(t *testing.T) {
		ref := reference[T]()
		for _, c := range updateCases[T]() {
			t.Run(c.name, func(t *testing.T) {
				rng := rand.New(rand.NewPCG(5, uint64(len(c.name))))
				forEachShape(func(n, j int, specials bool) {
					off := offsets[j]
					got := make([]guarded[T], c.slices)
					want := make([][]T, c.slices)
					args := make([][]T, c.slices)
					for i := range got {
						got[i] = newGuarded[T](n, offsets[(j+i)%len(offsets)])
						fill(rng, got[i].s, contains(c.nonneg, i), specials)
						want[i] = append([]T(nil), got[i].s...)
						args[i] = got[i].s
					}
					c.run(table[T](), args)
					c.run(&ref, want)
					for i := range got {
						got[i].check(t, c.name)
						for e := range want[i] {
							if !sameBits(got[i].s[e], want[i][e]) {
								t.Fatalf("%s(n=%d, offset %d, specials %v): slice %d [%d] = %v; want %v",
									c.name, n, off, specials, i, e, got[i].s[e], want[i][e])
							}
						}
					}
				})
			})
		}
	})
}

func contains(s []int, x int) bool {
	for _, v := range s {
		if v == x {
			return true
		}
	}
	return false
}

// TestUpdatePanicsOnShortState checks that the exported kernels check lengths
// before any assembly runs.
func TestUpdatePanicsOnShortState(t *testing.T) {
	u, short := make([]float32, 33), make([]float32, 32)
	for name, f := range map[string]func(){
		"Axpy":     func() { Axpy(1, u, short) },
		"Momentum": func() { Momentum(u, short, 0.9, 1, false) },
		"Adam":     func() { Adam(u, u, short, nil, 0.9, 0.99, 1, 1, 1e-8) },
		"AMSGrad":  func() { Adam(u, u, u, short, 0.9, 0.99, 1, 1, 1e-8) },
		"RMSprop":  func() { RMSprop(u, u, short, 0.9, 1e-8, false) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s with a short state slice did not panic", name)
				}
			}()
			f()
		}()
	}
}

// TestReductionsMatchReference checks the reductions of every level against
// their reference loops. Sums may differ by rounding (the vector versions add
// in a different order): the tolerance is 1e-13 relative, far above the
// ≈1e-16·√n expected and far below what a wrong lane or element would cause
// (for Sum and DotDiff, relative to the sum of the magnitudes of the terms).
// MaxAbs and AllFinite must match exactly.
func TestReductionsMatchReference(t *testing.T) {
	forEachType(t, testReductions[float32], testReductions[float64])
}

func testReductions[T Float](t *testing.T) {
	forEachLevel(t, func(t *testing.T) {
		ref := reference[T]()
		rng := rand.New(rand.NewPCG(7, 8))
		k := table[T]()
		forEachShape(func(n, j int, specials bool) {
			off := offsets[j]
			g, h := newGuarded[T](n, off), newGuarded[T](n, offsets[(j+1)%len(offsets)])
			fill(rng, g.s, false, specials)
			fill(rng, h.s, false, specials)
			if specials && n > 0 && rng.IntN(2) == 0 {
				g.s[rng.IntN(n)] = T(math.NaN())
			}
			for _, r := range []struct {
				name      string
				got, want float64
			}{
				{"Sum", k.sum(g.s), ref.sum(g.s)},
				{"SumSquaredDiff", k.sumSqDiff(g.s, 0.3), ref.sumSqDiff(g.s, 0.3)},
				{"DotDiff", k.dotDiff(g.s, h.s, -0.7), ref.dotDiff(g.s, h.s, -0.7)},
				{"SumSquares", k.sumSquares(g.s), ref.sumSquares(g.s)},
				{"SumAbs", k.sumAbs(g.s), ref.sumAbs(g.s)},
				{"MaxAbs", k.maxAbs(g.s), ref.maxAbs(g.s)},
			} {
				tol := 1e-13 * math.Abs(r.want)
				switch r.name {
				case "MaxAbs":
					tol = 0
				case "Sum": // the terms may cancel: relative to their magnitudes
					tol = 1e-13 * ref.sumAbs(g.s)
				case "DotDiff":
					var mag float64
					for i, v := range g.s {
						mag += math.Abs((float64(v) + 0.7) * float64(h.s[i]))
					}
					tol = 1e-13 * mag
				}
				ok := math.Abs(r.got-r.want) <= tol || r.got == r.want || math.IsNaN(r.got) && math.IsNaN(r.want)
				if !ok {
					t.Fatalf("%s(n=%d, offset %d, specials %v) = %v; want %v", r.name, n, off, specials, r.got, r.want)
				}
			}
			if got, want := k.allFinite(g.s), ref.allFinite(g.s); got != want {
				t.Fatalf("AllFinite(n=%d, offset %d, specials %v) = %v; want %v", n, off, specials, got, want)
			}
			g.check(t, "reductions")
			h.check(t, "reductions")
		})
		// A single non-finite element anywhere, in every lane position.
		for _, bad := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
			x := make([]T, 100)
			for i := range x {
				x[i] = T(bad)
				if k.allFinite(x) {
					t.Fatalf("AllFinite with %v at %d of %d = true; want false", bad, i, len(x))
				}
				if math.IsNaN(bad) && !math.IsNaN(k.maxAbs(x)) {
					t.Fatalf("MaxAbs with NaN at %d of %d = %v; want NaN", i, len(x), k.maxAbs(x))
				}
				x[i] = 1
			}
		}
	})
}

// TestReductionAccuracy sums 10M float32 values, against a compensated
// (Neumaier) float64 sum: the vector reductions must stay well inside the
// 1e-6 relative the optimizers' norm clipping can tolerate; they reach about
// 1e-13.
func TestReductionAccuracy(t *testing.T) {
	if testing.Short() {
		t.Skip("10M elements")
	}
	x := make([]float32, tenM)
	rng := rand.New(rand.NewPCG(9, 10))
	fill(rng, x, false, false)
	neumaier := func(f func(float64) float64) float64 {
		var s, c float64
		for _, v := range x {
			y := f(float64(v))
			t := s + y
			if math.Abs(s) >= math.Abs(y) {
				c += (s - t) + y
			} else {
				c += (y - t) + s
			}
			s = t
		}
		return s + c
	}
	squares := neumaier(func(v float64) float64 { return v * v })
	abs := neumaier(math.Abs)
	forEachLevel(t, func(t *testing.T) {
		for _, r := range []struct {
			name      string
			got, want float64
		}{{"SumSquares", SumSquares(x), squares}, {"SumAbs", SumAbs(x), abs}} {
			if rel := math.Abs(r.got-r.want) / r.want; rel > 1e-10 {
				t.Errorf("%s of 10M float32 = %v; want %v (relative error %.2g)", r.name, r.got, r.want, rel)
			}
		}
	})
}
