package kernel

import "unsafe"

// GemmSerial is Gemm on the calling goroutine, each panel of op(B)'s
// columns packed once: for a product run inside a Parallel or Spread task,
// where Gemm, which cuts a product into bands of rows so that every thread
// gets two tasks, would pack a narrow B (a convolution's filter gradient,
// 32 columns) once per band for the one thread that runs them all. Results
// are those of Gemm bit for bit: a panel's elements are computed the same
// way whatever the band.
func GemmSerial[T Float](transA, transB bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int) {
	checkGemm(transA, transB, m, n, k, len(a), lda, len(b), ldb, len(c), ldc)
	if m == 0 || n == 0 {
		return
	}
	if k == 0 || alpha == 0 {
		scaleRows(m, n, beta, c, ldc)
		return
	}
	if unsafe.Sizeof(T(0)) == 4 {
		gemmSerial(gemmTable[float32](), transA, transB, m, n, k, float32(alpha), f32(a), lda, f32(b), ldb, float32(beta), f32(c), ldc)
	} else {
		gemmSerial(gemmTable[float64](), transA, transB, m, n, k, float64(alpha), f64(a), lda, f64(b), ldb, float64(beta), f64(c), ldc)
	}
}

// gemmSerial is gemmBlocked's work for one thread, in one band of rows.
func gemmSerial[E float32 | float64](g *gemmKernels[E], transA, transB bool, m, n, k int, alpha E, a []E, lda int, b []E, ldb int, beta E, c []E, ldc int) {
	if g.tiles[0][0] == nil {
		gemmRef(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	gc := getGemmCall[E]()
	defer putGemmCall(gc)
	*gc = gemmCall[E]{
		g: g, transA: transA, transB: transB, m: m, n: n, k: k,
		alpha: alpha, beta: beta, a: a, b: b, c: c, lda: lda, ldb: ldb, ldc: ldc,
		buf: gc.buf, task: gc.task, bands: 1, bandRows: m,
	}
	blocks := (k + gemmKC - 1) / gemmKC
	gc.kc = (k + blocks - 1) / blocks
	w := 2 * g.lanes
	gc.panels = (n + w - 1) / w
	if len(gc.buf) == 0 {
		gc.buf = append(gc.buf, nil)
	}
	if size := (gemmKC + g.lanes - 1) / g.lanes * g.lanes * w; len(gc.buf[0]) < size {
		gc.buf[0] = alignedSlice[E](size)
	}
	for t := 0; t < gc.panels; t++ {
		gc.run(0, t)
	}
}
