package kernel

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// A stepCase is one fused step with its coefficients, and the chain of block
// kernels the optimizer runs for it. s[0] is p, s[1] is g, the rest state;
// a nil slice in s is a state the variant does without.
type stepCase[T Float] struct {
	name     string
	slices   int
	nonneg   []int
	optional []int // state slices that are nil in half the cases
	fused    func(s [][]T)
	chain    func(u []T, s [][]T)
}

// coefficients are the values of gs, wc and wd the cases take: the ones
// that switch a part of the chain off (gs = 1, wc = ±0, wd = ±0) and others.
var (
	gsValues    = []float64{1, 0.37, 0}
	decayValues = []float64{0, math.Copysign(0, -1), 0.01, -3}
)

func stepCases[T Float]() []stepCase[T] {
	var cases []stepCase[T]
	head := func(u []T, p []T, gs, wc T) {
		if gs != 1 {
			Scale(gs, u)
		}
		if wc != 0 {
			Axpy(wc, p, u)
		}
	}
	for _, gs64 := range gsValues {
		for _, wc64 := range decayValues {
			gs, wc := T(gs64), T(wc64)
			coef := fmt.Sprintf("gs=%g/wc=%g", gs64, wc64)
			if math.Signbit(wc64) && wc64 == 0 {
				coef = fmt.Sprintf("gs=%g/wc=-0", gs64)
			}
			for _, wd64 := range decayValues {
				wd := T(wd64)
				const b1, b2, c1, c2, eps, nlr = 0.9, 0.999, 10, 31.6, 1e-8, -1e-3
				cases = append(cases, stepCase[T]{
					name: fmt.Sprintf("AdamStep/%s/wd=%g", coef, wd64), slices: 5, nonneg: []int{3, 4}, optional: []int{4},
					fused: func(s [][]T) { AdamStep(s[0], s[1], s[2], s[3], s[4], gs, wc, b1, b2, c1, c2, eps, wd, nlr) },
					chain: func(u []T, s [][]T) {
						head(u, s[0], gs, wc)
						Adam(u, s[2], s[3], s[4], b1, b2, c1, c2, eps)
						if wd != 0 {
							Axpy(wd, s[0], u)
						}
						Axpy(nlr, u, s[0])
					},
				})
			}
			for _, wd64 := range decayValues {
				wd := T(wd64)
				decay := func(u, p []T) {
					if wd != 0 {
						Axpy(wd, p, u)
					}
				}
				const b1, b2, b3, nlr = 0.9, 0.99, 0.9999, -1e-3
				cases = append(cases, stepCase[T]{
					name: fmt.Sprintf("LionStep/%s/wd=%g", coef, wd64), slices: 3,
					fused: func(s [][]T) { LionStep(s[0], s[1], s[2], gs, wc, b1, b2, wd, nlr) },
					chain: func(u []T, s [][]T) {
						head(u, s[0], gs, wc)
						Lion(u, s[2], b1, b2, 1, false)
						decay(u, s[0])
						Axpy(nlr, u, s[0])
					},
				})
				for _, sc := range []T{1, 2.5, 0} {
					const c1, c2, eps = 10, 31.6, 1e-8
					cases = append(cases, stepCase[T]{
						name: fmt.Sprintf("AdamCautiousStep/%s/wd=%g/s=%g", coef, wd64, sc), slices: 5, nonneg: []int{3, 4}, optional: []int{4},
						fused: func(s [][]T) {
							AdamCautiousStep(s[0], s[1], s[2], s[3], s[4], gs, wc, b1, b2, c1, c2, eps, sc, wd, nlr)
						},
						chain: func(u []T, s [][]T) {
							head(u, s[0], gs, wc)
							CautiousAdam(u, s[2], s[3], s[4], b1, b2, c1, c2, eps, sc)
							decay(u, s[0])
							Axpy(nlr, u, s[0])
						},
					})
					const a, de = 0.7, 1e-7
					cases = append(cases, stepCase[T]{
						name: fmt.Sprintf("ProdigyStep/%s/aw=%g/a=%g", coef, wd64, sc), slices: 4, nonneg: []int{3}, optional: []int{2},
						fused: func(s [][]T) { ProdigyStep(s[0], s[1], s[2], s[3], gs, wc, a*sc, de, wd, nlr) },
						chain: func(u []T, s [][]T) {
							head(u, s[0], gs, wc)
							ProdigyUpdate(u, s[2], s[3], s[0], a*sc, de, wd)
							Axpy(nlr, u, s[0])
						},
					})
					cases = append(cases, stepCase[T]{
						name: fmt.Sprintf("LionCautiousStep/%s/wd=%g/s=%g", coef, wd64, sc), slices: 3,
						fused: func(s [][]T) { LionCautiousStep(s[0], s[1], s[2], gs, wc, b1, b2, sc, wd, nlr) },
						chain: func(u []T, s [][]T) {
							head(u, s[0], gs, wc)
							Lion(u, s[2], b1, b2, sc, true)
							decay(u, s[0])
							Axpy(nlr, u, s[0])
						},
					})
				}
				for _, first := range []bool{false, true} {
					for _, clip := range []T{T(math.Inf(1)), 1.5, 0} {
						const eps = 1e-6
						cases = append(cases, stepCase[T]{
							name: fmt.Sprintf("ADOPTStep/%s/wd=%g/first=%v/clip=%g", coef, wd64, first, clip), slices: 4, nonneg: []int{3},
							fused: func(s [][]T) { ADOPTStep(s[0], s[1], s[2], s[3], gs, wc, b1, b2, eps, clip, wd, nlr, first) },
							chain: func(u []T, s [][]T) {
								head(u, s[0], gs, wc)
								if first {
									ADOPTFirst(u, s[3])
								} else {
									ADOPT(u, s[2], s[3], b1, b2, eps, clip)
								}
								decay(u, s[0])
								Axpy(nlr, u, s[0])
							},
						})
					}
				}
				const c1, c2, alpha, eps = 10, 31.6, 5, 1e-8
				cases = append(cases, stepCase[T]{
					name: fmt.Sprintf("AdEMAMixStep/%s/wd=%g", coef, wd64), slices: 5, nonneg: []int{4},
					fused: func(s [][]T) {
						AdEMAMixStep(s[0], s[1], s[2], s[3], s[4], gs, wc, b1, b2, b3, c1, c2, alpha, eps, wd, nlr)
					},
					chain: func(u []T, s [][]T) {
						head(u, s[0], gs, wc)
						AdEMAMix(u, s[2], s[3], s[4], b1, b2, b3, c1, c2, alpha, eps)
						decay(u, s[0])
						Axpy(nlr, u, s[0])
					},
				})
				for _, c := range []T{0.3, 0.5, 0.9, 0, 1} {
					const bc2, a, lr = 0.02, -0.0009, 1e-3
					cases = append(cases, stepCase[T]{
						name: fmt.Sprintf("ScheduleFreeStep/%s/wd=%g/c=%g", coef, wd64, c), slices: 4, nonneg: []int{3}, optional: []int{3},
						fused: func(s [][]T) { ScheduleFreeStep(s[0], s[1], s[2], s[3], gs, wc, b2, bc2, eps, wd, c, a, lr, -1) },
						chain: func(u []T, s [][]T) {
							head(u, s[0], gs, wc)
							ScheduleFree(u, s[0], s[2], s[3], b2, bc2, eps, wd, c, a, lr)
							Axpy(-1, u, s[0])
						},
					})
				}
			}
			for _, nesterov := range []bool{false, true} {
				const mu, damp, nlr = 0.9, 0.8, -0.1
				cases = append(cases, stepCase[T]{
					name: fmt.Sprintf("MomentumStep/%s/nesterov=%v", coef, nesterov), slices: 3,
					fused: func(s [][]T) { MomentumStep(s[0], s[1], s[2], gs, wc, mu, damp, nlr, nesterov) },
					chain: func(u []T, s [][]T) {
						head(u, s[0], gs, wc)
						Momentum(u, s[2], mu, damp, nesterov)
						Axpy(nlr, u, s[0])
					},
				})
			}
			for _, epsInSqrt := range []bool{false, true} {
				const a, eps, mu, nlr = 0.99, 1e-8, 0.9, -1e-2
				cases = append(cases, stepCase[T]{
					name: fmt.Sprintf("RMSpropStep/%s/epsInSqrt=%v", coef, epsInSqrt), slices: 5, nonneg: []int{2}, optional: []int{3, 4},
					fused: func(s [][]T) { RMSpropStep(s[0], s[1], s[2], s[3], s[4], gs, wc, a, eps, mu, nlr, epsInSqrt) },
					chain: func(u []T, s [][]T) {
						head(u, s[0], gs, wc)
						RMSprop(u, s[2], s[3], a, eps, epsInSqrt)
						if s[4] != nil {
							Momentum(u, s[4], mu, 1, false)
						}
						Axpy(nlr, u, s[0])
					},
				})
			}
		}
	}
	for _, gs64 := range gsValues {
		for _, wc64 := range decayValues {
			for _, r64 := range []float64{1, 0.03} {
				for _, nesterov := range []bool{false, true} {
					gs, wc, r := T(gs64), T(wc64), T(r64)
					const lr, mu, damp, nlr = 0.1, 0.9, 1, -1
					cases = append(cases, stepCase[T]{
						name:   fmt.Sprintf("TrustStep/gs=%g/wc=%g/r=%g/nesterov=%v", gs64, wc64, r64, nesterov),
						slices: 3, optional: []int{2},
						fused: func(s [][]T) { TrustStep(s[0], s[1], s[2], gs, wc, r, lr, mu, damp, nlr, nesterov) },
						chain: func(u []T, s [][]T) {
							head(u, s[0], gs, wc)
							if r != 1 {
								Scale(r, u)
							}
							Scale(lr, u)
							if s[2] != nil {
								Momentum(u, s[2], mu, damp, nesterov)
							}
							Axpy(nlr, u, s[0])
						},
					})
				}
			}
		}
	}
	return cases
}

