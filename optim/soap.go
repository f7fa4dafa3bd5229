package optim

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/lapack"
	"gonum.org/v1/gonum/lapack/gonum"
	"gonum.org/v1/gonum/lapack/lapack64"

	"github.com/descentml/descent/internal/kernel"
)

var (
	_ Method           = SOAP{}
	_ Reducer[float32] = (*ScaleBySOAP[float32])(nil)
)

// SOAP runs Adam in the eigenbasis of Shampoo's preconditioner (Vyas et al.
// 2024; the authors' soap.py). For a weight matrix G = ∇f(θ) of shape
// [A, B], with L (A×A) and R (B×B) the running second moments of its rows
// and columns and Q_L, Q_R their eigenvectors:
//
//	first step:  L = (1 − β_s)·GGᵀ,  R = (1 − β_s)·GᵀG,
//	             Q_L, Q_R = eigenvectors (descending eigenvalues); θ is not moved
//	step t = 1, 2, …:
//	G' = Q_Lᵀ·G·Q_R                                 (into the eigenbasis)
//	m ← β₁·m + (1 − β₁)·G',  v ← β₂·v + (1 − β₂)·G'²
//	N = Q_L·(m/(√v + ε))·Q_Rᵀ                       (back to the parameter's basis)
//	θ ← θ − α_t·√(1 − β₂ᵗ)/(1 − β₁ᵗ)·N               (CorrectBias; else θ − α_t·N)
//	θ ← θ·(1 − α_t·λ)                               (decoupled, after the step)
//	L ← β_s·L + (1 − β_s)·GGᵀ,  R ← β_s·R + (1 − β_s)·GᵀG
//	every f-th t: one power step and QR re-estimate each Q:
//	  Q ← qr(L·Q), columns sorted by descending diag(QᵀLQ), and v's rows
//	  (columns for R) permuted alike; m is carried over into the new basis
//
// β₁, β₂ = Beta1, Beta2; β_s = ShampooBeta (β₂ when negative); ε = Eps
// outside the square root; λ = WeightDecay; f = PreconditionFrequency.
// Parameters of one dimension get plain Adam in this order (first step
// skipped, decay after the step). A tensor of more dimensions (a
// convolution kernel) has one preconditioner per dimension, each rotating
// that dimension, as in the reference without merge_dims. A dimension above
// MaxPrecondDim keeps the identity.
//
// The first step only builds the preconditioner, as in the reference, so
// that the current gradient never enters its own projection. The
// eigendecomposition (LAPACK's dsyev) and QR (dgeqrf, dorgqr) are gonum's,
// in float64 for float32 parameters too (the reference does them in
// float32); the products go through the blocked GEMM. Each eigenvector's
// sign is arbitrary, and the algorithm does not depend on it.
//
// Reference: N. Vyas et al., "SOAP: Improving and Stabilizing Shampoo using
// Adam", 2024 (arXiv:2409.11321); github.com/nikhilvyas/SOAP.
type SOAP struct {
	Beta1                 float64 `key:"beta1" help:"decay β₁ of the first moment"`                                  // default 0.95
	Beta2                 float64 `key:"beta2" help:"decay β₂ of the second moment"`                                 // default 0.95
	ShampooBeta           float64 `key:"shampoo-beta" help:"decay of the preconditioners L, R; negative: β₂"`        // default −1 (β₂)
	Eps                   float64 `key:"eps" help:"ε added to the denominator"`                                      // default 1e-8
	WeightDecay           float64 `key:"wd" help:"decoupled weight decay λ, after the step"`                         // default 0.01
	PreconditionFrequency int     `key:"precondition-frequency" help:"steps between re-estimates of the eigenbasis"` // default 10
	MaxPrecondDim         int     `key:"max-precond-dim" help:"largest dimension given a preconditioner"`            // default 10000
	CorrectBias           bool    `key:"correct-bias" help:"Adam's bias correction"`                                 // default true
}

// DefaultSOAP returns the reference's defaults; its default learning rate
// is 3e-3.
func DefaultSOAP() SOAP {
	return SOAP{Beta1: 0.95, Beta2: 0.95, ShampooBeta: -1, Eps: 1e-8, WeightDecay: 0.01, PreconditionFrequency: 10, MaxPrecondDim: 10000, CorrectBias: true}
}

