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
	MaxPool2Planes(h, w, 1, x, h*w, y, codes, (h/2)*(w/2))
}

// MaxPool2Planes is MaxPool2 on planes planes in one call: plane p of x at
// x[p·ldx:], its outputs and codes at y[p·ldy:] and codes[p·ldy:]. The
// planes of one image's channels (ldy = (h/2)·(w/2)) can sit anywhere in x,
// as the rows of a product of filters and lowered images do (ldx the
// product's row stride).
func MaxPool2Planes[T Float](h, w, planes int, x []T, ldx int, y []T, codes []uint8, ldy int) {
	oh, ow := checkPool2(h, w, planes, len(x), ldx, len(y), len(codes), ldy)
	if oh > 0 && ow > 0 && planes > 0 {
		table[T]().maxPool(x, w, oh, ow, y, codes, planes, ldx, ldy)
	}
}

// BiasReLUMaxPool2Planes is MaxPool2Planes of ReLU(x + b[p]) for each
// plane p, as AddConst(b[p]), ReLU and MaxPool2Planes would give it, x left
// as it is.
func BiasReLUMaxPool2Planes[T Float](h, w, planes int, b, x []T, ldx int, y []T, codes []uint8, ldy int) {
	oh, ow := checkPool2(h, w, planes, len(x), ldx, len(y), len(codes), ldy)
	if len(b) < planes {
		panic("kernel: pooling slice too short")
	}
	if oh > 0 && ow > 0 && planes > 0 {
		table[T]().biasReLUMaxPool(x, w, oh, ow, y, codes, planes, ldx, ldy, b)
	}
}

// MaxPool2Grad sets gx (h rows of w) to the gradient of MaxPool2 from the
// gradient g of its output: each g[o] at the position codes[o] of its window,
// and 0 elsewhere (also in an odd last row or column).
func MaxPool2Grad[T Float](h, w int, g []T, codes []uint8, gx []T) {
	MaxPool2GradPlanes(h, w, 1, g, codes, (h/2)*(w/2), gx, h*w)
}

// MaxPool2GradPlanes is MaxPool2Grad on planes planes in one call, laid out
// as MaxPool2Planes's: plane p's gradient and codes at g[p·ldg:] and
// codes[p·ldg:], its image gradient at gx[p·ldx:].
func MaxPool2GradPlanes[T Float](h, w, planes int, g []T, codes []uint8, ldg int, gx []T, ldx int) {
	oh, ow := checkPool2(h, w, planes, len(gx), ldx, len(g), len(codes), ldg)
	if oh > 0 && ow > 0 && planes > 0 {
		table[T]().maxPoolGrad(g, codes, w, oh, ow, gx, planes, ldx, ldg)
	}
	clearPool2Rest(h, w, oh, planes, gx, ldx)
}

// clearPool2Rest clears the odd last row and column of planes planes of gx,
// ldx elements apart, which the pooling leaves out.
func clearPool2Rest[T Float](h, w, oh, planes int, gx []T, ldx int) {
	for p := range planes {
		x := gx[p*ldx : p*ldx+h*w]
		if w%2 == 1 {
			for i := 0; i < 2*oh; i++ {
				x[i*w+w-1] = 0
			}
		}
		clear(x[2*oh*w:])
	}
}

// ReLUMaxPool2GradPlanes is MaxPool2GradPlanes of the gradient of a ReLU
// before the pooling, with y the pooled outputs, laid out as g: each g[o]
// counts where !(y[o] ≤ 0), and 0 where y[o] ≤ 0, as ReLUGrad(y, g) gives
// it.
func ReLUMaxPool2GradPlanes[T Float](h, w, planes int, y, g []T, codes []uint8, ldg int, gx []T, ldx int) {
	oh, ow := checkPool2(h, w, planes, len(gx), ldx, len(g), len(codes), ldg)
	checkPool2(h, w, planes, len(gx), ldx, len(y), len(codes), ldg)
	if oh > 0 && ow > 0 && planes > 0 {
		table[T]().reluMaxPoolGrad(y, g, codes, w, oh, ow, gx, planes, ldx, ldg)
	}
	clearPool2Rest(h, w, oh, planes, gx, ldx)
}

func checkPool2(h, w, planes, lenX, ldx, lenY, lenCodes, ldy int) (oh, ow int) {
	if h < 0 || w < 0 || planes < 0 {
		panic("kernel: negative matrix dimension")
	}
	oh, ow = h/2, w/2
	if ldx < h*w || ldy < oh*ow {
		panic("kernel: plane stride shorter than a plane")
	}
	if lenX < need(planes, h*w, ldx) || lenY < need(planes, oh*ow, ldy) || lenCodes < need(planes, oh*ow, ldy) {
		panic("kernel: pooling slice too short")
	}
	return oh, ow
}

