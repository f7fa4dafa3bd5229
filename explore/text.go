package explore

import (
	"context"
	"fmt"
	"math"

	"github.com/descentml/descent/data"
	"github.com/descentml/descent/recipe"
	"github.com/descentml/descent/train"
)

// A language model's run (recipe.Recipe.IsText) counts steps and
// evaluates every EvalEvery of them: its Outcome's History holds one
// train.Epoch an evaluation, whose Epoch numbers the evaluations and whose
// Step is the step evaluated after; losses are in nats (bits per character
// are loss/ln 2), accuracies NaN. Final's test loss is the whole test
// text's, its accuracies NaN.

// trainText trains the language model's recipe r on text.
func trainText(ctx context.Context, r recipe.Recipe, text *data.Text) (Outcome, error) {
	built, err := r.BuildSeq(text, train.SeqConfig{})
	if err != nil {
		return Outcome{}, err
	}
	tr := built.Trainer
	err = tr.Run(ctx)
	o := Outcome{Seed: r.Seed, History: evaluations(tr.History()), Final: noFinal()}
	switch {
	case ctx.Err() != nil:
		return Outcome{}, ctx.Err()
	case err != nil:
		o.Error = err.Error()
		return o, nil
	}
	if h := o.History; len(h) > 0 {
		o.Final.TrainLoss, o.Final.ValLoss = h[len(h)-1].TrainLoss, h[len(h)-1].ValLoss
	}
	if o.Final.TestLoss, _, err = tr.Evaluate(text.Test); err != nil {
		return Outcome{}, fmt.Errorf("explore: evaluating on the test text: %w", err)
	}
	return o, nil
}

// evaluations returns a language model's evaluations as the epoch records
// of an Outcome.
func evaluations(h []train.SeqMetrics) []train.Epoch {
	out := make([]train.Epoch, len(h))
	for i, m := range h {
		out[i] = train.Epoch{Epoch: i + 1, Step: m.Step, LR: m.LR, TrainLoss: m.TrainLoss, ValLoss: m.ValLoss,
			TrainAccuracy: math.NaN(), ValAccuracy: math.NaN(), Seconds: m.Seconds}
	}
	return out
}
