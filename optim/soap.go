package optim

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/lapack"
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
// skipped, decay after the step). A dimension above MaxPrecondDim keeps the
// identity for its Q. Tensors of more than two dimensions (convolution
// kernels) are preconditioned as the matrix [shape[0], the rest], like the
// reference's merge_dims for channels-first data; the reference without
// merge_dims keeps one preconditioner per dimension.
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
	if err := firstErr(
		unitInterval("SOAP.Beta1", m.Beta1),
		unitInterval("SOAP.Beta2", m.Beta2),
		positive("SOAP.Eps", m.Eps),
		nonNegative("SOAP.WeightDecay", m.WeightDecay),
	); err != nil {
		return err
	}
	if m.ShampooBeta >= 1 || math.IsNaN(m.ShampooBeta) {
		return fmt.Errorf("optim: SOAP.ShampooBeta = %v: must be in [0, 1), or negative for β₂", m.ShampooBeta)
	}
	if m.PreconditionFrequency < 1 {
		return fmt.Errorf("optim: SOAP.PreconditionFrequency = %d: must be at least 1", m.PreconditionFrequency)
	}
	if m.MaxPrecondDim < 0 {
		return fmt.Errorf("optim: SOAP.MaxPrecondDim = %d: must be ≥ 0", m.MaxPrecondDim)
	}
	return nil
}

func (SOAP) defaultLR() float64 { return 3e-3 }

func (m SOAP) build(dst any) error { return fill(dst, m, soapChain[float32], soapChain[float64]) }

func soapChain[T Float](m SOAP) Chain[T] {
	bs := m.ShampooBeta
	if bs < 0 {
		bs = m.Beta2
	}
	return Chain[T]{
		&ScaleBySOAP[T]{B1: m.Beta1, B2: m.Beta2, ShampooBeta: bs, Eps: m.Eps, WeightDecay: m.WeightDecay,
			Frequency: m.PreconditionFrequency, MaxDim: m.MaxPrecondDim, CorrectBias: m.CorrectBias},
		&ScaleByLR[T]{},
	}
}

// ScaleBySOAP replaces the update by SOAP's (see [SOAP]) divided by the
// learning rate, which ScaleByLR then applies. Its weight decay, applied
// after the step, is folded in as u ← u + λ·(θ − α_t·u). It is a [Reducer]:
// the rotations need each matrix whole.
type ScaleBySOAP[T Float] struct {
	B1, B2, ShampooBeta, Eps float64
	WeightDecay              float64 // masked by Config.DecayMask
	Frequency, MaxDim        int
	CorrectBias              bool

	mats   []soapMat[T]
	decay  []bool
	first  bool
	t      int
	lr     T
	scale  T
	b1, b2 T

	// Scratch, sized for the largest parameter.
	a, b  []T       // r×c: rotate's
	gp    []T       // r×c: the rotated gradient and step
	gg    []T       // n×n
	f, o  []float64 // n×n, in float64 for LAPACK
	lo    []float64
	w, wk []float64
	tau   []float64
	est   []float64
	idx   []int
}

// soapMat is one parameter seen as an r×c matrix (c = 1 for a vector).
type soapMat[T Float] struct {
	r, c   int
	m, v   []T
	l, rr  []T // preconditioners, nil where not kept
	ql, qr []T // their eigenvectors, nil for the identity
}

func (s *ScaleBySOAP[T]) Name() string { return "scale_by_soap" }

func (s *ScaleBySOAP[T]) Init(st *State[T], params []ParamInfo) error {
	s.mats, s.decay = make([]soapMat[T], len(params)), make([]bool, len(params))
	var nrc, nn int
	for k, p := range params {
		x := &s.mats[k]
		x.r, x.c = p.Size, 1
		if len(p.Shape) >= 2 {
			x.r = p.Shape[0]
			x.c = p.Size / max(x.r, 1)
		}
		s.decay[k] = p.Decay
		st.Vec(&x.m, k, "exp_avg", 0)
		st.Vec(&x.v, k, "exp_avg_sq", 0)
		if len(p.Shape) >= 2 && p.Size > 0 {
			if x.r <= s.MaxDim {
				st.Buffer(&x.l, k, "GG_L", []int{x.r, x.r}, 0)
				st.Buffer(&x.ql, k, "Q_L", []int{x.r, x.r}, 0)
				nn = max(nn, x.r)
			}
			if x.c <= s.MaxDim {
				st.Buffer(&x.rr, k, "GG_R", []int{x.c, x.c}, 0)
				st.Buffer(&x.qr, k, "Q_R", []int{x.c, x.c}, 0)
				nn = max(nn, x.c)
			}
			nrc = max(nrc, p.Size)
		}
	}
	s.a, s.b, s.gp = make([]T, nrc), make([]T, nrc), make([]T, nrc)
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
		s.scale = T(math.Sqrt(1-math.Pow(s.B2, t)) / (1 - math.Pow(s.B1, t)))
	}
	s.b1, s.b2 = T(s.B1), T(s.B2)
}

func (s *ScaleBySOAP[T]) Sums() int { return 0 }

func (s *ScaleBySOAP[T]) Gather(int, int, []T, []T, []float64) {}

func (s *ScaleBySOAP[T]) Reduce(_ [][]float64, u, _ [][]T) {
	for k := range s.mats {
		s.step(&s.mats[k], u[k])
	}
}

