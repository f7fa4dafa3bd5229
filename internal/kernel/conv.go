package kernel

// ConvShape describes a 2-D convolution or pooling window over one image of
// C channels, H rows and W columns: a KH×KW window moved by stride SH, SW over
// the image padded with PH rows and PW columns of zeros on each side.
type ConvShape struct {
	C, H, W int
	KH, KW  int
	SH, SW  int
	PH, PW  int
}

// Out returns the output height and width: (H + 2·PH − KH)/SH + 1 and the
// same across.
func (s ConvShape) Out() (oh, ow int) {
	return (s.H+2*s.PH-s.KH)/s.SH + 1, (s.W+2*s.PW-s.KW)/s.SW + 1
}

func (s ConvShape) check() {
	if s.C <= 0 || s.H <= 0 || s.W <= 0 || s.KH <= 0 || s.KW <= 0 || s.SH <= 0 || s.SW <= 0 || s.PH < 0 || s.PW < 0 {
		panic("kernel: invalid convolution shape")
	}
	if oh, ow := s.Out(); oh <= 0 || ow <= 0 {
		panic("kernel: convolution window larger than padded image")
	}
}

// Im2col lowers one image x (C×H×W, row-major) to cols, a
// (C·KH·KW)×(OH·OW) matrix whose column j holds the window of output
// position j, so that a convolution becomes one matrix multiply:
//
//	cols[((c*KH+ki)*KW+kj)*OH*OW + oi*OW + oj] = x[c, oi*SH+ki-PH, oj*SW+kj-PW]  (0 outside x)
//
// Each row of cols is filled with zeros where the window hangs over the
// padding, and in between with the rows of x it covers: one CopyRows with
// stride 1, a strided gather per row otherwise.
func Im2col[T Float](s ConvShape, x, cols []T) {
	s.check()
	oh, ow := s.Out()
	Im2colAt(s, x, cols, oh*ow)
}

// Im2colAt is Im2col writing rows ldc ≥ OH·OW elements apart: the lowered
// images of a batch can sit side by side in one (C·KH·KW)×(B·OH·OW) matrix
// (image b at cols[b*OH*OW:], ldc = B·OH·OW) and make one matrix multiply.
func Im2colAt[T Float](s ConvShape, x, cols []T, ldc int) {
	s.check()
	oh, ow := s.Out()
	if ldc < oh*ow {
		panic("kernel: row stride shorter than a row")
	}
	if len(x) < s.C*s.H*s.W || len(cols) < need(s.C*s.KH*s.KW, oh*ow, ldc) {
		panic("kernel: im2col slice too short")
	}
	if s.PH == 0 && s.PW == 0 && s.SW == 1 {
		// Every window inside the image: a channel's taps in one call,
		// without the spans, clears and slicing of the general loop.
		taps, kk := table[T]().im2colTaps, s.KH*s.KW
		for c := 0; c < s.C; c++ {
			taps(s.KH, s.KW, oh, ow, s.W, s.SH*s.W, x[c*s.H*s.W:], cols[c*kk*ldc:], ldc)
		}
		return
	}
	sp := s.spans()
	r := 0
	for c := 0; c < s.C; c++ {
		img := x[c*s.H*s.W : (c+1)*s.H*s.W]
		for ki := 0; ki < s.KH; ki++ {
			i0, i1 := sp.rows(ki)
			for kj := 0; kj < s.KW; kj++ {
				row := cols[r*ldc : r*ldc+oh*ow]
				r++
				lo, hi := sp.cols(kj)
				clear(row[:i0*ow])
				clear(row[i1*ow:])
				if i1 <= i0 {
					continue
				}
				for oi := i0; oi < i1 && (lo > 0 || hi < ow); oi++ {
					out := row[oi*ow : (oi+1)*ow]
					for j := range out[:lo] {
						out[j] = 0
					}
					for j := range out[hi:] {
						out[hi+j] = 0
					}
				}
				if hi <= lo {
					continue
				}
				src := img[(i0*s.SH+ki-s.PH)*s.W+lo*s.SW+kj-s.PW:]
				if s.SW == 1 {
					CopyRows(i1-i0, hi-lo, src, s.SH*s.W, row[i0*ow+lo:], ow)
					continue
				}
				for oi := i0; oi < i1; oi++ {
					out, in := row[oi*ow+lo:oi*ow+hi], src[(oi-i0)*s.SH*s.W:]
					for j := range out {
						out[j] = in[j*s.SW]
					}
				}
			}
		}
	}
}

