package descent_test

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/descentml/descent/optim"
	"github.com/descentml/descent/schedule"
)

// Checkers for the optimizer, schedule and clip files.

func init() {
	checkers["optimizer"] = checkOptimizer
	checkers["schedule"] = checkSchedule
	checkers["clip"] = checkClip
}

// kwargs reads PyTorch keyword arguments, with PyTorch's defaults, and
// reports any argument it was not asked for: a file using an option this
// project does not implement must fail, not be half-run.
type kwargs struct {
	c     *conf
	where string
	m     map[string]json.RawMessage
}

func newKwargs(c *conf, where string, raw json.RawMessage) *kwargs {
	k := &kwargs{c: c, where: where}
	if err := json.Unmarshal(raw, &k.m); err != nil {
		c.Errorf("%s: %v", where, err)
	}
	return k
}

func (k *kwargs) get(name string, v any) bool {
	raw, ok := k.m[name]
	if !ok {
		return false
	}
	delete(k.m, name)
	if err := json.Unmarshal(raw, v); err != nil {
		k.c.Errorf("%s.%s: %v", k.where, name, err)
	}
	return true
}

func (k *kwargs) float(name string, def float64) float64 {
	v := def
	k.get(name, &v)
	return v
}

func (k *kwargs) int(name string, def int) int {
	v := def
	k.get(name, &v)
	return v
}

func (k *kwargs) bool(name string, def bool) bool {
	v := def
	k.get(name, &v)
	return v
}

func (k *kwargs) str(name, def string) string {
	v := def
	k.get(name, &v)
	return v
}

// betas reads PyTorch's betas=(β₁, β₂).
func (k *kwargs) betas(b1, b2 float64) (float64, float64) {
	v := []float64{b1, b2}
	if k.get("betas", &v) && len(v) != 2 {
		k.c.Errorf("%s.betas = %v: want two values", k.where, v)
		return b1, b2
	}
	return v[0], v[1]
}

// cautious reads the cautious keys of the README (C-Optim's options).
func (k *kwargs) cautious() (bool, optim.CautiousScale) {
	on := k.bool("cautious", false)
	switch s := k.str("cautious_scale", ""); s {
	case "":
		return on, optim.CautiousDefault
	case "mean":
		return on, optim.CautiousMean
	case "count_plus_one":
		return on, optim.CautiousCountPlusOne
	default:
		k.c.Errorf("%s: unknown cautious_scale %q", k.where, s)
	}
	return on, optim.CautiousDefault
}

// scheduleFree reads the keys both Schedule-Free methods take.
func (k *kwargs) scheduleFree(wd *float64, warmup *int, r, power *float64) {
	*wd = k.float("weight_decay", 0)
	*warmup = k.int("warmup_steps", 0)
	*r = k.float("r", 0)
	*power = k.float("weight_lr_power", *power)
}

// done reports every argument not consumed.
func (k *kwargs) done() {
	var left []string
	for name := range k.m {
		left = append(left, name)
	}
	sort.Strings(left)
	if len(left) > 0 {
		k.c.Errorf("%s: unsupported arguments %s", k.where, strings.Join(left, ", "))
	}
}

// torchOptimizer is what an optimizer file's constructor asks for.
type torchOptimizer struct {
	method   optim.Method
	lr       float64
	maximize bool
}

// methodFromTorch maps a torch.optim constructor (plus the textbook keys of
// the conformance README) to a Method and learning rate, for files that
// take nothing else (the training files).
func methodFromTorch(c *conf, raw json.RawMessage, source string) (optim.Method, float64) {
	o := optimizerFromTorch(c, raw, source)
	if o.maximize {
		c.Errorf("%s: maximize is not supported here", raw)
	}
	return o.method, o.lr
}

