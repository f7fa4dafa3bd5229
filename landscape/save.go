package landscape

import (
	"bytes"
	"os"
	"path/filepath"

	"github.com/descentml/descent/internal/atomicfile"
	"github.com/descentml/descent/plot"
)

// File is the file Save writes the result in; the figures are
// landscape.png and landscape.gif beside it.
const File = "landscape.json"

// Save writes the result into dir (made if need be): landscape.json, and
// the contours with the paths, landscape.png, and their animation in
// frames frames, landscape.gif, both width × height pixels.
func (r Result) Save(dir string, width, height, frames int) error {
	var png, gif bytes.Buffer
	if err := r.Contour(&png, width, height); err != nil {
		return err
	}
	if err := r.GIF(&gif, width, height, plot.Animation{Frames: frames}); err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := atomicfile.WriteJSON(filepath.Join(dir, File), r); err != nil {
		return err
	}
	if err := atomicfile.WriteFile(filepath.Join(dir, "landscape.png"), png.Bytes()); err != nil {
		return err
	}
	return atomicfile.WriteFile(filepath.Join(dir, "landscape.gif"), gif.Bytes())
}
