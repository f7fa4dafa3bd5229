package recipe

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// dataFile splits a dataset spec that names a file, csv:PATH or
// text:PATH, into its prefix and path; ok is false for the others.
func dataFile(spec string) (prefix, path string, ok bool) {
	for _, p := range []string{"csv:", "text:"} {
		if rest, found := strings.CutPrefix(spec, p); found && rest != "" {
			return p, rest, true
		}
	}
	return "", "", false
}

// Absolute returns the recipe with the file of its dataset (csv:PATH or
// text:PATH) and its DataDir made absolute, against the working
// directory: a run saves them so, and can then be evaluated or resumed
// from any directory.
func (r Recipe) Absolute() (Recipe, error) {
	if prefix, path, ok := dataFile(r.Data); ok && !filepath.IsAbs(path) {
		abs, err := filepath.Abs(path)
		if err != nil {
			return r, fmt.Errorf("recipe: --data %s: %w", r.Data, err)
		}
		r.Data = prefix + abs
	}
	if r.DataDir != "" && !filepath.IsAbs(r.DataDir) {
		abs, err := filepath.Abs(r.DataDir)
		if err != nil {
			return r, fmt.Errorf("recipe: --data-dir %s: %w", r.DataDir, err)
		}
		r.DataDir = abs
	}
	return r, nil
}

// Locate returns the recipe that the run in dir saved, r, with a relative
// data file or DataDir (config.json written before they were saved
// absolute) found: as given, against the working directory, if it is
// there, else against dir and the two directories above it (the run may
// have started in one of them: runs/<date>-<time> is made under the
// directory it started in, by default). note says where a path was found other than as given, for
// the user to see; "" if nowhere else (loading the data then fails as
// it would have).
func (r Recipe) Locate(dir string) (Recipe, string) {
	var notes []string
	find := func(path string) string {
		if filepath.IsAbs(path) || exists(path) {
			return path
		}
		d := filepath.Clean(dir)
		for range 3 {
			if p := filepath.Join(d, path); exists(p) {
				if abs, err := filepath.Abs(p); err == nil {
					p = abs // as Absolute would have saved it
				}
				notes = append(notes, fmt.Sprintf("%s saved in %s is not in the working directory: using %s", path, filepath.Join(dir, "config.json"), p))
				return p
			}
			if up := filepath.Dir(d); up != d && d != "." {
				d = up
			}
		}
		return path
	}
	if prefix, path, ok := dataFile(r.Data); ok {
		r.Data = prefix + find(path)
	}
	if r.DataDir != "" {
		r.DataDir = find(r.DataDir)
	}
	return r, strings.Join(notes, "; ")
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