// optimizerFromTorch maps an optimizer constructor — torch.optim's, the
// textbook keys of the conformance README, or a reference implementation's
// — to what the optimizer needs.
func optimizerFromTorch(c *conf, raw json.RawMessage, source string) torchOptimizer {
	k := newKwargs(c, "optimizer", raw)
	name := k.str("name", "")
	k.where = name
	var m optim.Method
	lr := k.float("lr", math.NaN())
	maximize := k.bool("maximize", false)
	if k.bool("foreach", false) || k.bool("differentiable", false) {
		c.Errorf("%s: foreach and differentiable are not supported", name)
	}
	switch name {
	case "SGD":
		s := optim.DefaultSGD()
		s.Momentum = k.float("momentum", 0)
		s.Dampening = k.float("dampening", 0)
		s.Nesterov = k.bool("nesterov", false)
		s.WeightDecay = k.float("weight_decay", 0)
		s.L2 = k.float("l2_penalty", 0)
		switch style := k.str("momentum_style", "pytorch"); style {
		case "ema":
			s.EMA = true
		case "pytorch":
		default:
			c.Errorf("SGD: unknown momentum_style %q", style)
		}
		m = s
	case "RMSprop":
		s := optim.DefaultRMSprop()
		s.Alpha = k.float("alpha", s.Alpha)
		s.Eps = k.float("eps", s.Eps)
		s.Centered = k.bool("centered", false)
		s.Momentum = k.float("momentum", 0)
		s.WeightDecay = k.float("weight_decay", 0)
		s.L2 = k.float("l2_penalty", 0)
		s.EpsInSqrt = k.bool("eps_in_sqrt", false)
		m = s
	case "Adam":
		s := optim.DefaultAdam()
		s.Beta1, s.Beta2 = k.betas(s.Beta1, s.Beta2)
		s.Eps = k.float("eps", s.Eps)
		s.AMSGrad = k.bool("amsgrad", false)
		s.WeightDecay = k.float("weight_decay", 0)
		s.L2 = k.float("l2_penalty", 0)
		m = s
	case "AdamW":
		s := optim.DefaultAdamW()
		s.Beta1, s.Beta2 = k.betas(s.Beta1, s.Beta2)
		s.Eps = k.float("eps", s.Eps)
		s.AMSGrad = k.bool("amsgrad", false)
		s.WeightDecay = k.float("weight_decay", s.WeightDecay)
		s.Cautious, s.CautiousScale = k.cautious()
		m = s
	case "Lion":
		s := optim.DefaultLion()
		s.Beta1, s.Beta2 = k.betas(s.Beta1, s.Beta2)
		s.WeightDecay = k.float("weight_decay", 0)
		s.Cautious, s.CautiousScale = k.cautious()
		m = s
	case "ADOPT":
		s := optim.DefaultADOPT()
		s.Beta1, s.Beta2 = k.betas(s.Beta1, s.Beta2)
		s.Eps = k.float("eps", s.Eps)
		var p *float64
		if k.get("clip_exponent", &p) && p == nil {
			s.NoClip = true
		} else if p != nil {
			s.ClipExponent = *p
		}
		s.WeightDecay = k.float("weight_decay", 0)
		s.Decouple = k.bool("decouple", false)
		m = s
	case "AdEMAMix":
		s := optim.DefaultAdEMAMix()
		betas := []float64{s.Beta1, s.Beta2, s.Beta3}
		if k.get("betas", &betas) && len(betas) != 3 {
			c.Errorf("AdEMAMix.betas = %v: want three values", betas)
			return torchOptimizer{}
		}
		s.Beta1, s.Beta2, s.Beta3 = betas[0], betas[1], betas[2]
		s.Alpha = k.float("alpha", s.Alpha)
		var w *int
		if k.get("alpha_warmup", &w) && w != nil {
			s.AlphaWarmup = *w
		}
		if w = nil; k.get("beta3_warmup", &w) && w != nil {
			s.Beta3Warmup = *w
		}
		s.Eps = k.float("eps", s.Eps)
		s.WeightDecay = k.float("weight_decay", 0)
		m = s
	case "AdamWScheduleFree":
		s := optim.DefaultScheduleFreeAdamW()
		s.Beta1, s.Beta2 = k.betas(s.Beta1, s.Beta2)
		s.Eps = k.float("eps", s.Eps)
		k.scheduleFree(&s.WeightDecay, &s.Warmup, &s.R, &s.WeightLRPower)
		m = s
	case "SGDScheduleFree":
		s := optim.DefaultScheduleFreeSGD()
		s.Momentum = k.float("momentum", s.Momentum)
		k.scheduleFree(&s.WeightDecay, &s.Warmup, &s.R, &s.WeightLRPower)
		m = s
	case "Adagrad":
		s := optim.DefaultAdagrad()
		s.LRDecay = k.float("lr_decay", 0)
		s.InitialAccumulator = k.float("initial_accumulator_value", 0)
		s.Eps = k.float("eps", s.Eps)
		s.WeightDecay = k.float("weight_decay", 0)
		s.L2 = k.float("l2_penalty", 0)
		m = s
	case "Adadelta":
		s := optim.DefaultAdadelta()
		s.Rho = k.float("rho", s.Rho)
		s.Eps = k.float("eps", s.Eps)
		s.WeightDecay = k.float("weight_decay", 0)
		s.L2 = k.float("l2_penalty", 0)
		m = s
	case "Adamax":
		s := optim.DefaultAdamax()
		s.Beta1, s.Beta2 = k.betas(s.Beta1, s.Beta2)
		s.Eps = k.float("eps", s.Eps)
		s.WeightDecay = k.float("weight_decay", 0)
		s.L2 = k.float("l2_penalty", 0)
		m = s
	case "NAdam":
		s := optim.DefaultNAdam()
		s.Beta1, s.Beta2 = k.betas(s.Beta1, s.Beta2)
		s.Eps = k.float("eps", s.Eps)
		s.MomentumDecay = k.float("momentum_decay", s.MomentumDecay)
		s.WeightDecay = k.float("weight_decay", 0)
		s.L2 = k.float("l2_penalty", 0)
		s.Torch113 = strings.HasPrefix(source, "torch 1.13")
		m = s
	case "RAdam":
		s := optim.DefaultRAdam()
		s.Beta1, s.Beta2 = k.betas(s.Beta1, s.Beta2)
		s.Eps = k.float("eps", s.Eps)
		s.WeightDecay = k.float("weight_decay", 0)
		s.L2 = k.float("l2_penalty", 0)
		m = s
	default:
		var ok bool
		if m, ok = methodFromReference(c, k, name); !ok {
			c.Errorf("unsupported optimizer %q", name)
			return torchOptimizer{}
		}
	}
	k.done()
	if math.IsNaN(lr) {
		c.Errorf("%s: no lr given", name)
	}
	return torchOptimizer{method: m, lr: lr, maximize: maximize}
}

