package kernel

import "unsafe"

// A level is a tier of instruction sets a kernel can be written for. The best
// one the CPU supports is chosen at start-up; tests switch between all of
// them to check each against the reference loops.
type level int

const (
	generic level = iota // the pure-Go reference loops
	avx2                 // AVX2 and FMA on ymm registers
	avx512               // AVX-512 F, DQ, BW and VL on zmm registers
)

func (l level) String() string {
	switch l {
	case avx2:
		return "avx2"
	case avx512:
		return "avx512"
	}
	return "generic"
}

// kernels is the table of implementations for one element type. Each entry
// has the signature of its exported kernel, which checks lengths and calls
// it.
type kernels[T Float] struct {
	axpy     func(a T, x, y []T)
	scale    func(a T, x []T)
	clamp    func(lo, hi T, x []T)
	momentum func(u, b []T, mu, damp T, nesterov bool)
	adam     func(u, m, v, vmax []T, b1, b2, c1, c2, eps T)
	rmsprop  func(u, v, g []T, a, eps T, epsInSqrt bool)
	adagrad  func(u, s []T, eps T)
	adadelta func(u, v, d []T, rho, eps T)
	adamax   func(u, m, n []T, b1, b2, c1, eps T)
	nadam    func(u, m, v []T, b1, b2, c2, cg, cm, eps T)
	radam    func(u, m, v []T, b1, b2, c1, r, eps T, rect bool)

	adamStep     func(p, g, m, v, vmax []T, gs, wc, b1, b2, c1, c2, eps, wd, nlr T)
	momentumStep func(p, g, b []T, gs, wc, mu, damp, nlr T, nesterov bool)
	rmspropStep  func(p, g, v, ga, buf []T, gs, wc, a, eps, mu, nlr T, epsInSqrt bool)

	adamCautiousStep func(p, g, m, v, vmax []T, gs, wc, b1, b2, c1, c2, eps, s, wd, nlr T)
	lionStep         func(p, g, m []T, gs, wc, b1, b2, wd, nlr T)
	lionCautiousStep func(p, g, m []T, gs, wc, b1, b2, s, wd, nlr T)
	adoptStep        func(p, g, m, v []T, gs, wc, b1, b2, eps, clip, wd, nlr T, first bool)
	ademamixStep     func(p, g, m1, m2, v []T, gs, wc, b1, b2, b3, c1, c2, alpha, eps, wd, nlr T)
	scheduleFreeStep func(p, g, z, v []T, gs, wc, b2, bc2, eps, wd, c, a, lr, nlr T, near bool)
	prodigyStep      func(p, g, m, v []T, gs, wc, a, de, aw, nlr T)
	prodigyGather    func(p, g, p0, m, v, s []T, gs, wc, b1, c1, b2, c2, b3, w T) (dot, abs float64)
	normsStep        func(p, g []T, gs, wc T) (uu, pp float64)
	lambGather       func(p, g, m, v, u []T, gs, wc, b1, b2, c1, c2, eps, wd T) (uu, pp float64)
	trustStep        func(p, g, b []T, gs, wc, r, lr, mu, damp, nlr T, nesterov bool)

	sum        func(x []T) float64
	sumSqDiff  func(x []T, c float64) float64
	dotDiff    func(x, y []T, c float64) float64
	sumSquares func(x []T) float64
	sumAbs     func(x []T) float64
	maxAbs     func(x []T) float64
	allFinite  func(x []T) bool
	adamAgree  func(g, m []T, gs, b1 T) float64
	lionAgree  func(g, m []T, gs, b1 T) float64

	relu                  func(x, y []T)
	addConst              func(c T, x, y []T)
	reluGrad              func(x, dy, dx []T)
	addSquaredDiff        func(x, mean, s []T)
	mulAdd                func(x, a, b, y []T)
	mulAddReLU            func(x, a, b, y []T)
	affine                func(a, b T, x, y []T)
	normGradRun           func(x, dy, dx []T, mean, a, k, c T)
	addDiffProduct        func(x, mean, dy, s []T)
	normGrad              func(x, dy, mean, a, k, c, dx []T)
	normGradReLU          func(x, y, dy, mean, a, k, c, dx []T)
	copyRows              func(m, n int, src []T, lds int, dst []T, ldd int)
	addRows               func(m, n int, src []T, lds int, dst []T, ldd int)
	addRowVector          func(m, n int, b, x []T, ldx int)
	biasReLU              func(m, n int, b, x []T, ldx int)
	addColumnSums         func(m, n int, x []T, ldx int, s []T)
	reluGradRows          func(m, n int, y []T, ldy int, dy []T, lddy int, dx []T, lddx int)
	addColumnSquaredDiffs func(m, n int, x []T, ldx int, mean, s []T)
	addColumnSumsDots     func(m, n int, x []T, ldx int, mean, dy []T, lddy int, s, d []T)
	addReLUColumnSumsDots func(m, n int, x []T, ldx int, mean, y []T, ldy int, dy []T, lddy int, s, d []T)
	col2imTaps            func(kh, m, w, ow, kw int, cols []T, ldc, lds int, x []T, ldx int)
	im2colTaps            func(kh, kw, oh, ow, w, lds int, x, cols []T, ldc int)
	conv3x3               func(oh, ow, w int, x, f []T, o int, y []T, ldy int)                             // nil without assembly
	conv3x3Grad           func(oh, ow, w int, x []T, ldx, n int, g []T, ldg, ldgi, o int, dw []T, ldw int) // nil without assembly
	maxPool               func(x []T, w, oh, ow int, y []T, codes []uint8, planes, ldx, ldy int)
	maxPoolGrad           func(g []T, codes []uint8, w, oh, ow int, gx []T, planes, ldx, ldy int)
	reluMaxPoolGrad       func(y, g []T, codes []uint8, w, oh, ow int, gx []T, planes, ldx, ldy int)
	biasReLUMaxPool       func(x []T, w, oh, ow int, y []T, codes []uint8, planes, ldx, ldy int, b []T)
	exp                   func(x, y []T)
	tanh                  func(x, y []T)
	sigmoid               func(x, y []T)

	// the sequence layers': GELU-tanh, layer norm, softmax
	geluTanh       func(x, y, th []T)
	geluTanhGrad   func(x, th, dy, dx []T, add bool)
	add            func(x, y, z []T)
	mul            func(x, y, z []T)
	layerNorm      func(x, w, b, y []T, m, s T)
	addNormProduct func(x, dy, acc []T, m, s T)
	softmaxGrad    func(p, dp []T, c T)
}

