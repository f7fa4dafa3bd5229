package recipe

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"

	"github.com/descentml/descent/nn"
	"github.com/descentml/descent/train"
)

// Model is a model architecture by name:
//
//	mlp:256,256  a multilayer perceptron with these hidden widths (ReLU);
//	             "mlp" alone is mlp:256,256
//	cnn          conv 3×3 (16) → ReLU → max-pool 2 → conv 3×3 (32) → ReLU →
//	             max-pool 2 → linear; the convolutions pad by 1 for images
//	             smaller than 16×16 (digits are 8×8)
//	linear       one linear layer: softmax regression over the classes
//	logistic     one linear layer with one output and binary cross-entropy:
//	             logistic regression, for two classes
//
// BatchNorm adds batch normalization after each hidden layer (before its
// activation); Dropout adds dropout with that probability before each
// linear layer that follows a hidden one.
type Model struct {
	Kind      string  `json:"kind"`
	Hidden    []int   `json:"hidden,omitempty"`
	BatchNorm bool    `json:"batchnorm,omitempty"`
	Dropout   float64 `json:"dropout,omitempty"`
	Seq       *Seq    `json:"seq,omitempty"` // a language model's settings (see lm.go)
}

// ModelKinds lists the architectures.
var ModelKinds = []string{"mlp", "cnn", "linear", "logistic"}

// ParseModel reads "mlp:256,256", "mlp", "cnn", "linear" or "logistic", or
// a language model's spec ([Seq]).
//
// Every kind follows the rules of the optimizer and schedule specs
// (package spec): after the colon come comma-separated settings, values
// alone (mlp's widths, a recurrent model's width) and then key=value
// pairs; no setting, key or value is empty, and a key given twice (under
// any of its spellings: lstm's width is its d, as is hidden=) is an error.
// A kind alone takes its defaults; a colon with nothing after it is an
// error.
func ParseModel(spec string) (Model, error) {
	kind, settings, err := splitModel(spec)
	if !slices.Contains(ModelKinds, kind) && !slices.Contains(SeqKinds, kind) {
		return Model{}, fmt.Errorf("recipe: unknown model %q (valid: mlp:W1,W2,…, cnn, linear, logistic; language models gpt:…, lstm:W, gru:W, rnn:W)", spec)
	}
	if err == nil {
		var m Model
		if m, err = parseModel(kind, settings); err == nil {
			if m.IsSeq() {
				if err := m.checkSeq(); err != nil {
					return Model{}, fmt.Errorf("recipe: model %q: %w", spec, err)
				}
			}
			return m, nil
		}
	}
	return Model{}, fmt.Errorf("recipe: model %q: %w; %s", spec, err, modelUsage(kind))
}

// modelSetting is one comma-separated setting of a model spec: key=value,
// or (hasValue false) a word alone: mlp's widths, a recurrent model's
// width, or a boolean key (tied).
type modelSetting struct {
	text, key, value string // text is the setting as given
	hasValue         bool
}

// splitModel splits a model spec, "kind" or "kind:s1,s2,…", into its
// kind, lowercased, and its settings (nil for a kind alone). A colon with
// nothing after it, an empty setting, and a key=value without its key or
// its value are errors, whatever the kind.
func splitModel(spec string) (string, []modelSetting, error) {
	kind, arg, hasArg := strings.Cut(strings.ToLower(strings.TrimSpace(spec)), ":")
	if !hasArg {
		return kind, nil, nil
	}
	if strings.TrimSpace(arg) == "" {
		return kind, nil, errors.New("nothing after the colon")
	}
	var settings []modelSetting
	for _, f := range strings.Split(arg, ",") {
		f = strings.TrimSpace(f)
		k, v, hasValue := strings.Cut(f, "=")
		switch {
		case f == "":
			return kind, nil, errors.New("an empty setting")
		case hasValue && (k == "" || v == ""):
			return kind, nil, fmt.Errorf("%q is not key=value", f)
		}
		settings = append(settings, modelSetting{f, k, v, hasValue})
	}
	return kind, settings, nil
}

// parseModel makes the model of kind with settings (nil: the defaults).
func parseModel(kind string, settings []modelSetting) (Model, error) {
	m := Model{Kind: kind}
	switch kind {
	case "gpt", "lstm", "gru", "rnn":
		s, err := parseSeq(kind, settings)
		m.Seq = s
		return m, err
	case "mlp":
		m.Hidden = []int{256, 256}
		if settings != nil {
			m.Hidden = nil
		}
		for _, s := range settings {
			n, err := strconv.Atoi(s.key)
			if s.hasValue || err != nil || n <= 0 {
				return m, fmt.Errorf("%q is not a positive whole number", s.text)
			}
			m.Hidden = append(m.Hidden, n)
		}
	default:
		if settings != nil {
			return m, fmt.Errorf("unexpected setting %q", settings[0].text)
		}
	}
	return m, nil
}

