package kernel

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// TestSeqKernelsMatchReference checks every level's GELUTanh,
// GELUTanhGrad, Add, Mul, LayerNormRow, AddNormProduct and SoftmaxGrad against
// their reference loops bit for bit, over lengths, unaligned starts and
// special values, with guard bands around every slice.
func TestSeqKernelsMatchReference(t *testing.T) {
	forEachType(t, testSeqKernels[float32], testSeqKernels[float64])
}

func testSeqKernels[T Float](t *testing.T) {
	ref := reference[T]()
	forEachLevel(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(51, 52))
		forEachShape(func(n, j int, specials bool) {
			what := fmt.Sprintf("(n=%d, off=%d, specials=%v)", n, offsets[j], specials)
			in := func(k int) guarded[T] {
				g := newGuarded[T](n, offsets[(j+k)%len(offsets)])
				fill(rng, g.s, false, specials)
				for i := range g.s {
					g.s[i] *= T(1 + 5*rng.Float64()*float64(rng.IntN(2)))
				}
				return g
			}
			x, a, b, c := in(0), in(1), in(2), in(3)
			m, s := T(rng.NormFloat64()), T(1+rng.Float64())
			// compare runs the kernel and its reference on copies of the
			// outputs outs, and checks the inputs are untouched.
			compare := func(name string, outs []guarded[T], run func(k kernels[T], o [][]T)) {
				t.Helper()
				got, want := make([][]T, len(outs)), make([][]T, len(outs))
				gs := make([]guarded[T], len(outs))
				for i, o := range outs {
					gs[i] = newGuarded[T](n, o.off)
					copy(gs[i].s, o.s)
					got[i] = gs[i].s
					want[i] = append([]T(nil), o.s...)
				}
				run(*table[T](), got)
				run(ref, want)
				for i := range outs {
					gs[i].check(t, name+what)
					for e := range want[i] {
						if !sameBits(got[i][e], want[i][e]) {
							t.Fatalf("%s%s output %d [%d] = %v; want %v (x = %v)", name, what, i, e, got[i][e], want[i][e], x.s[e])
						}
					}
				}
				x.check(t, name+what)
				a.check(t, name+what)
			}
			compare("GELUTanh", []guarded[T]{b, c}, func(k kernels[T], o [][]T) { k.geluTanh(x.s, o[0], o[1]) })
			th := newGuarded[T](n, 0)
			GELUTanh(x.s, b.s, th.s)
			for _, add := range []bool{false, true} {
				compare(fmt.Sprintf("GELUTanhGrad(add=%v)", add), []guarded[T]{c}, func(k kernels[T], o [][]T) { k.geluTanhGrad(x.s, th.s, a.s, o[0], add) })
			}
			compare("Add", []guarded[T]{c}, func(k kernels[T], o [][]T) { k.add(x.s, a.s, o[0]) })
			compare("Mul", []guarded[T]{c}, func(k kernels[T], o [][]T) { k.mul(x.s, a.s, o[0]) })
			compare("LayerNormRow", []guarded[T]{c}, func(k kernels[T], o [][]T) { k.layerNorm(x.s, a.s, b.s, o[0], m, s) })
			compare("AddNormProduct", []guarded[T]{c}, func(k kernels[T], o [][]T) { k.addNormProduct(x.s, a.s, o[0], m, s) })
			compare("SoftmaxGrad", []guarded[T]{c}, func(k kernels[T], o [][]T) { k.softmaxGrad(x.s, o[0], m) })
		})
	})
}

// TestGELUTanhAccuracy checks GELUTanh and its gradient against the
// float64 formulas: for float32 within a few units of 2⁻²⁴ relative to
// the larger of the result and |x|.
func TestGELUTanhAccuracy(t *testing.T) {
	const k, c = 0.7978845608028654, 0.044715
	var xs []float32
	for x := -12.0; x <= 12; x += 1.0 / 256 {
		xs = append(xs, float32(x))
	}
	for _, l := range levels() {
		use(l)
		y, th, dx := make([]float32, len(xs)), make([]float32, len(xs)), make([]float32, len(xs))
		ones := make([]float32, len(xs))
		for i := range ones {
			ones[i] = 1
		}
		GELUTanh(xs, y, th)
		GELUTanhGrad(xs, th, ones, dx, false)
		for i, x := range xs {
			u := float64(x)
			tw := math.Tanh(k * (u + c*u*u*u))
			want := 0.5 * u * (1 + tw)
			dwant := 0.5*(1+tw) + 0.5*u*(1-tw*tw)*k*(1+3*c*u*u)
			if d := math.Abs(float64(y[i]) - want); d > 8*0x1p-24*max(math.Abs(want), math.Abs(u)) {
				t.Fatalf("GELUTanh/%v(%v) = %v; want %v", l, x, y[i], want)
			}
			if d := math.Abs(float64(dx[i]) - dwant); d > 32*0x1p-24*max(1, math.Abs(u)) {
				t.Fatalf("GELUTanhGrad/%v(%v) = %v; want %v", l, x, dx[i], dwant)
			}
		}
	}
	use(best)
}
