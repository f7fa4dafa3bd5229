package optim

import (
	"encoding"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unsafe"

	"github.com/nlpodyssey/safetensors"
)

const (
	cacheLine = 64
	pageBytes = 4096
)

// allocate lays every registered buffer out in one slab and points the
// transforms at their slices. Each buffer starts on a cache line, at an
// offset within a 4 KiB page chosen as far as possible from those of the
// parameter's values, its gradient and its other buffers: buffers that a
// step walks in lockstep must not sit at the same offset in their pages, or
// they compete for the same cache sets (four 256 MiB buffers allocated apart
// have been measured to make an Adam loop 10× slower than a staggered slab).
func (s *State[T]) allocate() {
	pl := newPlacer[T]()
	offsets := make([]int, len(s.vecs))
	for i, v := range s.vecs {
		if i == 0 || v.avoid != s.vecs[i-1].avoid {
			pl.avoid(v.avoid[:]...)
		}
		offsets[i] = pl.place(v.size)
	}
	s.slab = pl.slab()
	for i, v := range s.vecs {
		b := s.slab[offsets[i] : offsets[i]+v.size : offsets[i]+v.size]
		if v.init != 0 {
			for j := range b {
				b[j] = v.init
			}
		}
		*v.dst = b
	}
}

// A placer lays buffers out in a slab, as State.allocate does: each on a
// cache line, at the page offset farthest from those it is told to avoid
// and from those of the buffers placed since.
type placer[T Float] struct {
	size   int   // bytes per element
	cursor int   // elements laid out so far
	taken  []int // page offsets (bytes) to keep away from
}

func newPlacer[T Float]() *placer[T] {
	var zero T
	return &placer[T]{size: int(unsafe.Sizeof(zero))}
}

// avoid starts a new set of offsets to keep away from: those of the
// addresses given (0: none).
func (p *placer[T]) avoid(addrs ...uintptr) {
	p.taken = p.taken[:0]
	for _, a := range addrs {
		if a != 0 {
			p.taken = append(p.taken, int(a%pageBytes))
		}
	}
}

// place lays out a buffer of n elements and returns its offset in the slab.
func (p *placer[T]) place(n int) int {
	lineElems, pageElems := cacheLine/p.size, pageBytes/p.size
	best, bestDist := 0, -1
	for o := 0; o < pageBytes; o += cacheLine {
		d := pageBytes
		for _, u := range p.taken {
			dd := (o - u + pageBytes) % pageBytes
			d = min(d, dd, pageBytes-dd)
		}
		if d > bestDist {
			best, bestDist = o, d
		}
	}
	p.taken = append(p.taken, best)
	// The first position ≥ cursor whose page offset is best.
	start := p.cursor + ((best/p.size-p.cursor)%pageElems+pageElems)%pageElems
	p.cursor = start + (n+lineElems-1)/lineElems*lineElems
	return start
}

// slab returns the slab the buffers placed are cut from, starting on a page.
func (p *placer[T]) slab() []T {
	raw := make([]T, p.cursor+pageBytes/p.size)
	base := 0
	if len(raw) > 0 {
		base = int((pageBytes - addr(raw)%pageBytes) % pageBytes / uintptr(p.size))
	}
	return raw[base : base+p.cursor]
}

// The saved state is a safetensors file (a little-endian header length, a
// JSON header, raw tensor data), so any safetensors reader can inspect it.
// Its metadata (string → string) holds:
//
//	format    "descent.optim"
//	version   "1"
//	dtype     "F32" or "F64", the element type of the parameters
//	step      steps taken
//	skipped   steps skipped for non-finite gradients
//	groups    JSON: per group, its parameters (name, shape) and the names of
//	          its chain of transforms
//	scalars   JSON: scalar state by "<group>.<position>.<name>", as strings
//	          that round-trip every bit ("0.9")
//	schedules JSON: the state of stateful schedules (reduce-on-plateau) by
//	          "<group>.lr" and "<group>.momentum"
//
// and each state buffer is a tensor named "<parameter>/<position>.<buffer>"
// with the parameter's shape: "fc1.weight/1.exp_avg" is the first moment of
// fc1.weight kept by the transform at position 1 of its group's chain.
const (
	stateFormat  = "descent.optim"
	stateVersion = 1
)

