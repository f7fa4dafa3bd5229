package train

import (
	"encoding/json"
	"math"

	"github.com/descentml/descent/internal/jsonfloat"
)

// This file is how metrics.jsonl holds an epoch (Epoch) or an evaluation
// of a steps-based run (SeqMetrics): one JSON object a line. A metric that
// is not a number (NaN, as the validation metrics of a run without a
// validation set, or ±Inf) is null, and reads back as NaN, as a metric
// whose key is missing does (package jsonfloat). Prodigy's d and the
// optimizer's diagnostics are different: they are left out when they are
// not finite (or, for d, 0), and a missing one reads back as 0 (d) or as
// not measured (the diagnostics).

type epochJSON struct {
	Epoch         int                `json:"epoch"`
	Step          int                `json:"step"`
	LR            jsonfloat.Optional `json:"lr"`
	TrainLoss     jsonfloat.Optional `json:"train_loss"`
	TrainAccuracy jsonfloat.Optional `json:"train_accuracy"`
	ValLoss       jsonfloat.Optional `json:"val_loss"`
	ValAccuracy   jsonfloat.Optional `json:"val_accuracy"`
	Seconds       jsonfloat.Optional `json:"seconds"`
	ProdigyD      jsonfloat.Optional `json:"prodigy_d,omitzero"` // left out when 0 (not Prodigy) or not finite
	diagJSON
}

// MarshalJSON writes the metrics as one JSON object, NaN as null.
func (e Epoch) MarshalJSON() ([]byte, error) {
	return json.Marshal(epochJSON{e.Epoch, e.Step, jsonfloat.Of(e.LR), jsonfloat.Of(e.TrainLoss), jsonfloat.Of(e.TrainAccuracy),
		jsonfloat.Of(e.ValLoss), jsonfloat.Of(e.ValAccuracy), jsonfloat.Of(e.Seconds), prodigyD(e.ProdigyD), e.Diagnostics.json()})
}

// UnmarshalJSON reads what MarshalJSON writes, null as NaN.
func (e *Epoch) UnmarshalJSON(b []byte) error {
	var j epochJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	nan := math.NaN()
	*e = Epoch{j.Epoch, j.Step, j.LR.Or(nan), j.TrainLoss.Or(nan), j.TrainAccuracy.Or(nan), j.ValLoss.Or(nan), j.ValAccuracy.Or(nan),
		j.Seconds.Or(nan), j.ProdigyD.Or(0), j.diagnostics()}
	return nil
}

// prodigyD is Epoch.ProdigyD as metrics.jsonl holds it: left out when 0,
// as for every optimizer but Prodigy, or not finite.
func prodigyD(d float64) jsonfloat.Optional {
	if d == 0 {
		return jsonfloat.Optional{}
	}
	return jsonfloat.Finite(d)
}

type seqMetricsJSON struct {
	Step          int                `json:"step"`
	Tokens        int64              `json:"tokens"`
	LR            jsonfloat.Optional `json:"lr"`
	TrainLoss     jsonfloat.Optional `json:"train_loss"`
	TrainBPC      jsonfloat.Optional `json:"train_bits_per_char"`
	ValLoss       jsonfloat.Optional `json:"val_loss"`
	ValBPC        jsonfloat.Optional `json:"val_bits_per_char"`
	ValPerplexity jsonfloat.Optional `json:"val_perplexity"`
	Seconds       jsonfloat.Optional `json:"seconds"`
	diagJSON
}

// MarshalJSON writes the metrics as one JSON object, NaN as null.
func (m SeqMetrics) MarshalJSON() ([]byte, error) {
	return json.Marshal(seqMetricsJSON{m.Step, m.Tokens, jsonfloat.Of(m.LR), jsonfloat.Of(m.TrainLoss), jsonfloat.Of(m.TrainBPC),
		jsonfloat.Of(m.ValLoss), jsonfloat.Of(m.ValBPC), jsonfloat.Of(m.ValPerplexity), jsonfloat.Of(m.Seconds), m.Diagnostics.json()})
}

// UnmarshalJSON reads what MarshalJSON writes, null as NaN.
func (m *SeqMetrics) UnmarshalJSON(b []byte) error {
	var j seqMetricsJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	nan := math.NaN()
	*m = SeqMetrics{j.Step, j.Tokens, j.LR.Or(nan), j.TrainLoss.Or(nan), j.TrainBPC.Or(nan), j.ValLoss.Or(nan), j.ValBPC.Or(nan),
		j.ValPerplexity.Or(nan), j.Seconds.Or(nan), j.diagnostics()}
	return nil
}