// TestStepsMatchComposition checks each fused step of every level against
// the chain of block kernels it replaces, bit for bit (any NaN matching any
// NaN), on every length and alignment, with and without special values in
// every slice (p included), with each coefficient that switches a part of
// the chain off on and off, each optional state present and absent, and
// guard bands around every slice.
func TestStepsMatchComposition(t *testing.T) {
	forEachType(t, testSteps[float32], testSteps[float64])
}

func testSteps[T Float](t *testing.T) {
	forEachLevel(t, func(t *testing.T) {
		for _, c := range stepCases[T]() {
			t.Run(c.name, func(t *testing.T) {
				rng := rand.New(rand.NewPCG(11, uint64(len(c.name))))
				for variant := 0; variant < 1<<len(c.optional); variant++ {
					forEachShape(func(n, j int, specials bool) {
						got := make([]guarded[T], c.slices)
						args := make([][]T, c.slices)
						want := make([][]T, c.slices)
						for i := range got {
							got[i] = newGuarded[T](n, offsets[(j+i)%len(offsets)])
							fill(rng, got[i].s, contains(c.nonneg, i), specials)
							args[i] = got[i].s
							want[i] = append([]T(nil), got[i].s...)
						}
						for b, i := range c.optional {
							if variant>>b&1 == 0 {
								args[i], want[i] = nil, nil
							}
						}
						c.fused(args)
						u := append([]T(nil), want[1]...)
						c.chain(u, want)
						for i := range got {
							got[i].check(t, c.name)
							if want[i] == nil {
								continue
							}
							for e := range want[i] {
								if !sameBits(got[i].s[e], want[i][e]) {
									t.Fatalf("%s(n=%d, offset %d, specials %v, variant %d): slice %d [%d] = %v; want %v",
										c.name, n, offsets[j], specials, variant, i, e, got[i].s[e], want[i][e])
								}
							}
						}
					})
				}
			})
		}
	})
}

