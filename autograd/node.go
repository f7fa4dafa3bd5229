package autograd

import (
	"github.com/descentml/descent/internal/kernel"
	"github.com/descentml/descent/tensor"
)

// opKind names a recorded operation. Nodes are plain structs dispatched by a
// switch rather than closures, so recording an operation allocates nothing.
type opKind uint8

const (
	opAdd opKind = iota + 1
	opSub
	opMul
	opDiv
	opScale
	opSum
	opMean
	opSumSquares
	opExp
	opLog
	opSquare
	opReLU
	opTanh
	opSigmoid
	opGELU
	opSoftmax
	opLogSoftmax
	opMatMul
	opLinear
	opLinearReLU // LinearReLU
	opReshape
	opTranspose
	opSlice
	opConv2D
	opMaxPool2D
	opDropout
	opBatchNorm
	opBatchNormEval
	opBatchNormReLU     // BatchNormReLU on an input [N, C]
	opBatchNormEvalReLU // BatchNormEvalReLU on an input [N, C]
	opCrossEntropy
	opBCEWithLogits
	opGELUTanh
	opSiLU
	opEmbedding
	opLayerNorm
	opRMSNorm
	opNarrow
	opAttention
	opLSTM
	opGRU
	opRNN
	opSqrt
	opAbs
	opPow
	opClamp
	opSumDim
	opMeanDim
	opConcat
)

// opNames name the operations in errors.
var opNames = [...]string{
	opAdd: "add", opSub: "sub", opMul: "mul", opDiv: "div", opScale: "scale",
	opSum: "sum", opMean: "mean", opSumSquares: "sum of squares",
	opExp: "exp", opLog: "log", opSquare: "square", opReLU: "relu", opTanh: "tanh",
	opSigmoid: "sigmoid", opGELU: "gelu", opSoftmax: "softmax", opLogSoftmax: "log-softmax",
	opMatMul: "matmul", opLinear: "linear", opLinearReLU: "linear", opReshape: "reshape",
	opTranspose: "transpose", opSlice: "slice", opConv2D: "conv2d", opMaxPool2D: "maxpool2d",
	opDropout: "dropout", opBatchNorm: "batch norm", opBatchNormEval: "batch norm",
	opBatchNormReLU: "batch norm", opBatchNormEvalReLU: "batch norm",
	opCrossEntropy: "cross-entropy", opBCEWithLogits: "binary cross-entropy",
	opGELUTanh: "gelu", opSiLU: "silu", opEmbedding: "embedding", opLayerNorm: "layer norm",
	opRMSNorm: "rms norm", opNarrow: "narrow", opAttention: "attention",
	opLSTM: "lstm", opGRU: "gru", opRNN: "rnn", opSqrt: "sqrt", opAbs: "abs", opPow: "pow",
	opClamp: "clamp", opSumDim: "sum", opMeanDim: "mean", opConcat: "concat",
}

// A node is one recorded operation: its result, up to three operands, and
// what its backward pass needs. Which fields an operation uses is said where
// it is recorded.
type node[T tensor.Float] struct {
	op      opKind
	out     *Var[T]
	a, b, c *Var[T]
	d, e    *Var[T]           // two more operands (the recurrent layers')
	saved   *tensor.Tensor[T] // an intermediate the backward pass reads
	ints    []int             // integer data (labels, argmax positions); capacity reused
	codes   []uint8           // small integer data (2×2 argmax positions); capacity reused
	scalar  float64
	hi      float64          // Clamp's upper bound (scalar its lower)
	conv    kernel.ConvShape // the window of a convolution or pooling
}

func (t *Tape[T]) backwardNode(n *node[T]) {
	switch n.op {
	case opAdd, opSub, opMul, opDiv:
		t.binaryBackward(n)
	case opScale:
		t.scaleBackward(n)
	case opSum, opMean:
		t.sumBackward(n)
	case opSumDim, opMeanDim:
		t.sumDimBackward(n)
	case opConcat:
		t.concatBackward(n)
	case opSumSquares:
		t.sumSquaresBackward(n)
	case opExp, opLog, opSquare, opReLU, opTanh, opSigmoid, opGELU, opGELUTanh, opSiLU, opSqrt, opAbs, opPow, opClamp:
		t.unaryBackward(n)
	case opSoftmax, opLogSoftmax:
		t.softmaxBackward(n)
	case opMatMul:
		t.matMulBackward(n)
	case opLinear, opLinearReLU:
		t.linearBackward(n)
	case opReshape:
		t.reshapeBackward(n)
	case opTranspose:
		t.transposeBackward(n)
	case opSlice:
		t.sliceBackward(n)
	case opConv2D:
		t.conv2DBackward(n)
	case opMaxPool2D:
		t.maxPool2DBackward(n)
	case opDropout:
		t.dropoutBackward(n)
	case opBatchNorm, opBatchNormEval, opBatchNormReLU, opBatchNormEvalReLU:
		t.batchNormBackward(n)
	case opCrossEntropy:
		t.crossEntropyBackward(n)
	case opBCEWithLogits:
		t.bceBackward(n)
	case opEmbedding:
		t.embeddingBackward(n)
	case opLayerNorm, opRMSNorm:
		t.layerNormBackward(n)
	case opNarrow:
		t.narrowBackward(n)
	case opAttention:
		t.attentionBackward(n)
	case opLSTM, opGRU, opRNN:
		t.recurrentBackward(n)
	default:
		panic("autograd: unknown operation on tape")
	}
}
