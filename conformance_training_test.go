package descent_test

import (
	"encoding/json"
	"fmt"

	"github.com/descentml/descent/autograd"
	"github.com/descentml/descent/loss"
	"github.com/descentml/descent/nn"
	"github.com/descentml/descent/optim"
	"github.com/descentml/descent/schedule"
	"github.com/descentml/descent/tensor"
)

// The checker for the files of kind training (testdata/conformance/training):
// a whole training loop end to end — the model built from PyTorch's layer
// names, mean cross-entropy, backward, the optimizer — compared after every
// step, then the model's output in eval mode.

func init() {
	checkers["training"] = checkTraining
}

type trainingFile struct {
	Source      string                `json:"source"`
	Model       []string              `json:"model"`
	ModelConfig *modelConfig          `json:"model_config"`
	Optimizer   json.RawMessage       `json:"optimizer"`
	ParamGroups []json.RawMessage     `json:"param_groups"`
	Clip        *trainingClip         `json:"clip"`
	InitState   map[string]jsonTensor `json:"init_state"`
	Steps       []struct {
		X             jsonTensor            `json:"x"`
		Labels        []int                 `json:"labels"`
		Loss          float64               `json:"loss"`
		ClipTotalNorm *float64              `json:"clip_total_norm"`
		StateAfter    map[string]jsonTensor `json:"state_after"`
	} `json:"steps"`
	Eval struct {
		X jsonTensor `json:"x"`
		Y jsonTensor `json:"y"`
	} `json:"eval"`
}

// modelConfig is a training file's model_config: the architecture, for
// models that are not a plain stack of layers, and its sizes.
type modelConfig struct {
	Arch string `json:"arch"`
	// decoder_lm
	VocabSize    int     `json:"vocab_size"`
	DModel       int     `json:"d_model"`
	Context      int     `json:"context"`
	NHeads       int     `json:"n_heads"`
	DFF          int     `json:"d_ff"`
	NLayers      int     `json:"n_layers"`
	LayerNormEps float64 `json:"layernorm_eps"`
	AttnBias     bool    `json:"attn_bias"`
	Activation   string  `json:"activation"`
	TiedHead     bool    `json:"tied_head"`
	Dropout      float64 `json:"dropout"`
	// char_lstm
	EmbedDim   int `json:"embed_dim"`
	HiddenSize int `json:"hidden_size"`
}

type trainingClip struct {
	Kind     string          `json:"kind"`
	MaxNorm  float64         `json:"max_norm"`
	NormType json.RawMessage `json:"norm_type"`
}

// modelFromConfig builds the model a model_config describes.
func modelFromConfig[T tensor.Float](c *conf, mc *modelConfig) nn.Module[T] {
	switch mc.Arch {
	case "decoder_lm":
		cfg := nn.TransformerConfig{Vocab: mc.VocabSize, Dim: mc.DModel, Context: mc.Context, Heads: mc.NHeads,
			Layers: mc.NLayers, FF: mc.DFF, Eps: mc.LayerNormEps, AttnBias: mc.AttnBias, Tied: mc.TiedHead, Dropout: mc.Dropout}
		switch mc.Activation {
		case "gelu_tanh":
		case "gelu":
			cfg.ExactGELU = true
		default:
			c.Errorf("decoder_lm: unsupported activation %q", mc.Activation)
			return nil
		}
		m, err := nn.NewTransformer[T](cfg, rng())
		if err != nil {
			c.Errorf("%v", err)
			return nil
		}
		return m
	case "char_lstm":
		m, err := nn.NewRecurrentLM[T](nn.RecurrentLMConfig{Cell: nn.CellLSTM, Vocab: mc.VocabSize, Embed: mc.EmbedDim, Hidden: mc.HiddenSize}, rng())
		if err != nil {
			c.Errorf("%v", err)
			return nil
		}
		return m
	}
	c.Errorf("unsupported model_config arch %q", mc.Arch)
	return nil
}

// groupsFromTorch builds the optimizer's parameter groups from a file's
// param_groups: each names its parameters and overrides the optimizer's
// keyword arguments with its own. With no param_groups, every parameter
// is in one group.
func groupsFromTorch[T tensor.Float](c *conf, f *trainingFile, model nn.Module[T]) []optim.Group[T] {
	byName := make(map[string]optim.Param[T])
	var all []optim.Param[T]
	for _, p := range model.Params() {
		op := optim.Param[T]{Name: p.Name, Shape: p.Shape, Value: p.Value, Grad: p.Grad}
		byName[p.Name] = op
		all = append(all, op)
	}
	if len(f.ParamGroups) == 0 {
		return []optim.Group[T]{{Params: all}}
	}
	var base map[string]json.RawMessage
	if err := json.Unmarshal(f.Optimizer, &base); err != nil {
		c.Errorf("optimizer: %v", err)
		return nil
	}
	seen := make(map[string]bool)
	var groups []optim.Group[T]
	for i, raw := range f.ParamGroups {
		var g map[string]json.RawMessage
		if err := json.Unmarshal(raw, &g); err != nil {
			c.Errorf("param_groups[%d]: %v", i, err)
			return nil
		}
		var names []string
		if err := json.Unmarshal(g["params"], &names); err != nil {
			c.Errorf("param_groups[%d].params: %v", i, err)
			return nil
		}
		kw := make(map[string]json.RawMessage)
		for k, v := range base {
			kw[k] = v
		}
		for k, v := range g {
			if k != "params" {
				kw[k] = v
			}
		}
		merged, _ := json.Marshal(kw)
		method, _ := methodFromTorch(c, merged, f.Source)
		var ps []optim.Param[T]
		for _, name := range names {
			p, ok := byName[name]
			if !ok || seen[name] {
				c.Errorf("param_groups[%d]: unknown or repeated parameter %q", i, name)
				return nil
			}
			seen[name] = true
			ps = append(ps, p)
		}
		groups = append(groups, optim.Group[T]{Params: ps, Method: method})
	}
	if len(seen) != len(all) {
		c.Errorf("param_groups: %d of the model's %d parameters in no group", len(all)-len(seen), len(all))
	}
	return groups
}