// TestStepsPanicOnShortSlices checks that the fused steps check lengths
// before any assembly runs.
func TestStepsPanicOnShortSlices(t *testing.T) {
	u, short := make([]float32, 33), make([]float32, 32)
	for name, f := range map[string]func(){
		"AdamStep/g":         func() { AdamStep(u, short, u, u, nil, 1, 0, 0.9, 0.99, 1, 1, 1e-8, 0, -1) },
		"AdamStep/vmax":      func() { AdamStep(u, u, u, u, short, 1, 0, 0.9, 0.99, 1, 1, 1e-8, 0, -1) },
		"MomentumStep/b":     func() { MomentumStep(u, u, short, 1, 0, 0.9, 1, -1, false) },
		"RMSpropStep/v":      func() { RMSpropStep(u, u, short, nil, nil, 1, 0, 0.9, 1e-8, 0, -1, false) },
		"RMSpropStep/buf":    func() { RMSpropStep(u, u, u, u, short, 1, 0, 0.9, 1e-8, 0, -1, false) },
		"LionStep/m":         func() { LionStep(u, u, short, 1, 0, 0.9, 0.99, 0, -1) },
		"LionCautiousStep/g": func() { LionCautiousStep(u, short, u, 1, 0, 0.9, 0.99, 1, 0, -1) },
		"ADOPTStep/v":        func() { ADOPTStep(u, u, u, short, 1, 0, 0.9, 0.99, 1e-6, 1, 0, -1, false) },
		"AdEMAMixStep/m2":    func() { AdEMAMixStep(u, u, u, short, u, 1, 0, 0.9, 0.99, 0.999, 1, 1, 2, 1e-8, 0, -1) },
		"ScheduleFreeStep/z": func() { ScheduleFreeStep(u, u, short, nil, 1, 0, 0.9, 1, 1e-8, 0, 0.5, -1, 1, -1) },
		"ScheduleFreeStep/v": func() { ScheduleFreeStep(u, u, u, short, 1, 0, 0.9, 1, 1e-8, 0, 0.5, -1, 1, -1) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s with a short slice did not panic", name)
				}
			}()
			f()
		}()
	}
}

