package optim_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/descentml/descent/optim"
	"github.com/descentml/descent/schedule"
)

// TestChainServesOneOptimizer: a built-in transform already serving an
// optimizer is refused by a second New, whatever Chain value holds it, and
// the first optimizer steps on its own state, bit for bit as if the second
// New had not been tried (before, the second took the state over).
func TestChainServesOneOptimizer(t *testing.T) {
	for _, tr := range builtinTransforms() {
		if err := newWithChain(tr); err != nil {
			t.Fatalf("New with a Chain of %T: %v", tr, err)
		}
		err := newWithChain(tr)
		if want := "serves another optimizer already"; err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("a second New with a Chain of the same %T = %v; want an error containing %q", tr, err, want)
		}
	}

	adam := func() *optim.ScaleByAdam[float64] {
		return &optim.ScaleByAdam[float64]{Beta1: 0.9, Beta2: 0.999, Eps: 1e-8}
	}
	// The audit's case: one Chain value for two models of different sizes.
	chain := optim.Chain[float64]{adam(), &optim.ScaleByLR[float64]{}}
	a, b, fresh := newProblem(1, 8), newProblem(2, 1000), newProblem(1, 8)
	oa := mustNew(t, a.params, optim.Config{Method: chain, LR: schedule.Constant(0.1)})
	if _, err := optim.New(b.params, optim.Config{Method: chain, LR: schedule.Constant(0.1)}); err == nil {
		t.Fatal("a second New with the same Chain value succeeded")
	}
	of := mustNew(t, fresh.params, optim.Config{Method: optim.Chain[float64]{adam(), &optim.ScaleByLR[float64]{}}, LR: schedule.Constant(0.1)})
	for range 3 {
		a.grad()
		fresh.grad()
		if err := oa.Step(); err != nil {
			t.Fatal(err)
		}
		if err := of.Step(); err != nil {
			t.Fatal(err)
		}
	}
	sameBits(t, "the first optimizer after a refused second New", a.values(), fresh.values())

	// The same transform twice in one optimizer: in one chain, in two
	// groups' chains, or as a Cautious's base and on its own.
	x := adam()
	for _, tc := range []struct {
		name   string
		groups []optim.Group[float64]
		want   string
	}{
		{"one chain", []optim.Group[float64]{{Params: newProblem(1, 8).params, Method: optim.Chain[float64]{x, x}}}, "stands twice"},
		{"two groups", []optim.Group[float64]{
			{Params: newProblem(1, 8).params, Method: optim.Chain[float64]{x}},
			{Params: newProblem(2, 4).params[:1:1], Method: optim.Chain[float64]{x, &optim.ScaleByLR[float64]{}}},
		}, "stands twice"},
		{"cautious base", []optim.Group[float64]{{Params: newProblem(1, 8).params, Method: optim.Chain[float64]{&optim.Cautious[float64]{Base: x}, x}}}, "stands twice"},
	} {
		tc.groups[len(tc.groups)-1].Params[0].Name = "other"
		_, err := optim.NewGroups(tc.groups, optim.Config{LR: schedule.Constant(0.1)})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: NewGroups = %v; want an error containing %q", tc.name, err, tc.want)
		}
	}
	// x was refused each time, so it is free: and once it serves, a
	// Cautious wrapping it is refused.
	if err := newWithChain(x); err != nil {
		t.Errorf("New with a transform only ever refused: %v", err)
	}
	if err := newWithChain(&optim.Cautious[float64]{Base: x}); err == nil || !strings.Contains(err.Error(), "serves another optimizer") {
		t.Errorf("New with a Cautious whose Base serves an optimizer = %v; want it refused", err)
	}

	// A New that fails after initializing the transforms (Orthogonalize
	// refuses a vector) leaves them free for the next.
	orth := &optim.Orthogonalize[float64]{NSSteps: 5, NSCoefficients: optim.DefaultNSCoefficients, Eps: 1e-7}
	c := optim.Chain[float64]{orth, &optim.ScaleByLR[float64]{}}
	if _, err := optim.New(newProblem(1, 8, 3).params, optim.Config{Method: c, LR: schedule.Constant(0.1)}); err == nil {
		t.Fatal("Orthogonalize of a vector: New succeeded")
	}
	if _, err := optim.New(newProblem(1, 8).params, optim.Config{Method: c, LR: schedule.Constant(0.1)}); err != nil {
		t.Errorf("New after a failed New with the same Chain: %v", err)
	}
}