type savedGroup struct {
	Params []savedParam `json:"params"`
	Chain  []string     `json:"chain"`
}

type savedParam struct {
	Name  string `json:"name"`
	Shape []int  `json:"shape"`
}

// Save writes the optimizer's state — step count, every transform's buffers
// and scalars, and the state of stateful schedules — to w, in the format
// described above. Resuming from it with Load continues bit for bit as if
// the run had never stopped. Save the parameters with it in training mode
// (not between Eval and Train, where Save refuses): a checkpoint needs the
// training point.
func (o *Optimizer[T]) Save(w io.Writer) error {
	if o.evaluating {
		return errEvaluating
	}
	meta, err := o.metadata()
	if err != nil {
		return err
	}
	views := make(map[string]tensorView[T], len(o.state.vecs))
	for _, v := range o.state.vecs {
		views[v.name] = tensorView[T]{data: *v.dst, shape: o.vecShape(v)}
	}
	if err := safetensors.SerializeToWriter(views, meta, w); err != nil {
		return fmt.Errorf("optim: saving state: %w", err)
	}
	return nil
}

func (o *Optimizer[T]) metadata() (map[string]string, error) {
	groups := make([]savedGroup, len(o.groups))
	for gi, g := range o.groups {
		for _, p := range g.params {
			groups[gi].Params = append(groups[gi].Params, savedParam{p.Name, p.Shape})
		}
		for _, tr := range g.chain {
			groups[gi].Chain = append(groups[gi].Chain, Name(tr))
		}
	}
	scalars := map[string]string{}
	for _, sc := range o.state.scalars {
		scalars[sc.name] = strconv.FormatFloat(*sc.dst, 'g', -1, 64)
	}
	scheds := map[string]string{}
	for gi, g := range o.groups {
		for kind, s := range map[string]any{"lr": g.lr, "momentum": g.mom} {
			if m, ok := s.(encoding.BinaryMarshaler); ok {
				b, err := m.MarshalBinary()
				if err != nil {
					return nil, fmt.Errorf("optim: saving schedule state: %w", err)
				}
				scheds[fmt.Sprintf("%d.%s", gi, kind)] = string(b)
			}
		}
	}
	gj, _ := json.Marshal(groups)
	sj, _ := json.Marshal(scalars)
	hj, _ := json.Marshal(scheds)
	return map[string]string{
		"format":    stateFormat,
		"version":   strconv.Itoa(stateVersion),
		"dtype":     dtypeOf[T]().String(),
		"step":      strconv.Itoa(o.t),
		"skipped":   strconv.Itoa(o.skipped),
		"groups":    string(gj),
		"scalars":   string(sj),
		"schedules": string(hj),
	}, nil
}

func (o *Optimizer[T]) shapeOf(name string) []int {
	pname := name[:strings.LastIndexByte(name, '/')]
	for _, g := range o.groups {
		for _, p := range g.params {
			if p.Name == pname {
				return p.Shape
			}
		}
	}
	panic("optim: state buffer of unknown parameter")
}