// scheduleFromTorch maps a torch.optim.lr_scheduler constructor to a
// schedule for an optimizer whose initial rate is base.
func scheduleFromTorch(c *conf, raw json.RawMessage, base float64) schedule.Schedule {
	k := newKwargs(c, "scheduler", raw)
	name := k.str("name", "")
	k.where = name
	var s schedule.Schedule
	switch name {
	case "StepLR":
		s = schedule.Step{Base: base, Size: k.int("step_size", 0), Gamma: k.float("gamma", 0.1)}
	case "MultiStepLR":
		var ms []int
		k.get("milestones", &ms)
		s = schedule.MultiStep{Base: base, Milestones: ms, Gamma: k.float("gamma", 0.1)}
	case "ExponentialLR":
		s = schedule.Exponential{Base: base, Gamma: k.float("gamma", 0)}
	case "CosineAnnealingLR":
		s = schedule.Cosine{Base: base, TMax: k.int("T_max", 0), Min: k.float("eta_min", 0)}
	case "CosineAnnealingWarmRestarts":
		s = schedule.CosineRestarts{Base: base, T0: k.int("T_0", 0), Mult: k.int("T_mult", 1), Min: k.float("eta_min", 0)}
	case "LinearLR":
		s = schedule.Linear{Base: base, Start: k.float("start_factor", 1.0/3), End: k.float("end_factor", 1), Steps: k.int("total_iters", 5)}
	case "PolynomialLR":
		s = schedule.Polynomial{Base: base, Steps: k.int("total_iters", 5), Power: k.float("power", 1)}
	case "OneCycleLR":
		o := schedule.DefaultOneCycle(k.float("max_lr", 0), k.int("total_steps", 0))
		o.PctStart = k.float("pct_start", o.PctStart)
		switch a := k.str("anneal_strategy", "cos"); a {
		case "linear":
			o.Linear = true
		case "cos":
		default:
			c.Errorf("OneCycleLR: unknown anneal_strategy %q", a)
		}
		o.Div = k.float("div_factor", o.Div)
		o.FinalDiv = k.float("final_div_factor", o.FinalDiv)
		o.ThreePhase = k.bool("three_phase", false)
		o.BaseMomentum = k.float("base_momentum", o.BaseMomentum)
		o.MaxMomentum = k.float("max_momentum", o.MaxMomentum)
		if !k.bool("cycle_momentum", true) {
			c.Errorf("OneCycleLR: cycle_momentum=False is not supported")
		}
		s = o
	case "CyclicLR":
		y := schedule.DefaultCyclic(k.float("base_lr", 0), k.float("max_lr", 0))
		y.Up = k.int("step_size_up", y.Up)
		y.Down = k.int("step_size_down", 0)
		switch mode := k.str("mode", "triangular"); mode {
		case "triangular":
		case "triangular2":
			y.Mode = schedule.Triangular2
		case "exp_range":
			y.Mode = schedule.ExpRange
		default:
			c.Errorf("CyclicLR: unknown mode %q", mode)
		}
		y.Gamma = k.float("gamma", 1)
		y.BaseMomentum = k.float("base_momentum", y.BaseMomentum)
		y.MaxMomentum = k.float("max_momentum", y.MaxMomentum)
		if !k.bool("cycle_momentum", true) {
			c.Errorf("CyclicLR: cycle_momentum=False is not supported")
		}
		s = y
	case "SequentialLR":
		var subs []json.RawMessage
		var ms []int
		k.get("schedulers", &subs)
		k.get("milestones", &ms)
		j := schedule.Join{Boundaries: ms}
		for _, sub := range subs {
			j.Schedules = append(j.Schedules, scheduleFromTorch(c, sub, base))
		}
		s = j
	case "ReduceLROnPlateau":
		p := schedule.DefaultPlateau(base)
		switch mode := k.str("mode", "min"); mode {
		case "max":
			p.Maximize = true
		case "min":
		default:
			c.Errorf("ReduceLROnPlateau: unknown mode %q", mode)
		}
		p.Factor = k.float("factor", p.Factor)
		p.Patience = k.int("patience", p.Patience)
		p.Threshold = k.float("threshold", p.Threshold)
		switch tm := k.str("threshold_mode", "rel"); tm {
		case "abs":
			p.AbsThreshold = true
		case "rel":
		default:
			c.Errorf("ReduceLROnPlateau: unknown threshold_mode %q", tm)
		}
		p.Cooldown = k.int("cooldown", 0)
		p.Min = k.float("min_lr", 0)
		p.Eps = k.float("eps", p.Eps)
		pl, err := schedule.NewPlateau(p)
		if err != nil {
			c.Errorf("%v", err)
			return nil
		}
		s = pl
	default:
		c.Errorf("unsupported scheduler %q", name)
		return nil
	}
	k.done()
	if err := schedule.Validate(s); err != nil {
		c.Errorf("%v", err)
		return nil
	}
	return s
}

