package optim

// ScheduleFreeAdamW is AdamW without a learning-rate schedule (Defazio et
// al. 2024, "The Road Less Scheduled"; facebookresearch/schedule_free
// adamw_schedulefree.py; the AlgoPerf 2024 self-tuning winner): it
// interpolates between a base sequence z, which takes plain Adam-normalised
// steps, and its running average x, and trains at a point y between them.
// It needs no schedule and no total step count; the paper reports it
// matching or beating tuned cosine schedules. With the group's rate α, t = 1, 2, … and
// g = ∇f(y):
//
//	γ_t = α·min(1, t/Warmup)                 linear warm-up (Warmup 0: none)
//	γmax = max_{s≤t} γ_s
//	w_t = t^r · γmax^p,  c_t = w_t / Σ_{s≤t} w_s
//	v ← β₂·v + (1 − β₂)·g²,  v₀ = 0
//	ĝ = g/(√(v/(1 − β₂ᵗ)) + ε) + λ·y
//	y ← (1 − c_t)·y + c_t·z + γ_t·(β₁·(1 − c_t) − 1)·ĝ
//	z ← z − γ_t·ĝ,   z₀ = y₀
//	x = y + (1 − 1/β₁)·(z − y)               the point to evaluate
//
// β₁ = Beta1, β₂ = Beta2, ε = Eps (outside the root, after the bias
// correction of v; there is no first moment: β₁ is the interpolation), λ =
// WeightDecay, applied at y, after the normalisation, to both sequences,
// r = R, p = WeightLRPower. In terms of x the method is
// z ← z − γ·ĝ(y),  x ← (1 − c)·x + c·z,  y = (1 − β₁)·z + β₁·x: gradients
// are taken at y, the average x is what to evaluate.
//
// Step trains y, which the parameters hold. Evaluation, and the model one
// saves, must use x: [Optimizer.Eval] puts x in the parameters and
// [Optimizer.Train] puts y back, bit for bit; Step refuses to run between
// them. (PyTorch's optimizer.eval()/train() recompute y from x, which is
// not exact; here y is kept aside.) With batch normalization, x needs its
// own running statistics: the reference recommends recomputing them with a
// few training batches in train mode after Eval. Config.LR should be a
// constant rate (the warm-up is Warmup); a momentum schedule is ignored.
//
// The chain: [ScheduleFree] alone (it applies the rate itself), run as one
// fused kernel.
type ScheduleFreeAdamW struct {
	Beta1         float64 `key:"beta1" help:"interpolation β₁ between the average x and z"`             // default 0.9
	Beta2         float64 `key:"beta2" help:"decay β₂ of the second moment"`                            // default 0.999
	Eps           float64 `key:"eps" help:"ε added to the denominator"`                                 // default 1e-8
	WeightDecay   float64 `key:"wd" help:"weight decay λ: ĝ += λy, after the normalisation"`            // default 0
	Warmup        int     `key:"warmup-steps" help:"steps of linear warm-up of the rate"`               // default 0
	R             float64 `key:"r" help:"power r of t in the averaging weight"`                         // default 0
	WeightLRPower float64 `key:"weight-lr-power" help:"power of the peak rate in the averaging weight"` // default 2
}

// DefaultScheduleFreeAdamW returns the reference's defaults; its default
// learning rate is 0.0025.
func DefaultScheduleFreeAdamW() ScheduleFreeAdamW {
	return ScheduleFreeAdamW{Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, WeightLRPower: 2}
}

// Validate checks the hyperparameters, naming the first bad one.
func (m ScheduleFreeAdamW) Validate() error {
	return sfAdamWChain[float64](m)[0].(*ScheduleFree[float64]).check("ScheduleFreeAdamW", "Beta1")
}

func (ScheduleFreeAdamW) defaultLR() float64 { return 0.0025 }

func (m ScheduleFreeAdamW) build(dst any) error {
	return fill(dst, m, sfAdamWChain[float32], sfAdamWChain[float64])
}

func sfAdamWChain[T Float](m ScheduleFreeAdamW) Chain[T] {
	return Chain[T]{&ScheduleFree[T]{Beta1: m.Beta1, Beta2: m.Beta2, Eps: m.Eps, WeightDecay: m.WeightDecay, Adam: true, Warmup: m.Warmup, R: m.R, WeightLRPower: m.WeightLRPower}}
}
