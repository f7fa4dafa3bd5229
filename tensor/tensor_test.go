package tensor

import (
	"strings"
	"testing"
)

func TestMatMul(t *testing.T) {
	a := FromSlice([]float64{1, 2, 3, 4, 5, 6}, 2, 3)
	b := FromSlice([]float64{7, 8, 9, 10, 11, 12}, 3, 2)
	c, err := MatMul(a, b)
	if err != nil {
		t.Fatal(err)
	}
	want := []float64{58, 64, 139, 154}
	if !SameShape(c.Shape(), []int{2, 2}) {
		t.Fatalf("MatMul shape = %v; want [2 2]", c.Shape())
	}
	for i, v := range c.Data() {
		if v != want[i] {
			t.Errorf("MatMul[%d] = %v; want %v", i, v, want[i])
		}
	}
}

func TestShapeErrorsNameBothShapes(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  func() error
		want string
	}{
		{"matmul", func() error { _, err := MatMul(New[float32](32, 784), New[float32](128, 10)); return err },
			"tensor: matmul [32 784] × [128 10]: inner dimensions 784 and 128 differ"},
		{"matmul-transposed", func() error { _, _, _, err := MatMulShape([]int{32, 784}, []int{10, 128}, false, true); return err },
			"tensor: matmul [32 784] × [10 128]ᵀ: inner dimensions 784 and 128 differ"},
		{"matmul-rank", func() error { _, err := MatMul(New[float32](3), New[float32](3, 1)); return err },
			"tensor: matmul [3] × [3 1]: want two matrices (rank 2)"},
		{"broadcast", func() error { _, err := Broadcast(nil, "add", []int{3, 4}, []int{5}); return err },
			"tensor: add [3 4] and [5]: dimensions 4 and 5 do not broadcast"},
		{"reshape", func() error { _, err := New[float64](6, 4).Reshape(5, 5); return err },
			"tensor: reshape [6 4] to [5 5]: 24 values do not fill 25"},
		{"reshape-infer", func() error { _, err := New[float64](6, 4).Reshape(-1, 5); return err },
			"tensor: reshape [6 4] to [-1 5]: 24 values cannot be split that way"},
		{"transpose", func() error { _, err := Transpose(New[float64](2, 3, 4)); return err },
			"tensor: transpose [2 3 4]: want a matrix (rank 2)"},
	} {
		err := tc.err()
		if err == nil || err.Error() != tc.want {
			t.Errorf("%s: error = %v; want %q", tc.name, err, tc.want)
		}
	}
}

func TestBroadcast(t *testing.T) {
	for _, tc := range []struct{ a, b, want []int }{
		{[]int{3, 4}, []int{4}, []int{3, 4}},
		{[]int{2, 3, 1}, []int{1, 4}, []int{2, 3, 4}},
		{[]int{}, []int{2, 3}, []int{2, 3}},
		{[]int{5, 1}, []int{5, 1}, []int{5, 1}},
	} {
		got, err := Broadcast(nil, "add", tc.a, tc.b)
		if err != nil || !SameShape(got, tc.want) {
			t.Errorf("Broadcast(%v, %v) = %v, %v; want %v", tc.a, tc.b, got, err, tc.want)
		}
	}
	if got := BroadcastStrides(nil, []int{3, 1}, []int{2, 3, 4}); !SameShape(got, []int{0, 1, 0}) {
		t.Errorf("BroadcastStrides([3 1], [2 3 4]) = %v; want [0 1 0]", got)
	}
}

