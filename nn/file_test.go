package nn

import (
	"bytes"
	"encoding/binary"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
)

func smallModel[T float32 | float64](seed uint64) *Sequential[T] {
	rng := rand.New(rand.NewPCG(seed, seed))
	return NewSequential(
		NewLinear[T](3, 2, rng),
		NewBatchNorm1d[T](2),
		NewReLU[T](),
		NewLinear[T](2, 1, rng),
	)
}

func TestSaveLoadRoundTrip(t *testing.T) {
	src := smallModel[float32](1)
	bn := src.Layers()[1].(*BatchNorm[float32])
	bn.RunningMean()[1] = 0.25
	bn.numBatches[0] = 42
	var buf bytes.Buffer
	if err := Save(&buf, src); err != nil {
		t.Fatal(err)
	}
	dst := smallModel[float32](2)
	if err := Load(dst, buf.Bytes()); err != nil {
		t.Fatal(err)
	}
	for i, p := range src.Params() {
		for j, v := range p.Value {
			if got := dst.Params()[i].Value[j]; got != v {
				t.Fatalf("%s[%d] = %v after loading; want %v", p.Name, j, got, v)
			}
		}
	}
	got := dst.Layers()[1].(*BatchNorm[float32])
	if got.RunningMean()[1] != 0.25 || got.NumBatchesTracked() != 42 {
		t.Errorf("buffers after loading: running_mean %v, num_batches_tracked %d; want 0.25, 42", got.RunningMean(), got.NumBatchesTracked())
	}

	// The same weights give the same bytes.
	var again bytes.Buffer
	if err := Save(&again, dst); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), again.Bytes()) {
		t.Error("saving identical weights gave different bytes")
	}

	// PyTorch's types: F32 for a float32 model, I64 with shape [] for the counter.
	header := string(buf.Bytes()[8 : 8+binary.LittleEndian.Uint64(buf.Bytes())])
	for _, want := range []string{
		`"0.weight":{"dtype":"F32","shape":[2,3],`,
		`"1.num_batches_tracked":{"dtype":"I64","shape":[],`,
	} {
		if !strings.Contains(header, want) {
			t.Errorf("header %s\nlacks %s", header, want)
		}
	}
}

// TestLoadPyTorchFile loads a file laid out as PyTorch's
// safetensors.torch.save_file writes a float64 model's state_dict, into a
// float32 model: the values convert.
func TestLoadPyTorchFile(t *testing.T) {
	type entry struct {
		name, dtype, shape string
		data               []byte
	}
	f64 := func(v ...float64) []byte {
		var b []byte
		for _, x := range v {
			b = binary.LittleEndian.AppendUint64(b, math.Float64bits(x))
		}
		return b
	}
	entries := []entry{ // in PyTorch's order: by dtype size, then name
		{"0.bias", "F64", "[2]", f64(0.5, -0.5)},
		{"0.weight", "F64", "[2,3]", f64(1, 2, 3, 4, 5, 6)},
		{"1.bias", "F64", "[2]", f64(0, 0.1)},
		{"1.num_batches_tracked", "I64", "[]", binary.LittleEndian.AppendUint64(nil, 7)},
		{"1.running_mean", "F64", "[2]", f64(0.2, 0.3)},
		{"1.running_var", "F64", "[2]", f64(1.5, 2.5)},
		{"1.weight", "F64", "[2]", f64(1, 0.9)},
		{"3.bias", "F64", "[1]", f64(0.125)},
		{"3.weight", "F64", "[1,2]", f64(-1, 1)},
	}
	var header, data bytes.Buffer
	header.WriteString("{")
	for i, e := range entries {
		if i > 0 {
			header.WriteString(",")
		}
		start := data.Len()
		data.Write(e.data)
		header.WriteString(`"` + e.name + `":{"dtype":"` + e.dtype + `","shape":` + e.shape +
			`,"data_offsets":[` + strconv.Itoa(start) + `,` + strconv.Itoa(data.Len()) + `]}`)
	}
	header.WriteString("}")
	for header.Len()%8 != 0 {
		header.WriteString(" ")
	}
	file := binary.LittleEndian.AppendUint64(nil, uint64(header.Len()))
	file = append(append(file, header.Bytes()...), data.Bytes()...)

	m := smallModel[float32](1)
	if err := Load(m, file); err != nil {
		t.Fatal(err)
	}
	if got := m.Params()[0].Value; got[5] != 6 {
		t.Errorf("0.weight = %v; want [1 2 3 4 5 6]", got)
	}
	bn := m.Layers()[1].(*BatchNorm[float32])
	if bn.RunningVar()[1] != 2.5 || bn.NumBatchesTracked() != 7 {
		t.Errorf("running_var %v, num_batches_tracked %d; want [1.5 2.5], 7", bn.RunningVar(), bn.NumBatchesTracked())
	}
}

// TestLoadNamesWhatIsWrong checks that a missing, extra or mis-shaped
// tensor is an error naming it (and both shapes), and that a failed load
// leaves the model unchanged.
func TestLoadNamesWhatIsWrong(t *testing.T) {
	var buf bytes.Buffer
	other := NewSequential(
		NewLinear[float64](3, 2, rand.New(rand.NewPCG(1, 1))),
		NewTanh[float64](),
		NewReLU[float64](),
		NewLinear[float64](2, 5, rand.New(rand.NewPCG(1, 1))),
		NewLinear[float64](5, 1, rand.New(rand.NewPCG(1, 1))),
	)
	if err := Save(&buf, other); err != nil {
		t.Fatal(err)
	}
	m := smallModel[float64](3)
	before := append([]float64(nil), m.Params()[0].Value...)
	err := Load(m, buf.Bytes())
	if err == nil {
		t.Fatal("Load of a different model's file succeeded")
	}
	for _, want := range []string{
		`nn: load: missing tensor "1.weight" (shape [2])`,
		`nn: load: missing tensor "1.num_batches_tracked" (shape [])`,
		`nn: load: tensor "3.weight" has shape [5 2] in the file; the model's is [1 2]`,
		`nn: load: tensor "3.bias" has shape [5] in the file; the model's is [1]`,
		`nn: load: unexpected tensor "4.weight" (shape [1 5]) in the file`,
		`nn: load: unexpected tensor "4.bias" (shape [1]) in the file`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Load error\n%v\nlacks %s", err, want)
		}
	}
	if m.Params()[0].Value[0] != before[0] {
		t.Error("a failed Load changed the model")
	}

	err = Load(m, []byte("not a model"))
	if err == nil || !strings.HasPrefix(err.Error(), "nn: load: not a safetensors file") {
		t.Errorf("Load of garbage: %v", err)
	}
}
