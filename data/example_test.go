package data_test

import (
	"fmt"
	"log"
	"strings"

	"github.com/descentml/descent/data"
)

// Load the embedded digits and go through two epochs of shuffled batches,
// as a training loop does.
func Example() {
	sp, err := data.Load("digits", data.DefaultOptions())
	if err != nil {
		log.Fatal(err)
	}
	train := sp.Train
	fmt.Printf("train %d, validation %d, test %d; shape %v, %d classes\n",
		train.Len(), sp.Val.Len(), sp.Test.Len(), train.Shape(), train.Classes())
	fmt.Printf("standardised with mean %.4f, std %.4f\n", sp.Norm.Mean[0], sp.Norm.Std[0])

	const batchSize, seed = 64, 1
	b := data.Batches{Order: make([]int, train.Len()), Size: batchSize}
	x := make([]float32, batchSize*train.Dim()) // reused by every batch
	y := make([]int, batchSize)
	for epoch := range 2 {
		data.Permute(b.Order, seed, epoch)
		examples := 0
		for k, idx := range b.All() {
			n := len(idx) // the last batch is shorter
			data.Gather(train, idx, x[:n*train.Dim()], y[:n])
			if k == 0 {
				fmt.Printf("epoch %d: first batch: examples %v…, labels %v…\n", epoch, idx[:4], y[:4])
			}
			examples += n
		}
		fmt.Printf("epoch %d: %d batches, %d examples, the last batch of %d\n",
			epoch, b.Len(), examples, len(b.Batch(b.Len()-1)))
	}
	// Output:
	// train 1374, validation 153, test 270; shape [1 8 8], 10 classes
	// standardised with mean 0.3049, std 0.3759
	// epoch 0: first batch: examples [1259 23 176 68]…, labels [6 0 8 9]…
	// epoch 0: 22 batches, 1374 examples, the last batch of 30
	// epoch 1: first batch: examples [182 17 848 284]…, labels [6 2 1 0]…
	// epoch 1: 22 batches, 1374 examples, the last batch of 30
}

// String labels become classes numbered in sorted order; the header names
// the features.
func ExampleReadCSV() {
	csv := `petal_length,petal_width,species
1.4,0.2,setosa
4.7,1.4,versicolor
1.3,0.2,setosa
6.0,2.5,virginica
`
	s, err := data.ReadCSV(strings.NewReader(csv), "species")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(s.Len(), s.Shape(), s.FeatureNames, s.ClassNames, s.Y)
	// Output:
	// 4 [2] [petal_length petal_width] [setosa versicolor virginica] [0 1 0 2]
}

// A run that stopped after batch 9 of epoch 3 picks up where it left off:
// the order is a function of (seed, epoch) alone.
func ExampleBatches_resume() {
	const n, seed, epoch, next = 1000, 7, 3, 10
	b := data.Batches{Order: data.Perm(n, seed, epoch), Size: 32}
	for k := next; k < b.Len(); k++ {
		idx := b.Batch(k)
		_ = idx // train on batch k
	}
	fmt.Println(b.Len()-next, "batches left in epoch", epoch)
	// Output: 22 batches left in epoch 3
}
