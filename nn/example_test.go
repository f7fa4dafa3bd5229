package nn_test

import (
	"bytes"
	"fmt"
	"log"
	"math/rand/v2"

	"github.com/descentml/descent/autograd"
	"github.com/descentml/descent/loss"
	"github.com/descentml/descent/nn"
	"github.com/descentml/descent/tensor"
)

// Build a small MLP and train it with a few steps of plain gradient descent
// on XOR. The tape is reset after each step, so the loop stops allocating
// after its first step.
func Example_training() {
	rng := rand.New(rand.NewPCG(1, 2)) // the seed makes the run reproducible
	model := nn.NewSequential(
		nn.NewLinear[float64](2, 8, rng),
		nn.NewTanh[float64](),
		nn.NewLinear[float64](8, 2, rng),
	)
	x := tensor.FromSlice([]float64{0, 0, 0, 1, 1, 0, 1, 1}, 4, 2)
	labels := []int{0, 1, 1, 0} // class 1 when exactly one input is set

	params := model.Params() // names, shapes, value and gradient slices
	tape := autograd.NewTape[float64]()
	for step := 0; step <= 300; step++ {
		logits, err := model.Forward(tape, tape.Const(x))
		if err != nil {
			log.Fatal(err)
		}
		l, err := loss.CrossEntropy(tape, logits, labels)
		if err != nil {
			log.Fatal(err)
		}
		if err := tape.Backward(l); err != nil {
			log.Fatal(err)
		}
		for _, p := range params { // θ ← θ − 0.5·∇θ
			for i, g := range p.Grad {
				p.Value[i] -= 0.5 * g
			}
		}
		nn.ZeroGrad(params)
		if step%100 == 0 {
			fmt.Printf("step %3d: loss %.4f\n", step, l.Value().Item())
		}
		tape.Reset() // l and logits are invalid from here on
	}
	// Output:
	// step   0: loss 0.7186
	// step 100: loss 0.0983
	// step 200: loss 0.0176
	// step 300: loss 0.0085
}

// A layer's forward pass on a batch of two samples. A Linear layer computes
// x·Wᵀ + b; here its weights are set by hand.
func ExampleLinear() {
	layer := nn.NewLinear[float32](3, 2, rand.New(rand.NewPCG(1, 2)))
	copy(layer.Params()[0].Value, []float32{1, 0, -1, 0.5, 0.5, 0.5}) // weight [2 3]
	copy(layer.Params()[1].Value, []float32{0, 1})                    // bias [2]

	tape := autograd.NewTape[float32]()
	x := tensor.FromSlice([]float32{1, 2, 3, 4, 5, 6}, 2, 3)
	y, err := layer.Forward(tape, tape.Const(x))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(y.Value())

	// An input of the wrong width is an error naming both shapes.
	_, err = layer.Forward(tape, tape.Const(tensor.New[float32](2, 4)))
	fmt.Println(err)
	// Output:
	// [2 2] [-2 4 -2 8.5]
	// nn: Linear(3, 2): input of shape [2 4]: want [..., 3]
}

// Save a model's weights and buffers in the safetensors format and load
// them into another model of the same layers. The file uses PyTorch's
// names, so torch's load_state_dict reads it too.
func ExampleSave() {
	build := func(seed uint64) *nn.Sequential[float32] {
		rng := rand.New(rand.NewPCG(seed, seed))
		return nn.NewSequential(
			nn.NewLinear[float32](4, 3, rng),
			nn.NewBatchNorm1d[float32](3),
			nn.NewReLU[float32](),
			nn.NewLinear[float32](3, 2, rng),
		)
	}
	trained, fresh := build(1), build(2)

	var file bytes.Buffer // a file, in a real program (written atomically)
	if err := nn.Save(&file, trained); err != nil {
		log.Fatal(err)
	}
	if err := nn.Load(fresh, file.Bytes()); err != nil {
		log.Fatal(err)
	}
	for _, p := range fresh.Params() {
		fmt.Println(p.Name, p.Shape, p.Value[0] == findParam(trained, p.Name).Value[0])
	}
	for _, b := range fresh.Buffers() {
		fmt.Println(b.Name, b.Shape)
	}
	// Output:
	// 0.weight [3 4] true
	// 0.bias [3] true
	// 1.weight [3] true
	// 1.bias [3] true
	// 3.weight [2 3] true
	// 3.bias [2] true
	// 1.running_mean [3]
	// 1.running_var [3]
	// 1.num_batches_tracked []
}

func findParam(m nn.Module[float32], name string) nn.Param[float32] {
	for _, p := range m.Params() {
		if p.Name == name {
			return p
		}
	}
	return nn.Param[float32]{}
}
