package nn

import (
	"bytes"
	"math"
	"os"
	"strings"
	"testing"

	"github.com/nlpodyssey/safetensors"

	"github.com/descentml/descent/autograd"
	"github.com/descentml/descent/tensor"
)

// params is a module of nothing but named parameters, to load any file's
// tensors into.
type params[T tensor.Float] struct{ ps []Param[T] }

func (p *params[T]) Forward(t *autograd.Tape[T], x *autograd.Var[T]) (*autograd.Var[T], error) {
	return x, nil
}
func (p *params[T]) Params() []Param[T]   { return p.ps }
func (p *params[T]) Buffers() []Buffer[T] { return nil }

// loadAll loads every tensor of the safetensors file into a module of T.
func loadAll[T tensor.Float](t *testing.T, file []byte) map[string][]T {
	st, err := safetensors.Deserialize(file)
	if err != nil {
		t.Fatal(err)
	}
	m := new(params[T])
	for _, name := range st.Names() {
		tv, _ := st.Tensor(name)
		shape := make([]int, len(tv.Shape()))
		for i, d := range tv.Shape() {
			shape[i] = int(d)
		}
		m.ps = append(m.ps, newParam(name, tensor.New[T](shape...)))
	}
	if err := Load[T](m, file); err != nil {
		t.Fatal(err)
	}
	values := make(map[string][]T)
	for _, p := range m.ps {
		values[p.Name] = p.Value
	}
	return values
}

// TestLoadHalf loads F16 and BF16 tensors written by PyTorch 1.13
// (testdata/half.py: every 257th bit pattern and the special values, and
// an nn.Linear saved in bfloat16) into float32 and float64 models, and
// checks each value against PyTorch's own conversion to float32 in the same
// file, bit for bit.
func TestLoadHalf(t *testing.T) {
	file, err := os.ReadFile("testdata/half.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	f32, f64 := loadAll[float32](t, file), loadAll[float64](t, file)
	for half, want := range map[string]string{
		"f16": "f16_f32", "bf16": "bf16_f32",
		"linear.weight": "linear_f32.weight", "linear.bias": "linear_f32.bias",
	} {
		for i, w := range f32[want] {
			if got := f32[half][i]; math.Float32bits(got) != math.Float32bits(w) {
				t.Errorf("Load %s[%d] into float32 = %v (%#08x); want %v (%#08x), PyTorch's", half, i, got, math.Float32bits(got), w, math.Float32bits(w))
			}
			if got := f64[half][i]; math.Float64bits(got) != math.Float64bits(float64(w)) {
				t.Errorf("Load %s[%d] into float64 = %v (%#016x); want %v, PyTorch's", half, i, got, math.Float64bits(got), w)
			}
		}
	}
}

// TestHalfToFloat32 checks the conversion of every binary16 bit pattern
// against its value computed from the definition (sign, exponent,
// significand), and NaNs for their payload and quiet bit.
func TestHalfToFloat32(t *testing.T) {
	for h := range 1 << 16 {
		got := halfToFloat32(uint16(h))
		sign, exp, mant := h>>15, h>>10&0x1f, h&0x3ff
		var want float64
		switch {
		case exp == 0x1f && mant != 0:
			if bits := math.Float32bits(got); !math.IsNaN(float64(got)) || bits>>31 != uint32(sign) || bits&0x7fffff != 0x400000|uint32(mant)<<13 {
				t.Errorf("halfToFloat32(%#04x) = %#08x; want a quiet NaN with payload %#x", h, bits, mant)
			}
			continue
		case exp == 0x1f:
			want = math.Inf(1)
		case exp == 0:
			want = math.Ldexp(float64(mant), -24)
		default:
			want = math.Ldexp(float64(1024+mant), exp-25)
		}
		if sign == 1 {
			want = -want
		}
		if math.Float32bits(got) != math.Float32bits(float32(want)) || float64(float32(want)) != want {
			t.Errorf("halfToFloat32(%#04x) = %v; want %v", h, got, want)
		}
	}
}

// TestLoadRejectsOtherTypes checks that an integer tensor where the model
// has a float parameter is an error naming the types Load reads.
func TestLoadRejectsOtherTypes(t *testing.T) {
	file := make([]byte, 8)
	header := `{"w":{"dtype":"I32","shape":[2],"data_offsets":[0,8]}}`
	file[0] = byte(len(header))
	file = append(append(file, header...), make([]byte, 8)...)
	m := &params[float32]{ps: []Param[float32]{newParam("w", tensor.New[float32](2))}}
	err := Load[float32](m, file)
	if want := `nn: load: tensor "w" is I32 in the file; want F16, BF16, F32 or F64`; err == nil || err.Error() != want {
		t.Errorf("Load(I32 tensor) = %v; want %s", err, want)
	}
}

// TestLoadPrefix loads a model from a file that holds it under "model."
// beside other tensors, and checks what LoadPrefix reports of missing and
// extra tensors under a prefix.
func TestLoadPrefix(t *testing.T) {
	src := smallModel[float32](1)
	views := map[string]view{"step": intView(nil, []int64{7}), "head.weight": floatView([]int{2}, []float32{1, 2})}
	for _, p := range src.Params() {
		views["model."+p.Name] = floatView(p.Shape, p.Value)
	}
	for _, b := range src.Buffers() {
		if b.Value != nil {
			views["model."+b.Name] = floatView(b.Shape, b.Value)
		} else {
			views["model."+b.Name] = intView(b.Shape, b.Int)
		}
	}
	write := func() []byte {
		var buf bytes.Buffer
		if err := WriteSafetensors(&buf, views, nil); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	file := write()
	dst := smallModel[float32](2)
	if err := LoadPrefix(dst, file, "model."); err != nil {
		t.Fatal(err)
	}
	if !sameState(src, dst) {
		t.Error(`LoadPrefix(file, "model.") did not give the saved model`)
	}
	if err := Load(dst, file); err == nil || !strings.Contains(err.Error(), `the model's "0.weight" is there under the prefix "model." (LoadPrefix)`) {
		t.Errorf("Load of a file under model. = %v; want an error naming the prefix model.", err)
	}
	if err := LoadPrefix(dst, file, "model"); err == nil || strings.Count(err.Error(), "\n") > 0 ||
		!strings.Contains(err.Error(), `none of the model's tensors is in the file under the prefix "model"`) {
		t.Errorf(`LoadPrefix(file, "model") = %v; want one error saying no tensor matched`, err)
	}

	views["model.9.weight"] = floatView([]int{1}, []float32{0})
	delete(views, "model.0.bias")
	err := LoadPrefix(dst, write(), "model.")
	for _, want := range []string{`missing tensor "model.0.bias" (shape [2])`, `unexpected tensor "model.9.weight" (shape [1])`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf(`LoadPrefix(file, "model.") = %v; want an error with %s`, err, want)
		}
	}
	if err != nil && strings.Contains(err.Error(), "head.weight") {
		t.Errorf(`LoadPrefix(file, "model.") = %v; want head.weight, outside the prefix, left alone`, err)
	}
}
