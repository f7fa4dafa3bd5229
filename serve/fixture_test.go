package serve

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/gif"
	"image/png"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// fixture returns a directory that holds what descent writes: the JSON of
// a compare, an AdamW-vs-L2 grid, a landscape, an lr-find and a tune
// (testdata/fixture, with small stand-ins for their figures) and two
// finished runs, "adam" and "sgd", of 5 epochs.
func fixture(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	err := os.CopyFS(dir, os.DirFS("testdata/fixture"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"landscape/landscape.png", "compare/val-loss.png", "lr-find/lr-find.png"} {
		writeFile(t, filepath.Join(dir, f), tinyPNG(t))
	}
	writeFile(t, filepath.Join(dir, "landscape/landscape.gif"), tinyGIF(t))
	writeRun(t, filepath.Join(dir, "adam"), "adam", 1e-3, 5, true)
	writeRun(t, filepath.Join(dir, "sgd"), "sgd", 0.05, 5, true)
	return dir
}

func writeFile(t testing.TB, name string, b []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(name, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// writeRun writes a run directory as descent train does: config.json,
// metrics.jsonl with epochs lines, and, if finished, summary.json and a
// checkpoint.
func writeRun(t testing.TB, dir, opt string, lr float64, epochs int, finished bool) {
	t.Helper()
	cfg := fmt.Sprintf(`{"data":"digits","model":{"kind":"mlp","hidden":[32]},"optimizer":{"name":%q,"lr":%g},"schedule":{"name":"constant"},"epochs":%d,"batch":64,"seed":1}`, opt, lr, epochs)
	writeFile(t, filepath.Join(dir, "config.json"), []byte(cfg+"\n"))
	var b bytes.Buffer
	for e := 1; e <= epochs; e++ {
		b.Write(metricsLine(e, lr))
	}
	writeFile(t, filepath.Join(dir, "metrics.jsonl"), b.Bytes())
	if finished {
		writeFile(t, filepath.Join(dir, "checkpoint.safetensors"), []byte("stand-in"))
		writeFile(t, filepath.Join(dir, "summary.json"), []byte(fmt.Sprintf(`{"test_loss":0.1,"test_accuracy":0.97,"epochs":%d,"steps":%d}`+"\n", epochs, 22*epochs)))
	}
}

// metricsLine is epoch e's line of metrics.jsonl, with the gradient norm
// an optimizer may add.
func metricsLine(e int, lr float64) []byte {
	loss := 2 * math.Exp(-float64(e)*(0.3+5*lr))
	b, _ := json.Marshal(map[string]any{
		"epoch": e, "step": 22 * e, "lr": lr,
		"train_loss": loss, "train_accuracy": 1 - loss/3, "val_loss": loss * 1.1, "val_accuracy": 1 - loss/2.8,
		"grad_norm": 1 / float64(e), "seconds": 0.02,
	})
	return append(b, '\n')
}

// appendLine appends b to the file name as descent appends a line.
func appendLine(t testing.TB, name string, b []byte) {
	t.Helper()
	f, err := os.OpenFile(name, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write(b); err != nil {
		t.Fatal(err)
	}
}

// age sets the modification time of every file under dir to d ago.
func age(t testing.TB, dir string, d time.Duration) {
	t.Helper()
	when := time.Now().Add(-d)
	err := filepath.WalkDir(dir, func(p string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Chtimes(p, when, when)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func tinyPNG(t testing.TB) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 40, 30))
	for i := range img.Pix {
		img.Pix[i] = 200
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func tinyGIF(t testing.TB) []byte {
	pal := color.Palette{color.White, color.Black}
	g := &gif.GIF{}
	for i := 0; i < 2; i++ {
		img := image.NewPaletted(image.Rect(0, 0, 40, 30), pal)
		img.SetColorIndex(i*10, 5, 1)
		g.Image = append(g.Image, img)
		g.Delay = append(g.Delay, 10)
	}
	var b bytes.Buffer
	if err := gif.EncodeAll(&b, g); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}
