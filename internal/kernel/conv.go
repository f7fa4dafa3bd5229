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
func Im2col[T Float](s ConvShape, x, cols []T) {
	s.check()
	oh, ow := s.Out()
	if len(x) < s.C*s.H*s.W || len(cols) < s.C*s.KH*s.KW*oh*ow {
		panic("kernel: im2col slice too short")
	}
	r := 0
	for c := 0; c < s.C; c++ {
		img := x[c*s.H*s.W : (c+1)*s.H*s.W]
		for ki := 0; ki < s.KH; ki++ {
			for kj := 0; kj < s.KW; kj++ {
				row := cols[r*oh*ow : (r+1)*oh*ow]
				r++
				for oi := 0; oi < oh; oi++ {
					out := row[oi*ow : (oi+1)*ow]
					ii := oi*s.SH + ki - s.PH
					if ii < 0 || ii >= s.H {
						clear(out)
						continue
					}
					src := img[ii*s.W : (ii+1)*s.W]
					for oj := range out {
						jj := oj*s.SW + kj - s.PW
						if jj < 0 || jj >= s.W {
							out[oj] = 0
						} else {
							out[oj] = src[jj]
						}
					}
				}
			}
		}
	}
}

// Col2im is the adjoint of Im2col: it adds each entry of cols back into the
// image position it was read from, accumulating into x (which it does not
// clear first).
func Col2im[T Float](s ConvShape, cols, x []T) {
	s.check()
	oh, ow := s.Out()
	if len(x) < s.C*s.H*s.W || len(cols) < s.C*s.KH*s.KW*oh*ow {
		panic("kernel: col2im slice too short")
	}
	r := 0
	for c := 0; c < s.C; c++ {
		img := x[c*s.H*s.W : (c+1)*s.H*s.W]
		for ki := 0; ki < s.KH; ki++ {
			for kj := 0; kj < s.KW; kj++ {
				row := cols[r*oh*ow : (r+1)*oh*ow]
				r++
				for oi := 0; oi < oh; oi++ {
					ii := oi*s.SH + ki - s.PH
					if ii < 0 || ii >= s.H {
						continue
					}
					dst := img[ii*s.W : (ii+1)*s.W]
					in := row[oi*ow : (oi+1)*ow]
					for oj, v := range in {
						jj := oj*s.SW + kj - s.PW
						if jj >= 0 && jj < s.W {
							dst[jj] += v
						}
					}
				}
			}
		}
	}
}
