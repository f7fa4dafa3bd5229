package nn

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"maps"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/nlpodyssey/safetensors"

	"github.com/descentml/descent/tensor"
)

// Save writes the parameters and buffers of m to w in the safetensors
// format, by their PyTorch names: floating-point tensors as F32 or F64 (the
// model's element type), integer buffers (num_batches_tracked) as I64. A
// PyTorch model with the same layers loads the file with
// safetensors.torch.load_file and load_state_dict.
//
// The file's metadata holds a checksum of the whole file under
// [ChecksumKey], which [Load] verifies; PyTorch ignores it.
//
// The output depends only on the names, shapes and values: saving the same
// weights twice gives identical bytes. Save does not sync or rename
// anything; writing a file atomically is the caller's job.
func Save[T tensor.Float](w io.Writer, m Module[T]) error {
	views := make(map[string]view)
	add := func(name string, v view) error {
		if _, dup := views[name]; dup {
			return fmt.Errorf("nn: save: two tensors named %q", name)
		}
		views[name] = v
		return nil
	}
	for _, p := range m.Params() {
		if err := add(p.Name, floatView(p.Shape, p.Value)); err != nil {
			return err
		}
	}
	for _, b := range m.Buffers() {
		v := floatView(b.Shape, b.Value)
		if b.Value == nil {
			v = intView(b.Shape, b.Int)
		}
		if err := add(b.Name, v); err != nil {
			return err
		}
	}
	if err := WriteSafetensors(w, views, nil); err != nil {
		return fmt.Errorf("nn: save: %w", err)
	}
	return nil
}

// ChecksumKey is the __metadata__ key under which descent stores the
// checksum of a safetensors file it writes ([Save], [WriteSafetensors]):
// eight lowercase hexadecimal digits, the CRC-32C (Castagnoli) of the whole
// file as written with those digits replaced by "00000000". In Python:
//
//	i = b.index(b'"descent.crc32c":"') + 18
//	crc32c.crc32c(b[:i] + b"00000000" + b[i+8:]) == int(b[i:i+8], 16)
//
// A CRC-32 detects every change of up to 32 consecutive bits, so every
// changed byte anywhere in the file (its length, header or data), and all
// but one in 2³² of other changes. The bytes it cannot guard are the
// key's own: a change there makes the file one without a checksum, which
// loads, unchanged otherwise, unless its reader requires a checksum (as
// checkpoints do). CRC-32C guards against accidents (a bad disk, a damaged
// copy), not against someone who means to change a file: whoever can
// change the file can change the checksum, so a cryptographic hash such as
// SHA-256 would protect nothing more, and costs more (CRC-32C is a
// hardware instruction on amd64 and arm64).
const ChecksumKey = "descent.crc32c"

// castagnoli is the CRC-32C table.
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// checksumPlaceholder stands for the checksum while it is computed.
const checksumPlaceholder = "00000000"

// WriteSafetensors writes tensors and metadata to w as a safetensors file,
// as safetensors.SerializeToWriter does, with its checksum added to the
// metadata under [ChecksumKey] (metadata itself is not changed). The
// tensors are serialized twice, first to compute the checksum: nothing is
// buffered.
func WriteSafetensors[V safetensors.View](w io.Writer, tensors map[string]V, metadata map[string]string) error {
	meta := maps.Clone(metadata)
	if meta == nil {
		meta = make(map[string]string, 1)
	}
	meta[ChecksumKey] = checksumPlaceholder
	h := crc32.New(castagnoli)
	if err := safetensors.SerializeToWriter(tensors, meta, h); err != nil {
		return err
	}
	meta[ChecksumKey] = fmt.Sprintf("%08x", h.Sum32())
	return safetensors.SerializeToWriter(tensors, meta, w)
}

// VerifyChecksum verifies the checksum that [WriteSafetensors] stores in
// file, a whole safetensors file, and reports whether it had one: a file
// without (written by PyTorch, or by descent before checksums) is not an
// error. A file whose header cannot be read is.
func VerifyChecksum(file []byte) (bool, error) {
	n, md, err := safetensors.ReadMetadata(file)
	if err != nil {
		return false, fmt.Errorf("not a safetensors file (corrupt or truncated): %w", err)
	}
	stored, ok := md.Metadata()[ChecksumKey]
	if !ok {
		return false, nil
	}
	want, err := strconv.ParseUint(stored, 16, 32)
	if err != nil || stored != fmt.Sprintf("%08x", want) {
		return true, fmt.Errorf("corrupt file: checksum %q (%s) is not 8 lowercase hexadecimal digits", stored, ChecksumKey)
	}
	// The key cannot appear elsewhere in the header as it does here: in a
	// string its quotes would be escaped, and a tensor's name is followed
	// by an object.
	needle := []byte(`"` + ChecksumKey + `":"` + stored + `"`)
	i := bytes.Index(file[8:8+n], needle)
	if i < 0 {
		return true, fmt.Errorf("checksum (%s) not where descent writes it: the file was rewritten by another program; delete that metadata entry to load it unchecked", ChecksumKey)
	}
	at := 8 + i + len(needle) - len(checksumPlaceholder) - 1
	got := crc32.Update(0, castagnoli, file[:at])
	got = crc32.Update(got, castagnoli, []byte(checksumPlaceholder))
	got = crc32.Update(got, castagnoli, file[at+len(checksumPlaceholder):])
	if got != uint32(want) {
		return true, fmt.Errorf("corrupt file: its CRC-32C is %08x but %s says %s: some of its %d bytes changed after it was written", got, ChecksumKey, stored, len(file))
	}
	return true, nil
}