// momentumOf returns a schedule's momentum schedule, for the cycling ones.
func momentumOf(s schedule.Schedule) schedule.Schedule {
	if m, ok := s.(interface{ Momentum() schedule.Schedule }); ok {
		return m.Momentum()
	}
	return nil
}

type optimizerFile struct {
	Source    string          `json:"source"`
	Optimizer json.RawMessage `json:"optimizer"`
	Averaging json.RawMessage `json:"averaging"`
	Scheduler json.RawMessage `json:"scheduler"`
	Clip      *struct {
		Kind      string          `json:"kind"`
		MaxNorm   float64         `json:"max_norm"`
		NormType  json.RawMessage `json:"norm_type"`
		ClipValue float64         `json:"clip_value"`
	} `json:"clip"`
	Params []jsonTensor `json:"params"`
	Steps  []struct {
		Grads         [][]float64 `json:"grads"`
		LR            *float64    `json:"lr"`
		ClipTotalNorm *float64    `json:"clip_total_norm"`
		Params        [][]float64 `json:"params"`
		EvalParams    [][]float64 `json:"eval_params"`
		Averaged      [][]float64 `json:"averaged_params"`
		NAveraged     *int        `json:"n_averaged"`
		D             *float64    `json:"d"`
		TrustRatios   []float64   `json:"trust_ratios"`
	} `json:"steps"`
}

