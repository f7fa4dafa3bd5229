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
	Source    string                `json:"source"`
	Model     []string              `json:"model"`
	Optimizer json.RawMessage       `json:"optimizer"`
	InitState map[string]jsonTensor `json:"init_state"`
	Steps     []struct {
		X          jsonTensor            `json:"x"`
		Labels     []int                 `json:"labels"`
		Loss       float64               `json:"loss"`
		StateAfter map[string]jsonTensor `json:"state_after"`
	} `json:"steps"`
	Eval struct {
		X jsonTensor `json:"x"`
		Y jsonTensor `json:"y"`
	} `json:"eval"`
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
	model := modelFromTorch[T](c, f.Model)
	method, lr := methodFromTorch(c, f.Optimizer, f.Source)
	if c.failed() {
		return
	}
	matchState(c, "init_state", moduleState(model), f.InitState, func(_ string, s stateTensor, want jsonTensor) {
		s.set(want.Data)
	})
	var params []optim.Param[T]
	for _, p := range model.Params() {
		params = append(params, optim.Param[T]{Name: p.Name, Shape: p.Shape, Value: p.Value, Grad: p.Grad})
	}
	opt, err := optim.New(params, optim.Config{Method: method, LR: schedule.Constant(lr)})
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
	model.SetMode(nn.Eval)
	y, err := model.Forward(tape, tape.Const(toTensor[T](c, "eval.x", f.Eval.X)))
	if err != nil {
		c.Errorf("eval: %v", err)
		return
	}
	checkTensor(c, "eval.y", y.Value(), f.Eval.Y)
}
