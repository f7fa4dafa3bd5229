package loss

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/descentml/descent/autograd"
	"github.com/descentml/descent/tensor"
)

// The losses as they were when they scanned their inputs for NaN before
// computing: the reference for the errors of the losses that scan only
// when the loss is NaN.

func eagerCrossEntropy[T tensor.Float](t *autograd.Tape[T], logits *autograd.Var[T], labels []int, skip bool, ignore int) (*autograd.Var[T], error) {
	if err := t.Err(); err != nil {
		return nil, err
	}
	if err := noNaN("cross-entropy", "logits", logits); err != nil {
		return fail(t, err)
	}
	if skip {
		return t.CrossEntropyIgnore(rows(t, logits), labels, ignore), t.Err()
	}
	return t.CrossEntropy(rows(t, logits), labels), t.Err()
}

func eagerMSE[T tensor.Float](t *autograd.Tape[T], pred, target *autograd.Var[T]) (*autograd.Var[T], error) {
	if !tensor.SameShape(pred.Shape(), target.Shape()) {
		return fail(t, fmt.Errorf("loss: mse: prediction %v and target %v: want the same shape", pred.Shape(), target.Shape()))
	}
	if err := noNaN2("mse", "prediction", pred, "target", target); err != nil {
		return fail(t, err)
	}
	return t.Mean(t.Square(t.Sub(pred, target))), t.Err()
}

func eagerBCE[T tensor.Float](t *autograd.Tape[T], logits, targets *autograd.Var[T]) (*autograd.Var[T], error) {
	if err := noNaN2("binary cross-entropy", "logits", logits, "targets", targets); err != nil {
		return fail(t, err)
	}
	return t.BCEWithLogits(logits, targets), t.Err()
}

// lossFunc is a loss of two inputs (logits and, for the cross-entropies,
// a dummy) on a fresh tape.
type lossFunc[T tensor.Float] func(t *autograd.Tape[T], a, b *autograd.Var[T]) (*autograd.Var[T], error)

// sameOutcome runs got and want on fresh tapes over copies of a and b and
// reports how they differ: the error, the error Backward returns after
// it, and otherwise the loss's value (NaN equal to NaN).
func sameOutcome[T tensor.Float](got, want lossFunc[T], a, b *tensor.Tensor[T]) string {
	run := func(f lossFunc[T]) (l *autograd.Var[T], err, berr error) {
		tape := autograd.NewTape[T]()
		l, err = f(tape, autograd.NewVar(a.Clone(), true), autograd.NewVar(b.Clone(), true))
		if err != nil {
			berr = tape.Backward(tape.Const(tensor.Scalar[T](1)))
		}
		return l, err, berr
	}
	gl, gerr, gberr := run(got)
	wl, werr, wberr := run(want)
	switch {
	case fmt.Sprint(gerr) != fmt.Sprint(werr):
		return fmt.Sprintf("error %v; want %v", gerr, werr)
	case fmt.Sprint(gberr) != fmt.Sprint(wberr):
		return fmt.Sprintf("Backward after it: %v; want %v", gberr, wberr)
	case gerr != nil:
		return ""
	}
	g, w := float64(gl.Value().Item()), float64(wl.Value().Item())
	if g != w && !(math.IsNaN(g) && math.IsNaN(w)) {
		return fmt.Sprintf("loss %v; want %v", g, w)
	}
	return ""
}

// TestNaNErrorsAsEager puts a NaN at every position of logits (a label's,
// another, an ignored row's) and of the other losses' inputs, over rows
// of special values (all equal, ±1000, +Inf, only −Inf), with labels the
// tape accepts and refuses, on 1, 2 and 3 threads, and checks that each
// loss returns the error (and leaves on the tape the error) that the eager
// scan before the loss gave, and otherwise the same loss.
func TestNaNErrorsAsEager(t *testing.T) {
	testNaNErrorsAsEager[float32](t)
	testNaNErrorsAsEager[float64](t)
}

