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
// each plane gets its bias (beta) and its ReLU in place, then is pooled into
// z and codes, as AddConst, ReLU and MaxPool2 would do one after another.
func (j *job[T]) reluPoolOut(prod []T, i0, i1 int) {
	oh, ow := j.conv.Out()
	outC, cols, q := len(j.b)/(j.conv.C*j.conv.KH*j.conv.KW), (i1-i0)*j.p, (oh/2)*(ow/2)
	for img := i0; img < i1; img++ {
		for o := 0; o < outC; o++ {
			plane, at := prod[o*cols+(img-i0)*j.p:][:j.p], (img*outC+o)*q
			if j.beta != nil {
				kernel.AddConst(j.beta[o], plane, plane)
			}
			kernel.ReLU(plane, plane)
			kernel.MaxPool2(oh, ow, plane, j.z[at:at+q], j.codes[at:at+q])
		}
	}
}

// reluPoolGrad gathers the output gradient of images i0…i1−1 of a
// convolution fused with ReLU and a 2×2 max-pool into g (O rows of the
// chunk's positions) from the pooled gradient x: the pooled gradient where
// the pooled output (pooled) is positive, at the position of each window's
// maximum, and 0 elsewhere, as MaxPool2Grad and ReLUGrad would give. It
// uses the first O·P/4 elements of scratch.
func (j *job[T]) reluPoolGrad(g, scratch []T, i0, i1 int) {
	oh, ow := j.conv.Out()
	outC, cols, q := len(j.b)/(j.conv.C*j.conv.KH*j.conv.KW), (i1-i0)*j.p, (oh/2)*(ow/2)
	masked := scratch[:q]
	for img := i0; img < i1; img++ {
		for o := 0; o < outC; o++ {
			at := (img*outC + o) * q
			kernel.ReLUGrad(j.pooled[at:at+q], j.x[at:at+q], masked)
			kernel.MaxPool2Grad(oh, ow, masked, j.codes[at:at+q], g[o*cols+(img-i0)*j.p:][:j.p])
		}
	}
}
