package autograd

import (
	"fmt"
	"math"
	"math/bits"

	"github.com/descentml/descent/internal/kernel"
	"github.com/descentml/descent/tensor"
)

// Conv2D returns the 2-D convolution (cross-correlation, as PyTorch's
// nn.Conv2d) of the images x [N, C, H, W] with the filters w [O, C, KH, KW],
// plus the bias b [O] (nil for none): a result of shape [N, O, OH, OW] with
// OH = (H + 2·padding[0] − KH)/stride[0] + 1 and OW likewise. The images are
// padded with zeros.
//
// The windows of a chunk of images at a time are lowered by im2col into a
// (C·KH·KW)×(chunk·OH·OW) matrix in cache, which the forward pass multiplies
// by the filters and the backward pass lowers again for the filters'
// gradient: a lowered batch (nine times the input for a 3×3 kernel) would
// be written to memory and read back, which costs more than lowering twice.
// The images' gradient is the filters' transpose times the output gradient,
// raised back by col2im, a chunk at a time.
func (t *Tape[T]) Conv2D(x, w, b *Var[T], stride, padding [2]int) *Var[T] {
	return t.conv2D(x, w, b, stride, padding, false)
}

// conv2D is Conv2D, followed with pool by ReLU and a 2×2 max-pool
// (Conv2DReLUPool).
func (t *Tape[T]) conv2D(x, w, b *Var[T], stride, padding [2]int, pool bool) *Var[T] {
	if t.skip2("conv2d", x, w) {
		return t.dead
	}
	xs, ws := x.Shape(), w.Shape()
	if len(xs) != 4 || len(ws) != 4 || xs[1] != ws[1] {
		return t.Fail(fmt.Errorf("autograd: conv2d: input %v and weight %v: want input [N, %d, H, W] and weight [O, C, KH, KW]", xs, ws, dimOr(ws, 1)))
	}
	if b != nil && (len(b.Shape()) != 1 || b.Shape()[0] != ws[0]) {
		return t.Fail(fmt.Errorf("autograd: conv2d: weight %v and bias %v: want bias [%d]", ws, b.Shape(), ws[0]))
	}
	if stride[0] < 1 || stride[1] < 1 || padding[0] < 0 || padding[1] < 0 {
		return t.Fail(fmt.Errorf("autograd: conv2d: stride %v and padding %v: want stride ≥ 1 and padding ≥ 0", stride, padding))
	}
	s := kernel.ConvShape{C: xs[1], H: xs[2], W: xs[3], KH: ws[2], KW: ws[3], SH: stride[0], SW: stride[1], PH: padding[0], PW: padding[1]}
	if s.H+2*s.PH < s.KH || s.W+2*s.PW < s.KW || s.H == 0 || s.W == 0 || s.KH == 0 || s.KW == 0 || s.C == 0 {
		return t.Fail(fmt.Errorf("autograd: conv2d: input %v with padding %v is smaller than the %d×%d kernel", xs, padding, s.KH, s.KW))
	}
	batch, outC := xs[0], ws[0]
	oh, ow := s.Out()
	p, k := oh*ow, s.C*s.KH*s.KW
	if pool && (oh < 2 || ow < 2) {
		return t.Fail(fmt.Errorf("autograd: conv2d: input %v gives outputs of %d×%d, smaller than the 2×2 pooling window", xs, oh, ow))
	}
	if pool {
		t.shape = append(t.shape[:0], batch, outC, oh/2, ow/2)
	} else {
		t.shape = append(t.shape[:0], batch, outC, oh, ow)
	}
	out := t.result(t.shape, x, w, b)
	// A chunk of images at a time, lowered, multiplied and reshaped from
	// [O, chunk·P] to [chunk, O, P] plus the bias in one task, so that the
	// product reads its columns and is reshaped from cache.
	chunk := convChunkImages(k, outC, p)
	var cols []T // the lowered images; a direct convolution has none
	if !kernel.Direct3x3[T](s) {
		cols = t.arena.Get(kernel.Threads(), k*chunk*p).Data()
	}
	tmp := t.arena.Get(kernel.Threads(), outC*chunk*p).Data()
	j := job[T]{kind: jobConvFwd, x: x.value.Data(), y: cols, z: out.value.Data(), b: w.value.Data(), tmp: tmp,
		conv: s, p: p, n: batch, chunk: chunk}
	if b != nil {
		j.beta = b.value.Data()
	}
	n := t.push(opConv2D, out, x, w, b)
	if n != nil {
		n.conv = s
	}
	if pool {
		j.codes = t.poolCodes(n, out.value.Len())
		if n != nil {
			n.scalar = convReLUPool
		}
	}
	t.spreadImages(j)
	return out
}

