package progress

import (
	"bytes"
	"math"
	"strings"
	"testing"

	"github.com/descentml/descent/train"
)

// TestLines checks the lines written where there is no terminal: one per
// epoch, with the samples per second of its batches, and one per
// evaluation of a language model, with the tokens per second since the
// previous one; quiet writes nothing.
func TestLines(t *testing.T) {
	var b bytes.Buffer
	p := New(&b, 12, false)
	p.StartAt(0, 0)
	p.Batch(train.Batch{Epoch: 1, Index: 1, Batches: 2, Examples: 64, Loss: 1})
	p.Batch(train.Batch{Epoch: 1, Index: 2, Batches: 2, Examples: 36, Loss: 0.5})
	p.Epoch(train.Epoch{Epoch: 1, LR: 1e-3, TrainLoss: 0.75, TrainAccuracy: 0.5, ValLoss: math.NaN(), ValAccuracy: math.NaN(), Seconds: 2})
	if got, want := b.String(), "epoch  1/12  train loss 0.7500 acc 50.00%  val loss — acc —  lr 0.001  2.0s (50 samples/s)\n"; got != want {
		t.Errorf("epoch line %q; want %q", got, want)
	}
	b.Reset()
	p = New(&b, 0, false)
	p.StartAt(10, 1000)
	p.Step(train.SeqStep{Step: 11, Steps: 20, Tokens: 500, Loss: 2})
	p.Eval(train.SeqMetrics{Step: 11, Tokens: 1500, TrainLoss: 2, TrainBPC: 2 / math.Ln2, ValLoss: 2.5, ValBPC: 2.5 / math.Ln2, Seconds: 4})
	if got, want := b.String(), "step 11: train 2.0000 (2.885 bits/char), val 2.5000 (3.6067 bits/char), 125 tokens/s\n"; got != want {
		t.Errorf("evaluation line %q; want %q", got, want)
	}
	b.Reset()
	p.BitsUnit = "bits/byte" // a byte-level vocabulary
	p.Eval(train.SeqMetrics{Step: 12, Tokens: 2000, TrainLoss: 2, TrainBPC: 2 / math.Ln2, ValLoss: 2.5, ValBPC: 2.5 / math.Ln2, Seconds: 4})
	if got, want := b.String(), "step 12: train 2.0000 (2.885 bits/byte), val 2.5000 (3.6067 bits/byte), 125 tokens/s\n"; got != want {
		t.Errorf("evaluation line of a byte-level run %q; want %q", got, want)
	}
	b.Reset()
	p = New(&b, 3, true)
	p.Batch(train.Batch{Epoch: 1, Index: 1, Batches: 1, Examples: 1})
	p.Epoch(train.Epoch{Epoch: 1, Seconds: 1})
	p.Eval(train.SeqMetrics{Step: 1, Seconds: 1})
	if b.Len() != 0 {
		t.Errorf("quiet wrote %q", b.String())
	}
}

func TestRate(t *testing.T) {
	for r, want := range map[float64]string{950: "950", 12345: "12k", math.NaN(): "?", math.Inf(1): "?"} {
		if got := Rate(r); got != want {
			t.Errorf("Rate(%v) = %q; want %q", r, got, want)
		}
	}
	if !strings.HasSuffix(Percent(0.1234), "12.34%") || Num(math.NaN()) != "—" {
		t.Errorf("Percent(0.1234) = %q, Num(NaN) = %q", Percent(0.1234), Num(math.NaN()))
	}
}