// Load sets the parameters and buffers of m from data, a safetensors file
// (as Save or PyTorch's safetensors.torch.save_file writes it). Every tensor
// of the model must be in the file with the same shape, and the file must
// hold no other; floating-point tensors may be F16, BF16, F32 or F64
// whatever the model's element type, integer buffers must be I64. Otherwise
// Load returns an error that names each missing, extra or mismatched
// tensor (with both shapes) and leaves m unchanged. A file with a checksum
// ([ChecksumKey]) that does not match is an error too; a file without one
// loads unchecked.
//
// Values convert exactly, as PyTorch's .float() or .double() would, except
// F64 into a float32 model, which rounds to nearest: every F16 and BF16
// value (subnormals, infinities and NaNs included) is a float32, and an F16
// NaN comes out quiet with its payload, as in PyTorch.
func Load[T tensor.Float](m Module[T], data []byte) error { return LoadPrefix(m, data, "") }

// LoadPrefix is [Load] of the tensors in data whose names begin with prefix,
// read without it, as PyTorch's
//
//	m.load_state_dict({k[len(prefix):]: v for k, v in sd.items() if k.startswith(prefix)})
//
// for a checkpoint that wraps the model (every name under "model.", as
// PyTorch Lightning saves it, or "_orig_mod." from torch.compile) or holds
// a larger model (the "encoder." of one). Tensors without the prefix are
// left alone; those with it must be the model's, as for Load, and errors
// give their names in the file.
func LoadPrefix[T tensor.Float](m Module[T], data []byte, prefix string) error {
	st, err := safetensors.Deserialize(data)
	if err != nil {
		return fmt.Errorf("nn: load: not a safetensors file: %w", err)
	}
	if _, err := VerifyChecksum(data); err != nil {
		return fmt.Errorf("nn: load: %w", err)
	}
	type target struct {
		shape []int
		value []T
		ints  []int64
	}
	want := make(map[string]target)
	var names []string
	for _, p := range m.Params() {
		want[p.Name] = target{shape: p.Shape, value: p.Value}
		names = append(names, p.Name)
	}
	for _, b := range m.Buffers() {
		want[b.Name] = target{shape: b.Shape, value: b.Value, ints: b.Int}
		names = append(names, b.Name)
	}

	var problems []error
	found := make(map[string]safetensors.TensorView)
	present := 0 // of the model's names in the file
	for _, name := range names {
		tgt := want[name]
		tv, ok := st.Tensor(prefix + name)
		if !ok {
			problems = append(problems, fmt.Errorf("nn: load: missing tensor %q (shape %v)", prefix+name, tgt.shape))
			continue
		}
		present++
		if !sameShape(tv.Shape(), tgt.shape) {
			problems = append(problems, fmt.Errorf("nn: load: tensor %q has shape %v in the file; the model's is %v", prefix+name, tv.Shape(), tgt.shape))
			continue
		}
		switch dt := tv.DType(); {
		case tgt.value != nil && dt != safetensors.F16 && dt != safetensors.BF16 && dt != safetensors.F32 && dt != safetensors.F64:
			problems = append(problems, fmt.Errorf("nn: load: tensor %q is %v in the file; want F16, BF16, F32 or F64", prefix+name, dt))
			continue
		case tgt.value == nil && dt != safetensors.I64:
			problems = append(problems, fmt.Errorf("nn: load: tensor %q is %v in the file; want I64", prefix+name, dt))
			continue
		}
		found[name] = tv
	}
	extra := st.Names()
	sort.Strings(extra)
	if present == 0 && len(names) > 0 && len(extra) > 0 {
		return noneFound(extra, names[0], prefix)
	}
	for _, name := range extra {
		if _, ok := want[strings.TrimPrefix(name, prefix)]; strings.HasPrefix(name, prefix) && !ok {
			tv, _ := st.Tensor(name)
			problems = append(problems, fmt.Errorf("nn: load: unexpected tensor %q (shape %v) in the file", name, tv.Shape()))
		}
	}
	if len(problems) > 0 {
		return errors.Join(problems...)
	}

	for name, tv := range found {
		tgt, raw := want[name], tv.Data()
		switch tv.DType() {
		case safetensors.F16:
			for i := range tgt.value {
				tgt.value[i] = T(halfToFloat32(binary.LittleEndian.Uint16(raw[2*i:])))
			}
		case safetensors.BF16:
			for i := range tgt.value {
				tgt.value[i] = T(bfloat16ToFloat32(binary.LittleEndian.Uint16(raw[2*i:])))
			}
		case safetensors.F32:
			for i := range tgt.value {
				tgt.value[i] = T(math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:])))
			}
		case safetensors.F64:
			for i := range tgt.value {
				tgt.value[i] = T(math.Float64frombits(binary.LittleEndian.Uint64(raw[8*i:])))
			}
		case safetensors.I64:
			for i := range tgt.ints {
				tgt.ints[i] = int64(binary.LittleEndian.Uint64(raw[8*i:]))
			}
		}
	}
	return nil
}