// conv2DBackward: with the output gradient of chunk c as an O×(chunk·P)
// matrix G_c and its lowered input X_c, ∂W += Σ_c G_c·X_cᵀ, ∂b += Σ_c the
// row sums of G_c, and ∂x = col2im(Wᵀ·G_c), chunk by chunk, so that G_c
// and X_c stay in cache. The chunks do not depend on the number of threads:
// each group of chunks' ∂W (transposed) and ∂b go into a buffer of its own,
// the group's chunks added in order by one worker, and the groups' added
// afterwards in order (convGradSum).
func (t *Tape[T]) conv2DBackward(n *node[T]) {
	s := n.conv
	xs := n.a.Shape()
	batch, outC := xs[0], n.b.Shape()[0]
	oh, ow := s.Out()
	p, k := oh*ow, s.C*s.KH*s.KW
	chunk := convChunkImages(k, outC, p)
	chunks := (batch + chunk - 1) / chunk
	per := convGroupChunks(batch, chunk)
	groups := (chunks + per - 1) / per
	j := job[T]{kind: jobConvBwd, x: n.out.grad.Data(), b: n.b.value.Data(), conv: s, p: p, n: batch, chunk: chunk}
	if n.scalar == convReLUPool {
		j.codes, j.pooled = n.codes, n.out.value.Data()
	}
	j.tmp = t.arena.Get(kernel.Threads(), convBwdScratch(k, outC, chunk*p)).Data()
	j.gamma, j.addGamma = t.gradOut(n.b)
	j.beta, j.addBeta = t.gradOut(n.c)
	j.z, j.add = t.gradOut(n.a)
	if j.gamma == nil && j.beta == nil && j.z == nil {
		return
	}
	if chunks == 0 { // an empty batch: gradients of zero, as from a product over none
		for _, g := range []struct {
			g   []T
			add bool
		}{{j.gamma, j.addGamma}, {j.beta, j.addBeta}} {
			if !g.add {
				clear(g.g)
			}
		}
		return
	}
	if j.gamma != nil || j.beta != nil {
		j.dx = n.a.value.Data()
		j.y = t.arena.Get(groups, (k+1)*outC).Data() // each group's ∂Wᵀ, then ∂b
	}
	t.spreadImages(j)
	if j.y != nil {
		j.kind, j.n = jobConvGradSum, groups
		t.spreadImages(j)
	}
}

// convGroupChunks returns the chunks of chunk images in a group, the unit
// of the workers' static shares of a batch of n images (spreadImages) and
// of the partial sums of a convolution's filter and bias gradients: groups
// of convGroup images (or one chunk, when larger), so that a worker adds a
// group's chunks into one partial sum in order and conv2DBackward's final
// sum reads a quarter as many (chunks of 2 images) whatever the number of
// workers. A batch of fewer than convGroupsAtLeast such groups is cut into
// groups of one chunk, so that a small batch of large images still keeps
// many workers busy. Both depend on n and chunk only, never on the
// workers, so neither does any sum.
func convGroupChunks(n, chunk int) int {
	per := max(convGroup/chunk, 1)
	if chunks := (n + chunk - 1) / chunk; chunks < per*convGroupsAtLeast {
		return 1
	}
	return per
}