// Validate checks the hyperparameters, naming the first bad one.
func (m SOAP) Validate() error {
	var shampooBeta error
	if !(m.ShampooBeta < 1) || math.IsInf(m.ShampooBeta, -1) {
		shampooBeta = fmt.Errorf("optim: SOAP.ShampooBeta = %v: must be in [0, 1), or negative and finite for β₂", m.ShampooBeta)
	}
	return soapScale[float64](m).check("SOAP", shampooBeta)
}

func (SOAP) defaultLR() float64 { return 3e-3 }

func (m SOAP) build(dst any) error { return fill(dst, m, soapChain[float32], soapChain[float64]) }

// soapScale returns the SOAP transform of m, whose negative ShampooBeta is
// β₂.
func soapScale[T Float](m SOAP) *ScaleBySOAP[T] {
	bs := m.ShampooBeta
	if bs < 0 {
		bs = m.Beta2
	}
	return &ScaleBySOAP[T]{Beta1: m.Beta1, Beta2: m.Beta2, ShampooBeta: bs, Eps: m.Eps, WeightDecay: m.WeightDecay,
		PreconditionFrequency: m.PreconditionFrequency, MaxPrecondDim: m.MaxPrecondDim, CorrectBias: m.CorrectBias}
}

func soapChain[T Float](m SOAP) Chain[T] { return Chain[T]{soapScale[T](m), &ScaleByLR[T]{}} }

// ScaleBySOAP replaces the update by SOAP's (see [SOAP]) divided by the
// learning rate, which ScaleByLR then applies. Its weight decay, applied
// after the step, is folded in as u ← u + λ·(θ − α_t·u). It is a [Reducer]:
// the rotations need each tensor whole.
type ScaleBySOAP[T Float] struct {
	Beta1, Beta2, ShampooBeta, Eps       float64
	WeightDecay                          float64 // masked by Config.DecayMask
	PreconditionFrequency, MaxPrecondDim int
	CorrectBias                          bool

	params []soapParam[T]
	decay  []bool
	first  bool
	t      int
	lr     T
	scale  T
	b1, b2 T

	// Scratch, sized for the largest parameter.
	a, b  []T // rotate's
	gp    []T // the rotated gradient and step
	gg    []T // n×n
	f, o  []float64
	lo    []float64
	w, wk []float64
	tau   []float64
	est   []float64
	idx   []int
	claim
}

// soapParam is one parameter's state: its moments, and per dimension the
// preconditioner and its eigenvectors (nil for a dimension left alone).
type soapParam[T Float] struct {
	dims   []int
	m, v   []T
	gg, q  [][]T
	matrix bool // some dimension is preconditioned
}

func (s *ScaleBySOAP[T]) Name() string { return "scale_by_soap" }

// Validate checks the hyperparameters, naming the first bad one.
// ShampooBeta is the preconditioner's decay itself, in [0, 1): SOAP's
// negative "use β₂" is resolved before the transform is made.
func (s *ScaleBySOAP[T]) Validate() error {
	return s.check("ScaleBySOAP", unitInterval("ScaleBySOAP.ShampooBeta", s.ShampooBeta))
}

// check takes ShampooBeta's error from the caller, in its place among the
// fields: SOAP's own rule, which allows a negative one, or the transform's.
func (s *ScaleBySOAP[T]) check(owner string, shampooBeta error) error {
	return firstErr(
		unitInterval(owner+".Beta1", s.Beta1),
		unitInterval(owner+".Beta2", s.Beta2),
		shampooBeta,
		positive(owner+".Eps", s.Eps),
		nonNegative(owner+".WeightDecay", s.WeightDecay),
		atLeast(owner+".PreconditionFrequency", s.PreconditionFrequency, 1),
		atLeast(owner+".MaxPrecondDim", s.MaxPrecondDim, 0),
	)
}

func (s *ScaleBySOAP[T]) Init(st *State[T], params []ParamInfo) error {
	s.params, s.decay = make([]soapParam[T], len(params)), make([]bool, len(params))
	var size, nn int
	for k, p := range params {
		x := &s.params[k]
		s.decay[k] = p.Decay
		st.Vec(&x.m, k, "exp_avg", 0)
		st.Vec(&x.v, k, "exp_avg_sq", 0)
		if len(p.Shape) < 2 || p.Size == 0 {
			continue // plain Adam
		}
		x.dims = append([]int(nil), p.Shape...)
		x.gg, x.q = make([][]T, len(x.dims)), make([][]T, len(x.dims))
		for i, d := range x.dims {
			if d > s.MaxPrecondDim {
				continue
			}
			st.Buffer(&x.gg[i], k, fmt.Sprintf("GG.%d", i), []int{d, d}, 0)
			st.Buffer(&x.q[i], k, fmt.Sprintf("Q.%d", i), []int{d, d}, 0)
			x.matrix = true
			nn = max(nn, d)
		}
		size = max(size, p.Size)
	}
	s.a, s.b, s.gp = make([]T, size), make([]T, size), make([]T, size)
	s.gg = make([]T, nn*nn)
	s.f, s.o, s.lo = make([]float64, nn*nn), make([]float64, nn*nn), make([]float64, nn*nn)
	s.w, s.wk, s.tau = make([]float64, nn), make([]float64, max(1, 66*nn)), make([]float64, nn)
	s.est, s.idx = make([]float64, nn), make([]int, nn)
	return nil
}