// halfToFloat32 returns the IEEE 754 binary16 value whose bits are h, as
// PyTorch's float16 → float32 conversion does: exactly, since every
// binary16 value is a float32, and a NaN quiet with its payload (a
// signalling NaN gets the quiet bit, as a hardware conversion sets it).
func halfToFloat32(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp, mant := uint32(h>>10)&0x1f, uint32(h)&0x3ff
	switch {
	case exp == 0x1f && mant != 0: // NaN
		return math.Float32frombits(sign | 0x7fc00000 | mant<<13)
	case exp == 0x1f: // ±Inf
		return math.Float32frombits(sign | 0x7f800000)
	case exp == 0: // ±0 and subnormals, mant·2⁻²⁴: normal in float32, exact
		return math.Float32frombits(sign | math.Float32bits(float32(mant)*0x1p-24))
	}
	return math.Float32frombits(sign | (exp+127-15)<<23 | mant<<13)
}

// bfloat16ToFloat32 returns the bfloat16 value whose bits are b: the upper
// half of a float32's bits, as PyTorch converts it (NaNs as they are).
func bfloat16ToFloat32(b uint16) float32 { return math.Float32frombits(uint32(b) << 16) }

func sameShape(file []uint64, model []int) bool {
	if len(file) != len(model) {
		return false
	}
	for i, d := range file {
		if d != uint64(model[i]) {
			return false
		}
	}
	return true
}

// view is one tensor to serialize, as the safetensors package wants it.
type view struct {
	dtype safetensors.DType
	shape []uint64
	data  []byte
}

var _ safetensors.View = view{}

// The methods of safetensors.View.

func (v view) DType() safetensors.DType { return v.dtype }
func (v view) Shape() []uint64          { return v.shape }
func (v view) Data() []byte             { return v.data }
func (v view) DataLen() uint64          { return uint64(len(v.data)) }

// fileShape converts a shape; a scalar is [] in the file, never null.
func fileShape(shape []int) []uint64 {
	s := make([]uint64, len(shape))
	for i, d := range shape {
		s[i] = uint64(d)
	}
	return s
}

func floatView[T tensor.Float](shape []int, x []T) view {
	var data []byte
	var dt safetensors.DType
	switch x := any(x).(type) {
	case []float32:
		dt = safetensors.F32
		data = make([]byte, 0, 4*len(x))
		for _, v := range x {
			data = binary.LittleEndian.AppendUint32(data, math.Float32bits(v))
		}
	case []float64:
		dt = safetensors.F64
		data = make([]byte, 0, 8*len(x))
		for _, v := range x {
			data = binary.LittleEndian.AppendUint64(data, math.Float64bits(v))
		}
	}
	return view{dtype: dt, shape: fileShape(shape), data: data}
}

func intView(shape []int, x []int64) view {
	data := make([]byte, 0, 8*len(x))
	for _, v := range x {
		data = binary.LittleEndian.AppendUint64(data, uint64(v))
	}
	return view{dtype: safetensors.I64, shape: fileShape(shape), data: data}
}

// noneFound is the error of a file (whose tensors are named file, sorted)
// none of whose tensors are the model's under prefix: one error, not one
// per tensor, naming a few of the file's and, if one of them is the
// model's first (first) under another prefix, that prefix.
func noneFound(file []string, first, prefix string) error {
	shown := file[:min(3, len(file))]
	hint := ""
	for _, name := range file {
		if p, ok := strings.CutSuffix(name, first); ok && p != prefix {
			hint = fmt.Sprintf(": the model's %q is there under the prefix %q (LoadPrefix)", first, p)
			break
		}
	}
	return fmt.Errorf("nn: load: none of the model's tensors is in the file under the prefix %q; the file's %d begin %q%s", prefix, len(file), shown, hint)
}