// TestForEachRow checks the row walk against the broadcast index formula.
func TestForEachRow(t *testing.T) {
	shape, a, b := []int{2, 3, 4}, []int{3, 1}, []int{2, 1, 4}
	sa, sb := BroadcastStrides(nil, a, shape), BroadcastStrides(nil, b, shape)
	idx := make([]int, len(shape))
	var got [][3]int
	ForEachRow(shape, sa, sb, idx, func(o, ia, ib, n int) {
		if n != 4 {
			t.Fatalf("row length %d; want 4", n)
		}
		for j := 0; j < n; j++ {
			got = append(got, [3]int{o + j, ia + j*sa[2], ib + j*sb[2]})
		}
	})
	if len(got) != 24 {
		t.Fatalf("visited %d elements; want 24", len(got))
	}
	for _, g := range got {
		i, j, k := g[0]/12, g[0]/4%3, g[0]%4
		if wa, wb := j, i*4+k; g[1] != wa || g[2] != wb {
			t.Errorf("element (%d,%d,%d): offsets %d, %d; want %d, %d", i, j, k, g[1], g[2], wa, wb)
		}
	}
	var calls int
	ForEachRow(nil, nil, nil, nil, func(o, ia, ib, n int) { calls++ })
	if calls != 1 {
		t.Errorf("ForEachRow over a scalar made %d calls; want 1", calls)
	}
}

func TestViewsShareData(t *testing.T) {
	x := FromSlice([]float32{0, 1, 2, 3, 4, 5}, 3, 2)
	r, err := x.Reshape(2, -1)
	if err != nil {
		t.Fatal(err)
	}
	if !SameShape(r.Shape(), []int{2, 3}) {
		t.Fatalf("Reshape(2, -1) shape = %v; want [2 3]", r.Shape())
	}
	s := x.Slice(1, 3)
	if !SameShape(s.Shape(), []int{2, 2}) || s.At(0, 0) != 2 {
		t.Fatalf("Slice(1, 3) = %v; want [2 2] [2 3 4 5]", s)
	}
	s.Set(-1, 1, 1)
	if x.At(2, 1) != -1 || r.At(1, 2) != -1 {
		t.Errorf("a write through a slice is not seen by the tensor and its reshape: %v, %v", x, r)
	}
	if got := x.String(); got != "[3 2] [0 1 2 3 4 -1]" {
		t.Errorf("String() = %q", got)
	}
	long := New[float64](40).String()
	if !strings.Contains(long, "…(24 more)…") {
		t.Errorf("String of 40 elements = %q; want it elided", long)
	}
}

func TestPanicsAreConstant(t *testing.T) {
	for _, tc := range []struct {
		name string
		f    func()
		want string
	}{
		{"FromSlice", func() { FromSlice([]float64{1, 2, 3}, 2, 2) }, "tensor: data length does not match shape"},
		{"Slice", func() { New[float64](3, 2).Slice(2, 4) }, "tensor: slice bounds out of range"},
		{"At", func() { New[float64](3, 2).At(3, 0) }, "tensor: index out of range"},
		{"Item", func() { New[float64](2).Item() }, "tensor: Item of a tensor that does not hold exactly one element"},
	} {
		func() {
			defer func() {
				if r := recover(); r != tc.want {
					t.Errorf("%s: panic %v; want %q", tc.name, r, tc.want)
				}
			}()
			tc.f()
		}()
	}
}

func TestArenaReusesBuffers(t *testing.T) {
	var a Arena[float32]
	pass := func() (*Tensor[float32], *Tensor[float32]) {
		x := a.Zeros(4, 5)
		y := a.Get(3)
		v := a.View(x.Data()[:10], 2, 5)
		_ = v
		return x, y
	}
	x1, y1 := pass()
	x1.Data()[0] = 7
	a.Reset()
	allocs := testing.AllocsPerRun(10, func() {
		a.Reset()
		pass()
	})
	if allocs != 0 {
		t.Errorf("a repeated pass allocates %v times; want 0", allocs)
	}
	a.Reset()
	x2, y2 := pass()
	if &x1.Data()[0] != &x2.Data()[0] || &y1.Data()[0] != &y2.Data()[0] {
		t.Error("the second pass did not reuse the first pass's buffers")
	}
	if x2.Data()[0] != 0 {
		t.Errorf("Zeros after Reset holds %v; want 0", x2.Data()[0])
	}
	// A larger request in the same slot gets a new, larger buffer.
	a.Reset()
	if big := a.Get(100); big.Len() != 100 {
		t.Errorf("Get(100).Len() = %d", big.Len())
	}
}