// maxPoolRef pools planes planes, ldx and ldy elements apart, one at a time
// by maxPoolPlaneRef.
func maxPoolRef[T Float](x []T, w, oh, ow int, y []T, codes []uint8, planes, ldx, ldy int) {
	for p := range planes {
		maxPoolPlaneRef(x[p*ldx:], w, oh, ow, y[p*ldy:], codes[p*ldy:])
	}
}

func maxPoolPlaneRef[T Float](x []T, w, oh, ow int, y []T, codes []uint8) {
	maxPoolPlaneBiasRef(x, w, oh, ow, y, codes, false, 0)
}

// biasReLUMaxPoolRef pools ReLU(x + b[p]) of planes planes, ldx and ldy
// elements apart, one at a time.
func biasReLUMaxPoolRef[T Float](x []T, w, oh, ow int, y []T, codes []uint8, planes, ldx, ldy int, b []T) {
	for p := range planes {
		maxPoolPlaneBiasRef(x[p*ldx:], w, oh, ow, y[p*ldy:], codes[p*ldy:], true, b[p])
	}
}

// maxPoolPlaneBiasRef is maxPoolPlaneRef of ReLU(x + b) with relu, as the
// layers' addConst and relu compute them, else of x.
func maxPoolPlaneBiasRef[T Float](x []T, w, oh, ow int, y []T, codes []uint8, relu bool, b T) {
	at := func(v T) T {
		if !relu {
			return v
		}
		if v += b; v <= 0 {
			return 0
		}
		return v
	}
	for i := 0; i < oh; i++ {
		r0, r1 := x[2*i*w:2*i*w+2*ow], x[(2*i+1)*w:(2*i+1)*w+2*ow]
		yi, ci := y[i*ow:(i+1)*ow], codes[i*ow:(i+1)*ow]
		for j := range yi {
			best, code := at(r0[2*j]), uint8(0)
			if v := at(r0[2*j+1]); v > best || v != v {
				best, code = v, 1
			}
			if v := at(r1[2*j]); v > best || v != v {
				best, code = v, 2
			}
			if v := at(r1[2*j+1]); v > best || v != v {
				best, code = v, 3
			}
			yi[j], ci[j] = best, code
		}
	}
}

// maxPoolGradRef sets the first 2·oh rows of the first 2·ow columns of
// planes planes of gx, ldx elements apart, from gradients and codes ldg
// apart, one plane at a time by maxPoolGradPlaneRef.
func maxPoolGradRef[T Float](g []T, codes []uint8, w, oh, ow int, gx []T, planes, ldx, ldg int) {
	for p := range planes {
		maxPoolGradPlaneRef(g[p*ldg:], codes[p*ldg:], w, oh, ow, gx[p*ldx:])
	}
}

func maxPoolGradPlaneRef[T Float](g []T, codes []uint8, w, oh, ow int, gx []T) {
	maxPoolGradPlaneMaskedRef(nil, g, codes, w, oh, ow, gx)
}

// maxPoolGradPlaneMaskedRef is maxPoolGradPlaneRef with g[o] taken as 0
// where y[o] ≤ 0, unless y is nil.
func maxPoolGradPlaneMaskedRef[T Float](y, g []T, codes []uint8, w, oh, ow int, gx []T) {
	for i := 0; i < oh; i++ {
		r0, r1 := gx[2*i*w:2*i*w+2*ow], gx[(2*i+1)*w:(2*i+1)*w+2*ow]
		gi, ci := g[i*ow:(i+1)*ow], codes[i*ow:(i+1)*ow]
		clear(r0)
		clear(r1)
		for j, v := range gi {
			if y != nil && y[i*ow+j] <= 0 {
				v = 0
			}
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

// reluMaxPoolGradRef is maxPoolGradRef of the gradient g zeroed where the
// pooled outputs y are ≤ 0, one plane at a time.
func reluMaxPoolGradRef[T Float](y, g []T, codes []uint8, w, oh, ow int, gx []T, planes, ldx, ldg int) {
	for p := range planes {
		maxPoolGradPlaneMaskedRef(y[p*ldg:], g[p*ldg:], codes[p*ldg:], w, oh, ow, gx[p*ldx:])
	}
}