// modelUsage says what a kind of model takes after its colon.
func modelUsage(kind string) string {
	switch kind {
	case "mlp":
		return "mlp takes hidden widths (mlp alone is mlp:256,256)"
	case "gpt":
		return "gpt takes layers, d, heads, ctx, ff, tied, dropout (gpt alone is gpt:layers=2,d=128,heads=4,ctx=128)"
	case "lstm", "gru", "rnn":
		return fmt.Sprintf("%s takes a hidden width, layers, ctx, embed, tied (as %s:256x2,ctx=64; %s alone is %s:256)", kind, kind, kind, kind)
	}
	return kind + " takes no settings"
}

// String returns the spec ParseModel reads back.
func (m Model) String() string {
	if m.Seq != nil {
		return m.seqString()
	}
	if m.Kind != "mlp" {
		return m.Kind
	}
	ws := make([]string, len(m.Hidden))
	for i, w := range m.Hidden {
		ws[i] = strconv.Itoa(w)
	}
	return "mlp:" + strings.Join(ws, ",")
}

// Build makes the model for examples of the given shape and number of
// classes, its weights initialized from seed. It returns the loss to train
// it with and the random source of its dropout layers (nil without dropout).
func (m Model) Build(shape []int, classes int, seed uint64) (*nn.Sequential[float32], train.Loss, *rand.PCG, error) {
	if !(m.Dropout >= 0 && m.Dropout < 1) {
		return nil, 0, nil, fmt.Errorf("recipe: dropout %v: must be in [0, 1)", m.Dropout)
	}
	init := rand.New(rand.NewPCG(seed, 0x5eed))
	var src *rand.PCG
	if m.Dropout > 0 {
		src = rand.NewPCG(seed, 0xd0)
	}
	in := 1
	for _, d := range shape {
		in *= d
	}
	var layers []nn.Module[float32]
	add := func(l ...nn.Module[float32]) { layers = append(layers, l...) }
	dropout := func() {
		if src != nil {
			add(nn.NewDropout[float32](m.Dropout, rand.New(src)))
		}
	}
	lossKind := train.CrossEntropy
	switch m.Kind {
	case "mlp":
		add(nn.NewFlatten[float32]())
		width := in
		for _, h := range m.Hidden {
			add(nn.NewLinear[float32](width, h, init))
			if m.BatchNorm {
				add(nn.NewBatchNorm1d[float32](h))
			}
			add(nn.NewReLU[float32]())
			dropout()
			width = h
		}
		add(nn.NewLinear[float32](width, classes, init))
	case "linear":
		add(nn.NewFlatten[float32](), nn.NewLinear[float32](in, classes, init))
	case "logistic":
		if classes != 2 {
			return nil, 0, nil, fmt.Errorf("recipe: logistic regression needs 2 classes; the data has %d (use linear for more)", classes)
		}
		add(nn.NewFlatten[float32](), nn.NewLinear[float32](in, 1, init))
		lossKind = train.BinaryCrossEntropy
	case "cnn":
		if len(shape) != 3 {
			return nil, 0, nil, fmt.Errorf("recipe: cnn needs images (channels × height × width); the data's examples have shape %v", shape)
		}
		c, h, w := shape[0], shape[1], shape[2]
		pad := 0
		if h < 16 || w < 16 {
			pad = 1
		}
		for _, out := range []int{16, 32} {
			add(nn.NewConv2D[float32](nn.Conv2DConfig{In: c, Out: out, Kernel: 3, Stride: 1, Padding: pad}, init))
			if m.BatchNorm {
				add(nn.NewBatchNorm2d[float32](out))
			}
			add(nn.NewReLU[float32](), nn.NewMaxPool2D[float32](2))
			c, h, w = out, (h+2*pad-2)/2, (w+2*pad-2)/2
			if h < 1 || w < 1 {
				return nil, 0, nil, fmt.Errorf("recipe: images of %d×%d are too small for the cnn", shape[1], shape[2])
			}
		}
		add(nn.NewFlatten[float32]())
		dropout()
		add(nn.NewLinear[float32](c*h*w, classes, init))
	default:
		return nil, 0, nil, fmt.Errorf("recipe: unknown model %q (valid: %s)", m.Kind, strings.Join(ModelKinds, ", "))
	}
	return nn.NewSequential(layers...), lossKind, src, nil
}