// Load restores state written by Save into an optimizer made with the same
// configuration for the same parameters. Parameters are matched by name, not
// position: a parameter missing from either side, a shape that differs, a
// different chain of transforms or element type is an error that names it,
// and on any error the optimizer is left unchanged.
func (o *Optimizer[T]) Load(r io.Reader) error {
	if o.evaluating {
		return errEvaluating
	}
	st, meta, err := readSafetensors(r, "state")
	if err != nil {
		return err
	}
	if f := meta["format"]; f != stateFormat {
		return fmt.Errorf("optim: not an optimizer state (format %q, want %q)", f, stateFormat)
	}
	if v, err := strconv.Atoi(meta["version"]); err != nil || v != stateVersion {
		return fmt.Errorf("optim: state format version %q: this build reads version %d", meta["version"], stateVersion)
	}
	if d := meta["dtype"]; d != dtypeOf[T]().String() {
		return fmt.Errorf("optim: state holds %s parameters, optimizer has %s", d, dtypeOf[T]())
	}
	step, err1 := strconv.Atoi(meta["step"])
	skipped, err2 := strconv.Atoi(meta["skipped"])
	if err1 != nil || err2 != nil || step < 0 || skipped < 0 {
		return fmt.Errorf("optim: state has a corrupt step count %q (skipped %q)", meta["step"], meta["skipped"])
	}
	var groups []savedGroup
	if err := json.Unmarshal([]byte(meta["groups"]), &groups); err != nil {
		return fmt.Errorf("optim: state has a corrupt parameter list: %v", err)
	}
	if err := o.matchGroups(groups); err != nil {
		return err
	}
	var scalars, scheds map[string]string
	if json.Unmarshal([]byte(meta["scalars"]), &scalars) != nil || json.Unmarshal([]byte(meta["schedules"]), &scheds) != nil {
		return errors.New("optim: state has corrupt scalars or schedules")
	}
	// Check everything before changing anything.
	want := map[string]bool{}
	for _, v := range o.state.vecs {
		want[v.name] = true
		tv, ok := st.Tensor(v.name)
		if !ok {
			return fmt.Errorf("optim: state has no tensor %q", v.name)
		}
		if tv.DType() != dtypeOf[T]() || !sameShape(tv.Shape(), o.vecShape(v)) {
			return fmt.Errorf("optim: state tensor %q is %v %v, want %v %v", v.name, tv.DType(), tv.Shape(), dtypeOf[T](), o.vecShape(v))
		}
	}
	for _, name := range st.Names() {
		if !want[name] {
			return fmt.Errorf("optim: state has tensor %q, which this optimizer does not keep", name)
		}
	}
	values := make([]float64, len(o.state.scalars))
	for i, sc := range o.state.scalars {
		s, ok := scalars[sc.name]
		v, err := strconv.ParseFloat(s, 64)
		if !ok || err != nil {
			return fmt.Errorf("optim: state lacks scalar %q", sc.name)
		}
		values[i] = v
	}
	type restore struct {
		u      encoding.BinaryUnmarshaler
		b, old []byte // the saved state, and the schedule's state before
	}
	var restores []restore
	for gi, g := range o.groups {
		for kind, s := range map[string]any{"lr": g.lr, "momentum": g.mom} {
			key := fmt.Sprintf("%d.%s", gi, kind)
			u, stateful := s.(encoding.BinaryUnmarshaler)
			b, saved := scheds[key]
			if stateful != saved {
				return fmt.Errorf("optim: the %s schedule of group %d is stateful in one of the state and the optimizer only", kind, gi)
			}
			if stateful {
				restores = append(restores, restore{u: u, b: []byte(b)})
			}
		}
	}
	// Schedules validate their own state; apply them first so that a bad one
	// leaves the buffers untouched, and put back those already applied.
	for i, r := range restores {
		var old []byte
		if m, ok := r.u.(encoding.BinaryMarshaler); ok {
			old, _ = m.MarshalBinary()
		}
		if err := r.u.UnmarshalBinary(r.b); err != nil {
			for _, done := range restores[:i] {
				done.u.UnmarshalBinary(done.old)
			}
			return err
		}
		restores[i].old = old
	}
	for _, v := range o.state.vecs {
		tv, _ := st.Tensor(v.name)
		setFromLittleEndian(*v.dst, tv.Data())
	}
	for i, sc := range o.state.scalars {
		*sc.dst = values[i]
	}
	o.t, o.skipped = step, skipped
	return nil
}

// readSafetensors reads a whole safetensors file and its metadata; what
// names the file in errors ("state").
func readSafetensors(r io.Reader, what string) (safetensors.SafeTensors, map[string]string, error) {
	buf, err := io.ReadAll(r)
	if err != nil {
		return safetensors.SafeTensors{}, nil, fmt.Errorf("optim: reading %s: %w", what, err)
	}
	st, err := safetensors.Deserialize(buf)
	if err != nil {
		return safetensors.SafeTensors{}, nil, fmt.Errorf("optim: %s is not a valid safetensors file: %w", what, err)
	}
	_, md, err := safetensors.ReadMetadata(buf)
	if err != nil {
		return safetensors.SafeTensors{}, nil, fmt.Errorf("optim: %s is not a valid safetensors file: %w", what, err)
	}
	return st, md.Metadata(), nil
}

