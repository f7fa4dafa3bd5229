package autograd

import "github.com/descentml/descent/internal/kernel"

// Conv2DReLUPool returns MaxPool2D(ReLU(Conv2D(x, w, b, stride, padding)))
// with 2×2 windows of stride 2, the block of a small CNN, in one pass over
// the convolution's output: each image's product, still in cache, gets its
// bias, its ReLU and its pooling before the next, so the full-size
// activations are never written to memory, and the backward pass gathers the
// output gradient straight from the pooled one. Results, gradients
// included, are the same bit for bit as the three operations'. The
// convolution's outputs must be at least 2×2.
func (t *Tape[T]) Conv2DReLUPool(x, w, b *Var[T], stride, padding [2]int) *Var[T] {
	return t.conv2D(x, w, b, stride, padding, true)
}

// convReLUPool is the scalar of the node of a convolution fused with ReLU
// and a 2×2 max-pool (Conv2DReLUPool); its codes are the pooling's.
const convReLUPool = 1

// poolCodes returns len bytes for the argmax codes of a 2×2 max-pool: n's,
// or the tape's scratch when there is no node.
func (t *Tape[T]) poolCodes(n *node[T], len int) []uint8 {
	if n != nil {
		n.codes = growBytes(n.codes, len)
		return n.codes
	}
	t.codes = growBytes(t.codes, len)
	return t.codes
}

// reluPoolOut finishes images i0…i1−1 of a convolution fused with ReLU and
// a 2×2 max-pool from their product prod (O rows of the chunk's positions):
// each image's planes get their bias (beta), their ReLU and their pooling
// into z and codes in one call, as AddConst, ReLU and MaxPool2 would do one
// after another; without a bias the ReLU is a pass over the product first.
func (j *job[T]) reluPoolOut(prod []T, i0, i1 int) {
	oh, ow := j.conv.Out()
	outC, cols, q := len(j.b)/(j.conv.C*j.conv.KH*j.conv.KW), (i1-i0)*j.p, (oh/2)*(ow/2)
	if j.beta == nil {
		prod = prod[:outC*cols]
		kernel.ReLU(prod, prod)
	}
	for img := i0; img < i1; img++ {
		at, x := img*outC*q, prod[(img-i0)*j.p:]
		if j.beta != nil {
			kernel.BiasReLUMaxPool2Planes(oh, ow, outC, j.beta, x, cols, j.z[at:at+outC*q], j.codes[at:at+outC*q], q)
		} else {
			kernel.MaxPool2Planes(oh, ow, outC, x, cols, j.z[at:at+outC*q], j.codes[at:at+outC*q], q)
		}
	}
}

// reluPoolGrad gathers the output gradient of images i0…i1−1 of a
// convolution fused with ReLU and a 2×2 max-pool into g (O rows of the
// chunk's positions) from the pooled gradient x: the pooled gradient where
// the pooled output (pooled) is positive, at the position of each window's
// maximum, and 0 elsewhere, as ReLUGrad and MaxPool2Grad would give, an
// image's channels in one call.
func (j *job[T]) reluPoolGrad(g []T, i0, i1 int) {
	oh, ow := j.conv.Out()
	outC, cols, q := len(j.b)/(j.conv.C*j.conv.KH*j.conv.KW), (i1-i0)*j.p, (oh/2)*(ow/2)
	for img := i0; img < i1; img++ {
		at, n := img*outC*q, outC*q
		kernel.ReLUMaxPool2GradPlanes(oh, ow, outC, j.pooled[at:at+n], j.x[at:at+n], j.codes[at:at+n], q, g[(img-i0)*j.p:], cols)
	}
}
