package nn

import (
	"fmt"

	"github.com/descentml/descent/autograd"
	"github.com/descentml/descent/tensor"
)

// BatchNorm is batch normalization over the channel dimension (dimension
// 1), PyTorch's nn.BatchNorm1d (input [N, C] or [N, C, L]) and
// nn.BatchNorm2d (input [N, C, H, W]):
//
//	y = γ·(x − μ)/√(σ² + Eps) + β
//
// In training mode μ and σ² are the batch's mean and biased variance per
// channel, and the running statistics move toward the batch's:
//
//	running_mean ← (1 − Momentum)·running_mean + Momentum·μ
//	running_var  ← (1 − Momentum)·running_var + Momentum·σ²·m/(m − 1)
//
// with the unbiased variance (m values per channel), and num_batches_tracked
// counts the updates. In eval mode μ and σ² are the running statistics.
// Under a tape's BatchReducer (synchronised batch norm across processes,
// PyTorch's SyncBatchNorm) the batch is the union of every process's, and m
// counts its values.
//
// The parameters are "weight" (γ, initially 1) and "bias" (β, initially 0);
// the buffers are "running_mean" (initially 0), "running_var" (initially 1)
// and "num_batches_tracked" (int64, shape []), as PyTorch names them.
type BatchNorm[T tensor.Float] struct {
	// Eps is added to the variance; NewBatchNorm sets PyTorch's 1e-5.
	Eps float64
	// Momentum is the weight of each batch in the running statistics;
	// NewBatchNorm sets PyTorch's 0.1. Zero freezes them.
	Momentum float64

	name         string // BatchNorm1d or BatchNorm2d
	features     int
	ranks        [2]int // the input ranks accepted
	weight, bias *autograd.Var[T]
	runningMean  []T
	runningVar   []T
	numBatches   []int64 // one element: num_batches_tracked
	batchMean    []T     // scratch: the batch's statistics
	batchVar     []T
	mode         Mode
	params       []Param[T]
	buffers      []Buffer[T]
}

var (
	_ Module[float32] = (*BatchNorm[float32])(nil)
	_ ModeSetter      = (*BatchNorm[float32])(nil)
)

// NewBatchNorm1d returns batch normalization over features channels for
// inputs [N, C] or [N, C, L], in training mode, with PyTorch's defaults.
func NewBatchNorm1d[T tensor.Float](features int) *BatchNorm[T] {
	return newBatchNorm[T]("BatchNorm1d", features, [2]int{2, 3})
}

// NewBatchNorm2d returns batch normalization over features channels for
// images [N, C, H, W], in training mode, with PyTorch's defaults.
func NewBatchNorm2d[T tensor.Float](features int) *BatchNorm[T] {
	return newBatchNorm[T]("BatchNorm2d", features, [2]int{4, 4})
}

func newBatchNorm[T tensor.Float](name string, features int, ranks [2]int) *BatchNorm[T] {
	if features <= 0 {
		panic("nn: batch norm with no features")
	}
	b := &BatchNorm[T]{
		Eps: 1e-5, Momentum: 0.1,
		name: name, features: features, ranks: ranks,
		runningMean: make([]T, features),
		runningVar:  make([]T, features),
		numBatches:  make([]int64, 1),
		batchMean:   make([]T, features),
		batchVar:    make([]T, features),
	}
	gamma := tensor.New[T](features)
	for i := range gamma.Data() {
		gamma.Data()[i] = 1
		b.runningVar[i] = 1
	}
	b.params = []Param[T]{newParam("weight", gamma), newParam("bias", tensor.New[T](features))}
	b.weight, b.bias = b.params[0].Var, b.params[1].Var
	shape := []int{features}
	b.buffers = []Buffer[T]{
		{Name: "running_mean", Shape: shape, Value: b.runningMean},
		{Name: "running_var", Shape: shape, Value: b.runningVar},
		{Name: "num_batches_tracked", Shape: []int{}, Int: b.numBatches},
	}
	return b
}

