package run

import (
	"encoding/json"

	"github.com/descentml/descent/internal/jsonfloat"
)

// The files and results of a run (summary.json, descent eval --json) hold
// numbers that need not be finite: a perplexity e^loss overflows for a
// loss above 709 nats, and a loss may be NaN. encoding/json refuses NaN
// and ±Inf, so these types write them as null, as metrics.jsonl does
// (train.Epoch), and read null back as NaN (package jsonfloat). Each goes
// through a struct of the same keys whose numbers are jsonfloat's; a test
// holds the two to the same fields (TestJSONFields).

type summaryJSON struct {
	TestLoss        jsonfloat.Optional `json:"test_loss,omitzero"`
	TestAccuracy    jsonfloat.Optional `json:"test_accuracy,omitzero"`
	BestValAccuracy jsonfloat.Optional `json:"best_val_accuracy,omitzero"`
	FinalValLoss    jsonfloat.Optional `json:"final_val_loss,omitzero"`
	Epochs          int                `json:"epochs"`
	Steps           int                `json:"steps"`
	Seconds         jsonfloat.Float    `json:"seconds"`
	Params          int                `json:"params"`
	StoppedEarly    bool               `json:"stopped_early,omitempty"`
	Ranks           int                `json:"ranks,omitempty"`
}

// MarshalJSON writes the summary as a JSON object, a number that is not
// finite as null.
func (s Summary) MarshalJSON() ([]byte, error) {
	return json.Marshal(summaryJSON{jsonfloat.FromPtr(s.TestLoss), jsonfloat.FromPtr(s.TestAccuracy), jsonfloat.FromPtr(s.BestValAccuracy),
		jsonfloat.FromPtr(s.FinalValLoss), s.Epochs, s.Steps, jsonfloat.Float(s.Seconds), s.Params, s.StoppedEarly, s.Ranks})
}

// UnmarshalJSON reads what MarshalJSON writes, null as NaN.
func (s *Summary) UnmarshalJSON(b []byte) error {
	var j summaryJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*s = Summary{j.TestLoss.Ptr(), j.TestAccuracy.Ptr(), j.BestValAccuracy.Ptr(), j.FinalValLoss.Ptr(),
		j.Epochs, j.Steps, float64(j.Seconds), j.Params, j.StoppedEarly, j.Ranks}
	return nil
}

type textSummaryJSON struct {
	TestLoss        jsonfloat.Optional `json:"test_loss,omitzero"`
	TestBPC         jsonfloat.Optional `json:"test_bits_per_char,omitzero"`
	TestPerplexity  jsonfloat.Optional `json:"test_perplexity,omitzero"`
	FinalValLoss    jsonfloat.Optional `json:"final_val_loss,omitzero"`
	FinalValBPC     jsonfloat.Optional `json:"final_val_bits_per_char,omitzero"`
	Steps           int                `json:"steps"`
	Tokens          int64              `json:"tokens"`
	Seconds         jsonfloat.Float    `json:"seconds"`
	TokensPerSecond jsonfloat.Float    `json:"tokens_per_second"`
	Params          int                `json:"params"`
	Vocab           int                `json:"vocab"`
	Ranks           int                `json:"ranks,omitempty"`
}

// MarshalJSON writes the summary as a JSON object, a number that is not
// finite (a perplexity beyond 1.8e308) as null.
func (s TextSummary) MarshalJSON() ([]byte, error) {
	return json.Marshal(textSummaryJSON{jsonfloat.FromPtr(s.TestLoss), jsonfloat.FromPtr(s.TestBPC), jsonfloat.FromPtr(s.TestPerplexity),
		jsonfloat.FromPtr(s.FinalValLoss), jsonfloat.FromPtr(s.FinalValBPC), s.Steps, s.Tokens, jsonfloat.Float(s.Seconds),
		jsonfloat.Float(s.TokensPerSecond), s.Params, s.Vocab, s.Ranks})
}

// UnmarshalJSON reads what MarshalJSON writes, null as NaN.
func (s *TextSummary) UnmarshalJSON(b []byte) error {
	var j textSummaryJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*s = TextSummary{j.TestLoss.Ptr(), j.TestBPC.Ptr(), j.TestPerplexity.Ptr(), j.FinalValLoss.Ptr(), j.FinalValBPC.Ptr(),
		j.Steps, j.Tokens, float64(j.Seconds), float64(j.TokensPerSecond), j.Params, j.Vocab, j.Ranks}
	return nil
}

type evaluationJSON struct {
	Accuracy    jsonfloat.Float    `json:"accuracy"`
	Data        string             `json:"data"`
	Examples    int                `json:"examples"`
	Loss        jsonfloat.Float    `json:"loss"`
	Split       string             `json:"split"`
	BitsPerChar jsonfloat.Optional `json:"bits_per_char,omitzero"`
	Perplexity  jsonfloat.Optional `json:"perplexity,omitzero"`
	Located     string             `json:"located,omitempty"`
	BitsUnit    string             `json:"-"`
}

// MarshalJSON writes the evaluation as a JSON object, a number that is
// not finite as null.
func (e Evaluation) MarshalJSON() ([]byte, error) {
	return json.Marshal(evaluationJSON{jsonfloat.Float(e.Accuracy), e.Data, e.Examples, jsonfloat.Float(e.Loss), e.Split,
		jsonfloat.FromPtr(e.BitsPerChar), jsonfloat.FromPtr(e.Perplexity), e.Located, e.BitsUnit})
}

// UnmarshalJSON reads what MarshalJSON writes, null as NaN.
func (e *Evaluation) UnmarshalJSON(b []byte) error {
	var j evaluationJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*e = Evaluation{float64(j.Accuracy), j.Data, j.Examples, float64(j.Loss), j.Split, j.BitsPerChar.Ptr(), j.Perplexity.Ptr(), j.Located, j.BitsUnit}
	return nil
}
