// Package autograd computes exact gradients by reverse-mode automatic
// differentiation on a tape.
//
// A forward pass is a sequence of calls on a [Tape]: each operation
// (MatMul, Linear, Add, ReLU, Conv2D, CrossEntropy, SumDim, Concat, …)
// computes its result at once and records what its backward pass needs. [Tape.Backward] then walks the
// records in reverse and adds each operation's contribution to the gradients
// of its operands, down to the leaves.
//
// Leaves are the [Var]s made by [NewVar]: a model's parameters (with
// requiresGrad) and inputs. A parameter's gradient buffer is allocated once
// and accumulates over Backward calls until [Var.ZeroGrad] clears it in
// place, so an optimizer can hold on to the value and gradient slices;
// [Var.DiscardGrad] instead marks it as zero without writing it, and the
// next backward pass overwrites it rather than adding (PyTorch's
// zero_grad(set_to_none=True)). Every other Var belongs to the Tape, and [Tape.Reset] recycles its buffers:
//
//	tape := autograd.NewTape[float32]()
//	for step := range steps {
//		x := tape.Const(batch)                // an input: no gradient
//		h := tape.ReLU(tape.Linear(x, w1, b1)) // w1, b1: leaves from NewVar
//		loss := tape.CrossEntropy(tape.Linear(h, w2, b2), labels)
//		if err := tape.Backward(loss); err != nil { … }
//		… update the parameters from their gradients, zero the gradients …
//		tape.Reset()
//	}
//
// After the first step such a loop allocates (almost) nothing: the Tape
// reuses its Vars, records and tensors in the same order each step.
//
// Shapes that do not fit are errors, not panics: the first one is recorded
// on the Tape, later operations do nothing, and [Tape.Err] and
// [Tape.Backward] return it (see [Tape]). Layers (package nn) and losses
// (package loss) build on these operations and return the errors from their
// own calls. Nothing here is global: dropout takes its random source as an
// argument, and whether a model is training is the model's business.
//
// Elementwise, Sqrt, Abs, Pow (a constant exponent) and Clamp follow
// PyTorch 1.13 forward and backward at their edges (zeros, bounds,
// infinities, NaN), so that a custom loss or layer built from them
// trains as its PyTorch twin; SumDim and MeanDim reduce along one
// dimension and Concat joins along one (torch.cat), a negative dimension
// counting from the end as in PyTorch. The elementwise ones spread over
// the kernel threads as the activations do; SumDim, MeanDim and Concat
// run on the calling goroutine.
//
// Sequence models have operations of their own: Embedding, LayerNorm,
// RMSNorm, Narrow, multi-head Attention over the packed q/k/v of PyTorch's
// in_proj, and whole-sequence LSTM, GRU and RNN (one matrix multiply per
// step, gates in plain loops), and CrossEntropyIgnore for padded targets.
//
// Matrix products, the convolution lowering, pooling, batch normalization
// and the activations' loops run in internal/kernel's vector kernels, and
// large operations spread their work over its pool of threads, each task
// computing elements of its own: results do not depend on the number of
// threads. A backward pass that is the first to reach an operand's
// gradient writes it rather than adding to a zeroed buffer.
package autograd
