package tensorboard_test

import (
	"fmt"
	"os"
	"time"

	"github.com/descentml/descent/tensorboard"
)

// A run's losses written as TensorBoard reads them (tensorboard --logdir
// dir), then read back.
func Example() {
	dir, err := os.MkdirTemp("", "tb")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)

	start := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	w, err := tensorboard.Create(dir, start)
	if err != nil {
		fmt.Println(err)
		return
	}
	for step, loss := range []float32{2.3, 1.1, 0.6} {
		t := start.Add(time.Duration(step) * time.Second)
		if err := w.Scalars(int64(step), t, tensorboard.Scalar{Tag: "loss/train", Value: loss}); err != nil {
			fmt.Println(err)
		}
	}
	if err := w.Close(); err != nil {
		fmt.Println(err)
	}

	f, err := os.Open(w.Name())
	if err != nil {
		fmt.Println(err)
		return
	}
	defer f.Close()
	events, err := tensorboard.Read(f)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, e := range events {
		if e.FileVersion != "" {
			fmt.Println("version", e.FileVersion)
			continue
		}
		fmt.Println("step", e.Step, e.Scalars[0].Tag, e.Scalars[0].Value)
	}
	// Output:
	// version brain.Event:2
	// step 0 loss/train 2.3
	// step 1 loss/train 1.1
	// step 2 loss/train 0.6
}
