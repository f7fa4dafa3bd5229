package nn_test

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/descentml/descent/autograd"
	"github.com/descentml/descent/loss"
	"github.com/descentml/descent/nn"
	"github.com/descentml/descent/tensor"
)

// TestReferenceTrainingRuns replays the whole-training-loop reference files
// (testdata/conformance/training, from PyTorch) through the models half of
// the library: Sequential, Linear, BatchNorm1d, ReLU and cross-entropy,
// forward and backward, BatchNorm's running statistics over several steps,
// and eval mode at the end. The optimizer step is a test double written
// from PyTorch's update rules (the real ones live in package optim, and the
// conformance test checks these files through the training package).
//
// Under AdamW, the bias of the Linear layer just before a BatchNorm
// ("0.bias") has a gradient that is zero but for rounding (the batch norm
// subtracts the mean), and Adam divides that noise by its own size, turning
// it into steps of up to the learning rate. Those values (and the running
// mean and eval outputs that inherit them) follow PyTorch's rounding, not
// its math; they are checked only against a tolerance of one learning-rate
// step here. Everything else is checked at the file's tolerance.
func TestReferenceTrainingRuns(t *testing.T) {
	files, _ := filepath.Glob("../testdata/conformance/training/*.json")
	if len(files) == 0 {
		t.Skip("no training reference files")
	}
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			raw, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			var f trainingFile
			if err := json.Unmarshal(raw, &f); err != nil {
				t.Fatal(err)
			}
			if f.Dtype == "float32" {
				replay[float32](t, &f)
			} else {
				replay[float64](t, &f)
			}
		})
	}
}

type refTensor struct {
	Shape []int     `json:"shape"`
	Data  []float64 `json:"data"`
}

type trainingFile struct {
	Dtype     string `json:"dtype"`
	Tolerance struct {
		Rtol, Atol float64
	} `json:"tolerance"`
	Model     []string             `json:"model"`
	Optimizer map[string]any       `json:"optimizer"`
	InitState map[string]refTensor `json:"init_state"`
	Steps     []struct {
		X          refTensor            `json:"x"`
		Labels     []int                `json:"labels"`
		Loss       float64              `json:"loss"`
		StateAfter map[string]refTensor `json:"state_after"`
	} `json:"steps"`
	Eval struct {
		X refTensor `json:"x"`
		Y refTensor `json:"y"`
	} `json:"eval"`
}

func replay[T tensor.Float](t *testing.T, f *trainingFile) {
	rng := rand.New(rand.NewPCG(1, 2))
	var layers []nn.Module[T]
	for _, spec := range f.Model {
		var a, b int
		switch {
		case spec == "ReLU":
			layers = append(layers, nn.NewReLU[T]())
		case scan(spec, "Linear(%d,%d)", &a, &b):
			layers = append(layers, nn.NewLinear[T](a, b, rng))
		case scan(spec, "BatchNorm1d(%d)", &a):
			layers = append(layers, nn.NewBatchNorm1d[T](a))
		default:
			t.Fatalf("unsupported layer %q", spec)
		}
	}
	model := nn.NewSequential(layers...)
	state := func() map[string][]float64 {
		s := make(map[string][]float64)
		for _, p := range model.Params() {
			s[p.Name] = floats(p.Value)
		}
		for _, b := range model.Buffers() {
			if b.Value != nil {
				s[b.Name] = floats(b.Value)
			} else {
				s[b.Name] = []float64{float64(b.Int[0])}
			}
		}
		return s
	}
	for name, v := range state() {
		want, ok := f.InitState[name]
		if !ok || len(want.Data) != len(v) {
			t.Fatalf("init_state lacks %s or has the wrong size", name)
		}
	}
	setState(model, f.InitState)
	opt := newTestOptimizer[T](t, f.Optimizer, model.Params())

	near := func(what string, got, want float64) {
		if math.Abs(got-want) > f.Tolerance.Atol+f.Tolerance.Rtol*math.Abs(want) {
			t.Errorf("%s = %.17g; want %.17g", what, got, want)
		}
	}
	noisy := map[string]bool{}
	if f.Optimizer["name"] == "AdamW" && len(f.Model) > 1 && strings.HasPrefix(f.Model[1], "BatchNorm") {
		noisy["0.bias"], noisy["1.running_mean"], noisy["eval"] = true, true, true
	}
	lr := f.Optimizer["lr"].(float64)
	roughly := func(what string, got, want float64) {
		if math.Abs(got-want) > 4*lr*float64(len(f.Steps)) {
			t.Errorf("%s = %.17g; want %.17g within the noise of Adam on a zero gradient", what, got, want)
		}
	}
	tape := autograd.NewTape[T]()
	for k, step := range f.Steps {
		x := tensor.New[T](step.X.Shape...)
		for i, v := range step.X.Data {
			x.Data()[i] = T(v)
		}
		logits, err := model.Forward(tape, tape.Const(x))
		if err != nil {
			t.Fatal(err)
		}
		l, err := loss.CrossEntropy(tape, logits, step.Labels)
		if err != nil {
			t.Fatal(err)
		}
		near(fmt.Sprintf("step %d: loss", k), float64(l.Value().Item()), step.Loss)
		if err := tape.Backward(l); err != nil {
			t.Fatal(err)
		}
		opt.step()
		nn.ZeroGrad(model.Params())
		tape.Reset()
		got := state()
		for name, want := range step.StateAfter {
			check := near
			if noisy[name] {
				check = roughly
			}
			for i, w := range want.Data {
				check(fmt.Sprintf("step %d: %s[%d]", k, name, i), got[name][i], w)
			}
		}
	}
	model.SetMode(nn.Eval)
	x := tensor.New[T](f.Eval.X.Shape...)
	for i, v := range f.Eval.X.Data {
		x.Data()[i] = T(v)
	}
	y, err := model.Forward(tape, tape.Const(x))
	if err != nil {
		t.Fatal(err)
	}
	check := near
	if noisy["eval"] {
		check = roughly
	}
	for i, w := range f.Eval.Y.Data {
		check(fmt.Sprintf("eval y[%d]", i), float64(y.Value().Data()[i]), w)
	}
}

