package optim

import (
	"fmt"
	"math"

	"github.com/descentml/descent/internal/kernel"
)

var (
	_ Method             = Muon{}
	_ Transform[float32] = (*muonMomentum[float32])(nil)
	_ Reducer[float32]   = (*Orthogonalize[float32])(nil)
)

// Muon orthogonalizes the momentum of each weight matrix (Jordan et al.
// 2024; PyTorch's torch.optim.Muon, PyTorch ≥ 2.9). For a parameter of
// shape [A, B]:
//
//	b ← b + (1 − μ)·(g − b),  b₀ = 0                 (torch.lerp)
//	U = g + μ·(b − g)                                (Nesterov; else U = b)
//	X = U / max(‖U‖_F, ε)                            (transposed first when A > B)
//	repeat n times:  S = X·Xᵀ;  X ← a·X + (b_ns·S + c·S·S)·X
//	θ ← θ·(1 − α_t·λ) − α_t·s·X
//
// μ = Momentum (or the scheduled momentum), ε = Eps, n = NSSteps,
// (a, b_ns, c) = NSCoefficients (3.4445, −4.7750, 2.0315), λ = WeightDecay.
// The quintic Newton–Schulz iteration pushes every singular value of U
// towards 1 — X ≈ the orthogonal factor of U's polar decomposition — so each
// step moves all directions of the matrix alike. s adjusts the rate to the
// shape: √max(1, A/B) (Keller Jordan's original; torch's adjust_lr_fn
// "original", the default) or, with MatchRMSAdamW, 0.2·√max(A, B), which
// gives the update the RMS of an AdamW step so that AdamW's learning rate
// and weight decay carry over (Liu et al. 2025, Moonlight).
//
// Weight decay is decoupled and uses α_t, not α_t·s. ε is a lower bound on
// the norm (torch.optim.Muon's clamp), not added to it as in Keller
// Jordan's code, and the iteration runs in the parameters' precision, not
// bfloat16. Each matrix product goes through the blocked GEMM of
// internal/kernel, over every core for large matrices.
//
// Muon is for the 2-D weights of hidden layers only: a parameter of any
// other rank is an error, as in PyTorch. Embeddings, the output layer,
// biases and normalization gains belong to AdamW: make two parameter groups
// with [Split] and [HiddenMatrix].
//
// References: K. Jordan et al., "Muon: An optimizer for hidden layers in
// neural networks", 2024 (kellerjordan.github.io/posts/muon); J. Liu et
// al., "Muon is Scalable for LLM Training", 2025 (arXiv:2502.16982).
type Muon struct {
	Momentum      float64 `key:"momentum" help:"momentum μ of the buffer"`                             // default 0.95
	Nesterov      bool    `key:"nesterov" help:"Nesterov momentum"`                                    // default true
	WeightDecay   float64 `key:"wd" help:"decoupled weight decay λ: θ ← θ·(1 − α·λ)"`                  // default 0.1
	Eps           float64 `key:"eps" help:"ε: U is divided by max(‖U‖_F, ε)"`                          // default 1e-7
	NSSteps       int     `key:"ns-steps" help:"Newton–Schulz iterations"`                             // default 5
	MatchRMSAdamW bool    `key:"match-rms-adamw" help:"scale the rate by 0.2·√max(A,B) (AdamW's RMS)"` // default false: √max(1, A/B)
	// NSCoefficients are (a, b, c) of the quintic iteration; the zero value
	// means the default (3.4445, −4.7750, 2.0315).
	NSCoefficients [3]float64
}

// DefaultNSCoefficients are the coefficients of Keller Jordan's quintic
// Newton–Schulz iteration.
var DefaultNSCoefficients = [3]float64{3.4445, -4.7750, 2.0315}

// DefaultMuon returns torch.optim.Muon's defaults; its default learning
// rate is 1e-3.
func DefaultMuon() Muon {
	return Muon{Momentum: 0.95, Nesterov: true, WeightDecay: 0.1, Eps: 1e-7, NSSteps: 5, NSCoefficients: DefaultNSCoefficients}
}

// Validate checks the hyperparameters, naming the first bad one.
func (m Muon) Validate() error {
	return firstErr(
		unitInterval("Muon.Momentum", m.Momentum),
		(&AddDecayedWeights[float64]{WeightDecay: m.WeightDecay}).check("Muon"),
		orthogonalize[float64](m).check("Muon"),
	)
}

func (Muon) defaultLR() float64 { return 1e-3 }

func (m Muon) build(dst any) error { return fill(dst, m, muonChain[float32], muonChain[float64]) }

// orthogonalize returns Muon's Orthogonalize transform of m: zero
// coefficients are the default.
func orthogonalize[T Float](m Muon) *Orthogonalize[T] {
	coef := m.NSCoefficients
	if coef == [3]float64{} {
		coef = DefaultNSCoefficients
	}
	return &Orthogonalize[T]{Eps: m.Eps, NSSteps: m.NSSteps, NSCoefficients: coef, MatchRMSAdamW: m.MatchRMSAdamW}
}

func muonChain[T Float](m Muon) Chain[T] {
	c := Chain[T]{
		&muonMomentum[T]{Momentum: m.Momentum, Nesterov: m.Nesterov},
		orthogonalize[T](m),
	}
	if m.WeightDecay != 0 {
		c = append(c, &AddDecayedWeights[T]{WeightDecay: m.WeightDecay})
	}
	return append(c, &ScaleByLR[T]{})
}

