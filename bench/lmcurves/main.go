// Command lmcurves draws the validation curves of the language-model
// quality bar (bench/kjv_gpt.py beside descent train) in one figure, the
// mean over seeds of each model and framework with a band of ± one
// standard deviation, and prints the final validation bits/char of each
// as a Markdown table.
//
// Each flag takes comma-separated files: descent's metrics.jsonl, or the
// JSON lines bench/kjv_gpt.py prints; evaluations must fall on the same
// steps in all of them.
//
//	go run ./bench/lmcurves -out docs/kjv-lm.png \
//	    -gpt-descent runs/g1/metrics.jsonl,runs/g2/metrics.jsonl \
//	    -gpt-pytorch pt-g1.jsonl,pt-g2.jsonl \
//	    -lstm-descent runs/l1/metrics.jsonl -lstm-pytorch pt-l1.jsonl
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"math"
	"os"
	"strings"

	"github.com/descentml/descent/plot"
)

// point is one evaluation, as both files write it.
type point struct {
	Step *int     `json:"step"`
	BPC  *float64 `json:"val_bits_per_char"`
}

func main() {
	out := flag.String("out", "kjv-lm.png", "the figure (PNG)")
	title := flag.String("title", "KJV, character level: validation bits/char", "the figure's title")
	var files [4]*string
	names := [4]string{"gpt, descent", "gpt, PyTorch 1.13", "lstm, descent", "lstm, PyTorch 1.13"}
	for i, f := range []string{"gpt-descent", "gpt-pytorch", "lstm-descent", "lstm-pytorch"} {
		files[i] = flag.String(f, "", "files of "+names[i]+" (comma-separated)")
	}
	flag.Parse()
	var steps []float64
	var series []plot.Series
	fmt.Println("| model | framework | runs | final step | validation bits/char (mean ± std) | each run |")
	fmt.Println("|---|---|---|---|---|---|")
	for i, f := range files {
		if *f == "" {
			continue
		}
		var runs [][]float64
		for _, path := range strings.Split(*f, ",") {
			s, y, err := read(path)
			if err != nil {
				log.Fatal(err)
			}
			if len(s) > len(steps) {
				if !prefix(steps, s) {
					log.Fatalf("lmcurves: %s evaluates at steps %v, the others at %v", path, s, steps)
				}
				steps = s
			} else if !prefix(s, steps) {
				log.Fatalf("lmcurves: %s evaluates at steps %v, the others at %v", path, s, steps)
			}
			runs = append(runs, y)
		}
		mean, std := plot.MeanStd(runs)
		series = append(series, plot.Series{Name: names[i], Y: mean, Std: std})
		var each []string
		last := len(runs[0]) - 1
		for _, r := range runs {
			each = append(each, fmt.Sprintf("%.3f", r[len(r)-1]))
			last = min(last, len(r)-1)
		}
		fmt.Printf("| %s | %s | %d | %.0f | %.3f ± %.3f | %s |\n", strings.Split(names[i], ",")[0], strings.SplitN(names[i], ", ", 2)[1],
			len(runs), steps[last], mean[last], std[last], strings.Join(each, ", "))
	}
	if len(series) == 0 {
		log.Fatal("lmcurves: no files given (-gpt-descent, -gpt-pytorch, -lstm-descent, -lstm-pytorch)")
	}
	for i := range series { // a run cut short is drawn as far as it went
		for len(series[i].Y) < len(steps) {
			series[i].Y = append(series[i].Y, math.NaN())
			series[i].Std = append(series[i].Std, math.NaN())
		}
	}
	var b bytes.Buffer
	if err := plot.Lines(&b, plot.LinesSpec{Title: *title, XLabel: "step", YLabel: "validation bits/char", X: steps, Series: series}); err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile(*out, b.Bytes(), 0o644); err != nil {
		log.Fatal(err)
	}
}

// read returns the steps and validation bits/char of the evaluations in a
// file of JSON lines; lines without both are skipped.
func read(path string) (steps, bpc []float64, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("lmcurves: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		var p point
		if err := json.Unmarshal(sc.Bytes(), &p); err != nil {
			return nil, nil, fmt.Errorf("lmcurves: %s:%d: %w", path, n, err)
		}
		if p.Step != nil && p.BPC != nil {
			steps = append(steps, float64(*p.Step))
			bpc = append(bpc, *p.BPC)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, nil, fmt.Errorf("lmcurves: %s: %w", path, err)
	}
	if len(steps) == 0 {
		return nil, nil, fmt.Errorf("lmcurves: %s: no evaluation (step and val_bits_per_char)", path)
	}
	return steps, bpc, nil
}

// prefix reports whether a is the start of b.
func prefix(a, b []float64) bool {
	if len(a) > len(b) {
		return false
	}
	for i := range a {
		if math.Abs(a[i]-b[i]) > 0 {
			return false
		}
	}
	return true
}
