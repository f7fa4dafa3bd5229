package explore

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"

	"github.com/descentml/descent/internal/atomicfile"
	"github.com/descentml/descent/plot"
)

// The files the results are saved in, in the directory given to Save.
const (
	CompareFile   = "compare.json"     // Comparison
	DecayGridFile = "adamw-vs-l2.json" // DecayGrid, with adamw-vs-l2.png
	LRFindFile    = "lr-find.json"     // LRFind, with lr-find.png
	TuneFile      = "tune.json"        // Tuning, with tune.png
)

// Save writes the comparison into dir (made if need be): compare.json and
// the figures of Figures.
func (c *Comparison) Save(dir string) error {
	if err := saveJSON(dir, CompareFile, c); err != nil {
		return err
	}
	for _, fig := range c.Figures() {
		if err := saveLines(dir, fig.File, fig.Spec); err != nil {
			return err
		}
	}
	return nil
}

// Save writes the grid into dir (made if need be): adamw-vs-l2.json and
// adamw-vs-l2.png, the heatmaps.
func (g *DecayGrid) Save(dir string) error {
	if err := saveJSON(dir, DecayGridFile, g); err != nil {
		return err
	}
	var b bytes.Buffer
	if err := plot.Heatmap(&b, g.HeatmapSpec()); err != nil {
		return err
	}
	return atomicfile.WriteFile(filepath.Join(dir, "adamw-vs-l2.png"), b.Bytes())
}

// Save writes the range test into dir (made if need be): lr-find.json and,
// if any loss was finite, lr-find.png.
func (f *LRFind) Save(dir string) error {
	if err := saveJSON(dir, LRFindFile, f); err != nil {
		return err
	}
	if !f.finite() {
		return nil
	}
	return saveLines(dir, "lr-find.png", f.Plot())
}

// Save writes the search into dir (made if need be): tune.json, holding
// the tuning and trainCommand (the command that trains the best recipe,
// if not ""), and, if a trial succeeded, tune.png.
func (t *Tuning) Save(dir, trainCommand string) error {
	if err := saveJSON(dir, TuneFile, struct {
		*Tuning
		TrainCommand string `json:"train_command,omitempty"`
	}{t, trainCommand}); err != nil {
		return err
	}
	if t.Best == nil {
		return nil // nothing to plot; the report says why each trial failed
	}
	return saveLines(dir, "tune.png", t.Plot())
}

func saveJSON(dir, file string, v any) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return atomicfile.WriteJSON(filepath.Join(dir, file), v)
}

// saveLines draws a line chart into dir/file.
func saveLines(dir, file string, spec plot.LinesSpec) error {
	var b bytes.Buffer
	if err := plot.Lines(&b, spec); err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	return atomicfile.WriteFile(filepath.Join(dir, file), b.Bytes())
}
