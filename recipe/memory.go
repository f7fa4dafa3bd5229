package recipe

// Memory estimates the bytes the recipe's model, optimizer and one batch
// need for examples of the given shape and number of classes, without
// allocating anything: the weights, their gradients and up to four
// optimizer buffers a weight (float32), and per example of a batch the
// activations of every layer kept for the backward pass, their gradients
// and the CNN's unfolded patches. It is an upper bound of the usual runs
// within a factor of about two, to refuse a model that cannot fit (an
// MLP of a million units a layer) before it is made. The dataset is not
// counted. It is computed in floating point, so that no size overflows.
//
// For a language model classes is the vocabulary's size, and a batch is
// Batch windows of the model's context (seqMemory).
func (r Recipe) Memory(shape []int, classes int) float64 {
	if r.Model.IsSeq() {
		return r.seqMemory(classes)
	}
	in := 1.0
	for _, d := range shape {
		in *= float64(d)
	}
	out := float64(max(classes, 1))
	var params, acts float64 // per example, activations
	layer := func(from, to float64) {
		params += from*to + to
		acts += to
	}
	m := r.Model
	switch m.Kind {
	case "mlp":
		width := in
		for _, h := range m.Hidden {
			layer(width, float64(h))
			if m.BatchNorm {
				params += 2 * float64(h)
				acts += 2 * float64(h)
			}
			acts += 2 * float64(h) // ReLU, dropout
			width = float64(h)
		}
		layer(width, out)
	case "cnn":
		if len(shape) == 3 {
			c, h, w := float64(shape[0]), float64(shape[1]), float64(shape[2])
			for _, o := range []float64{16, 32} {
				params += c*9*o + o
				acts += c*9*h*w + 4*o*h*w // unfolded patches; conv, norm, ReLU, pool
				c, h, w = o, h/2, w/2
			}
			layer(c*h*w, out)
		}
	default: // linear, logistic
		layer(in, out)
	}
	acts += in
	batch := float64(max(r.Batch, 1))
	const f32 = 4
	return f32 * (6*params + 3*batch*acts)
}