// Forward normalizes x. In training mode it also updates the running
// statistics, and a batch with a single value per channel is an error, as
// in PyTorch.
func (b *BatchNorm[T]) Forward(t *autograd.Tape[T], x *autograd.Var[T]) (*autograd.Var[T], error) {
	return b.forward(t, x, false)
}

// forward is Forward, followed by a ReLU (autograd's BatchNormReLU) when
// relu is set.
func (b *BatchNorm[T]) forward(t *autograd.Tape[T], x *autograd.Var[T], relu bool) (*autograd.Var[T], error) {
	s := x.Shape()
	if len(s) < b.ranks[0] || len(s) > b.ranks[1] || s[1] != b.features {
		want := fmt.Sprintf("[N, %d]", b.features)
		switch {
		case b.ranks[0] == 4:
			want = fmt.Sprintf("[N, %d, H, W]", b.features)
		case b.ranks[1] == 3:
			want += fmt.Sprintf(" or [N, %d, L]", b.features)
		}
		return fail(t, fmt.Errorf("nn: %v: input of shape %v: want %s", b, s, want))
	}
	if b.mode == Eval {
		if relu {
			return t.BatchNormEvalReLU(x, b.weight, b.bias, b.Eps, b.runningMean, b.runningVar), t.Err()
		}
		return t.BatchNormEval(x, b.weight, b.bias, b.Eps, b.runningMean, b.runningVar), t.Err()
	}
	m := x.Value().Len() / b.features
	tooFew := func() (*autograd.Var[T], error) {
		return fail(t, fmt.Errorf("nn: %v: input of shape %v: training needs more than one value per channel", b, s))
	}
	if m < 2 && t.BatchReducer() == nil {
		return tooFew()
	}
	norm := t.BatchNorm
	if relu {
		norm = t.BatchNormReLU
	}
	y := norm(x, b.weight, b.bias, b.Eps, b.batchMean, b.batchVar)
	if t.Err() != nil {
		return y, t.Err()
	}
	if n := t.SyncedCount(); n > 0 { // synchronised: the count over all processes
		if m = n; m < 2 {
			return tooFew()
		}
	}
	b.track(m)
	return y, nil
}

// track moves the running statistics toward the batch's (batchMean and
// batchVar, m values per channel) and counts the batch.
func (b *BatchNorm[T]) track(m int) {
	mom, unbias := b.Momentum, float64(m)/float64(m-1)
	for c := range b.runningMean {
		b.runningMean[c] = T((1-mom)*float64(b.runningMean[c]) + mom*float64(b.batchMean[c]))
		b.runningVar[c] = T((1-mom)*float64(b.runningVar[c]) + mom*float64(b.batchVar[c])*unbias)
	}
	b.numBatches[0]++
}

// SetMode sets whether the layer normalizes with batch statistics and
// updates its running ones (Train) or uses the running ones (Eval).
func (b *BatchNorm[T]) SetMode(m Mode) { b.mode = m }

// Weight returns γ [C].
func (b *BatchNorm[T]) Weight() *autograd.Var[T] { return b.weight }

// Bias returns β [C].
func (b *BatchNorm[T]) Bias() *autograd.Var[T] { return b.bias }

// RunningMean returns the running mean [C], the layer's own storage.
func (b *BatchNorm[T]) RunningMean() []T { return b.runningMean }

// RunningVar returns the running (unbiased) variance [C], the layer's own
// storage.
func (b *BatchNorm[T]) RunningVar() []T { return b.runningVar }

// NumBatchesTracked returns how many training batches have updated the
// running statistics.
func (b *BatchNorm[T]) NumBatchesTracked() int64 { return b.numBatches[0] }

// Params returns "weight" (γ) and "bias" (β).
func (b *BatchNorm[T]) Params() []Param[T] { return b.params }

// Buffers returns "running_mean", "running_var" and "num_batches_tracked".
func (b *BatchNorm[T]) Buffers() []Buffer[T] { return b.buffers }

// String returns "BatchNorm1d(C)" or "BatchNorm2d(C)".
func (b *BatchNorm[T]) String() string { return fmt.Sprintf("%s(%d)", b.name, b.features) }
