// Package nn holds the layers of a model (Linear, Conv2D, MaxPool2D,
// BatchNorm1d and BatchNorm2d, Dropout, Flatten, and the activations ReLU,
// Tanh, Sigmoid, GELU and SiLU), the sequence-model layers (Embedding,
// LayerNorm, RMSNorm, MultiheadAttention, the recurrent LSTM, GRU and RNN,
// Residual), two language models ([Transformer], a GPT-style decoder, and
// [RecurrentLM]), the [Sequential] container, and model files in the
// safetensors format.
//
// Every layer is a [Module]: Forward records its computation on an
// [autograd.Tape] and returns its output and an error; Params and Buffers
// list its state explicitly (no reflection) under PyTorch's names, so a
// Sequential here and an nn.Sequential of the same layers in PyTorch have
// the same state_dict keys ("0.weight", "1.running_mean",
// "1.num_batches_tracked", …) and initialise the same way (Kaiming uniform
// with a = √5, from an explicit random source).
//
// # How the pieces fit
//
// A training step is
//
//	logits, err := model.Forward(tape, tape.Const(batch)) // package nn
//	l, err := loss.CrossEntropy(tape, logits, labels)     // package loss
//	err = tape.Backward(l)                                // package autograd
//	… an optimizer updates params from their gradients …
//	nn.ZeroGrad(params)
//	tape.Reset()
//
// where params := model.Params() is taken once. Each [Param] carries its
// name, shape and the value and gradient slices, which stay the same slices
// for the model's life: an optimizer (package optim, which knows nothing of
// layers) can hold on to them. [DiscardGrads] in place of ZeroGrad saves
// the pass that writes zeros: the next Backward overwrites the gradients,
// and [ZeroDiscardedGrads] after it clears any it did not reach. Buffers, such as BatchNorm's running
// statistics, are saved with the model but never given to an optimizer.
//
// Whether a model trains or evaluates is the model's [Mode], set with
// SetMode on the model (there is no global switch). In [Eval] mode
// BatchNorm uses its running statistics and Dropout passes its input
// through.
//
// # Errors
//
// An input that does not fit a layer (the wrong width for a Linear layer,
// the wrong channels or too small an image for a Conv2D) is a returned error
// naming the layer and both shapes, and a Sequential adds the index of the
// layer; the error is also recorded on the tape, so a Backward after an
// ignored error fails as well.
//
// A layer's constructor (NewLinear, NewConv2D, NewRecurrent, NewBlock, …)
// panics on settings only a program can get wrong, as make does on a
// negative length: an impossible size, a nil random source, a
// dropout probability outside [0, 1], a config that its Validate method
// refuses. A whole model built from a config ([NewTransformer],
// [NewRecurrentLM]) returns those as errors instead, since its config is
// what a user's flags or files fill in; so does package recipe, which
// validates every setting before it calls a constructor.
//
// # Model files
//
// [Save] writes parameters and buffers to an io.Writer in the safetensors
// format, deterministically; [Load] reads them back from bytes, converting
// between F32 and F64, and names each missing, extra or mis-shaped tensor.
// Files load in PyTorch with safetensors.torch.load_file and
// load_state_dict, and files from there load here.
package nn
