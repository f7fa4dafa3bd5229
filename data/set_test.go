package data

import (
	"math"
	"slices"
	"strings"
	"testing"
)

func TestNewSetErrors(t *testing.T) {
	for _, c := range []struct {
		x       []float32
		y       []int
		shape   []int
		classes int
		want    string
	}{
		{make([]float32, 6), []int{0, 1}, []int{3}, 2, ""},
		{make([]float32, 5), []int{0, 1}, []int{3}, 2, "5 feature values for 2 examples of shape [3]; want 6"},
		{make([]float32, 6), []int{0, 2}, []int{3}, 2, "label 2 of example 1 out of range [0, 2)"},
		{make([]float32, 6), []int{0, -1}, []int{3}, 2, "label -1 of example 1"},
		{make([]float32, 6), []int{0, 1}, []int{3, 0}, 2, "shape [3 0] has a dimension ≤ 0"},
		{make([]float32, 6), []int{0, 1}, nil, 2, "empty shape"},
		{nil, nil, []int{3}, 0, "0 classes; want at least 1"},
	} {
		_, err := NewSet(c.x, c.y, c.shape, c.classes)
		if c.want == "" && err != nil || c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)) {
			t.Errorf("NewSet(%d values, %v, %v, %d) error = %v; want %q", len(c.x), c.y, c.shape, c.classes, err, c.want)
		}
	}
}

func TestSubset(t *testing.T) {
	s := testSet(t, 10, []int{2})
	s.ClassNames = []string{"a", "b", "c", "d", "e"}
	sub := s.Subset([]int{3, 3, 9})
	if sub.Len() != 3 || sub.Dim() != 2 || sub.Classes() != 5 || sub.ClassNames[4] != "e" {
		t.Fatalf("Subset = %d examples of %d, %d classes", sub.Len(), sub.Dim(), sub.Classes())
	}
	if !slices.Equal(sub.X, []float32{0.75, 0.875, 0.75, 0.875, 2.25, 2.375}) || !slices.Equal(sub.Y, []int{4, 4, 2}) {
		t.Errorf("Subset = %v, %v", sub.X, sub.Y)
	}
	sub.X[0] = -1
	if s.X[6] == -1 {
		t.Error("Subset shares X with its Set")
	}
}

// unbalanced returns a Set of 500 examples of one feature (its index) in 5
// classes of 10, 40, 100, 150 and 200 examples, interleaved.
func unbalanced(t *testing.T) *Set {
	sizes := []int{10, 40, 100, 150, 200}
	var y []int
	for len(y) < 500 {
		for k := range sizes {
			if sizes[k] > 0 {
				y = append(y, k)
				sizes[k]--
			}
		}
	}
	x := make([]float32, len(y))
	for i := range x {
		x[i] = float32(i)
	}
	s, err := NewSet(x, y, []int{1}, 5)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func classCounts(s *Set) []int {
	counts := make([]int, s.Classes())
	for _, l := range s.Y {
		counts[l]++
	}
	return counts
}

func TestSplit(t *testing.T) {
	s := unbalanced(t)
	for _, frac := range []float64{0, 0.01, 0.15, 0.5, 0.999, 1} {
		rest, held := s.Split(frac, 3)
		want := int(math.Round(frac * 500))
		if held.Len() != want || rest.Len() != 500-want {
			t.Errorf("Split(%g) = %d, %d examples; want %d, %d", frac, rest.Len(), held.Len(), 500-want, want)
		}
		got := slices.Sorted(slices.Values(append(slices.Clone(rest.X), held.X...)))
		if !slices.Equal(got, s.X) {
			t.Errorf("Split(%g): rest ∪ held is not the Set", frac)
		}
		// Stratified: each class to within one example of its share.
		all, counts := classCounts(s), classCounts(held)
		for k := range all {
			share := float64(all[k]) * float64(want) / 500
			if math.Abs(float64(counts[k])-share) > 1 {
				t.Errorf("Split(%g): %d held out of class %d; want %.2f ± 1", frac, counts[k], k, share)
			}
		}
		r2, h2 := s.Split(frac, 3)
		if !slices.Equal(r2.X, rest.X) || !slices.Equal(h2.Y, held.Y) {
			t.Errorf("Split(%g, 3) twice gave different splits", frac)
		}
	}
	_, a := s.Split(0.5, 1)
	_, b := s.Split(0.5, 2)
	if slices.Equal(a.X, b.X) {
		t.Error("Split with seeds 1 and 2 gave the same split")
	}
}

func TestHoldOutKeepsOrderAndPartitions(t *testing.T) {
	s := testSet(t, 50, []int{1})
	idx := []int{1, 4, 5, 8, 13, 21, 34, 40, 41, 49}
	rest, chosen := s.holdOut(idx, 4, 1, streamVal)
	if len(chosen) != 4 || len(rest) != 6 {
		t.Fatalf("holdOut(10 indices, 4) = %d, %d; want 6, 4", len(rest), len(chosen))
	}
	if !slices.IsSorted(rest) || !slices.IsSorted(chosen) {
		t.Errorf("holdOut = %v, %v; want each in increasing order", rest, chosen)
	}
	all := slices.Sorted(slices.Values(append(slices.Clone(rest), chosen...)))
	if !slices.Equal(all, idx) {
		t.Errorf("holdOut = %v, %v; want a partition of %v", rest, chosen, idx)
	}
}

func TestRelabel(t *testing.T) {
	s, err := ReadCSV(strings.NewReader("1,cat\n2,mouse\n3,cat\n"), "")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Relabel([]string{"cat", "dog", "mouse"}); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(s.Y, []int{0, 2, 0}) || s.Classes() != 3 || s.ClassNames[1] != "dog" {
		t.Errorf("Relabel = %v, %d classes %q; want [0 2 0], 3 classes", s.Y, s.Classes(), s.ClassNames)
	}
	for _, c := range []struct {
		names []string
		want  string
	}{
		{[]string{"dog", "mouse"}, `class "cat" is not one of ["dog" "mouse"]`},
		{[]string{"cat", "dog", "cat", "mouse"}, `class "cat" named twice`},
	} {
		if err := s.Relabel(c.names); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Relabel(%q) error = %v; want %q", c.names, err, c.want)
		}
	}
	if !slices.Equal(s.Y, []int{0, 2, 0}) {
		t.Errorf("a failed Relabel changed Y to %v", s.Y)
	}
	if err := testSet(t, 3, []int{1}).Relabel([]string{"a"}); err == nil || !strings.Contains(err.Error(), "5 classes with 0 names") {
		t.Errorf("Relabel of a set without names: error %v; want one", err)
	}
}

// TestCutIsSubset checks that cutting a set in place gives what copying its
// parts out with Subset gives.
func TestCutIsSubset(t *testing.T) {
	s := Digits()
	rest, held := s.holdOut(identity(s.Len()), 300, 5, streamVal)
	a, b := s.Subset(rest), s.Subset(held)
	parts := Digits().cut(rest, held)
	for i, want := range []*Set{a, b} {
		got := parts[i]
		if !slices.Equal(got.X, want.X) || !slices.Equal(got.Y, want.Y) || !slices.Equal(got.Shape(), want.Shape()) {
			t.Errorf("part %d differs from Subset", i)
		}
	}
}
