package kernel

// Direct3x3 reports whether Conv3x3 and Conv3x3Grad have assembly for a
// convolution of shape s and element type T: one input channel, a 3×3
// kernel, stride 1, no padding and outputs at most 32 wide, the first layer
// of a small CNN on 28×28 images (float32, AVX-512). There a direct
// convolution does without lowering the image (im2col) and a product of
// nine steps of k, which cost more than its 9 multiply-adds an output.
func Direct3x3[T Float](s ConvShape) bool {
	_, ow := s.Out()
	return table[T]().conv3x3 != nil && s.C == 1 && s.KH == 3 && s.KW == 3 && s.SH == 1 && s.SW == 1 &&
		s.PH == 0 && s.PW == 0 && s.H >= 3 && s.W >= 3 && ow <= 32
}

// Conv3x3 convolves one image x of one channel (H×W) with the o filters f
// (o×3×3), stride 1 and no padding: filter c's output plane, OH×OW, goes to
// y[c*ldy:]. The assembly sums each output's taps in order with fused
// multiply-adds, so results differ from the reference loop by rounding.
//
//	y[c*ldy + i*OW + j] = Σ_{ki,kj} f[c*9 + ki*3 + kj]·x[(i+ki)*W + kj + j]
func Conv3x3[T Float](h, w int, x, f []T, o int, y []T, ldy int) {
	oh, ow := h-2, w-2
	if oh < 1 || ow < 1 || o < 0 || ldy < oh*ow {
		panic("kernel: invalid convolution shape")
	}
	if len(x) < h*w || len(f) < 9*o || len(y) < need(o, oh*ow, ldy) {
		panic("kernel: conv3x3 slice too short")
	}
	if o == 0 {
		return
	}
	if k := table[T]().conv3x3; k != nil && ow <= 32 {
		k(oh, ow, w, x, f, o, y, ldy)
		return
	}
	conv3x3Ref(oh, ow, w, x, f, o, y, ldy)
}

func conv3x3Ref[T Float](oh, ow, w int, x, f []T, o int, y []T, ldy int) {
	for c := 0; c < o; c++ {
		for i := 0; i < oh; i++ {
			for j := 0; j < ow; j++ {
				var s T
				for t := 0; t < 9; t++ {
					s += f[c*9+t] * x[(i+t/3)*w+t%3+j]
				}
				y[c*ldy+i*ow+j] = s
			}
		}
	}
}

// Conv3x3Grad adds to dw the gradient of Conv3x3's filters over n images x
// (H×W, ldx apart) from their output gradients g (filter c's OH×OW plane
// of image b at b*ldgi + c*ldg), transposed: tap t of filter c at
// dw[t*ldw + c]. The assembly sums each tap's products in the lanes of a
// vector over the images and positions, then the lanes, so results differ
// from the reference loop by rounding, the same for the same arguments.
//
//	dw[t*ldw + c] += Σ_b Σ_{i,j} g[b*ldgi + c*ldg + i*OW + j]·x[b*ldx + (i+t/3)*W + t%3 + j]
func Conv3x3Grad[T Float](h, w int, x []T, ldx, n int, g []T, ldg, ldgi, o int, dw []T, ldw int) {
	oh, ow := h-2, w-2
	if oh < 1 || ow < 1 || o < 0 || n < 0 || ldx < h*w || ldg < oh*ow || ldgi < 0 || ldw < o {
		panic("kernel: invalid convolution shape")
	}
	if n == 0 || o == 0 {
		return
	}
	if len(x) < (n-1)*ldx+h*w || len(g) < (n-1)*ldgi+need(o, oh*ow, ldg) || len(dw) < 8*ldw+o {
		panic("kernel: conv3x3 slice too short")
	}
	if k := table[T]().conv3x3Grad; k != nil && ow <= 32 {
		k(oh, ow, w, x, ldx, n, g, ldg, ldgi, o, dw, ldw)
		return
	}
	conv3x3GradRef(oh, ow, w, x, ldx, n, g, ldg, ldgi, o, dw, ldw)
}

func conv3x3GradRef[T Float](oh, ow, w int, x []T, ldx, n int, g []T, ldg, ldgi, o int, dw []T, ldw int) {
	for c := 0; c < o; c++ {
		for t := 0; t < 9; t++ {
			var s float64
			for b := 0; b < n; b++ {
				for i := 0; i < oh; i++ {
					for j := 0; j < ow; j++ {
						s += float64(g[b*ldgi+c*ldg+i*ow+j]) * float64(x[b*ldx+(i+t/3)*w+t%3+j])
					}
				}
			}
			dw[t*ldw+c] += T(s)
		}
	}
}