// convGroup is the images of a group; convGroupsAtLeast the fewest groups
// a batch is cut into (enough for 8 workers).
const convGroupsAtLeast = 8

const convGroup = 8

// convGradSum sums the n groups' filter and bias gradients (convBackward's
// parts of y, k+1 rows of O: ∂Wᵀ, then ∂b) in order of the groups, and
// sets gamma (O×k) and beta to the sums, or adds the sums to them: worker
// w of workers sums its share of the rows, in its scratch.
func (j *job[T]) convGradSum(w, workers int) {
	k := j.conv.C * j.conv.KH * j.conv.KW
	outC := len(j.b) / k
	each := (k + 1) * outC
	r0, r1 := (k+1)*w/workers, (k+1)*(w+1)/workers
	acc := j.tmp[w*convBwdScratch(k, outC, j.chunk*j.p):][:(r1-r0)*outC]
	copy(acc, j.y[r0*outC:r1*outC])
	for c := 1; c < j.n; c++ {
		kernel.Axpy(1, j.y[c*each+r0*outC:c*each+r1*outC], acc)
	}
	for r := r0; r < r1; r++ {
		row := acc[(r-r0)*outC:][:outC]
		switch {
		case r == k && j.beta != nil && j.addBeta:
			kernel.Axpy(1, row, j.beta)
		case r == k && j.beta != nil:
			copy(j.beta, row)
		case r < k && j.gamma != nil && j.addGamma:
			for o, v := range row {
				j.gamma[o*k+r] += v
			}
		case r < k && j.gamma != nil:
			for o, v := range row {
				j.gamma[o*k+r] = v
			}
		}
	}
}

// convBwdScratch returns the elements of a worker's scratch in
// conv2DBackward for chunks of cols positions, k rows lowered and O
// outputs: the output gradient (O rows), the lowered images and the
// columns' gradient (k rows each); convGradSum reuses it for its share of
// the k+1 rows of O it sums.
func convBwdScratch(k, o, cols int) int {
	return max((2*k+o)*cols, (k+1)*o)
}

// convChunkImages returns the images per chunk of a convolution whose
// lowered images have k rows, and outputs o rows, of p positions.
// It is a power of two, so that a batch of a power of two images falls
// into chunks that the workers of kernel.Spread share evenly.
func convChunkImages(k, o, p int) int {
	n := max(1, convChunk/max((k+o)*p, 1))
	return 1 << (bits.Len(uint(n)) - 1)
}

// convChunk is the most elements of a chunk of images lowered (C·KH·KW rows
// of positions) and multiplied (O rows) that Conv2D and conv2DBackward hold
// at once: 256 KiB of float32, well inside an L2 cache. The forward pass
// and the images' gradient do not depend on the chunks (each element of a
// product is computed the same way in any chunk); the gradients of the
// filters and bias are sums over the chunks, added in order.
const convChunk = 1 << 16