func (s *ScaleBySOAP[T]) Begin(c *StepInfo) {
	s.first, s.t, s.lr = c.T == 1, c.T-1, T(c.LR)
	t := float64(s.t)
	s.scale = 1
	if s.CorrectBias && !s.first {
		s.scale = T(math.Sqrt(1-math.Pow(s.Beta2, t)) / (1 - math.Pow(s.Beta1, t)))
	}
	s.b1, s.b2 = T(s.Beta1), T(s.Beta2)
}

func (s *ScaleBySOAP[T]) Sums() int { return 0 }

func (s *ScaleBySOAP[T]) Gather(int, int, []T, []T, []float64) {}

func (s *ScaleBySOAP[T]) Reduce(_ [][]float64, u, _ [][]T) {
	for k := range s.params {
		s.step(&s.params[k], u[k])
	}
}

// step turns the gradient g of one parameter into its update.
func (s *ScaleBySOAP[T]) step(x *soapParam[T], g []T) {
	n := len(g)
	if n == 0 {
		return
	}
	if s.first {
		if x.matrix {
			s.accumulate(x, g)
			for i, d := range x.dims {
				if x.q[i] != nil {
					s.eigenvectors(x.q[i], x.gg[i], d)
				}
			}
		}
		clear(g)
		return
	}
	if !x.matrix {
		kernel.Adam(g, x.m, x.v, nil, s.b1, s.b2, 1, 1, T(s.Eps))
		kernel.Scale(s.scale, g)
		return
	}
	gp := s.gp[:n]
	s.rotate(gp, g, x, false)
	kernel.Adam(gp, x.m, x.v, nil, s.b1, s.b2, 1, 1, T(s.Eps)) // gp ← m/(√v + ε)
	refresh := s.t%s.PreconditionFrequency == 0
	if refresh {
		s.rotate(s.a[:n], x.m, x, true) // m into the parameter's basis
		copy(x.m, s.a[:n])
	}
	s.accumulate(x, g) // from the gradient, before g becomes the update
	s.rotate(g, gp, x, true)
	kernel.Scale(s.scale, g)
	if refresh {
		for i, d := range x.dims {
			if x.q[i] != nil {
				s.refresh(x, i, d)
			}
		}
		s.rotate(s.a[:n], x.m, x, false)
		copy(x.m, s.a[:n])
	}
}

// around returns the sizes of the dimensions before and after dimension i.
func around(dims []int, i int) (pre, post int) {
	pre, post = 1, 1
	for j, d := range dims {
		if j < i {
			pre *= d
		} else if j > i {
			post *= d
		}
	}
	return pre, post
}

// rotate sets dst to src with every dimension i multiplied by its Qᵢᵀ (into
// the eigenbasis) or, with back, by Qᵢ: for a matrix, Q₀ᵀ·src·Q₁ or
// Q₀·src·Q₁ᵀ. A dimension without Q is left alone. dst and src may not be
// rotate's scratch, except that dst may be s.a.
func (s *ScaleBySOAP[T]) rotate(dst, src []T, x *soapParam[T], back bool) {
	n := len(src)
	cur := src
	bufs := [2][]T{s.a[:n], s.b[:n]}
	if &dst[0] == &bufs[0][0] {
		bufs[0], bufs[1] = bufs[1], bufs[0]
	}
	next := 0
	for i, d := range x.dims {
		q := x.q[i]
		if q == nil {
			continue
		}
		out := bufs[next]
		next ^= 1
		pre, post := around(x.dims, i)
		if post == 1 { // cur is pre×d: cur·Q (into) or cur·Qᵀ (back)
			kernel.Gemm(false, back, pre, d, d, 1, cur, d, q, d, 0, out, d)
		} else { // each d×post slab: Qᵀ·slab (into) or Q·slab (back)
			for p := range pre {
				o := p * d * post
				kernel.Gemm(!back, false, d, post, d, 1, q, d, cur[o:o+d*post], post, 0, out[o:o+d*post], post)
			}
		}
		cur = out
	}
	copy(dst, cur)
}

