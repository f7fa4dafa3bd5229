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
// Each row of cols is filled a run of output columns at a time: zeros where
// the window hangs over the padding, and in between a copy (stride 1) or a
// strided gather of one row of x.
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
	r := 0
	for c := 0; c < s.C; c++ {
		img := x[c*s.H*s.W : (c+1)*s.H*s.W]
		for ki := 0; ki < s.KH; ki++ {
			for kj := 0; kj < s.KW; kj++ {
				row := cols[r*ldc : r*ldc+oh*ow]
				r++
				lo, hi := s.inside(kj)
				for oi := 0; oi < oh; oi++ {
					out := row[oi*ow : (oi+1)*ow]
					ii := oi*s.SH + ki - s.PH
					if ii < 0 || ii >= s.H {
						clear(out)
						continue
					}
					src := img[ii*s.W : (ii+1)*s.W]
					clear(out[:lo])
					clear(out[hi:])
					if s.SW == 1 {
						copy(out[lo:hi], src[lo+kj-s.PW:])
						continue
					}
					for oj := lo; oj < hi; oj++ {
						out[oj] = src[oj*s.SW+kj-s.PW]
					}
				}
			}
		}
	}
}

// inside returns the output columns [lo, hi) whose window column kj falls
// inside the image: 0 ≤ oj·SW + kj − PW < W.
func (s ConvShape) inside(kj int) (lo, hi int) {
	_, ow := s.Out()
	lo = max(0, (s.PW-kj+s.SW-1)/s.SW)
	hi = min(ow, (s.W-1+s.PW-kj)/s.SW+1)
	if s.W-1+s.PW-kj < 0 {
		hi = 0
	}
	return lo, max(lo, hi)
}

// shortRun is the shortest run of a row that Col2imAt adds with Axpy: below
// it (the rows of a small image) the call costs more than the loop.
const shortRun = 32

// Col2im is the adjoint of Im2col: it adds each entry of cols back into the
// image position it was read from, accumulating into x (which it does not
// clear first):
//
//	x[c, oi*SH+ki-PH, oj*SW+kj-PW] += cols[((c*KH+ki)*KW+kj)*OH*OW + oi*OW + oj]  (inside x)
//
// With stride 1 each run longer than a few vectors is one Axpy; the order of
// the additions into an element of x is the same as in the loop above.
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
	r := 0
	for c := 0; c < s.C; c++ {
		img := x[c*s.H*s.W : (c+1)*s.H*s.W]
		for ki := 0; ki < s.KH; ki++ {
			for kj := 0; kj < s.KW; kj++ {
				row := cols[r*ldc : r*ldc+oh*ow]
				r++
				lo, hi := s.inside(kj)
				for oi := 0; oi < oh; oi++ {
					ii := oi*s.SH + ki - s.PH
					if ii < 0 || ii >= s.H || lo == hi {
						continue
					}
					dst := img[ii*s.W : (ii+1)*s.W]
					in := row[oi*ow : (oi+1)*ow]
					if s.SW == 1 && hi-lo >= shortRun {
						Axpy(1, in[lo:hi], dst[lo+kj-s.PW:])
						continue
					}
					for oj := lo; oj < hi; oj++ {
						dst[oj*s.SW+kj-s.PW] += in[oj]
					}
				}
			}
		}
	}
}
