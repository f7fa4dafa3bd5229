package kernel

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

var transcendentals = []struct {
	name  string
	fn    func(x, y []float32)
	fn64  func(x, y []float64)
	exact func(float64) float64
}{
	{"Exp", Exp[float32], Exp[float64], math.Exp},
	{"Tanh", Tanh[float32], Tanh[float64], math.Tanh},
	{"Sigmoid", Sigmoid[float32], Sigmoid[float64], func(x float64) float64 { return 1 / (1 + math.Exp(-x)) }},
}

// TestTranscendentalsMatchReference checks every level's Exp, Tanh and
// Sigmoid against the reference loop bit for bit, over lengths, unaligned
// starts and special values (±0, ±Inf, NaN, subnormals, large), with guard
// bands, out of place and in place.
func TestTranscendentalsMatchReference(t *testing.T) {
	forEachType(t, testTranscendentals[float32], testTranscendentals[float64])
}

func testTranscendentals[T Float](t *testing.T) {
	ref := reference[T]()
	refs := map[string]func(x, y []T){"Exp": ref.exp, "Tanh": ref.tanh, "Sigmoid": ref.sigmoid}
	fns := map[string]func(x, y []T){"Exp": Exp[T], "Tanh": Tanh[T], "Sigmoid": Sigmoid[T]}
	forEachLevel(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(41, 42))
		for _, name := range []string{"Exp", "Tanh", "Sigmoid"} {
			forEachShape(func(n, j int, specials bool) {
				x := newGuarded[T](n, offsets[j])
				fill(rng, x.s, false, specials)
				for i := range x.s {
					x.s[i] *= T(1 + 30*rng.Float64()*float64(rng.IntN(2))) // reach the edges of the range
				}
				want := make([]T, n)
				refs[name](x.s, want)
				y := newGuarded[T](n, offsets[(j+1)%len(offsets)])
				fns[name](x.s, y.s)
				what := fmt.Sprintf("%s(n=%d, off=%d, specials=%v)", name, n, offsets[j], specials)
				y.check(t, what)
				x.check(t, what)
				for i := range want {
					if !sameBits(y.s[i], want[i]) {
						t.Fatalf("%s[%d] = %v (%#x); want %v (%#x), x = %v", what, i, y.s[i], bits(y.s[i]), want[i], bits(want[i]), x.s[i])
					}
				}
				fns[name](x.s, x.s) // in place
				x.check(t, what+" in place")
				for i := range want {
					if !sameBits(x.s[i], want[i]) {
						t.Fatalf("%s in place [%d] = %v; want %v", what, i, x.s[i], want[i])
					}
				}
			})
		}
	})
}

// TestTranscendentalsAccuracy checks the float32 kernels against math's
// float64 functions on a dense sweep of x and at the edges (overflow,
// underflow, the switch of Tanh's two formulas): relative error at most
// 4·2⁻²⁴ where the exact result is a normal float32, one unit (2⁻¹⁴⁹) where
// it is subnormal, and the special values
// as math gives them. float64 is math itself.
func TestTranscendentalsAccuracy(t *testing.T) {
	var xs []float32
	for x := -110.0; x <= 95; x += 1.0 / 1024 {
		xs = append(xs, float32(x))
	}
	for _, e := range []float64{88.72, 88.7228, 88.7229, 89, -87.33, -87.34, -103.97, -103.98, 0.625, -0.625, 1e-3, 1e-6, 1e-30, 1e-40} {
		for d := -8; d <= 8; d++ {
			x := math.Float32frombits(math.Float32bits(float32(e)) + uint32(d))
			xs = append(xs, x, -x)
		}
	}
	xs = append(xs, 0, float32(math.Copysign(0, -1)), float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN()))
	const tol = 4 * 0x1p-24
	for _, l := range levels() {
		use(l)
		for _, f := range transcendentals {
			y := make([]float32, len(xs))
			f.fn(xs, y)
			worst, at := 0.0, float32(0)
			for i, x := range xs {
				want := f.exact(float64(x))
				got := float64(y[i])
				switch {
				case math.IsNaN(want) || math.IsInf(want, 0) || want == 0:
					if !(got == want || math.IsNaN(got) && math.IsNaN(want)) {
						t.Errorf("%s/%v(%v) = %v; want %v", f.name, l, x, got, want)
					}
				case math.Abs(want) < 0x1p-126: // subnormal: within one unit, the least subnormal
					if math.Abs(got-want) > 0x1p-149 {
						t.Errorf("%s/%v(%v) = %v; want %v", f.name, l, x, got, want)
					}
				case math.Abs(want) > math.MaxFloat32:
					if !math.IsInf(got, 1) {
						t.Errorf("%s/%v(%v) = %v; want +Inf", f.name, l, x, got)
					}
				default:
					if r := math.Abs(got-want) / math.Abs(want); r > worst {
						worst, at = r, x
					}
				}
			}
			if worst > tol {
				t.Errorf("%s/%v: relative error %.3g at x = %v; want at most %.3g", f.name, l, worst, at, tol)
			}
			t.Logf("%s/%v: largest relative error %.3g (%.2f units of 2⁻²⁴) at x = %v", f.name, l, worst, worst/0x1p-24, at)
		}
	}
	use(best)
	for _, f := range transcendentals {
		x64 := []float64{-745.2, -20, -1, -1e-10, 0, 1e-10, 0.5, 1, 20, 709}
		y := make([]float64, len(x64))
		f.fn64(x64, y)
		for i, x := range x64 {
			if want := f.exact(x); math.Abs(y[i]-want) > 1e-15*math.Abs(want) {
				t.Errorf("%s(%v) float64 = %v; want %v", f.name, x, y[i], want)
			}
		}
	}
}

// BenchmarkTranscendentals times the float32 kernels on 4096 elements
// against the math package's float64 functions, element by element, as
// the layers called them before.
func BenchmarkTranscendentals(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	x, y := make([]float32, 4096), make([]float32, 4096)
	fill(rng, x, false, false)
	for _, f := range transcendentals {
		b.Run(f.name+"/float32/4096", func(b *testing.B) {
			b.SetBytes(int64(8 * len(x)))
			for range b.N {
				f.fn(x, y)
			}
		})
		b.Run(f.name+"/math/4096", func(b *testing.B) {
			b.SetBytes(int64(8 * len(x)))
			for range b.N {
				for i, v := range x {
					y[i] = float32(f.exact(float64(v)))
				}
			}
		})
	}
}