// TestAgreeCounts checks the cautious masks' counts of every level against
// the reference loops, exactly, with special values and each gs that
// switches the scaling off or on.
func TestAgreeCounts(t *testing.T) {
	forEachType(t, testAgreeCounts[float32], testAgreeCounts[float64])
}

func testAgreeCounts[T Float](t *testing.T) {
	forEachLevel(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(5, 9))
		for _, gs := range []T{1, 0.37, 0, -1} {
			forEachShape(func(n, j int, specials bool) {
				g, m := newGuarded[T](n, offsets[j]), newGuarded[T](n, offsets[(j+1)%len(offsets)])
				fill(rng, g.s, false, specials)
				fill(rng, m.s, false, specials)
				for _, k := range []struct {
					name     string
					got, ref float64
				}{
					{"AdamAgreeStep", AdamAgreeStep(g.s, g.s, m.s, gs, 0, 0.9), adamAgreeStepRef(g.s, g.s, m.s, gs, 0, 0.9)},
					{"LionAgreeStep", LionAgreeStep(g.s, g.s, m.s, gs, 0, 0.9), lionAgreeStepRef(g.s, g.s, m.s, gs, 0, 0.9)},
				} {
					if k.got != k.ref {
						t.Fatalf("%s(n=%d, gs=%v, specials %v) = %v; want %v", k.name, n, gs, specials, k.got, k.ref)
					}
				}
				g.check(t, "g")
				m.check(t, "m")
			})
		}
	})
}
