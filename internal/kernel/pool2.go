package kernel

// MaxPool2 pools one image plane x (h rows of w) with 2×2 windows and stride
// 2 into y (h/2 rows of w/2; an odd last row or column of x is left out),
// and sets codes to the position of each window's maximum: 0 and 1 in the
// window's first row, 2 and 3 in its second. The maximum is the first
// largest element in that order, or the last NaN, as PyTorch's max_pool2d
// chooses it:
//
//	best, code := x[2i][2j], 0
//	for k, v := range [x[2i][2j+1], x[2i+1][2j], x[2i+1][2j+1]] {
//		if v > best || v != v { best, code = v, k+1 }
//	}
//	y[i·(w/2)+j], codes[i·(w/2)+j] = best, code
func MaxPool2[T Float](h, w int, x, y []T, codes []uint8) {
	oh, ow := checkPool2(h, w, len(x), len(y), len(codes))
	if oh > 0 && ow > 0 {
		table[T]().maxPool(x, w, oh, ow, y, codes)
	}
}

// MaxPool2Grad sets gx (h rows of w) to the gradient of MaxPool2 from the
// gradient g of its output: each g[o] at the position codes[o] of its window,
// and 0 elsewhere (also in an odd last row or column).
func MaxPool2Grad[T Float](h, w int, g []T, codes []uint8, gx []T) {
	oh, ow := checkPool2(h, w, len(gx), len(g), len(codes))
	if oh > 0 && ow > 0 {
		table[T]().maxPoolGrad(g, codes, w, oh, ow, gx)
	}
	if w%2 == 1 {
		for i := 0; i < 2*oh; i++ {
			gx[i*w+w-1] = 0
		}
	}
	clear(gx[2*oh*w : h*w])
}

func checkPool2(h, w, lenX, lenY, lenCodes int) (oh, ow int) {
	if h < 0 || w < 0 {
		panic("kernel: negative matrix dimension")
	}
	oh, ow = h/2, w/2
	if lenX < h*w || lenY < oh*ow || lenCodes < oh*ow {
		panic("kernel: pooling slice too short")
	}
	return oh, ow
}

func maxPoolRef[T Float](x []T, w, oh, ow int, y []T, codes []uint8) {
	for i := 0; i < oh; i++ {
		r0, r1 := x[2*i*w:2*i*w+2*ow], x[(2*i+1)*w:(2*i+1)*w+2*ow]
		yi, ci := y[i*ow:(i+1)*ow], codes[i*ow:(i+1)*ow]
		for j := range yi {
			best, code := r0[2*j], uint8(0)
			if v := r0[2*j+1]; v > best || v != v {
				best, code = v, 1
			}
			if v := r1[2*j]; v > best || v != v {
				best, code = v, 2
			}
			if v := r1[2*j+1]; v > best || v != v {
				best, code = v, 3
			}
			yi[j], ci[j] = best, code
		}
	}
}

// maxPoolGradRef sets the first 2·oh rows of the first 2·ow columns of gx.
func maxPoolGradRef[T Float](g []T, codes []uint8, w, oh, ow int, gx []T) {
	for i := 0; i < oh; i++ {
		r0, r1 := gx[2*i*w:2*i*w+2*ow], gx[(2*i+1)*w:(2*i+1)*w+2*ow]
		gi, ci := g[i*ow:(i+1)*ow], codes[i*ow:(i+1)*ow]
		clear(r0)
		clear(r1)
		for j, v := range gi {
			switch ci[j] {
			case 0:
				r0[2*j] = v
			case 1:
				r0[2*j+1] = v
			case 2:
				r1[2*j] = v
			case 3:
				r1[2*j+1] = v
			}
		}
	}
}