func testNaNErrorsAsEager[T tensor.Float](t *testing.T) {
	defer tensor.SetThreads(0)
	// Spread uses at most GOMAXPROCS workers: allow 3.
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(max(3, runtime.GOMAXPROCS(0))))
	nan, inf := T(math.NaN()), T(math.Inf(1))
	fills := map[string]func(rng *rand.Rand, row []T){
		"random": func(rng *rand.Rand, row []T) {
			for j := range row {
				row[j] = T(rng.NormFloat64())
			}
		},
		"equal": func(_ *rand.Rand, row []T) {
			for j := range row {
				row[j] = 0.5
			}
		},
		"large": func(rng *rand.Rand, row []T) {
			for j := range row {
				row[j] = T(1000 * (2*rng.Float64() - 1))
			}
		},
		"+Inf": func(rng *rand.Rand, row []T) {
			for j := range row {
				row[j] = T(rng.NormFloat64())
			}
			row[rng.IntN(len(row))] = inf
		},
		"-Inf": func(_ *rand.Rand, row []T) {
			for j := range row {
				row[j] = -inf
			}
		},
	}
	// 64×40 logits are cut into bands of rows on 2 and 3 threads.
	shapes := [][]int{{1, 1}, {2, 3}, {5, 10}, {4, 17}, {3, 63}, {2, 2, 9}, {64, 40}}
	for _, threads := range []int{1, 2, 3} {
		tensor.SetThreads(threads)
		for _, shape := range shapes {
			n, c := 1, shape[len(shape)-1]
			for _, d := range shape[:len(shape)-1] {
				n *= d
			}
			for fill, f := range fills {
				rng := rand.New(rand.NewPCG(uint64(n), uint64(c)))
				base := tensor.New[T](shape...)
				for i := range n {
					f(rng, base.Data()[i*c:(i+1)*c])
				}
				labels := make([]int, n)
				for i := range labels {
					labels[i] = rng.IntN(c)
				}
				ignored := append([]int(nil), labels...)
				ignored[n/2] = IgnoreIndex // the middle row
				outOfRange := append([]int(nil), labels...)
				outOfRange[n-1] = c
				cases := []struct {
					name   string
					labels []int
					skip   bool
				}{
					{"labels", labels, false},
					{"ignored", ignored, true},
					{"ignored, all", make([]int, n), true},
					{"out of range", outOfRange, false},
					{"out of range, ignored", outOfRange, true},
					{"one label short", labels[1:], false},
				}
				for k := range cases[2].labels {
					cases[2].labels[k] = IgnoreIndex
				}
				dummy := tensor.New[T](1)
				for _, tc := range cases {
					ce := func(eager bool) lossFunc[T] {
						return func(tape *autograd.Tape[T], logits, _ *autograd.Var[T]) (*autograd.Var[T], error) {
							switch {
							case eager:
								return eagerCrossEntropy(tape, logits, tc.labels, tc.skip, IgnoreIndex)
							case tc.skip:
								return CrossEntropyIgnore(tape, logits, tc.labels, IgnoreIndex)
							}
							return CrossEntropy(tape, logits, tc.labels)
						}
					}
					if d := sameOutcome(ce(false), ce(true), base, dummy); d != "" {
						t.Errorf("%T %d threads, %v %s, %s, no NaN: %s", T(0), threads, shape, fill, tc.name, d)
					}
					for _, p := range positions(n, c) {
						x := base.Clone()
						x.Data()[p] = nan
						if d := sameOutcome(ce(false), ce(true), x, dummy); d != "" {
							t.Errorf("%T %d threads, %v %s, %s, NaN at %d: %s", T(0), threads, shape, fill, tc.name, p, d)
						}
					}
				}
				if threads > 1 {
					continue // MSE and BCEWithLogits run on the caller
				}
				// MSE and BCEWithLogits: NaN in either input, and shapes that
				// differ.
				other := base.Clone()
				for i := range other.Data() {
					other.Data()[i] = T(rng.Float64())
				}
				mse := lossFunc[T](func(tape *autograd.Tape[T], a, b *autograd.Var[T]) (*autograd.Var[T], error) { return MSE(tape, a, b) })
				bce := lossFunc[T](func(tape *autograd.Tape[T], a, b *autograd.Var[T]) (*autograd.Var[T], error) {
					return BCEWithLogits(tape, a, b)
				})
				pairs := []struct {
					name      string
					got, want lossFunc[T]
				}{{"MSE", mse, eagerMSE[T]}, {"BCEWithLogits", bce, eagerBCE[T]}}
				for _, pr := range pairs {
					for _, p := range append(positions(n, c), -1) {
						for side := range 2 {
							a, b := base.Clone(), other.Clone()
							if p >= 0 {
								[]*tensor.Tensor[T]{a, b}[side].Data()[p] = nan
							}
							if d := sameOutcome(pr.got, pr.want, a, b); d != "" {
								t.Errorf("%s %T %d threads, %v %s, NaN at %d of input %d: %s", pr.name, T(0), threads, shape, fill, p, side, d)
							}
							if d := sameOutcome(pr.got, pr.want, a, tensor.FromSlice(b.Data(), b.Len())); d != "" && len(shape) > 1 {
								t.Errorf("%s %T %d threads, %v %s, target flat, NaN at %d of input %d: %s", pr.name, T(0), threads, shape, fill, p, side, d)
							}
						}
					}
				}
			}
		}
	}
}

// positions returns the positions of logits [n, c] to put a NaN at: all of
// them, or for more than 400, those of the first, middle and last rows
// (each thread's band is a run of rows).
func positions(n, c int) []int {
	var ps []int
	for i := range n {
		if n*c <= 400 || i == 0 || i == n/2 || i == n-1 {
			for j := range c {
				ps = append(ps, i*c+j)
			}
		}
	}
	return ps
}

// BenchmarkCrossEntropy times CrossEntropy's forward pass against the
// eager scan's (the reference above) on the logits of the MLP step, a
// character language model's (4096×63) and a GPT-2-vocabulary model's,
// on GOMAXPROCS threads.
func BenchmarkCrossEntropy(b *testing.B) {
	tensor.SetThreads(0)
	for _, s := range [][2]int{{128, 10}, {4096, 63}, {128, 50257}} {
		n, c := s[0], s[1]
		rng := rand.New(rand.NewPCG(1, 2))
		x := tensor.New[float32](n, c)
		for i := range x.Data() {
			x.Data()[i] = float32(rng.NormFloat64())
		}
		labels := make([]int, n)
		for i := range labels {
			labels[i] = rng.IntN(c)
		}
		logits := autograd.NewVar(x, true)
		tape := autograd.NewTape[float32]()
		for _, eager := range []bool{true, false} {
			name := fmt.Sprintf("%dx%d", n, c)
			if eager {
				name += "/eager"
			}
			b.Run(name, func(b *testing.B) {
				b.SetBytes(int64(4 * n * c))
				b.ReportAllocs()
				for range b.N {
					var err error
					if eager {
						_, err = eagerCrossEntropy(tape, logits, labels, false, 0)
					} else {
						_, err = CrossEntropy(tape, logits, labels)
					}
					if err != nil {
						b.Fatal(err)
					}
					tape.Reset()
				}
			})
		}
	}
}