// The fields an optimizer file may hold. A field not listed fails the file,
// so that no file passes by being half-read; the informational ones (the
// README says they need not be checked) are listed but not compared.
var (
	optimizerFileFields = fieldSet("kind", "source", "dtype", "tolerance", "name", "optimizer", "scheduler", "clip", "averaging", "params", "steps")
	optimizerStepFields = fieldSet("grads", "lr", "params", "clip_total_norm", "eval_params", "averaged_params", "n_averaged",
		"d", "trust_ratios", "scheduled_lr", "cautious_mask_sum", "alpha", "beta3") // informational from scheduled_lr on
)

func fieldSet(names ...string) map[string]bool {
	m := map[string]bool{}
	for _, n := range names {
		m[n] = true
	}
	return m
}

// unknownFields reports the fields of raw's top level and of its steps that
// the checker does not know.
func unknownFields(c *conf, raw []byte) {
	var f struct {
		Steps []map[string]json.RawMessage `json:"steps"`
	}
	var top map[string]json.RawMessage
	if json.Unmarshal(raw, &top) != nil || json.Unmarshal(raw, &f) != nil {
		return // decode reports it
	}
	unknown := map[string]bool{}
	for name := range top {
		if !optimizerFileFields[name] {
			unknown[name] = true
		}
	}
	for _, st := range f.Steps {
		for name := range st {
			if !optimizerStepFields[name] {
				unknown["steps[]."+name] = true
			}
		}
	}
	var names []string
	for n := range unknown {
		names = append(names, n)
	}
	sort.Strings(names)
	if len(names) > 0 {
		c.Errorf("unknown fields %s", strings.Join(names, ", "))
	}
}

func checkOptimizer(c *conf, raw []byte) {
	var f optimizerFile
	if !c.decode(raw, &f) {
		return
	}
	if unknownFields(c, raw); c.failed() {
		return
	}
	if c.dtype == "float32" {
		runOptimizer[float32](c, &f)
	} else {
		runOptimizer[float64](c, &f)
	}
}