// MaxPool2D returns the maximum of each kernel[0]×kernel[1] window of the
// images x [N, C, H, W], moved by stride, over the images padded with
// padding rows and columns of −∞ on each side, as PyTorch's nn.MaxPool2d
// (floor mode, dilation 1): [N, C, OH, OW] with OH = (H + 2·padding[0] −
// kernel[0])/stride[0] + 1. The gradient flows to the first maximum of each
// window (a NaN counts as the maximum).
func (t *Tape[T]) MaxPool2D(x *Var[T], kernelSize, stride, padding [2]int) *Var[T] {
	if t.skip("maxpool2d", x) {
		return t.dead
	}
	xs := x.Shape()
	if len(xs) != 4 {
		return t.Fail(fmt.Errorf("autograd: maxpool2d: input %v: want [N, C, H, W]", xs))
	}
	if kernelSize[0] < 1 || kernelSize[1] < 1 || stride[0] < 1 || stride[1] < 1 ||
		padding[0] < 0 || padding[1] < 0 || 2*padding[0] > kernelSize[0] || 2*padding[1] > kernelSize[1] {
		return t.Fail(fmt.Errorf("autograd: maxpool2d: kernel %v, stride %v, padding %v: want kernel and stride ≥ 1 and padding at most half the kernel", kernelSize, stride, padding))
	}
	s := kernel.ConvShape{C: xs[1], H: xs[2], W: xs[3], KH: kernelSize[0], KW: kernelSize[1], SH: stride[0], SW: stride[1], PH: padding[0], PW: padding[1]}
	if s.H+2*s.PH < s.KH || s.W+2*s.PW < s.KW {
		return t.Fail(fmt.Errorf("autograd: maxpool2d: input %v with padding %v is smaller than the %d×%d kernel", xs, padding, s.KH, s.KW))
	}
	oh, ow := s.Out()
	t.shape = append(t.shape[:0], xs[0], xs[1], oh, ow)
	out := t.result(t.shape, x)
	y := out.value.Data()
	n := t.push(opMaxPool2D, out, x, nil, nil)
	if n != nil {
		n.conv = s
	}
	planes := xs[0] * xs[1]
	if pool2(s) {
		codes := t.poolCodes(n, len(y))
		t.spreadItems(job[T]{kind: jobPool2, x: x.value.Data(), y: y, codes: codes, conv: s, p: oh * ow}, planes)
		return out
	}
	var arg []int
	if n != nil {
		n.ints = growInts(n.ints, len(y))
		arg = n.ints
	}
	xd := x.value.Data()
	hw := s.H * s.W
	for pl := 0; pl < planes; pl++ {
		img := xd[pl*hw : (pl+1)*hw]
		for oi := 0; oi < oh; oi++ {
			for oj := 0; oj < ow; oj++ {
				// The window clipped to the image; PyTorch's loop starts at its
				// first position, and a larger value or a NaN takes over.
				i0, i1 := max(oi*s.SH-s.PH, 0), min(oi*s.SH-s.PH+s.KH, s.H)
				j0, j1 := max(oj*s.SW-s.PW, 0), min(oj*s.SW-s.PW+s.KW, s.W)
				best, at := T(math.Inf(-1)), i0*s.W+j0
				for ii := i0; ii < i1; ii++ {
					row := img[ii*s.W+j0 : ii*s.W+j1]
					for k, v := range row {
						if v > best || v != v {
							best, at = v, ii*s.W+j0+k
						}
					}
				}
				o := (pl*oh+oi)*ow + oj
				y[o] = best
				if arg != nil {
					arg[o] = pl*hw + at
				}
			}
		}
	}
	return out
}

func (t *Tape[T]) maxPool2DBackward(n *node[T]) {
	if pool2(n.conv) {
		gx, add := t.gradOut(n.a)
		if gx == nil {
			return
		}
		xs := n.a.Shape()
		oh, ow := n.conv.Out()
		t.spreadItems(job[T]{kind: jobPool2Grad, x: n.out.grad.Data(), z: gx, codes: n.codes, conv: n.conv, p: oh * ow, add: add}, xs[0]*xs[1])
		return
	}
	gx := t.grad(n.a)
	if gx == nil {
		return
	}
	for o, g := range n.out.grad.Data() {
		gx[n.ints[o]] += g
	}
}

// pool2 reports whether a pooling window is 2×2 with stride 2 and no
// padding, the common case that kernel.MaxPool2 handles: windows that do not
// overlap, and cover the image but for an odd last row or column.
func pool2(s kernel.ConvShape) bool {
	return s.KH == 2 && s.KW == 2 && s.SH == 2 && s.SW == 2 && s.PH == 0 && s.PW == 0
}

// addPool2Grad adds the gradient g of one pooled plane to the maxima of its
// windows in gx (H×W), by the codes of kernel.MaxPool2.
func addPool2Grad[T tensor.Float](s kernel.ConvShape, g []T, codes []uint8, gx []T) {
	_, ow := s.Out()
	for o, v := range g {
		c := int(codes[o])
		gx[(o/ow*2+c/2)*s.W+o%ow*2+c%2] += v
	}
}