func checkTraining(c *conf, raw []byte) {
	var f trainingFile
	if !c.decode(raw, &f) {
		return
	}
	if c.dtype == "float32" {
		runTraining[float32](c, &f)
	} else {
		runTraining[float64](c, &f)
	}
}

// modelFromTorch builds a Sequential from PyTorch layer names such as
// "Linear(6,16)", "BatchNorm1d(16)" and "ReLU".
func modelFromTorch[T tensor.Float](c *conf, specs []string) *nn.Sequential[T] {
	var layers []nn.Module[T]
	for _, s := range specs {
		var a, b int
		switch {
		case s == "ReLU":
			layers = append(layers, nn.NewReLU[T]())
		case s == "Tanh":
			layers = append(layers, nn.NewTanh[T]())
		case s == "Sigmoid":
			layers = append(layers, nn.NewSigmoid[T]())
		case s == "GELU":
			layers = append(layers, nn.NewGELU[T]())
		case s == "Flatten":
			layers = append(layers, nn.NewFlatten[T]())
		case scanf(s, "Linear(%d,%d)", &a, &b):
			layers = append(layers, nn.NewLinear[T](a, b, rng()))
		case scanf(s, "BatchNorm1d(%d)", &a):
			layers = append(layers, nn.NewBatchNorm1d[T](a))
		default:
			c.Errorf("unsupported layer %q", s)
			return nil
		}
	}
	return nn.NewSequential(layers...)
}

func scanf(s, format string, args ...any) bool {
	n, err := fmt.Sscanf(s, format, args...)
	return err == nil && n == len(args)
}

func runTraining[T tensor.Float](c *conf, f *trainingFile) {
	var model nn.Module[T]
	if f.ModelConfig != nil {
		model = modelFromConfig[T](c, f.ModelConfig)
	} else if s := modelFromTorch[T](c, f.Model); s != nil {
		model = s
	}
	method, lr := methodFromTorch(c, f.Optimizer, f.Source)
	if c.failed() {
		return
	}
	matchState(c, "init_state", moduleState(model), f.InitState, func(_ string, s stateTensor, want jsonTensor) {
		s.set(want.Data)
	})
	cfg := optim.Config{Method: method, LR: schedule.Constant(lr)}
	if f.Clip != nil {
		if f.Clip.Kind != "norm" {
			c.Errorf("unsupported clip kind %q", f.Clip.Kind)
		}
		cfg.ClipNorm, cfg.ClipNormType = f.Clip.MaxNorm, normType(c, f.Clip.NormType)
	}
	groups := groupsFromTorch(c, f, model)
	if c.failed() {
		return
	}
	opt, err := optim.NewGroups(groups, cfg)
	if err != nil {
		c.Errorf("%v", err)
		return
	}
	tape := autograd.NewTape[T]()
	for k, st := range f.Steps {
		logits, err := model.Forward(tape, tape.Const(toTensor[T](c, "x", st.X)))
		if err != nil {
			c.Errorf("step %d: forward: %v", k, err)
			return
		}
		l, err := loss.CrossEntropy(tape, logits, st.Labels)
		if err != nil {
			c.Errorf("step %d: loss: %v", k, err)
			return
		}
		c.scalar(fmt.Sprintf("step %d: loss", k), float64(l.Value().Item()), st.Loss)
		if err := tape.Backward(l); err != nil {
			c.Errorf("step %d: backward: %v", k, err)
			return
		}
		if st.ClipTotalNorm != nil {
			c.scalar(fmt.Sprintf("step %d: clip total norm", k), opt.GradNorm(), *st.ClipTotalNorm)
		}
		if err := opt.Step(); err != nil {
			c.Errorf("step %d: %v", k, err)
			return
		}
		nn.ZeroGrad(model.Params())
		tape.Reset()
		matchState(c, fmt.Sprintf("step %d: state_after", k), moduleState(model), st.StateAfter, func(name string, s stateTensor, want jsonTensor) {
			c.near(fmt.Sprintf("step %d: %s", k, name), s.get(), want.Data)
		})
	}
	if ms, ok := model.(nn.ModeSetter); ok {
		ms.SetMode(nn.Eval)
	}
	y, err := model.Forward(tape, tape.Const(toTensor[T](c, "eval.x", f.Eval.X)))
	if err != nil {
		c.Errorf("eval: %v", err)
		return
	}
	checkTensor(c, "eval.y", y.Value(), f.Eval.Y)
}
