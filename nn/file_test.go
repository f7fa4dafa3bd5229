package nn

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/nlpodyssey/safetensors"
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

// sameState reports whether a and b hold the same parameters and buffers,
// bit for bit.
func sameState(a, b *Sequential[float32]) bool {
	for i, p := range a.Params() {
		for j, v := range p.Value {
			if math.Float32bits(b.Params()[i].Value[j]) != math.Float32bits(v) {
				return false
			}
		}
	}
	for i, buf := range a.Buffers() {
		q := b.Buffers()[i]
		for j, v := range buf.Value {
			if math.Float32bits(q.Value[j]) != math.Float32bits(v) {
				return false
			}
		}
		for j, v := range buf.Int {
			if q.Int[j] != v {
				return false
			}
		}
	}
	return true
}

// TestLoadDetectsFlippedBytes changes each byte of a saved model in turn
// (every bit of it, and all eight at once): a change in the tensor data is
// always refused, and a change in the header is refused unless it is in
// the checksum's own key, which makes the file one without a checksum but
// changes nothing else.
func TestLoadDetectsFlippedBytes(t *testing.T) {
	src := smallModel[float32](1)
	var buf bytes.Buffer
	if err := Save(&buf, src); err != nil {
		t.Fatal(err)
	}
	file := buf.Bytes()
	dataStart := dataStartOf(file)
	keyStart := bytes.Index(file, []byte(ChecksumKey))
	harmless := 0
	for i := range file {
		for _, mask := range []byte{1, 2, 4, 8, 16, 32, 64, 128, 0xff} {
			b := bytes.Clone(file)
			b[i] ^= mask
			dst := smallModel[float32](2)
			err := Load(dst, b)
			switch {
			case err == nil && i >= dataStart:
				t.Fatalf("Load with byte %d of %d (data from %d) ^ %#x: no error", i, len(file), dataStart, mask)
			case err == nil && (!sameState(src, dst) || i < keyStart || i >= keyStart+len(ChecksumKey)):
				t.Fatalf("Load with header byte %d %q ^ %#x: no error", i, file[i], mask)
			case err == nil:
				harmless++
			case i >= dataStart && !strings.Contains(err.Error(), "nn: load: corrupt file: its CRC-32C is"):
				t.Fatalf("Load with byte %d ^ %#x: error %q; want it to say the checksum differs", i, mask, err)
			}
		}
	}
	t.Logf("%d bytes (%d of header): %d changes of %d to the checksum's key loaded the model unchanged", len(file), dataStart, harmless, 9*len(ChecksumKey))
}

func TestChecksum(t *testing.T) {
	var buf bytes.Buffer
	if err := Save(&buf, smallModel[float32](1)); err != nil {
		t.Fatal(err)
	}
	file := buf.Bytes()
	if ok, err := VerifyChecksum(file); !ok || err != nil {
		t.Fatalf("VerifyChecksum(Save's file) = %v, %v; want true, nil", ok, err)
	}
	// As ChecksumKey's documentation says to compute it.
	i := bytes.Index(file, []byte(`"descent.crc32c":"`)) + 18
	blank := append(append(bytes.Clone(file[:i]), "00000000"...), file[i+8:]...)
	if got, want := fmt.Sprintf("%08x", crc32.Checksum(blank, crc32.MakeTable(crc32.Castagnoli))), string(file[i:i+8]); got != want {
		t.Errorf("CRC-32C of the file with its checksum blanked = %s; the file says %s", got, want)
	}

	// A file without a checksum is not an error.
	plain, err := safetensors.Serialize(map[string]view{"x": floatView([]int{1}, []float32{1})}, map[string]string{"format": "pt"})
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := VerifyChecksum(plain); ok || err != nil {
		t.Errorf("VerifyChecksum(a file without a checksum) = %v, %v; want false, nil", ok, err)
	}

	// A header rewritten by another program, with a space after the colon.
	moved := rewriteHeader(file, `"descent.crc32c":"`, `"descent.crc32c": "`)
	if err := Load(smallModel[float32](2), moved); err == nil || !strings.Contains(err.Error(), "not where descent writes it") {
		t.Errorf("Load of a rewritten header: error %v; want it to say the checksum is not where descent writes it", err)
	}
	// A checksum in capitals.
	upper := rewriteHeader(file, string(file[i:i+8]), strings.ToUpper(string(file[i:i+8])))
	if err := Load(smallModel[float32](2), upper); err == nil {
		t.Errorf("Load with the checksum in capitals (%s): no error", file[i:i+8])
	}
	// A checksum of 7 digits.
	short := rewriteHeader(file, `"descent.crc32c":"`+string(file[i:i+8]), `"descent.crc32c":"`+string(file[i:i+7]))
	if err := Load(smallModel[float32](2), short); err == nil || !strings.Contains(err.Error(), "is not 8 lowercase hexadecimal digits") {
		t.Errorf("Load with a 7-digit checksum: error %v; want it to say so", err)
	}
}