func runOptimizer[T optim.Float](c *conf, f *optimizerFile) {
	o := optimizerFromTorch(c, f.Optimizer, f.Source)
	if c.failed() {
		return
	}
	cfg := optim.Config{Method: o.method, LR: schedule.Constant(o.lr), Maximize: o.maximize}
	if f.Scheduler != nil {
		cfg.LR = scheduleFromTorch(c, f.Scheduler, o.lr)
		cfg.Momentum = momentumOf(cfg.LR)
	}
	if f.Clip != nil {
		switch f.Clip.Kind {
		case "norm":
			cfg.ClipNorm, cfg.ClipNormType = f.Clip.MaxNorm, normType(c, f.Clip.NormType)
		case "value":
			cfg.ClipValue = f.Clip.ClipValue
		default:
			c.Errorf("unsupported clip kind %q", f.Clip.Kind)
		}
	}
	if c.failed() {
		return
	}
	params := make([]optim.Param[T], len(f.Params))
	for i, p := range f.Params {
		params[i] = optim.Param[T]{Shape: p.Shape, Value: convert[T](p.Data), Grad: make([]T, len(p.Data))}
	}
	opt, err := optim.New(params, cfg)
	if err != nil {
		c.Errorf("%v", err)
		return
	}
	var avg *optim.Averager[T]
	if f.Averaging != nil {
		if avg = averagerFromTorch(c, f.Averaging, params); avg == nil {
			return
		}
	}
	for k, st := range f.Steps {
		if len(st.Grads) != len(params) || len(st.Params) != len(params) {
			c.Errorf("step %d: %d grads and %d params for %d parameters", k, len(st.Grads), len(st.Params), len(params))
			return
		}
		for i := range params {
			copy(params[i].Grad, convert[T](st.Grads[i]))
		}
		if st.LR != nil {
			c.scalar(fmt.Sprintf("step %d: lr", k), opt.LR(0), *st.LR)
		}
		if err := opt.Step(); err != nil {
			c.Errorf("step %d: %v", k, err)
			return
		}
		if st.ClipTotalNorm != nil {
			c.scalar(fmt.Sprintf("step %d: clip total norm", k), opt.ClipNorm(), *st.ClipTotalNorm)
		}
		for i := range params {
			c.near(fmt.Sprintf("step %d: params[%d]", k, i), widen(params[i].Value), st.Params[i])
		}
		if opt.HasEvalPoint() != (st.EvalParams != nil) {
			c.Errorf("step %d: the file gives eval_params exactly for methods with an evaluation point (have %d for %T)", k, len(st.EvalParams), o.method)
			return
		}
		if st.EvalParams != nil {
			checkEvalPoint(c, k, opt, params, st.EvalParams)
		}
		if (avg != nil) != (st.Averaged != nil && st.NAveraged != nil) {
			c.Errorf("step %d: averaged_params and n_averaged are given exactly with averaging", k)
			return
		}
		if avg != nil {
			if err := avg.Update(opt.Steps()); err != nil {
				c.Errorf("step %d: %v", k, err)
				return
			}
			if avg.Count() != *st.NAveraged {
				c.Errorf("step %d: n_averaged = %d; want %d", k, avg.Count(), *st.NAveraged)
			}
			for i := range params {
				c.near(fmt.Sprintf("step %d: averaged_params[%d]", k, i), widen(avg.Average(i)), st.Averaged[i])
			}
		}
		checkReferenceStep(c, k, opt, st.D, st.TrustRatios)
		if c.failed() {
			return // later steps only repeat the first difference
		}
	}
}

// averagerFromTorch maps the averaging block (torch.optim.swa_utils's
// AveragedModel) to an Averager of params.
func averagerFromTorch[T optim.Float](c *conf, raw json.RawMessage, params []optim.Param[T]) *optim.Averager[T] {
	k := newKwargs(c, "averaging", raw)
	if name := k.str("name", ""); name != "AveragedModel" {
		c.Errorf("averaging: unsupported %q", name)
		return nil
	}
	var a optim.Averaging
	switch fn := k.str("avg_fn", ""); fn {
	case "swa":
	case "ema":
		a.EMA = true
		a.Decay = k.float("decay", math.NaN())
	default:
		c.Errorf("averaging: unsupported avg_fn %q", fn)
		return nil
	}
	a.Start = k.int("start_step", 0)
	k.done()
	if c.failed() {
		return nil
	}
	avg, err := optim.NewAverager(params, a)
	if err != nil {
		c.Errorf("%v", err)
		return nil
	}
	return avg
}

// checkEvalPoint compares the evaluation point with want and checks that
// going back to training restores every bit of the training point.
func checkEvalPoint[T optim.Float](c *conf, k int, opt *optim.Optimizer[T], params []optim.Param[T], want [][]float64) {
	if len(want) != len(params) {
		c.Errorf("step %d: %d eval_params for %d parameters", k, len(want), len(params))
		return
	}
	y := make([][]float64, len(params))
	for i := range params {
		y[i] = widen(params[i].Value)
	}
	opt.Eval()
	for i := range params {
		c.near(fmt.Sprintf("step %d: eval_params[%d]", k, i), widen(params[i].Value), want[i])
	}
	opt.Train()
	for i := range params {
		for j, v := range widen(params[i].Value) {
			if math.Float64bits(v) != math.Float64bits(y[i][j]) {
				c.Errorf("step %d: params[%d][%d] = %v after Eval and Train; was %v", k, i, j, v, y[i][j])
				return
			}
		}
	}
}

