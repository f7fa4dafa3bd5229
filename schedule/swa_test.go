package schedule_test

import (
	"math"
	"strings"
	"testing"

	"github.com/descentml/descent/schedule"
)

// TestSWALRMatchesPyTorch checks SWALR against the rates of PyTorch 1.13's
// torch.optim.swa_utils.SWALR on an SGD optimizer: lrs[k] is the rate
// after k calls of swa_scheduler.step(), lrs[0] the optimizer's rate
// before (From). Made on this machine with
//
//	s = SWALR(opt, swa_lr=To, anneal_epochs=Anneal, anneal_strategy=…)
//	for _ in range(n): opt.step(); s.step(); lrs.append(opt.param_groups[0]["lr"])
//
// PyTorch recomputes the rate from the previous one, SWALR from k alone:
// they agree up to rounding.
func TestSWALRMatchesPyTorch(t *testing.T) {
	for _, tc := range []struct {
		s   schedule.SWALR
		lrs []float64
	}{
		{schedule.SWALR{From: 0.1, To: 0.05, Anneal: 5}, []float64{0.1, 0.0952254248593737, 0.08272542485937369, 0.06727457514062632, 0.05477457514062632, 0.05, 0.05, 0.05, 0.05}},
		{schedule.SWALR{From: 0.1, To: 0.05, Anneal: 5, Linear: true}, []float64{0.1, 0.09000000000000002, 0.08000000000000002, 0.07, 0.06000000000000001, 0.05, 0.05, 0.05, 0.05}},
		{schedule.SWALR{From: 0.02, To: 0.3, Anneal: 3}, []float64{0.02, 0.08999999999999998, 0.22999999999999995, 0.3, 0.3, 0.3}},
		{schedule.SWALR{From: 0.1, To: 0.05, Anneal: 1, Linear: true}, []float64{0.1, 0.05, 0.05, 0.05}},
		// anneal_epochs=0: PyTorch's constructor already sets swa_lr
		// (lrs[0] = 0.05 there); SWALR starts from From and switches at k = 1.
		{schedule.SWALR{From: 0.1, To: 0.05, Anneal: 0}, []float64{0.1, 0.05, 0.05, 0.05}},
	} {
		if err := tc.s.Validate(); err != nil {
			t.Fatalf("%+v: %v", tc.s, err)
		}
		for k, want := range tc.lrs {
			if got := tc.s.At(k); math.Abs(got-want) > 1e-14*want {
				t.Errorf("%+v.At(%d) = %v; want %v", tc.s, k, got, want)
			}
		}
	}
}

func TestSWALRValidate(t *testing.T) {
	for _, tc := range []struct {
		s    schedule.SWALR
		want string
	}{
		{schedule.SWALR{From: 0.1, To: 0.05, Anneal: -1}, "SWALR.Anneal = -1"},
		{schedule.SWALR{From: 0.1, To: -0.05}, "SWALR.To = -0.05"},
		{schedule.SWALR{From: math.NaN(), To: 0.05}, "SWALR.From = NaN"},
	} {
		if err := tc.s.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v.Validate() = %v; want an error containing %q", tc.s, err, tc.want)
		}
	}
}