// spans holds the output rows and columns whose window element falls inside
// the image, for each window row and column of a ConvShape (up to
// maxWindow of each; beyond, they are computed when asked for).
type spans struct {
	s           ConvShape
	rowSpan     [maxWindow][2]int
	colSpan     [maxWindow][2]int
	haveRows    bool
	haveColumns bool
}

const maxWindow = 16

func (s ConvShape) spans() spans {
	sp := spans{s: s, haveRows: s.KH <= maxWindow, haveColumns: s.KW <= maxWindow}
	for ki := 0; ki < s.KH && sp.haveRows; ki++ {
		sp.rowSpan[ki][0], sp.rowSpan[ki][1] = s.rowsInside(ki)
	}
	for kj := 0; kj < s.KW && sp.haveColumns; kj++ {
		sp.colSpan[kj][0], sp.colSpan[kj][1] = s.inside(kj)
	}
	return sp
}

func (sp *spans) rows(ki int) (lo, hi int) {
	if sp.haveRows {
		return sp.rowSpan[ki][0], sp.rowSpan[ki][1]
	}
	return sp.s.rowsInside(ki)
}

func (sp *spans) cols(kj int) (lo, hi int) {
	if sp.haveColumns {
		return sp.colSpan[kj][0], sp.colSpan[kj][1]
	}
	return sp.s.inside(kj)
}

// im2colTapsRef lowers one channel x of an image for a convolution with
// column stride 1 and no padding: each of its kh·kw taps an oh×ow block,
// image rows lds apart, copied into a row of cols:
//
//	for ki < kh, kj < kw, i < oh: cols[(ki*kw+kj)*ldc + i*ow + j] = x[ki*w + kj + i*lds + j]  (j < ow)
func im2colTapsRef[T Float](kh, kw, oh, ow, w, lds int, x, cols []T, ldc int) {
	for ki := 0; ki < kh; ki++ {
		for kj := 0; kj < kw; kj++ {
			copyRowsRef(oh, ow, x[ki*w+kj:], lds, cols[(ki*kw+kj)*ldc:], ow)
		}
	}
}

// im2colTapsByRows is im2colTapsRef with the level's copyRows, where
// im2colTaps has no assembly version.
func im2colTapsByRows[T Float](kh, kw, oh, ow, w, lds int, x, cols []T, ldc int) {
	copyRows := table[T]().copyRows
	for ki := 0; ki < kh; ki++ {
		for kj := 0; kj < kw; kj++ {
			copyRows(oh, ow, x[ki*w+kj:], lds, cols[(ki*kw+kj)*ldc:], ow)
		}
	}
}

// col2imTapsRef adds the kw taps of each of kh window rows of a
// convolution with column stride 1 and no padding across back into the m
// image rows (w wide) they were read from, in the order of Col2imAt's
// loops:
//
//	for ki < kh, i < m, kj < kw: x[ki*w + i*ldx + kj + j] += cols[(ki*kw+kj)*ldc + i*lds + j]  (j < ow)
//
// Its vector version keeps the elements of x in registers while it adds the
// overlapping taps; it takes kw ≤ maxWindow.
func col2imTapsRef[T Float](kh, m, w, ow, kw int, cols []T, ldc, lds int, x []T, ldx int) {
	for ki := 0; ki < kh; ki++ {
		for i := 0; i < m; i++ {
			xi := x[ki*w+i*ldx : ki*w+i*ldx+w]
			for kj := 0; kj < kw; kj++ {
				c := cols[(ki*kw+kj)*ldc+i*lds:]
				dst, src := xi[kj:kj+ow], c[:ow]
				for j, v := range src {
					dst[j] += v
				}
			}
		}
	}
}

// shortRun is the shortest run of a row of cols that Col2imAt adds with
// AddRows: shorter runs overlap from one column of the window to the next
// in x, and a vector store followed by a load of the same elements at
// another offset costs a stall that a scalar loop avoids.
const shortRun = 32

