package optim

import (
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
)

// Averaging configures a running average of the weights, as PyTorch's
// torch.optim.swa_utils.AveragedModel keeps one:
//
//	SWA:  A ← A + (θ − A)/(n + 1)     the plain mean (Izmailov et al. 2018)
//	EMA:  A ← d·A + (1 − d)·θ         no bias correction
//
// after each optimizer step once Start steps have been taken; the first
// update copies θ (it is not averaged with the initial weights), and n
// counts the updates. The average never feeds back into training:
// evaluate and save the model with it ([Averager.Swap]), train with θ.
type Averaging struct {
	// EMA selects the exponential moving average; false selects SWA.
	EMA bool
	// Decay is the EMA's d, in [0, 1) (0.999 is usual); SWA ignores it.
	Decay float64
	// Start is the number of optimizer steps taken before the first
	// update: 0 averages from the first step on. (PyTorch users who call
	// update_parameters after step k ≥ s, counting from 0, have Start = s.)
	Start int
}

// Validate checks the configuration, naming the first bad field.
func (c Averaging) Validate() error {
	if c.Start < 0 {
		return fmt.Errorf("optim: Averaging.Start = %d: must be ≥ 0", c.Start)
	}
	if c.EMA {
		return unitInterval("Averaging.Decay", c.Decay)
	}
	return nil
}

// An Averager keeps a running average of parameters' values (see
// [Averaging]). Call Update after every optimizer step; Swap exchanges the
// parameters' values and the average, exactly, for evaluating or saving the
// averaged model, and Swap again goes back. Save and Load keep the average
// and its count with a checkpoint, so that a resumed run continues bit for
// bit. An Averager is not safe for concurrent use.
type Averager[T Float] struct {
	c       Averaging
	params  []Param[T]
	avg     [][]T
	n       int
	swapped bool
}

// NewAverager returns an averager of params, whose average starts as a copy
// of their values (PyTorch's AveragedModel deep-copies the model). params
// are the optimizer's parameters, for example from Optimizer.Params; their
// Grad is not used. No parameters, or a Value that is not of its shape's
// length, is an error.
func NewAverager[T Float](params []Param[T], c Averaging) (*Averager[T], error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	if len(params) == 0 {
		return nil, errors.New("optim: an average of no parameters")
	}
	ps, err := named(params)
	if err != nil {
		return nil, err
	}
	for i := range ps {
		if err := checkParam(&ps[i], false); err != nil {
			return nil, err
		}
	}
	a := &Averager[T]{c: c, params: ps, avg: make([][]T, len(ps))}
	for i, p := range ps {
		a.avg[i] = append([]T(nil), p.Value...)
	}
	return a, nil
}

// Update folds the parameters' values into the average after an optimizer
// step; steps is the number of steps taken (Optimizer.Steps). It does
// nothing while steps ≤ Start. Between two Swaps, the parameters hold the
// average, and Update returns an error.
func (a *Averager[T]) Update(steps int) error {
	if a.swapped {
		return fmt.Errorf("optim: Averager.Update while the parameters hold the average: Swap back first")
	}
	if steps <= a.c.Start {
		return nil
	}
	n1 := T(a.n + 1)
	d, e := T(a.c.Decay), T(1-a.c.Decay)
	for i, p := range a.params {
		avg := a.avg[i]
		switch {
		case a.n == 0:
			copy(avg, p.Value)
		case a.c.EMA:
			for j, v := range p.Value {
				avg[j] = T(d*avg[j]) + T(e*v)
			}
		default:
			for j, v := range p.Value {
				avg[j] += (v - avg[j]) / n1
			}
		}
	}
	a.n++
	return nil
}

// Count returns the number of updates averaged (PyTorch's n_averaged).
func (a *Averager[T]) Count() int { return a.n }

// Average returns the average of parameter i, in the order given to
// NewAverager. It is the averager's own buffer: do not change it. While
// swapped it holds the training values.
func (a *Averager[T]) Average(i int) []T { return a.avg[i] }

// Swap exchanges the parameters' values with the average, element by
// element: after one Swap the parameters hold the averaged model, after
// another the training values again, bit for bit.
func (a *Averager[T]) Swap() {
	for i, p := range a.params {
		avg := a.avg[i]
		for j, v := range p.Value {
			p.Value[j], avg[j] = avg[j], v
		}
	}
	a.swapped = !a.swapped
}

// Swapped reports whether the parameters hold the average.
func (a *Averager[T]) Swapped() bool { return a.swapped }

const averageFormat = "descent.average"

// Save writes the average and its count as a safetensors file, one tensor
// per parameter by name, with the configuration in the metadata. It refuses
// while swapped.
func (a *Averager[T]) Save(w io.Writer) error {
	if a.swapped {
		return fmt.Errorf("optim: Averager.Save while the parameters hold the average: Swap back first")
	}
	meta := map[string]string{
		"format":     averageFormat,
		"n_averaged": strconv.Itoa(a.n),
		"ema":        strconv.FormatBool(a.c.EMA),
		"decay":      strconv.FormatFloat(a.c.Decay, 'g', -1, 64),
		"start":      strconv.Itoa(a.c.Start),
	}
	return saveBuffers(w, a.params, a.avg, meta, "the average")
}

// Load restores an average written by Save into an averager made with the
// same configuration for the same parameters (matched by name). On any
// error the averager is left unchanged.
func (a *Averager[T]) Load(r io.Reader) error {
	if a.swapped {
		return fmt.Errorf("optim: Averager.Load while the parameters hold the average: Swap back first")
	}
	st, meta, err := readSafetensors(r, "the average")
	if err != nil {
		return err
	}
	if f := meta["format"]; f != averageFormat {
		return fmt.Errorf("optim: not a weight average (format %q, want %q)", f, averageFormat)
	}
	n, err := strconv.Atoi(meta["n_averaged"])
	if err != nil || n < 0 {
		return fmt.Errorf("optim: the average has a corrupt count %q", meta["n_averaged"])
	}
	decay, _ := strconv.ParseFloat(meta["decay"], 64)
	if meta["ema"] != strconv.FormatBool(a.c.EMA) || meta["start"] != strconv.Itoa(a.c.Start) ||
		(a.c.EMA && math.Float64bits(decay) != math.Float64bits(a.c.Decay)) {
		return fmt.Errorf("optim: the average was kept with ema=%s decay=%s start=%s, the averager has %+v", meta["ema"], meta["decay"], meta["start"], a.c)
	}
	if err := checkBuffers(st, a.params, "the average"); err != nil {
		return err
	}
	loadBuffers(st, a.params, a.avg)
	a.n = n
	return nil
}