// muonMomentum is Muon's momentum, written as torch.optim.Muon writes it:
// b.lerp_(u, 1 − μ), then u.lerp_(b, μ) with Nesterov, else u ← b.
type muonMomentum[T Float] struct {
	Momentum float64
	Nesterov bool

	b  [][]T
	mu T
	claim
}

func (m *muonMomentum[T]) Name() string { return "muon_momentum" }

func (m *muonMomentum[T]) Init(s *State[T], params []ParamInfo) error {
	m.b = make([][]T, len(params))
	for k := range params {
		s.Vec(&m.b[k], k, "momentum_buffer", 0)
	}
	return nil
}

func (m *muonMomentum[T]) Begin(c *StepInfo) { m.mu = T(c.MomentumOr(m.Momentum)) }

func (m *muonMomentum[T]) Update(k, off int, u, _ []T) {
	b := m.b[k][off : off+len(u)]
	kernel.Lerp(b, u, 1-m.mu)
	if m.Nesterov {
		kernel.Lerp(u, b, m.mu)
	} else {
		copy(u, b)
	}
}

// Orthogonalize replaces the update of each matrix parameter by the result
// of Newton–Schulz iterations on it, scaled for its shape (Muon's core;
// see [Muon] for the iteration). Every parameter must be 2-D.
type Orthogonalize[T Float] struct {
	Eps            float64 // in Muon's order
	NSSteps        int
	NSCoefficients [3]float64
	MatchRMSAdamW  bool // scale by 0.2·√max(A, B) instead of √max(1, A/B)

	shapes [][2]int
	scale  []T
	x, s   []T // scratch: the next iterate, and the Gram matrix and its polynomial
	g      []T
	// sumSq and count are Σ(s·X)² and the elements of the last step's
	// update, for Diagnostics (diagnostics.go).
	sumSq float64
	count int
	claim
}

func (o *Orthogonalize[T]) Name() string { return "orthogonalize" }

// Validate checks the hyperparameters, naming the first bad one.
func (o *Orthogonalize[T]) Validate() error { return o.check("Orthogonalize") }

func (o *Orthogonalize[T]) check(owner string) error {
	return firstErr(
		positive(owner+".Eps", o.Eps),
		atLeast(owner+".NSSteps", o.NSSteps, 1),
		allFinite(owner+".NSCoefficients", o.NSCoefficients[:]),
	)
}

func (o *Orthogonalize[T]) Init(_ *State[T], params []ParamInfo) error {
	o.shapes, o.scale = make([][2]int, len(params)), make([]T, len(params))
	var nx, ns int
	for k, p := range params {
		if len(p.Shape) != 2 {
			return fmt.Errorf("optim: Muon: parameter %q has shape %v: Muon updates 2-D weight matrices only; route the others to AdamW (optim.Split with optim.HiddenMatrix)", p.Name, p.Shape)
		}
		a, b := p.Shape[0], p.Shape[1]
		o.shapes[k] = [2]int{a, b}
		r := math.Sqrt(math.Max(1, float64(a)/float64(b)))
		if o.MatchRMSAdamW {
			r = 0.2 * math.Sqrt(float64(max(a, b)))
		}
		o.scale[k] = T(r)
		nx, ns = max(nx, a*b), max(ns, min(a, b)*min(a, b))
	}
	o.x, o.s, o.g = make([]T, nx), make([]T, ns), make([]T, ns)
	return nil
}

func (o *Orthogonalize[T]) Begin(*StepInfo) {}

func (o *Orthogonalize[T]) Sums() int { return 0 }

func (o *Orthogonalize[T]) Gather(int, int, []T, []T, []float64) {}

func (o *Orthogonalize[T]) Reduce(_ [][]float64, u, _ [][]T) {
	o.sumSq, o.count = 0, 0
	for k, sh := range o.shapes {
		o.newtonSchulz(u[k], sh[0], sh[1])
		sc := float64(o.scale[k])
		o.sumSq += sc * sc * kernel.SumSquares(u[k])
		o.count += len(u[k])
	}
}

func (o *Orthogonalize[T]) Update(k, _ int, u, _ []T) { kernel.Scale(o.scale[k], u) }

// newtonSchulz replaces the a×b matrix x by its Newton–Schulz iterate.
// A tall matrix (a > b) is iterated as its transpose without moving it:
// S = XᵀX and X ← a·X + X·Pᵀ.
func (o *Orthogonalize[T]) newtonSchulz(x []T, a, b int) {
	if len(x) == 0 {
		return
	}
	n := math.Max(math.Sqrt(kernel.SumSquares(x)), o.Eps)
	kernel.Scale(T(1/n), x)
	tall := a > b
	r := min(a, b)
	s, p, y := o.s[:r*r], o.g[:r*r], o.x[:a*b]
	ca, cb, cc := T(o.NSCoefficients[0]), T(o.NSCoefficients[1]), T(o.NSCoefficients[2])
	for range o.NSSteps {
		if tall {
			kernel.Gemm(true, false, r, r, a, 1, x, b, x, b, 0, s, r) // S = XᵀX
		} else {
			kernel.Gemm(false, true, r, r, b, 1, x, b, x, b, 0, s, r) // S = XXᵀ
		}
		copy(p, s)
		kernel.Gemm(false, false, r, r, r, cc, s, r, s, r, cb, p, r) // P = b·S + c·S·S
		copy(y, x)
		if tall {
			kernel.Gemm(false, true, a, b, b, 1, x, b, p, r, ca, y, b) // Y = a·X + X·Pᵀ
		} else {
			kernel.Gemm(false, false, a, b, a, 1, p, r, x, b, ca, y, b) // Y = a·X + P·X
		}
		copy(x, y)
	}
}
