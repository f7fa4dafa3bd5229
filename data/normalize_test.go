package data

import (
	"math"
	"strings"
	"testing"
)

func TestNormalizer(t *testing.T) {
	// Three examples of three features; the last feature is constant.
	s, err := NewSet([]float32{
		1, 10, 5,
		2, 20, 5,
		3, 60, 5,
	}, []int{0, 1, 0}, []int{3}, 2)
	if err != nil {
		t.Fatal(err)
	}
	per := FitPerFeature(s)
	wantMean := []float32{2, 30, 5}
	wantStd := []float32{float32(math.Sqrt(2.0 / 3)), float32(math.Sqrt(1400.0 / 3)), 1}
	for j := range 3 {
		if !close32(per.Mean[j], wantMean[j]) || !close32(per.Std[j], wantStd[j]) {
			t.Errorf("FitPerFeature: feature %d = %g, %g; want %g, %g", j, per.Mean[j], per.Std[j], wantMean[j], wantStd[j])
		}
	}
	glob := FitGlobal(s)
	if m := float32(111.0 / 9); len(glob.Mean) != 1 || !close32(glob.Mean[0], m) {
		t.Errorf("FitGlobal mean = %v; want [%g]", glob.Mean, m)
	}

	if err := per.Apply(s); err != nil {
		t.Fatal(err)
	}
	for j := range 3 {
		m, sd := meanStd(s.X[j:], 3, 3)
		wantSd := float32(1)
		if !close32(m, 0) || !close32(sd, wantSd) {
			t.Errorf("after Apply: feature %d mean, std = %g, %g; want 0, 1", j, m, sd)
		}
	}
	if s.X[2] != 0 || s.X[5] != 0 {
		t.Errorf("constant feature after Apply = %g, %g; want 0 (centred, not divided by zero)", s.X[2], s.X[5])
	}
}

func close32(a, b float32) bool { return math.Abs(float64(a-b)) <= 1e-5*max(1, math.Abs(float64(b))) }

func TestNormalizerApplyErrors(t *testing.T) {
	s := testSet(t, 4, []int{3})
	before := append([]float32(nil), s.X...)
	for _, c := range []struct {
		nz   Normalizer
		want string
	}{
		{Normalizer{Mean: []float32{0, 0}, Std: []float32{1}}, "2 means but 1 standard deviations"},
		{Normalizer{Mean: []float32{0, 0}, Std: []float32{1, 1}}, "2 means; want 1 or 3"},
		{Normalizer{}, "0 means; want 1 or 3"},
		{Normalizer{Mean: []float32{0}, Std: []float32{0}}, "feature 0 has mean 0 and std 0"},
		{Normalizer{Mean: []float32{0, 1, float32(math.NaN())}, Std: []float32{1, 1, 1}}, "feature 2 has mean NaN"},
		{Normalizer{Mean: []float32{0}, Std: []float32{float32(math.Inf(1))}}, "std +Inf"},
		// A value so far from a tiny std that it leaves float32's range.
		{Normalizer{Mean: []float32{-3e38, 0, 0}, Std: []float32{1e-3, 1, 1}}, "example 0, feature 0: "},
	} {
		err := c.nz.Apply(s)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v.Apply error = %v; want %q", c.nz, err, c.want)
		}
	}
	for i := range before {
		if s.X[i] != before[i] {
			t.Fatal("a failed Apply changed the Set")
		}
	}
}