// step turns the gradient g of one parameter into its update.
func (s *ScaleBySOAP[T]) step(x *soapMat[T], g []T) {
	n := len(g)
	if n == 0 {
		return
	}
	matrix := x.l != nil || x.rr != nil
	if s.first {
		if matrix {
			s.accumulate(x, g)
			if x.l != nil {
				s.eigenvectors(x.ql, x.l, x.r)
			}
			if x.rr != nil {
				s.eigenvectors(x.qr, x.rr, x.c)
			}
		}
		clear(g)
		return
	}
	if !matrix {
		kernel.Adam(g, x.m, x.v, nil, s.b1, s.b2, 1, 1, T(s.Eps))
		kernel.Scale(s.scale, g)
		return
	}
	gp := s.gp[:n]
	s.rotate(gp, g, x, false)
	kernel.Adam(gp, x.m, x.v, nil, s.b1, s.b2, 1, 1, T(s.Eps)) // gp ← m/(√v + ε)
	// Keep g for the preconditioner: write the update after it is used.
	refresh := s.t%s.Frequency == 0
	if refresh {
		s.rotate(s.a[:n], x.m, x, true) // m into the parameter's basis
		copy(x.m, s.a[:n])
	}
	s.accumulate(x, g)
	s.rotate(g, gp, x, true)
	kernel.Scale(s.scale, g)
	if refresh {
		if x.ql != nil {
			s.refresh(x.ql, x.l, x.r, x.v, x.r, x.c, true)
		}
		if x.qr != nil {
			s.refresh(x.qr, x.rr, x.c, x.v, x.r, x.c, false)
		}
		s.rotate(s.a[:n], x.m, x, false)
		copy(x.m, s.a[:n])
	}
}

// rotate sets dst to Q_Lᵀ·src·Q_R (into the eigenbasis) or, with back, to
// Q_L·src·Q_Rᵀ. A missing Q is the identity.
func (s *ScaleBySOAP[T]) rotate(dst, src []T, x *soapMat[T], back bool) {
	r, c := x.r, x.c
	tmp := s.a[:r*c]
	if &dst[0] == &tmp[0] {
		tmp = s.b[:r*c]
	}
	if x.ql != nil {
		kernel.Gemm(!back, false, r, c, r, 1, x.ql, r, src, c, 0, tmp, c)
	} else {
		copy(tmp, src)
	}
	if x.qr != nil {
		kernel.Gemm(false, back, r, c, c, 1, tmp, c, x.qr, c, 0, dst, c)
	} else {
		copy(dst, tmp)
	}
}

// accumulate moves L towards GGᵀ and R towards GᵀG by 1 − β_s.
func (s *ScaleBySOAP[T]) accumulate(x *soapMat[T], g []T) {
	r, c := x.r, x.c
	w := T(1 - s.ShampooBeta)
	if x.l != nil {
		gg := s.gg[:r*r]
		kernel.Gemm(false, true, r, r, c, 1, g, c, g, c, 0, gg, r)
		kernel.Lerp(x.l, gg, w)
	}
	if x.rr != nil {
		gg := s.gg[:c*c]
		kernel.Gemm(true, false, c, c, r, 1, g, c, g, c, 0, gg, c)
		kernel.Lerp(x.rr, gg, w)
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

// refresh re-estimates the eigenvectors q of the n×n preconditioner m by
// one power step and a QR decomposition, sorting them by descending
// estimated eigenvalue, and permutes the r×c second moment v alike: its
// rows when rows is set, else its columns.
func (s *ScaleBySOAP[T]) refresh(q, m []T, n int, v []T, r, c int, rows bool) {
	lf, o, lo := s.f[:n*n], s.o[:n*n], s.lo[:n*n]
	for i := range lf {
		lf[i], o[i] = float64(m[i]), float64(q[i])
	}
	kernel.Gemm(false, false, n, n, n, 1, lf, n, o, n, 0, lo, n) // L·Q
	est, idx := s.est[:n], s.idx[:n]
	for j := range n {
		e := 0.0
		for i := range n {
			e += o[i*n+j] * lo[i*n+j]
		}
		est[j], idx[j] = e, j
	}
	for i := 1; i < n; i++ { // a stable insertion sort, descending
		for j := i; j > 0 && est[idx[j]] > est[idx[j-1]]; j-- {
			idx[j], idx[j-1] = idx[j-1], idx[j]
		}
	}
	p := s.f[:n*n]
	for i := range n {
		for j, from := range idx {
			p[i*n+j] = lo[i*n+from]
		}
	}
	a := blas64.General{Rows: n, Cols: n, Data: p, Stride: n}
	lapack64.Geqrf(a, s.tau[:n], s.wk, len(s.wk))
	lapack64.Orgqr(a, s.tau[:n], s.wk, len(s.wk))
	for i, x := range p {
		q[i] = T(x)
	}
	tmp := s.a[:r*c]
	copy(tmp, v)
	if rows {
		for i, from := range idx {
			copy(v[i*c:(i+1)*c], tmp[from*c:(from+1)*c])
		}
		return
	}
	for i := range r {
		for j, from := range idx {
			v[i*c+j] = tmp[i*c+from]
		}
	}
}

func (s *ScaleBySOAP[T]) Update(k, _ int, u, p []T) {
	if s.first || s.WeightDecay == 0 || !s.decay[k] {
		return
	}
	// θ ← (θ − α·u)·(1 − α·λ) = θ − α·(u + λ·(θ − α·u)).
	wd := T(s.WeightDecay)
	for i, x := range u {
		u[i] = x + wd*(p[i]-s.lr*x)
	}
}
