// Package atomicfile writes files so that a reader, or a process that
// starts after a crash, sees either the old contents or all of the new.
package atomicfile

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
)

// WriteFile writes b to path so that path holds either its old contents or
// all of b, whatever happens: it writes a temporary file in the same
// directory, syncs it, renames it over path and syncs the directory. The
// file is created as os.WriteFile creates one: mode 0644 less the umask.
func WriteFile(path string, b []byte) error {
	dir := filepath.Dir(path)
	f, tmp, err := createTemp(dir, "."+filepath.Base(path)+".tmp-")
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// WriteJSON writes v to path as indented JSON and a newline, atomically.
func WriteJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return WriteFile(path, append(b, '\n'))
}

// createTemp creates a new file in dir named prefix and a random suffix,
// with mode 0644 less the umask (os.CreateTemp's files are 0600 whatever
// the umask).
func createTemp(dir, prefix string) (*os.File, string, error) {
	for range 100 {
		name := filepath.Join(dir, prefix+strconv.FormatUint(rand.Uint64(), 36))
		f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
		if errors.Is(err, os.ErrExist) {
			continue
		}
		return f, name, err
	}
	return nil, "", fmt.Errorf("atomicfile: cannot create a temporary file in %s", dir)
}
