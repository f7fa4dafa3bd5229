package optim

// ScheduleFreeSGD is SGD with momentum without a learning-rate schedule
// (Defazio et al. 2024, "The Road Less Scheduled"; facebookresearch/
// schedule_free sgd_schedulefree.py): the form of [ScheduleFreeAdamW]
// without the second moment. With the group's rate α, t = 1, 2, … and
// g = ∇f(y):
//
//	γ_t = α·min(1, t/Warmup)                 linear warm-up (Warmup 0: none)
//	γmax = max_{s≤t} γ_s
//	w_t = t^r · γmax^p,  c_t = w_t / Σ_{s≤t} w_s
//	ĝ = g + λ·y
//	y ← (1 − c_t)·y + c_t·z + γ_t·(β·(1 − c_t) − 1)·ĝ
//	z ← z − γ_t·ĝ,   z₀ = y₀
//	x = y + (1 − 1/β)·(z − y)                the point to evaluate
//
// β = Momentum (the interpolation that plays momentum's part; there is no
// momentum buffer), λ = WeightDecay (coupled, at y), r = R, p =
// WeightLRPower. With r = 0 and p = 0, c_t = 1/t and x is the plain
// average of the z's (Polyak–Ruppert averaging, the paper's starting
// point). The reference's
// default rate is 1.0, far above plain SGD's usual ones: the averaging
// tolerates it.
//
// As for ScheduleFreeAdamW, Step trains y; [Optimizer.Eval] puts x in the
// parameters for evaluating and saving and [Optimizer.Train] puts y back,
// bit for bit.
//
// The chain: [ScheduleFree] alone (it applies the rate itself), run as one
// fused kernel.
type ScheduleFreeSGD struct {
	Momentum      float64 `key:"momentum" help:"interpolation β between the average x and z"`           // default 0.9
	WeightDecay   float64 `key:"wd" help:"weight decay λ: gradient += λy"`                              // default 0
	Warmup        int     `key:"warmup-steps" help:"steps of linear warm-up of the rate"`               // default 0
	R             float64 `key:"r" help:"power r of t in the averaging weight"`                         // default 0
	WeightLRPower float64 `key:"weight-lr-power" help:"power of the peak rate in the averaging weight"` // default 2
}

// DefaultScheduleFreeSGD returns the reference's defaults; its default
// learning rate is 1.
func DefaultScheduleFreeSGD() ScheduleFreeSGD {
	return ScheduleFreeSGD{Momentum: 0.9, WeightLRPower: 2}
}

// Validate checks the hyperparameters, naming the first bad one.
func (m ScheduleFreeSGD) Validate() error {
	return sfSGDChain[float64](m)[0].(*ScheduleFree[float64]).check("ScheduleFreeSGD", "Momentum")
}

func (ScheduleFreeSGD) defaultLR() float64 { return 1 }

func (m ScheduleFreeSGD) build(dst any) error {
	return fill(dst, m, sfSGDChain[float32], sfSGDChain[float64])
}

func sfSGDChain[T Float](m ScheduleFreeSGD) Chain[T] {
	return Chain[T]{&ScheduleFree[T]{Beta1: m.Momentum, WeightDecay: m.WeightDecay, Warmup: m.Warmup, R: m.R, WeightLRPower: m.WeightLRPower}}
}