func normType(c *conf, raw json.RawMessage) float64 {
	if raw == nil {
		return 2
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		if s == "inf" {
			return math.Inf(1)
		}
		c.Errorf("unsupported norm_type %q", s)
		return 2
	}
	var p float64
	if err := json.Unmarshal(raw, &p); err != nil {
		c.Errorf("norm_type: %v", err)
	}
	return p
}

type scheduleFile struct {
	BaseLR    float64         `json:"base_lr"`
	Optimizer json.RawMessage `json:"optimizer"`
	Scheduler json.RawMessage `json:"scheduler"`
	LRs       []float64       `json:"lrs"`
	Momentums []float64       `json:"momentums"`
	Metrics   []float64       `json:"metrics"`
}

func checkSchedule(c *conf, raw []byte) {
	var f scheduleFile
	if !c.decode(raw, &f) {
		return
	}
	s := scheduleFromTorch(c, f.Scheduler, f.BaseLR)
	if c.failed() {
		return
	}
	plateau, isPlateau := s.(*schedule.Plateau)
	if isPlateau != (f.Metrics != nil) {
		c.Errorf("metrics are given exactly for ReduceLROnPlateau (have %d metrics for %T)", len(f.Metrics), s)
		return
	}
	got := make([]float64, len(f.LRs))
	for k := range f.LRs {
		got[k] = s.At(k)
		if isPlateau {
			plateau.Observe(f.Metrics[k])
		}
	}
	c.near("lrs", got, f.LRs)
	if f.Momentums != nil {
		m := momentumOf(s)
		if m == nil {
			c.Errorf("file gives momentums, but %T has no momentum schedule", s)
			return
		}
		got := make([]float64, len(f.Momentums))
		for k := range got {
			got[k] = m.At(k)
		}
		c.near("momentums", got, f.Momentums)
	}
}

type clipFile struct {
	GradsIn []jsonTensor `json:"grads_in"`
	Clip    struct {
		Kind      string          `json:"kind"`
		MaxNorm   float64         `json:"max_norm"`
		NormType  json.RawMessage `json:"norm_type"`
		ClipValue float64         `json:"clip_value"`
	} `json:"clip"`
	TotalNorm *float64    `json:"total_norm"`
	GradsOut  [][]float64 `json:"grads_out"`
}

func checkClip(c *conf, raw []byte) {
	var f clipFile
	if !c.decode(raw, &f) {
		return
	}
	if c.dtype == "float32" {
		runClip[float32](c, &f)
	} else {
		runClip[float64](c, &f)
	}
}

func runClip[T optim.Float](c *conf, f *clipFile) {
	grads := make([][]T, len(f.GradsIn))
	for i, g := range f.GradsIn {
		grads[i] = convert[T](g.Data)
	}
	switch f.Clip.Kind {
	case "norm":
		total, err := optim.ClipGradNorm(grads, f.Clip.MaxNorm, normType(c, f.Clip.NormType))
		if err != nil {
			c.Errorf("%v", err)
			return
		}
		if f.TotalNorm == nil {
			c.Errorf("norm clipping file gives no total_norm")
		} else {
			c.scalar("total_norm", total, *f.TotalNorm)
		}
	case "value":
		if err := optim.ClipGradValue(grads, f.Clip.ClipValue); err != nil {
			c.Errorf("%v", err)
			return
		}
	default:
		c.Errorf("unsupported clip kind %q", f.Clip.Kind)
		return
	}
	if len(f.GradsOut) != len(grads) {
		c.Errorf("%d grads_out for %d grads_in", len(f.GradsOut), len(grads))
		return
	}
	for i := range grads {
		c.near(fmt.Sprintf("grads_out[%d]", i), widen(grads[i]), f.GradsOut[i])
	}
}

func convert[T optim.Float](x []float64) []T {
	y := make([]T, len(x))
	for i, v := range x {
		y[i] = T(v)
	}
	return y
}

func widen[T optim.Float](x []T) []float64 {
	y := make([]float64, len(x))
	for i, v := range x {
		y[i] = float64(v)
	}
	return y
}
