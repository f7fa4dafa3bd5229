package spec_test

import (
	"math"
	"testing"

	"github.com/descentml/descent/optim/spec"
	"github.com/descentml/descent/schedule"
)

// TestBuildRateMultiplier checks that the multiplier η_t built at base 1
// is the rate over its base, α_t/α, for every schedule, at every step of a
// run and past its end, and that reduce-on-plateau's follows its state.
func TestBuildRateMultiplier(t *testing.T) {
	const lr = 3e-3
	specs := []string{"constant", "step", "multistep gamma=0.5", "exponential", "cosine min=1e-5",
		"restarts min=1e-4", "linear start=0.1", "polynomial power=2", "onecycle max=0.01",
		"cyclic base=1e-4 max=5e-3 mode=triangular2", "cosine warmup=7 min=1e-5", "cosine unit=epoch", "step warmup=3 unit=epoch"}
	for _, text := range specs {
		s, err := spec.ParseSchedule(text)
		if err != nil {
			t.Fatal(err)
		}
		rate, _, err := s.BuildRate(lr, 4, 25)
		if err != nil {
			t.Fatalf("%s: BuildRate: %v", text, err)
		}
		for step := range 130 {
			got, want := rate.Multiplier.At(step), rate.Schedule.At(step)/lr
			if math.Abs(got-want) > 1e-12*math.Max(1, math.Abs(want)) {
				t.Errorf("%s: Multiplier.At(%d) = %v; want %v", text, step, got, want)
				break
			}
		}
	}
	s, _ := spec.ParseSchedule("plateau patience=0")
	rate, _, err := s.BuildRate(lr, 4, 25)
	if err != nil {
		t.Fatal(err)
	}
	p := rate.Schedule.(*schedule.Plateau)
	p.Observe(1)
	p.Observe(2) // no improvement: the rate falls by factor 0.1
	if got := rate.Multiplier.At(0); math.Abs(got-0.1) > 1e-15 {
		t.Errorf("plateau: Multiplier.At(0) after a reduction = %v; want 0.1", got)
	}
	if rate, _, err := s.BuildRate(0, 4, 25); err != nil || rate.Multiplier != nil {
		t.Errorf("BuildRate(lr 0) = %+v, %v; want no multiplier", rate, err)
	}
}