func scan(s, format string, args ...any) bool {
	n, err := fmt.Sscanf(s, format, args...)
	return err == nil && n == len(args)
}

func floats[T tensor.Float](x []T) []float64 {
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = float64(v)
	}
	return out
}

func setState[T tensor.Float](m nn.Module[T], s map[string]refTensor) {
	for _, p := range m.Params() {
		for i, v := range s[p.Name].Data {
			p.Value[i] = T(v)
		}
	}
	for _, b := range m.Buffers() {
		for i, v := range s[b.Name].Data {
			if b.Value != nil {
				b.Value[i] = T(v)
			} else {
				b.Int[i] = int64(v)
			}
		}
	}
}

// testOptimizer is PyTorch's SGD with momentum or AdamW, enough to replay
// the reference files.
type testOptimizer[T tensor.Float] struct {
	name       string
	lr, mom    float64
	wd, b1, b2 float64
	eps        float64
	params     []nn.Param[T]
	m, v       [][]float64
	t          int
}

func newTestOptimizer[T tensor.Float](t *testing.T, cfg map[string]any, params []nn.Param[T]) *testOptimizer[T] {
	num := func(key string, def float64) float64 {
		if v, ok := cfg[key].(float64); ok {
			return v
		}
		return def
	}
	o := &testOptimizer[T]{name: cfg["name"].(string), lr: num("lr", 0), mom: num("momentum", 0),
		wd: num("weight_decay", 0.01), b1: 0.9, b2: 0.999, eps: 1e-8, params: params}
	if o.name != "SGD" && o.name != "AdamW" {
		t.Fatalf("the test double does not implement %s", o.name)
	}
	if o.name == "SGD" && num("weight_decay", 0) != 0 {
		t.Fatal("the test double's SGD has no weight decay")
	}
	if betas, ok := cfg["betas"].([]any); ok {
		o.b1, o.b2 = betas[0].(float64), betas[1].(float64)
	}
	for _, p := range params {
		o.m = append(o.m, make([]float64, len(p.Value)))
		o.v = append(o.v, make([]float64, len(p.Value)))
	}
	return o
}

func (o *testOptimizer[T]) step() {
	o.t++
	bc1, bc2 := 1-math.Pow(o.b1, float64(o.t)), 1-math.Pow(o.b2, float64(o.t))
	for j, p := range o.params {
		m, v := o.m[j], o.v[j]
		for i, gt := range p.Grad {
			g, theta := float64(gt), float64(p.Value[i])
			if o.name == "SGD" { // b ← μb + g (b₁ = g), θ ← θ − lr·b
				if o.t == 1 {
					m[i] = g
				} else {
					m[i] = o.mom*m[i] + g
				}
				p.Value[i] = T(theta - o.lr*m[i])
				continue
			}
			theta *= 1 - o.lr*o.wd
			m[i] = o.b1*m[i] + (1-o.b1)*g
			v[i] = o.b2*v[i] + (1-o.b2)*g*g
			p.Value[i] = T(theta - o.lr/bc1*m[i]/(math.Sqrt(v[i])/math.Sqrt(bc2)+o.eps))
		}
	}
}
