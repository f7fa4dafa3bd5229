package data_test

import (
	"bytes"
	"fmt"
	"log"

	"github.com/descentml/descent/data"
)

// Draw next-token batches from a text, stop, and resume from the saved
// position, as a checkpointed training loop does; save the vocabulary
// beside the model and encode a prompt with it.
func ExampleWindows() {
	tx, err := data.NewText("to be, or not to be, that is the question", data.TextOptions{ValFraction: 0.2})
	if err != nil {
		log.Fatal(err)
	}
	const ctx, batch, seed = 6, 2, 1
	win, err := data.NewWindows(tx.Train, ctx, seed)
	if err != nil {
		log.Fatal(err)
	}
	x, y := make([]int, batch*ctx), make([]int, batch*ctx)
	win.Next(x, y)
	saved := win.Position() // store it in the checkpoint
	win.Next(x, y)
	second, _ := tx.Vocab.Decode(x)

	resumed, _ := data.NewWindows(tx.Train, ctx, seed)
	resumed.Seek(saved)
	resumed.Next(x, y)
	again, _ := tx.Vocab.Decode(x)
	fmt.Printf("%d characters, %d tokens of training text; position %d\n", tx.Vocab.Len(), len(tx.Train), saved)
	fmt.Println("resumed batch is the same:", again == second)

	var file bytes.Buffer // a file beside the model
	if _, err := tx.Vocab.WriteTo(&file); err != nil {
		log.Fatal(err)
	}
	vocab, err := data.ReadVocab(&file)
	if err != nil {
		log.Fatal(err)
	}
	prompt, err := vocab.Encode(nil, "to be")
	fmt.Println(prompt, err)
	_, err = vocab.Encode(nil, "to be!")
	fmt.Println(err)
	// Output:
	// 14 characters, 33 tokens of training text; position 2
	// resumed batch is the same: true
	// [12 8 0 3 4] <nil>
	// data: character '!' at byte offset 5 is not in the vocabulary of 14 characters
}