// rewriteHeader replaces old with new in the header of a safetensors file,
// padding it again to 8 bytes.
func rewriteHeader(file []byte, old, new string) []byte {
	ds := dataStartOf(file)
	h := strings.Replace(strings.TrimRight(string(file[8:ds]), " "), old, new, 1)
	for len(h)%8 != 0 {
		h += " "
	}
	out := binary.LittleEndian.AppendUint64(nil, uint64(len(h)))
	return append(append(out, h...), file[ds:]...)
}

// dataStartOf returns the offset of a safetensors file's data.
func dataStartOf(file []byte) int { return 8 + int(binary.LittleEndian.Uint64(file)) }

// FuzzLoad checks that no file makes Load panic; that a file Load refuses
// leaves the model unchanged, as Load promises; and that a model Load
// fills is saved as a file that loads back bit for bit.
func FuzzLoad(f *testing.F) {
	var buf bytes.Buffer
	if err := Save(&buf, smallModel[float32](1)); err != nil {
		f.Fatal(err)
	}
	f.Add(buf.Bytes())
	f.Add(buf.Bytes()[:40])
	var f64 bytes.Buffer // float64 tensors, which a float32 model reads
	if err := Save(&f64, smallModel[float64](1)); err != nil {
		f.Fatal(err)
	}
	f.Add(f64.Bytes())
	f.Add(rewriteHeader(buf.Bytes(), `"descent.crc32c"`, `"other"`)) // no checksum, as PyTorch writes
	f.Add(rewriteHeader(buf.Bytes(), `"shape":[2,3]`, `"shape":[3,2]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		m := smallModel[float32](2)
		before := modelBits(m)
		if err := Load(m, b); err != nil {
			if !strings.HasPrefix(err.Error(), "nn: load: ") {
				t.Fatalf("error %q lacks the nn: load: prefix", err)
			}
			if !slices.Equal(modelBits(m), before) {
				t.Fatalf("Load refused the file (%v) but changed the model", err)
			}
			return
		}
		var out bytes.Buffer
		if err := Save(&out, m); err != nil {
			t.Fatalf("Save of a loaded model: %v", err)
		}
		m2 := smallModel[float32](3)
		if err := Load(m2, out.Bytes()); err != nil {
			t.Fatalf("Load of a loaded model's file: %v", err)
		}
		if !slices.Equal(modelBits(m2), modelBits(m)) {
			t.Fatal("a loaded model, saved and loaded again, differs")
		}
	})
}

// modelBits returns the bits of every parameter and buffer of m, in order.
func modelBits(m Module[float32]) []uint64 {
	var bits []uint64
	for _, p := range m.Params() {
		for _, v := range p.Value {
			bits = append(bits, uint64(math.Float32bits(v)))
		}
	}
	for _, b := range m.Buffers() {
		for _, v := range b.Value {
			bits = append(bits, uint64(math.Float32bits(v)))
		}
		for _, v := range b.Int {
			bits = append(bits, uint64(v))
		}
	}
	return bits
}
