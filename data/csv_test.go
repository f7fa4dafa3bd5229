package data

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestReadCSV(t *testing.T) {
	for _, c := range []struct {
		name, in, label string
		x               []float32
		y               []int
		classes, feats  []string
	}{
		{
			name:  "header, string labels by name in the middle",
			in:    "sepal,species,petal\n1.5,setosa,2\n2.5,virginica,3\n3,setosa,4.5\n",
			label: "species",
			x:     []float32{1.5, 2, 2.5, 3, 3, 4.5}, y: []int{0, 1, 0},
			classes: []string{"setosa", "virginica"}, feats: []string{"sepal", "petal"},
		},
		{
			name: "no header, integer labels last, sorted as numbers",
			in:   "1,2,10\n3,4,9\n5,6,2\n",
			x:    []float32{1, 2, 3, 4, 5, 6}, y: []int{2, 1, 0},
			classes: []string{"2", "9", "10"},
		},
		{
			name: "no header, string labels by index 0",
			in:   "b,1,2\na,3,4\n", label: "0",
			x: []float32{1, 2, 3, 4}, y: []int{1, 0},
			classes: []string{"a", "b"},
		},
		{
			name: "header found with the default label",
			in:   "x,y,label\n1,2,cat\n3,4,dog\n",
			x:    []float32{1, 2, 3, 4}, y: []int{0, 1},
			classes: []string{"cat", "dog"}, feats: []string{"x", "y"},
		},
		{
			name: "header by index",
			in:   "x,y,z\n1,2,3\n4,5,6\n", label: "1",
			x: []float32{1, 3, 4, 6}, y: []int{0, 1},
			classes: []string{"2", "5"}, feats: []string{"x", "z"},
		},
		{
			name: "spaces, quotes, CRLF, decimal labels",
			in:   " 1 , \"2\",0.5\r\n-3e2,4 , 1.5 \r\n",
			x:    []float32{1, 2, -300, 4}, y: []int{0, 1},
			classes: []string{"0.5", "1.5"},
		},
	} {
		s, err := ReadCSV(strings.NewReader(c.in), c.label)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if !slices.Equal(s.X, c.x) || !slices.Equal(s.Y, c.y) || !slices.Equal(s.ClassNames, c.classes) || !slices.Equal(s.FeatureNames, c.feats) {
			t.Errorf("%s: ReadCSV = X %v, Y %v, classes %q, features %q; want %v, %v, %q, %q", c.name, s.X, s.Y, s.ClassNames, s.FeatureNames, c.x, c.y, c.classes, c.feats)
		}
		if want := len(c.x) / len(c.y); !slices.Equal(s.Shape(), []int{want}) || s.Classes() != len(c.classes) {
			t.Errorf("%s: shape %v, %d classes; want [%d], %d", c.name, s.Shape(), s.Classes(), want, len(c.classes))
		}
	}
}

func TestReadCSVErrors(t *testing.T) {
	for _, c := range []struct{ in, label, want string }{
		{"1,2,3\n4,5\n", "", "line 2: 2 columns; want 3 as on line 1"},
		{"1,2,a\n3,x,b\n", "", `line 2, column 2: "x" is not a number`},
		{"f,g,l\n1,2,a\n3,x,b\n", "", `line 3, column 2 ("g"): "x" is not a number`},
		{"f,g,l\n1,2,a\n3,,b\n", "", `line 3, column 2 ("g"): "" is not a number`},
		{"1,NaN,a\n", "", `line 1, column 2: "NaN" is not a finite number`},
		{"1,2,a\n1,-Inf,a\n", "", `line 2, column 2: "-Inf" is not a finite number`},
		{"1,1e40,a\n", "", `line 1, column 2: "1e40" is out of the range of float32`},
		{"1,2,a\n1,2, \n", "", "line 2, column 3: empty label"},
		{"a,b,c\n1,2,3\n", "foo", `no column named "foo" in the header: a, b, c`},
		{"1,2,3\n", "5", "label column 5 out of range: the file has 3 columns, 0 to 2"},
		{"1,2,3\n", "-1", "label column -1 out of range"},
		{"1\n2\n", "", "line 1: 1 column; want at least 2"},
		{"", "", "no rows"},
		{"a,b,c\n", "", "no data rows"},
		{"1,2,3\n1,\"2,3\n", "", `line 2: extraneous or missing " in quoted-field (at byte 8)`},
	} {
		_, err := ReadCSV(strings.NewReader(c.in), c.label)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "data: ") {
			t.Errorf("ReadCSV(%q, %q) error = %v; want %q", c.in, c.label, err, c.want)
		}
	}
}

func TestLoadCSV(t *testing.T) {
	dir := t.TempDir()
	text := "a,b,kind\n" + strings.Repeat("1,2,x\n3,5,y\n5,8,x\n7,11,y\n", 10)
	plain := writeFile(t, filepath.Join(dir, "t.csv"), []byte(text))
	gz := writeFile(t, filepath.Join(dir, "t.csv.gz"), gzipBytes([]byte(text)))
	a, err := LoadCSV(plain, "kind")
	if err != nil {
		t.Fatal(err)
	}
	b, err := LoadCSV(gz, "")
	if err != nil {
		t.Fatal(err)
	}
	if a.Len() != 40 || !slices.Equal(a.X, b.X) || !slices.Equal(a.Y, b.Y) {
		t.Errorf("LoadCSV of plain and gzipped copies differ, or not 40 rows (%d)", a.Len())
	}

	bad := writeFile(t, filepath.Join(dir, "bad.csv"), []byte("1,2,3\n4,5\n"))
	if _, err := LoadCSV(bad, ""); err == nil || !strings.Contains(err.Error(), bad+": line 2: 2 columns") {
		t.Errorf("LoadCSV(bad) error = %v; want it to name %s and line 2", err, bad)
	}
}

// TestReadCSVContinuousLabel checks that a label column with more distinct
// values than MaxCSVClasses is refused, naming the column (counted from 0,
// as ReadCSV's label is) and the count, instead of becoming hundreds of
// classes.
func TestReadCSVContinuousLabel(t *testing.T) {
	var b strings.Builder
	b.WriteString("a,price,b\n")
	for i := range 300 {
		fmt.Fprintf(&b, "%d,%g,%d\n", i%7, float64(i)*1.5, i%3)
	}
	_, err := ReadCSV(strings.NewReader(b.String()), "price")
	want := `label column 1 ("price") has 300 distinct values: more than 100 classes` // counted from 0, as the label argument is
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf(`ReadCSV(…, "price") error = %v; want it to say %q`, err, want)
	}
	if _, err := ReadCSV(strings.NewReader(b.String()), "b"); err != nil {
		t.Errorf(`ReadCSV(…, "b") = %v; want 3 classes`, err)
	}
}