func reference[T Float]() kernels[T] {
	return kernels[T]{
		axpy:     axpyRef[T],
		scale:    scaleRef[T],
		clamp:    clampRef[T],
		momentum: momentumRef[T],
		adam:     adamRef[T],
		rmsprop:  rmspropRef[T],
		adagrad:  adagradRef[T],
		adadelta: adadeltaRef[T],
		adamax:   adamaxRef[T],
		nadam:    nadamRef[T],
		radam:    radamRef[T],

		adamStep:     adamStepRef[T],
		momentumStep: momentumStepRef[T],
		rmspropStep:  rmspropStepRef[T],

		adamCautiousStep: adamCautiousStepRef[T],
		lionStep:         lionStepRef[T],
		lionCautiousStep: lionCautiousStepRef[T],
		adoptStep:        adoptStepRef[T],
		ademamixStep:     ademamixStepRef[T],
		scheduleFreeStep: scheduleFreeStepRef[T],
		prodigyStep:      prodigyStepRef[T],
		prodigyGather:    prodigyGatherRef[T],
		normsStep:        normsStepRef[T],
		lambGather:       lambGatherRef[T],
		trustStep:        trustStepRef[T],

		sum:        sumRef[T],
		sumSqDiff:  sumSquaredDiffRef[T],
		dotDiff:    dotDiffRef[T],
		sumSquares: sumSquaresRef[T],
		sumAbs:     sumAbsRef[T],
		maxAbs:     maxAbsRef[T],
		allFinite:  allFiniteRef[T],
		adamAgree:  adamAgreeRef[T],
		lionAgree:  lionAgreeRef[T],

		relu:                  reluRef[T],
		addConst:              addConstRef[T],
		reluGrad:              reluGradRef[T],
		addSquaredDiff:        addSquaredDiffRef[T],
		mulAdd:                mulAddRef[T],
		mulAddReLU:            mulAddReLURef[T],
		affine:                affineRef[T],
		normGradRun:           normGradRunRef[T],
		addDiffProduct:        addDiffProductRef[T],
		normGrad:              normGradRef[T],
		normGradReLU:          normGradReLURef[T],
		copyRows:              copyRowsRef[T],
		addRows:               addRowsRef[T],
		addRowVector:          addRowVectorRef[T],
		biasReLU:              biasReLURef[T],
		addColumnSums:         addColumnSumsRef[T],
		reluGradRows:          reluGradRowsRef[T],
		addColumnSquaredDiffs: addColumnSquaredDiffsRef[T],
		addColumnSumsDots:     addColumnSumsDotsRef[T],
		addReLUColumnSumsDots: addReLUColumnSumsDotsRef[T],
		col2imTaps:            col2imTapsRef[T],
		im2colTaps:            im2colTapsByRows[T],
		maxPool:               maxPoolRef[T],
		maxPoolGrad:           maxPoolGradRef[T],
		reluMaxPoolGrad:       reluMaxPoolGradRef[T],
		biasReLUMaxPool:       biasReLUMaxPoolRef[T],
		exp:                   expRef[T],
		tanh:                  tanhRef[T],
		sigmoid:               sigmoidRef[T],

		geluTanh:       geluTanhRef[T],
		geluTanhGrad:   geluTanhGradRef[T],
		add:            addRef[T],
		mul:            mulRef[T],
		layerNorm:      layerNormRef[T],
		addNormProduct: addNormProductRef[T],
		softmaxGrad:    softmaxGradRef[T],
	}
}

var (
	best   level // the best level the CPU supports
	active level // the level in use
	k32    kernels[float32]
	k64    kernels[float64]
)

func init() {
	best = detect()
	use(best)
}

// use switches every kernel to level l, or to the best level below it that
// has the kernel. It is not safe to call while kernels run.
func use(l level) {
	active = min(l, best)
	k32, k64 = reference[float32](), reference[float64]()
	g32, g64 = gemmKernels[float32]{}, gemmKernels[float64]{}
	accelerate(active)
}

// table returns the kernels for T. A type whose underlying type is float32
// (float64) shares the float32 (float64) table: the functions take the same
// arguments in the same registers.
func table[T Float]() *kernels[T] {
	if unsafe.Sizeof(T(0)) == 4 {
		return (*kernels[T])(unsafe.Pointer(&k32))
	}
	return (*kernels[T])(unsafe.Pointer(&k64))
}
