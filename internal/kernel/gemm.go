package kernel

import (
	"sync"
	"unsafe"
)

// Gemm computes C = alpha·op(A)·op(B) + beta·C for row-major matrices, where
// op(X) is X, or Xᵀ when transX is set. op(A) is m×k, op(B) is k×n and C is
// m×n; lda, ldb and ldc are the row strides of A, B and C as stored. When
// beta is 0, C is overwritten without being read, so it may hold NaN; when
// alpha is 0 or k is 0, A and B are not read.
//
// The reference loop:
//
//	for i := 0; i < m; i++ {
//		for j := 0; j < n; j++ {
//			var s T
//			for p := 0; p < k; p++ {
//				s += opA(i, p) * opB(p, j)
//			}
//			c[i*ldc+j] = alpha*s + beta*c[i*ldc+j]
//		}
//	}
//
// The vector versions (see gemmBlocked) sum in another order, with fused
// multiply-adds, in blocks of k: results differ from the reference loop by
// rounding, about √k units in the last place for well-scaled data. Like the
// reference BLAS, the reference loop skips zero entries of A, so an Inf or
// NaN in B meets them as 0; the vector versions multiply them (0·Inf = NaN).
//
// Gemm spreads large products over the cores with Parallel and runs small
// ones (under gemmParallelFlops, or gemmAwakeFlops while the workers are
// awake) on the calling goroutine. It may be called from several goroutines
// at once, and from inside a Parallel task, where it runs on the calling
// goroutine. After warm-up it allocates nothing.
func Gemm[T Float](transA, transB bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int) {
	gemm(false, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// GemmSerial is Gemm on the calling goroutine, each panel of op(B)'s
// columns packed once: for a product run inside a Parallel or Spread task,
// where Gemm plans for Threads() threads and would cut the product into
// bands of rows, packing a narrow B (a convolution's filter gradient, 32
// columns) once per band for the one thread that runs them all. Results
// are those of Gemm bit for bit: a panel's elements are computed the same
// way whatever the band.
func GemmSerial[T Float](transA, transB bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int) {
	gemm(true, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// gemm is Gemm, on the calling goroutine alone when serial.
func gemm[T Float](serial, transA, transB bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int) {
	checkGemm(transA, transB, m, n, k, len(a), lda, len(b), ldb, len(c), ldc)
	if m == 0 || n == 0 {
		return
	}
	if k == 0 || alpha == 0 {
		scaleRows(m, n, beta, c, ldc)
		return
	}
	if unsafe.Sizeof(T(0)) == 4 {
		gemmBlocked(gemmTable[float32](), serial, transA, transB, m, n, k, float32(alpha), f32(a), lda, f32(b), ldb, float32(beta), f32(c), ldc)
	} else {
		gemmBlocked(gemmTable[float64](), serial, transA, transB, m, n, k, float64(alpha), f64(a), lda, f64(b), ldb, float64(beta), f64(c), ldc)
	}
}

func checkGemm(transA, transB bool, m, n, k, la, lda, lb, ldb, lc, ldc int) {
	if m < 0 || n < 0 || k < 0 {
		panic("kernel: negative matrix dimension")
	}
	ar, ac := stored(transA, m, k)
	br, bc := stored(transB, k, n)
	if lda < max(ac, 1) || ldb < max(bc, 1) || ldc < max(n, 1) {
		panic("kernel: row stride shorter than a row")
	}
	if need(ar, ac, lda) > la || need(br, bc, ldb) > lb || need(m, n, ldc) > lc {
		panic("kernel: matrix slice too short")
	}
}

// stored returns the shape of X as stored when op(X) is rows×cols.
func stored(trans bool, rows, cols int) (int, int) {
	if trans {
		return cols, rows
	}
	return rows, cols
}

// need is the number of elements a rows×cols matrix with row stride ld spans.
func need(rows, cols, ld int) int {
	if rows == 0 || cols == 0 {
		return 0
	}
	return (rows-1)*ld + cols
}

// scaleRows sets C = beta·C, or C = 0 without reading it when beta is 0.
func scaleRows[T Float](m, n int, beta T, c []T, ldc int) {
	for i := 0; i < m; i++ {
		ci := c[i*ldc : i*ldc+n]
		if beta == 0 {
			clear(ci)
		} else if beta != 1 {
			Scale(beta, ci)
		}
	}
}

// gemmRef is the pure-Go loop: scale C by beta, then accumulate alpha·op(A)·op(B)
// row by row, with the innermost loop running along rows of C.
func gemmRef[T Float](transA, transB bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int) {
	for i := 0; i < m; i++ {
		ci := c[i*ldc : i*ldc+n]
		if beta == 0 {
			clear(ci)
		} else if beta != 1 {
			for j := range ci {
				ci[j] *= beta
			}
		}
		for p := 0; p < k; p++ {
			var aip T
			if transA {
				aip = a[p*lda+i]
			} else {
				aip = a[i*lda+p]
			}
			s := alpha * aip
			if s == 0 {
				continue
			}
			if transB {
				for j := range ci {
					ci[j] += s * b[j*ldb+p]
				}
			} else {
				bp := b[p*ldb : p*ldb+n]
				for j, bv := range bp {
					ci[j] += s * bv
				}
			}
		}
	}
}

// The blocked matrix multiply, after BLIS (Van Zee and van de Geijn, "BLIS:
// A Framework for Rapidly Instantiating BLAS Functionality", 2015), with the
// roles of rows and columns exchanged because C is row-major:
//
//   - C is cut into panels of w = 2·lanes columns (the last one may be one
//     vector wide), and a panel into tiles of rows×w, the register block of
//     the micro-kernel.
//   - B is packed, for kc steps of k at a time, into a contiguous panel of kc
//     rows of w elements (zero beyond n): the micro-kernel's vector loads run
//     through it in order, and it stays in L1 (kc·w·size ≤ 32 KiB) while the
//     micro-kernel walks down the panel's tiles. Bᵀ must be packed, and so
//     must a panel narrower than its vectors or whose rows do not start on
//     cache lines or are a multiple of 4 KiB apart (inPlace); a panel of B
//     as stored is otherwise read in place, kc rows ldb apart, which saves
//     the copy: a
//     product whose rows of A are few (a Linear layer's weight gradient on
//     a band of its output units, a convolution's filters) would spend
//     almost as long copying B as multiplying it.
//   - A is not packed: the micro-kernel broadcasts its elements from where
//     they are, rows lda apart (or, for Aᵀ, from one row per step of k),
//     which saves a transposing pass over A that would cost a good part of
//     the product when n is small. The rows of A a panel needs (m×kc) stay
//     in L2 for m up to a few hundred; beyond, they stream from L3, 48 bytes
//     per 24 FMAs, well within its bandwidth.
//
// One task is one panel of columns, or, when there are too few panels to keep
// every core busy, a panel and a band of rows; each packs its own part of B
// (or reads it in place), so tasks share nothing but what they read, A and
// B, and never wait for each other.

// gemmTile is a micro-kernel: C[i][j] = alpha·Σₚ A(i,p)·B̃[p][j] + beta·C[i][j]
// for i < its rows and j < nr, with A(i,p) at a[i*lda+p] (or a[p*lda+i] for
// the transposed kernels) and B̃[p][j] at b[p*ldb+j]: a panel of k rows,
// packed (ldb its width) or B itself. With claim non-zero, beta 0 and a
// long enough panel, it first writes zeros over its tile of C, so that the
// lines of C that another core holds are taken while it computes (see
// gemmCall.claim).
type gemmTile[E float32 | float64] func(k int, a *E, lda int, b *E, ldb int, c *E, ldc int, nr int, claim int, alpha, beta E)

// gemmKernels holds the matrix multiply's assembly for one element type; its
// tiles are nil when the level has none.
type gemmKernels[E float32 | float64] struct {
	rows, lanes int                 // rows of a full tile; elements in a vector
	tiles       [2][2][]gemmTile[E] // [transA][vectors−1][rows−1]
	// pack[transB][vectors−1](dst, src, lds, k, n) packs k rows of a panel of
	// B that has n ≤ vectors·lanes columns.
	pack [2][2]func(dst, src *E, lds, k, n int)
}

var (
	g32 gemmKernels[float32]
	g64 gemmKernels[float64]
)

func gemmTable[E float32 | float64]() *gemmKernels[E] {
	if unsafe.Sizeof(E(0)) == 4 {
		return (*gemmKernels[E])(unsafe.Pointer(&g32))
	}
	return (*gemmKernels[E])(unsafe.Pointer(&g64))
}

const (
	// gemmParallelFlops is the smallest product (2·m·n·k) spread over the
	// cores: about 10 µs of work on one core, ten times the cost of a
	// Parallel call that wakes parked workers.
	gemmParallelFlops = 2 << 20
	// gemmAwakeFlops is the smallest product spread over the cores while
	// the workers are awake (a training step keeps them so): about 1 µs
	// of work, five times the cost of a Parallel call then. The output
	// layer of a classifier (128×256 by 256×10) is three times that.
	gemmAwakeFlops = 256 << 10
	// gemmKC is the most steps of k a packed panel holds.
	gemmKC = 256
)

// gemmCall is one matrix multiply in progress: the problem, its blocking,
// and a packing buffer per worker. Calls are kept for reuse in gemmFree, so
// that after warm-up a matrix multiply allocates nothing. (A sync.Pool would
// drop them at every other garbage collection.)
type gemmCall[E float32 | float64] struct {
	g                *gemmKernels[E]
	transA, transB   bool
	m, n, k          int
	alpha, beta      E
	a, b, c          []E
	lda, ldb, ldc    int
	kc               int // steps of k per packed panel
	panels, bandRows int // panels of columns; rows per task
	bands            int // tasks per panel
	// claim is 1 when the kernels are set to several threads (Threads()
	// > 1), even for a product that runs on one of them: a tile of C may
	// then hold lines that another core read (the activation a layer on
	// the other core took as input, say), and the micro-kernels take them
	// before they compute (gemmTile). With one thread there are none.
	claim int
	group int // tasks per call of task
	buf   [][]E
	task  func(w, g int) // the method value of runGroup, made once
}

// gemmFree holds the idle calls of each element type (*gemmCall[float32],
// *gemmCall[float64]): as many as Gemm has ever run at once.
var gemmFree [2]struct {
	sync.Mutex
	calls []any
}

func getGemmCall[E float32 | float64]() *gemmCall[E] {
	f := &gemmFree[unsafe.Sizeof(E(0))/8]
	f.Lock()
	defer f.Unlock()
	if n := len(f.calls); n > 0 {
		gc := f.calls[n-1].(*gemmCall[E])
		f.calls = f.calls[:n-1]
		return gc
	}
	gc := new(gemmCall[E])
	gc.task = gc.runGroup
	return gc
}

func putGemmCall[E float32 | float64](gc *gemmCall[E]) {
	gc.a, gc.b, gc.c = nil, nil, nil
	f := &gemmFree[unsafe.Sizeof(E(0))/8]
	f.Lock()
	f.calls = append(f.calls, gc)
	f.Unlock()
}

// gemmBlocked runs Gemm with the kernels of g, or the reference loop when
// the level has none; on one thread when serial.
func gemmBlocked[E float32 | float64](g *gemmKernels[E], serial, transA, transB bool, m, n, k int, alpha E, a []E, lda int, b []E, ldb int, beta E, c []E, ldc int) {
	if g.tiles[0][0] == nil {
		gemmRef(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	gc := getGemmCall[E]()
	defer putGemmCall(gc)
	*gc = gemmCall[E]{
		g: g, transA: transA, transB: transB, m: m, n: n, k: k,
		alpha: alpha, beta: beta, a: a, b: b, c: c, lda: lda, ldb: ldb, ldc: ldc,
		buf: gc.buf, task: gc.task,
	}
	if Threads() > 1 {
		gc.claim = 1
	}
	// Steps of k per panel: at most gemmKC, in equal blocks.
	blocks := (k + gemmKC - 1) / gemmKC
	gc.kc = (k + blocks - 1) / blocks
	w := 2 * g.lanes
	gc.panels = (n + w - 1) / w
	tiles := (m + g.rows - 1) / g.rows
	threads := 1
	if flops := 2 * float64(m) * float64(n) * float64(k); !serial && (flops >= gemmParallelFlops || flops >= gemmAwakeFlops && poolAwake()) {
		threads = Threads()
	}
	// Enough tasks for every thread to have two, so that unequal panels (the
	// last may be narrow) even out; serial, one band, so that each panel of
	// B is packed once.
	gc.bands = 1
	if !serial {
		gc.bands = min(tiles, max(1, (2*threads+gc.panels-1)/gc.panels))
	}
	gc.bandRows = (tiles + gc.bands - 1) / gc.bands * g.rows
	gc.bands = (m + gc.bandRows - 1) / gc.bandRows
	// Packing buffers hold the largest panel, whatever this product needs:
	// calls are reused in an order that depends on timing, and a buffer
	// sized for a smaller product would be replaced, an allocation at a
	// random step. packT writes whole blocks of lanes rows.
	size := (gemmKC + g.lanes - 1) / g.lanes * g.lanes * w
	for len(gc.buf) < threads {
		gc.buf = append(gc.buf, nil)
	}
	for i := range gc.buf[:threads] {
		if len(gc.buf[i]) < size {
			gc.buf[i] = alignedSlice[E](size)
		}
	}
	tasks := gc.panels * gc.bands
	if threads == 1 {
		for t := 0; t < tasks; t++ {
			gc.run(0, t)
		}
		return
	}
	// Many narrow panels (a convolution's product over a batch has n in the
	// tens of thousands) are grouped, a few per thread, into tasks of
	// neighbouring panels: tasks are handed out through one counter, and
	// passing it between the cores for each small panel would cost more
	// than the panel.
	gc.group = max(1, tasks/(gemmTasksPerThread*threads))
	Parallel((tasks+gc.group-1)/gc.group, gc.task)
}

const gemmTasksPerThread = 16

// inPlace reports whether the micro-kernels read the panel of B (as stored)
// whose columns start at j0 where it is, rows ldb apart, rather than a copy
// in a packing buffer: they load the same elements in the same order
// either way, and the copy costs a load and a store of each. A panel is
// copied when its rows do not start on cache lines, since every vector
// load would then span two (measured: the CNN's training step, whose
// second convolution has rows of 196 positions, ran 8-13% slower on two
// threads), or when its rows are a multiple of 4 KiB apart,
// since they would then fall into a few sets of the L1 and L2 caches,
// which could not hold the panel (measured: B 1024 wide, 15% slower).
func (gc *gemmCall[E]) inPlace(j0 int) bool {
	row := gc.ldb * int(unsafe.Sizeof(E(0)))
	return row%64 == 0 && row%4096 != 0 && uintptr(unsafe.Pointer(&gc.b[j0]))%64 == 0
}

// runGroup computes the panels of tasks group·g … group·(g+1)−1.
func (gc *gemmCall[E]) runGroup(w, g int) {
	for t := g * gc.group; t < min(gc.panels*gc.bands, (g+1)*gc.group); t++ {
		gc.run(w, t)
	}
}

// run computes the columns of panel t%panels in the rows of band t/panels.
func (gc *gemmCall[E]) run(w, t int) {
	g := gc.g
	width := 2 * g.lanes
	j0 := t % gc.panels * width
	nr := min(width, gc.n-j0)
	nv := (nr + g.lanes - 1) / g.lanes
	i0 := t / gc.panels * gc.bandRows
	i1 := min(gc.m, i0+gc.bandRows)
	buf := gc.buf[w]
	pack := g.pack[b2i(gc.transB)][nv-1]
	tiles := g.tiles[b2i(gc.transA)][nv-1]
	direct := !gc.transB && nr == nv*g.lanes && gc.inPlace(j0)
	for p0 := 0; p0 < gc.k; p0 += gc.kc {
		kc := min(gc.kc, gc.k-p0)
		b, ldb := &buf[0], nv*g.lanes
		switch {
		case direct:
			b, ldb = &gc.b[p0*gc.ldb+j0], gc.ldb
		case gc.transB:
			pack(b, &gc.b[j0*gc.ldb+p0], gc.ldb, kc, nr)
		default:
			pack(b, &gc.b[p0*gc.ldb+j0], gc.ldb, kc, nr)
		}
		beta := gc.beta
		if p0 > 0 {
			beta = 1
		}
		for i := i0; i < i1; i += g.rows {
			mr := min(g.rows, i1-i)
			var a *E
			if gc.transA {
				a = &gc.a[p0*gc.lda+i]
			} else {
				a = &gc.a[i*gc.lda+p0]
			}
			tiles[mr-1](kc, a, gc.lda, b, ldb, &gc.c[i*gc.ldc+j0], gc.ldc, nr, gc.claim, gc.alpha, beta)
		}
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// alignedSlice returns a slice of n elements that starts on a 64-byte
// boundary, the size of a cache line and of a zmm register.
func alignedSlice[E float32 | float64](n int) []E {
	per := 64 / int(unsafe.Sizeof(E(0)))
	s := make([]E, n+per)
	off := int(uintptr(unsafe.Pointer(&s[0])) % 64 / unsafe.Sizeof(E(0)))
	if off != 0 {
		off = per - off
	}
	return s[off : off+n : off+n]
}

// f32 and f64 view a slice of a type whose underlying type is float32
// (float64) as []float32 ([]float64).
func f32[T Float](s []T) []float32 {
	return unsafe.Slice((*float32)(unsafe.Pointer(unsafe.SliceData(s))), len(s))
}

func f64[T Float](s []T) []float64 {
	return unsafe.Slice((*float64)(unsafe.Pointer(unsafe.SliceData(s))), len(s))
}
