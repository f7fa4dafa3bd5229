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
// directory it started in, by default). note says where a path was found
// other than as given, or that a file of the same name under dir or above
// it is another one than the working directory's, which is used, for the
// user to see; "" if neither (loading the data then fails as it would
// have).
func (r Recipe) Locate(dir string) (Recipe, string) {
	var notes []string
	config := filepath.Join(dir, "config.json")
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs // so that the directories above a relative dir are looked in too
	}
	find := func(path string) string {
		if filepath.IsAbs(path) {
			return path
		}
		var found string // the first of dir and the two directories above it that holds path
		for d, i := filepath.Clean(dir), 0; i < 3 && found == ""; d, i = filepath.Dir(d), i+1 {
			if p := filepath.Join(d, path); exists(p) {
				found = p
			}
		}
		switch {
		case exists(path):
			if found != "" && !sameFile(path, found) {
				notes = append(notes, fmt.Sprintf("%s saved in %s is in the working directory and, another file, at %s: using the working directory's", path, config, found))
			}
			return path
		case found != "":
			notes = append(notes, fmt.Sprintf("%s saved in %s is not in the working directory: using %s", path, config, found))
			return found
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

// sameFile reports whether paths a and b name one file.
func sameFile(a, b string) bool {
	sa, errA := os.Stat(a)
	sb, errB := os.Stat(b)
	return errA == nil && errB == nil && os.SameFile(sa, sb)
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