// rowsInside returns the output rows [lo, hi) whose window row ki falls
// inside the image: 0 ≤ oi·SH + ki − PH < H.
func (s ConvShape) rowsInside(ki int) (lo, hi int) {
	oh, _ := s.Out()
	lo = min(oh, max(0, (s.PH-ki+s.SH-1)/s.SH))
	hi = oh
	if last := s.H - 1 + s.PH - ki; last < 0 {
		hi = 0
	} else {
		hi = min(oh, last/s.SH+1)
	}
	return lo, max(lo, hi)
}

// inside returns the output columns [lo, hi) whose window column kj falls
// inside the image: 0 ≤ oj·SW + kj − PW < W.
func (s ConvShape) inside(kj int) (lo, hi int) {
	_, ow := s.Out()
	lo = min(ow, max(0, (s.PW-kj+s.SW-1)/s.SW))
	hi = min(ow, (s.W-1+s.PW-kj)/s.SW+1)
	if s.W-1+s.PW-kj < 0 {
		hi = 0
	}
	return lo, max(lo, hi)
}

// Col2im is the adjoint of Im2col: it adds each entry of cols back into the
// image position it was read from, accumulating into x (which it does not
// clear first):
//
//	x[c, oi*SH+ki-PH, oj*SW+kj-PW] += cols[((c*KH+ki)*KW+kj)*OH*OW + oi*OW + oj]  (inside x)
//
// With stride 1 the runs of a row of cols are added with one AddRows; the
// order of the additions into an element of x is the same as in the loop
// above.
func Col2im[T Float](s ConvShape, cols, x []T) {
	s.check()
	oh, ow := s.Out()
	Col2imAt(s, cols, oh*ow, x)
}

// Col2imAt is Col2im reading rows ldc ≥ OH·OW elements apart, the adjoint
// of Im2colAt.
func Col2imAt[T Float](s ConvShape, cols []T, ldc int, x []T) {
	s.check()
	oh, ow := s.Out()
	if ldc < oh*ow {
		panic("kernel: row stride shorter than a row")
	}
	if len(x) < s.C*s.H*s.W || len(cols) < need(s.C*s.KH*s.KW, oh*ow, ldc) {
		panic("kernel: col2im slice too short")
	}
	sp := s.spans()
	taps := table[T]().col2imTaps
	r := 0
	for c := 0; c < s.C; c++ {
		img := x[c*s.H*s.W : (c+1)*s.H*s.W]
		if s.SW == 1 && s.PW == 0 && s.PH == 0 && s.KW <= maxWindow { // every window row whole: the channel's taps at once
			taps(s.KH, oh, s.W, ow, s.KW, cols[r*ldc:], ldc, ow, img, s.SH*s.W)
			r += s.KH * s.KW
			continue
		}
		for ki := 0; ki < s.KH; ki++ {
			i0, i1 := sp.rows(ki)
			if s.SW == 1 && s.PW == 0 && i1 > i0 && s.KW <= maxWindow { // a window row's taps at once
				taps(1, i1-i0, s.W, ow, s.KW, cols[r*ldc+i0*ow:], ldc, ow, img[(i0*s.SH+ki-s.PH)*s.W:], s.SH*s.W)
				r += s.KW
				continue
			}
			for kj := 0; kj < s.KW; kj++ {
				row := cols[r*ldc : r*ldc+oh*ow]
				r++
				lo, hi := sp.cols(kj)
				if i1 <= i0 || hi <= lo {
					continue
				}
				dst := img[(i0*s.SH+ki-s.PH)*s.W+lo*s.SW+kj-s.PW:]
				if s.SW == 1 && hi-lo >= shortRun {
					AddRows(i1-i0, hi-lo, row[i0*ow+lo:], ow, dst, s.SH*s.W)
					continue
				}
				for oi := i0; oi < i1; oi++ {
					in, out := row[oi*ow+lo:oi*ow+hi], dst[(oi-i0)*s.SH*s.W:]
					if s.SW == 1 {
						out = out[:len(in)]
						for j, v := range in {
							out[j] += v
						}
						continue
					}
					for j, v := range in {
						out[j*s.SW] += v
					}
				}
			}
		}
	}
}
