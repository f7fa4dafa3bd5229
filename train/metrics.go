package train

import (
	"encoding/json"
)

// epochJSON is Epoch with a metric that is not a number (NaN, as the
// validation metrics of a run without a validation set) written as null.
type epochJSON struct {
	Epoch         int      `json:"epoch"`
	Step          int      `json:"step"`
	LR            *float64 `json:"lr"`
	TrainLoss     *float64 `json:"train_loss"`
	TrainAccuracy *float64 `json:"train_accuracy"`
	ValLoss       *float64 `json:"val_loss"`
	ValAccuracy   *float64 `json:"val_accuracy"`
	Seconds       *float64 `json:"seconds"`
	ProdigyD      *float64 `json:"prodigy_d,omitempty"` // left out when 0 (not Prodigy) or not finite
	diagJSON
}

// MarshalJSON writes the metrics as one JSON object, NaN as null.
func (e Epoch) MarshalJSON() ([]byte, error) {
	return json.Marshal(epochJSON{e.Epoch, e.Step, num(e.LR), num(e.TrainLoss), num(e.TrainAccuracy), num(e.ValLoss), num(e.ValAccuracy), num(e.Seconds), prodigyD(e.ProdigyD), e.Diagnostics.json()})
}

// UnmarshalJSON reads what MarshalJSON writes, null as NaN.
func (e *Epoch) UnmarshalJSON(b []byte) error {
	var j epochJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*e = Epoch{j.Epoch, j.Step, val(j.LR), val(j.TrainLoss), val(j.TrainAccuracy), val(j.ValLoss), val(j.ValAccuracy), val(j.Seconds), val0(j.ProdigyD), j.diagnostics()}
	return nil
}

// prodigyD is Epoch.ProdigyD as metrics.jsonl holds it: nil (left out)
// when 0, as for every optimizer but Prodigy, or not finite.
func prodigyD(d float64) *float64 {
	if d == 0 {
		return nil
	}
	return num(d)
}

// val0 is val, but 0 for nil.
func val0(p *float64) float64 {
	if p == nil {
		return 0
	}
	return *p
}