// accumulate moves each preconditioner towards the gradient's second
// moment along its dimension (GGᵀ and GᵀG for a matrix) by 1 − β_s.
func (s *ScaleBySOAP[T]) accumulate(x *soapParam[T], g []T) {
	w := T(1 - s.ShampooBeta)
	for i, d := range x.dims {
		if x.gg[i] == nil {
			continue
		}
		gg := s.gg[:d*d]
		pre, post := around(x.dims, i)
		if post == 1 { // g is pre×d: gᵀg
			kernel.Gemm(true, false, d, d, pre, 1, g, d, g, d, 0, gg, d)
		} else { // Σ over slabs of slab·slabᵀ
			for p := range pre {
				o := p * d * post
				beta := T(1)
				if p == 0 {
					beta = 0
				}
				kernel.Gemm(false, true, d, d, post, 1, g[o:o+d*post], post, g[o:o+d*post], post, beta, gg, d)
			}
		}
		kernel.Lerp(x.gg[i], gg, w)
	}
}

// eigenvectors sets q to the eigenvectors of the n×n symmetric m + 10⁻³⁰·I,
// as columns in order of descending eigenvalue.
func (s *ScaleBySOAP[T]) eigenvectors(q, m []T, n int) {
	a := s.f[:n*n]
	for i, v := range m {
		a[i] = float64(v)
	}
	for i := range n {
		a[i*n+i] += 1e-30
	}
	sym := blas64.Symmetric{Uplo: blas.Upper, N: n, Data: a, Stride: n}
	if !lapack64.Syev(lapack.EVCompute, sym, s.w[:n], s.wk, len(s.wk)) {
		panic("optim: SOAP: the eigendecomposition did not converge")
	}
	for i := range n {
		for j := range n {
			q[i*n+j] = T(a[i*n+n-1-j])
		}
	}
}

// refresh re-estimates the eigenvectors of dimension i's preconditioner by
// one power step and a QR decomposition, sorting them by descending
// estimated eigenvalue, and permutes the second moment alike along that
// dimension.
func (s *ScaleBySOAP[T]) refresh(x *soapParam[T], i, n int) {
	q, m := x.q[i], x.gg[i]
	lf, o, lo := s.f[:n*n], s.o[:n*n], s.lo[:n*n]
	for j := range lf {
		lf[j], o[j] = float64(m[j]), float64(q[j])
	}
	kernel.Gemm(false, false, n, n, n, 1, lf, n, o, n, 0, lo, n) // L·Q
	est, idx := s.est[:n], s.idx[:n]
	for j := range n {
		e := 0.0
		for r := range n {
			e += o[r*n+j] * lo[r*n+j]
		}
		est[j], idx[j] = e, j
	}
	for a := 1; a < n; a++ { // a stable insertion sort, descending
		for b := a; b > 0 && est[idx[b]] > est[idx[b-1]]; b-- {
			idx[b], idx[b-1] = idx[b-1], idx[b]
		}
	}
	p := s.f[:n*n]
	for r := range n {
		for j, from := range idx {
			p[r*n+j] = lo[r*n+from]
		}
	}
	// The unblocked QR (Householder reflections applied by matrix-vector
	// products): the blocked Geqrf and Orgqr hand their panels to gonum's
	// parallel Dgemm, which allocates at each call, and a step should not.
	// For n below LAPACK's crossover (128) the blocked routines run these.
	var qr gonum.Implementation
	qr.Dgeqr2(n, n, p, n, s.tau[:n], s.wk[:n])
	qr.Dorg2r(n, n, n, p, n, s.tau[:n], s.wk[:n])
	for j, v := range p {
		q[j] = T(v)
	}
	v := x.v
	tmp := s.a[:len(v)]
	copy(tmp, v)
	pre, post := around(x.dims, i)
	for pi := range pre {
		base := pi * n * post
		for j, from := range idx {
			copy(v[base+j*post:base+(j+1)*post], tmp[base+from*post:base+(from+1)*post])
		}
	}
}

func (s *ScaleBySOAP[T]) Update(k, _ int, u, p []T) {
	if s.first || s.WeightDecay == 0 || !s.decay[k] {
		return
	}
	kernel.DecayAfter(u, p, T(s.WeightDecay), s.lr) // θ ← (θ − α·u)·(1 − α·λ)
}
