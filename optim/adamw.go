package optim

import "github.com/descentml/descent/schedule"

// AdamW is Adam with decoupled weight decay (PyTorch's torch.optim.AdamW;
// Loshchilov & Hutter 2019). With the learning rate α_t, step t = 1, 2, …
// and g = ∇f(θ):
//
//	m ← β₁·m + (1 − β₁)·g,  m₀ = 0        first moment
//	v ← β₂·v + (1 − β₂)·g²,  v₀ = 0       second moment
//	v̄ ← max(v̄, v)                         AMSGrad only; v̄ replaces v below
//	m̂ = m/(1 − β₁ᵗ),  v̂ = v/(1 − β₂ᵗ)      bias corrections
//	θ ← θ − α_t·m̂/(√v̂ + ε) − α_t·λ·θ
//
// β₁ = Beta1, β₂ = Beta2, ε = Eps (outside the square root, added to the
// bias-corrected √v̂ as in [Adam]), λ = WeightDecay. The decay never passes
// through the moments, so every weight shrinks at the same relative rate
// whatever its gradient history; with a decay mask (Config.DecayMask) the
// masked parameters are not decayed at all. AMSGrad as in [Adam].
//
// PyTorch writes the same step as θ ← θ·(1 − α_t·λ) followed by the Adam
// step on the decayed θ; in exact arithmetic the two are one update, since
// the Adam term does not depend on θ. The paper decouples the decay from
// the learning rate too: with a schedule multiplier η_t (the learning rate
// being α·η_t),
//
//	θ ← θ − η_t·(α·m̂/(√v̂ + ε) + λ·θ)
//
// Set DecaySchedule to η_t for that form: the decay term becomes η_t·λ·θ,
// independent of α. For example, with LR = schedule.Cosine{Base: α, …},
// DecaySchedule = schedule.Cosine{Base: 1, …}. PyTorch's λ is the paper's
// λ/α.
//
// Cautious (Liang et al. 2024) masks the Adam term where it disagrees in
// sign with the gradient, and rescales what is left so that the step keeps
// its size (see [CautiousScale]; the decay is never masked):
//
//	φ = [m·g > 0],  θ ← θ − α_t·(φ/max(mean(φ), 10⁻³))·m̂/(√v̂ + ε) − α_t·λ·θ
//
// with the mean over each parameter tensor, as kyleliang919/C-Optim's
// c_adamw.py does.
//
// The chain: [ScaleByAdam] → [AddDecayedWeights] → [ScaleByLR] (the decay
// after the learning rate with DecaySchedule), run as one fused kernel;
// with Cautious, [Cautious] wraps ScaleByAdam, and the chain runs as two
// fused passes: one that counts the mask from the gradient, then the step.
type AdamW struct {
	Beta1         float64           `key:"beta1" help:"decay β₁ of the first moment"`  // default 0.9
	Beta2         float64           `key:"beta2" help:"decay β₂ of the second moment"` // default 0.999
	Eps           float64           `key:"eps" help:"ε added to the denominator"`      // default 1e-8
	AMSGrad       bool              `key:"amsgrad" help:"AMSGrad: the running maximum of v"`
	WeightDecay   float64           `key:"wd" help:"decoupled weight decay λ: θ ← θ − α_t·λ·θ"` // default 0.01
	Cautious      bool              `key:"cautious" help:"cautious update: mask where m and g disagree in sign"`
	CautiousScale CautiousScale     // normalisation of the cautious mask; zero: CautiousMean
	DecaySchedule schedule.Schedule // η_t of the paper's form; nil: PyTorch's form
}

// DefaultAdamW returns PyTorch's defaults; its default learning rate is 1e-3.
func DefaultAdamW() AdamW { return AdamW{Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, WeightDecay: 0.01} }

// Validate checks the hyperparameters, naming the first bad one.
func (m AdamW) Validate() error {
	return firstErr(
		(&ScaleByAdam[float64]{Beta1: m.Beta1, Beta2: m.Beta2, Eps: m.Eps}).check("AdamW"),
		(&AddDecayedWeights[float64]{WeightDecay: m.WeightDecay, DecaySchedule: m.DecaySchedule}).check("AdamW"),
		m.CautiousScale.validate("AdamW.CautiousScale"),
	)
}

func (AdamW) defaultLR() float64 { return 1e-3 }

func (m AdamW) build(dst any) error { return fill(dst, m, adamWChain[float32], adamWChain[float64]) }

func adamWChain[T Float](m AdamW) Chain[T] {
	var adam Transform[T] = &ScaleByAdam[T]{Beta1: m.Beta1, Beta2: m.Beta2, Eps: m.Eps, AMSGrad: m.AMSGrad}
	if m.Cautious {
		adam = &Cautious[T]{Base: adam.(*ScaleByAdam[T]), CautiousScale: m.CautiousScale.or(CautiousMean)}
	}
	lr := &ScaleByLR[T]{}
	if m.WeightDecay == 0 {
		return Chain[T]{adam, lr}
	}
	decay := &AddDecayedWeights[T]{WeightDecay: m.WeightDecay, DecaySchedule: m.DecaySchedule}
	if m.DecaySchedule != nil {
		return Chain[T]{adam, lr, decay} // η_t·λ·θ, independent of α
	}
	return Chain[T]{adam, decay, lr} // α_t·λ·θ
}