// TestChainClaimConcurrent: of two News of one Chain at once, exactly one
// succeeds (before, both could: each read the transforms free before
// either marked them; under -race, a data race).
func TestChainClaimConcurrent(t *testing.T) {
	for i := range 100 {
		chain := optim.Chain[float64]{&optim.ScaleByAdam[float64]{Beta1: 0.9, Beta2: 0.999, Eps: 1e-8}, &optim.ScaleByLR[float64]{}}
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for g := range errs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, errs[g] = optim.New(newProblem(uint64(g), 8).params, optim.Config{Method: chain, LR: schedule.Constant(0.1)})
			}()
		}
		wg.Wait()
		if (errs[0] == nil) == (errs[1] == nil) {
			t.Fatalf("round %d: two News of one Chain at once returned %v and %v; want exactly one error", i, errs[0], errs[1])
		}
	}
}

// TestCopyOfServedTransformIsFree: a copy of a transform that serves an
// optimizer (b := *a) is a new value, so New takes it (before, the copy
// carried a's mark and was refused); a still serves its optimizer, which
// steps bit for bit as if the copy had never been made, and is refused by
// another New.
func TestCopyOfServedTransformIsFree(t *testing.T) {
	cfg := func(tr optim.Transform[float64]) optim.Config {
		return optim.Config{Method: optim.Chain[float64]{tr, &optim.ScaleByLR[float64]{}}, LR: schedule.Constant(0.1)}
	}
	a := &optim.ScaleByAdam[float64]{Beta1: 0.9, Beta2: 0.999, Eps: 1e-8}
	pa, pb, fresh := newProblem(1, 8), newProblem(2, 8), newProblem(1, 8)
	oa := mustNew(t, pa.params, cfg(a))
	run(t, pa, oa, 2)
	b := *a
	b.Beta1 = 0.8
	ob, err := optim.New(pb.params, cfg(&b))
	if err != nil {
		t.Fatalf("New with a copy of a serving transform: %v", err)
	}
	run(t, pb, ob, 3)
	run(t, pa, oa, 3)
	run(t, fresh, mustNew(t, fresh.params, cfg(&optim.ScaleByAdam[float64]{Beta1: 0.9, Beta2: 0.999, Eps: 1e-8})), 5)
	sameBits(t, "the first optimizer after New took a copy of its transform", pa.values(), fresh.values())
	for name, tr := range map[string]*optim.ScaleByAdam[float64]{"the original": a, "the copy": &b} {
		if _, err := optim.New(newProblem(3, 8).params, cfg(tr)); err == nil || !strings.Contains(err.Error(), "serves another optimizer") {
			t.Errorf("New with %s, serving = %v; want it refused", name, err)
		}
	}
}

// methodsByName returns allMethods and every named method with its
// defaults, each a new value.
func methodsByName() map[string]optim.Method {
	ms := allMethods()
	for _, m := range namedMethods() {
		ms[fmt.Sprintf("%T-default", m)] = m
	}
	return ms
}

// TestMethodServesManyOptimizers: a named method builds a new chain for
// each New, so one method value may serve several optimizers at once, each
// stepping bit for bit as an optimizer of a method value of its own does.
func TestMethodServesManyOptimizers(t *testing.T) {
	for name, m := range methodsByName() {
		// Two models of different sizes, both matrices (for Muon).
		a, b := newProblem(1, 8), newProblem(2, 12)
		cfg := optim.Config{Method: m, LR: schedule.Constant(0.01)}
		oa, ob := mustNew(t, a.params, cfg), mustNew(t, b.params, cfg)
		for _, tr := range oa.Transforms(0) {
			if !optim.Claims(tr) {
				t.Errorf("%s: %T is not a claimer: New cannot tell whether it serves another optimizer", name, tr)
			}
		}
		for range 5 {
			a.grad()
			b.grad()
			if err := ob.Step(); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if err := oa.Step(); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
		}
		for i, r := range []*problem{newProblem(1, 8), newProblem(2, 12)} {
			o := mustNew(t, r.params, optim.Config{Method: methodsByName()[name], LR: schedule.Constant(0.01)})
			for range 5 {
				r.grad()
				if err := o.Step(); err != nil {
					t.Fatalf("%s: %v", name, err)
				}
			}
			sameBits(t, fmt.Sprintf("%s: optimizer %d of one method value", name, i+1), []*problem{a, b}[i].values(), r.values())
		}
	}
}