// matchGroups compares the saved parameter lists with the optimizer's, by
// name, and lists every difference.
func (o *Optimizer[T]) matchGroups(saved []savedGroup) error {
	if len(saved) != len(o.groups) {
		return fmt.Errorf("optim: state has %d parameter groups, optimizer has %d", len(saved), len(o.groups))
	}
	var diffs []string
	for gi, g := range o.groups {
		have := map[string][]int{}
		for _, p := range g.params {
			have[p.Name] = p.Shape
		}
		inState := map[string]bool{}
		for _, p := range saved[gi].Params {
			inState[p.Name] = true
			shape, ok := have[p.Name]
			switch {
			case !ok:
				diffs = append(diffs, fmt.Sprintf("%q is in the state but not in the optimizer", p.Name))
			case !slices.Equal(shape, p.Shape):
				diffs = append(diffs, fmt.Sprintf("%q has shape %v in the state and %v in the optimizer", p.Name, p.Shape, shape))
			}
		}
		for _, p := range g.params {
			if !inState[p.Name] {
				diffs = append(diffs, fmt.Sprintf("%q is in the optimizer but not in the state", p.Name))
			}
		}
		chain := make([]string, len(g.chain))
		for i, tr := range g.chain {
			chain[i] = Name(tr)
		}
		if !slices.Equal(chain, saved[gi].Chain) {
			diffs = append(diffs, fmt.Sprintf("group %d was saved by the chain %v, optimizer has %v", gi, saved[gi].Chain, chain))
		}
	}
	if len(diffs) > 0 {
		sort.Strings(diffs)
		return fmt.Errorf("optim: state does not match the optimizer: %s", strings.Join(diffs, "; "))
	}
	return nil
}

func sameShape(a []uint64, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != uint64(b[i]) {
			return false
		}
	}
	return true
}

func dtypeOf[T Float]() safetensors.DType {
	var zero T
	if unsafe.Sizeof(zero) == 4 {
		return safetensors.F32
	}
	return safetensors.F64
}

// tensorView lets safetensors write a state buffer without copying it.
type tensorView[T Float] struct {
	data  []T
	shape []int
}

func (v tensorView[T]) DType() safetensors.DType { return dtypeOf[T]() }

func (v tensorView[T]) Shape() []uint64 {
	s := make([]uint64, len(v.shape))
	for i, d := range v.shape {
		s[i] = uint64(d)
	}
	return s
}

func (v tensorView[T]) Data() []byte { return littleEndian(v.data) }

func (v tensorView[T]) DataLen() uint64 { return uint64(len(v.data)) * uint64(unsafe.Sizeof(T(0))) }

// littleEndian returns x's bytes in little-endian order: its own memory on
// little-endian machines, a converted copy elsewhere.
func littleEndian[T Float](x []T) []byte {
	size := int(unsafe.Sizeof(T(0)))
	b := unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(x))), size*len(x))
	if binary.NativeEndian.Uint16([]byte{1, 0}) == 1 {
		return b
	}
	out := make([]byte, len(b))
	for i := 0; i < len(b); i += size {
		for j := 0; j < size; j++ {
			out[i+j] = b[i+size-1-j]
		}
	}
	return out
}

// setFromLittleEndian copies little-endian bytes b into x.
func setFromLittleEndian[T Float](x []T, b []byte) {
	size := int(unsafe.Sizeof(T(0)))
	dst := unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(x))), size*len(x))
	copy(dst, b)
	if binary.NativeEndian.Uint16([]byte{1, 0}) != 1 {
		for i := 0; i < len(dst); i += size {
			slices.Reverse(dst[i : i+size])
		}
	}
}
