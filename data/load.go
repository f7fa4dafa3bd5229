package data

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// Options configures [Load]. Use [DefaultOptions] and change what differs:
// the zero Options is valid but holds out no validation or test examples.
type Options struct {
	// Dir is the directory holding the IDX files of mnist or fashion-mnist,
	// either directly or in a subdirectory named after the dataset (which
	// is looked in first). Empty means $DESCENT_DATA (and its subdirectory
	// named after the dataset), then, for fashion-mnist,
	// /usr/share/datasets/fashion-mnist (Debian's dataset-fashion-mnist).
	// A non-empty Dir is the only place looked in.
	Dir string

	// Label chooses the label column of a CSV file: a name from its header
	// or a column index counted from 0. Empty means the last column. It is
	// an error to set it for other datasets.
	Label string

	// Seed chooses which examples are held out for validation. The test
	// split of digits and CSV files does not depend on it (its seed is
	// fixed), so test scores stay comparable across seeds. Zero is a seed
	// like any other.
	Seed uint64

	// ValFraction is the fraction of the training examples held out for
	// validation, in [0, 1): of mnist's and fashion-mnist's 60000 training
	// images, or of what the test split leaves of digits and CSV files.
	// The split is stratified by class. Zero means no validation set.
	// DefaultOptions sets 0.1.
	ValFraction float64

	// TestFraction is the fraction of a dataset without a test split of its
	// own (digits, CSV files) held out for testing, in [0, 1), stratified by
	// class with a fixed seed. Zero means no test set. mnist and
	// fashion-mnist ignore it: their test split is their t10k files.
	// DefaultOptions sets 0.15.
	TestFraction float64

	// Raw leaves the features unstandardised (pixels are still scaled to
	// [0, 1]) and Splits.Norm nil.
	Raw bool

	// Norm, if not nil, standardises every split instead of a Normalizer
	// fitted on the training split: give it the one saved with a model to
	// evaluate that model on data prepared the same way. (To evaluate on
	// all of a file, set ValFraction and TestFraction to zero: it is all
	// in Train.)
	Norm *Normalizer

	// MaxCSVBytes bounds the size of a CSV file, after decompression:
	// reading stops with an error wrapping [ErrCSVTooLarge] at the first
	// byte beyond it, so that a wrong path (csv:/dev/zero) or a runaway
	// file is refused before it exhausts memory. Zero means
	// [DefaultMaxCSVBytes] (1 GiB); a negative value means no limit.
	MaxCSVBytes int64

	// MaxCSVLineBytes bounds the length of one line of a CSV file (counted
	// between newlines, quoted or not), in bytes, likewise. Zero means
	// [DefaultMaxCSVLineBytes] (4 MiB); a negative value means no limit.
	MaxCSVLineBytes int64

	// Classes, if not nil, numbers the classes as this list of names does
	// ([Set.Relabel]): give it the class names saved with a model, so that
	// a CSV file lacking some classes does not number the others
	// differently. A label not in it is an error. Nil means each dataset's
	// own classes.
	Classes []string
}

// DefaultOptions returns the Options descent uses unless told otherwise:
// 10% of the training examples for validation, 15% of digits and CSV files
// for testing, seed 0, features standardised.
func DefaultOptions() Options {
	return Options{ValFraction: 0.1, TestFraction: 0.15}
}

// Splits is a dataset divided for training, validation and testing. The
// three Sets are disjoint and share their shape and classes.
type Splits struct {
	// Train is what a model learns from.
	Train *Set
	// Val is for choosing hyperparameters and stopping; nil if
	// Options.ValFraction is zero.
	Val *Set
	// Test is for the final score; nil if the dataset has no test split
	// and Options.TestFraction is zero.
	Test *Set
	// Norm is the Normalizer applied to every split: fitted on Train, or
	// Options.Norm. Nil if Options.Raw.
	Norm *Normalizer
}

// Names returns the dataset specs [Load] accepts, for help and error
// messages.
func Names() []string {
	return []string{"digits", "mnist", "fashion-mnist", "csv:PATH"}
}

// Load reads the dataset named by spec, splits it and standardises it:
//
//   - "digits": the embedded 8×8 digits ([Digits]), 1797 images; by default
//     1374 train, 153 validation and 270 test.
//   - "mnist", "fashion-mnist": 28×28 grey images in IDX files (gzipped or
//     not) found as Options.Dir says; by default 54000 train, 6000
//     validation, and the 10000 t10k images as test. Fashion-MNIST's
//     classes are named ("T-shirt/top", …, "Ankle boot").
//   - "csv:PATH": a CSV file, as [LoadCSV] reads it with Options.Label,
//     within Options.MaxCSVBytes and Options.MaxCSVLineBytes.
//
// Images are standardised with a single mean and standard deviation over all
// pixels of the training split ([FitGlobal]), as image pipelines usually do
// (for MNIST about 0.1307 and 0.3081); CSV features each with their own
// ([FitPerFeature]). The validation and test splits use the training split's
// statistics. An unknown spec is an error listing the valid ones.
func Load(spec string, opts Options) (*Splits, error) {
	if err := opts.check(spec); err != nil {
		return nil, err
	}
	var (
		sp  *Splits
		err error
		fit = FitGlobal // images
	)
	switch {
	case spec == "digits":
		sp, err = opts.split(Digits())
	case spec == "mnist" || spec == "fashion-mnist":
		sp, err = loadIDXDataset(spec, opts)
	case strings.HasPrefix(spec, "csv:"):
		fit = FitPerFeature
		var s *Set
		lim := csvLimits{opts.MaxCSVBytes, opts.MaxCSVLineBytes}
		if s, err = loadCSV(strings.TrimPrefix(spec, "csv:"), opts.Label, lim); err == nil {
			sp, err = opts.split(s)
		}
	default:
		return nil, fmt.Errorf("data: unknown dataset %q; want one of %s", spec, strings.Join(Names(), ", "))
	}
	if err != nil {
		return nil, err
	}
	if sp.Train.Len() == 0 {
		return nil, fmt.Errorf("data: %s: no training examples left after holding out %g for validation and %g for testing", spec, opts.ValFraction, opts.TestFraction)
	}
	if opts.Raw {
		return sp, nil
	}
	if sp.Norm = opts.Norm; sp.Norm == nil {
		sp.Norm = fit(sp.Train)
	}
	for _, s := range []*Set{sp.Train, sp.Val, sp.Test} {
		if s == nil {
			continue
		}
		if err := sp.Norm.Apply(s); err != nil {
			return nil, fmt.Errorf("%w, for dataset %s", err, spec)
		}
	}
	return sp, nil
}

// check validates the options for spec.
func (o *Options) check(spec string) error {
	for _, f := range []struct {
		name string
		v    float64
	}{{"ValFraction", o.ValFraction}, {"TestFraction", o.TestFraction}} {
		if !(f.v >= 0 && f.v < 1) {
			return fmt.Errorf("data: %s %g not in [0, 1)", f.name, f.v)
		}
	}
	if o.Label != "" && !strings.HasPrefix(spec, "csv:") {
		return fmt.Errorf("data: a label column (%q) is for CSV files only, not %s", o.Label, spec)
	}
	if spec == "csv:" {
		return errors.New("data: csv: needs a path, as in csv:iris.csv")
	}
	if o.Raw && o.Norm != nil {
		return errors.New("data: both Raw and a Normalizer given")
	}
	return nil
}

// testSeed is the seed of the test split of datasets without one, fixed so
// that test scores are comparable across runs with different seeds.
const testSeed = 0

// split renumbers the classes of s as o.Classes says, then holds out a test
// split (TestFraction of all, fixed seed) and a validation split
// (ValFraction of the rest, Seed).
func (o *Options) split(s *Set) (*Splits, error) {
	if o.Classes != nil {
		if err := s.Relabel(o.Classes); err != nil {
			return nil, err
		}
	}
	pool, test := o.holdOut(s, identity(s.Len()), o.TestFraction, testSeed, streamTest)
	train, val := o.holdOut(s, pool, o.ValFraction, o.Seed, streamVal)
	// s is ours and is not used again: cut it into the splits in place
	// rather than copying them out, so that loading needs no more memory
	// than the data (MNIST's 60000 images are 188 MB as float32).
	parts := s.cut(train, val, test)
	sp := &Splits{Train: parts[0]}
	if o.ValFraction > 0 {
		sp.Val = parts[1]
	}
	if o.TestFraction > 0 {
		sp.Test = parts[2]
	}
	return sp, nil
}

// holdOut holds out round(frac·len(idx)) of the examples idx of s, at least
// one if frac > 0 and there are two or more.
func (o *Options) holdOut(s *Set, idx []int, frac float64, seed, stream uint64) (rest, held []int) {
	k := fractionOf(len(idx), frac)
	if frac > 0 && k == 0 && len(idx) > 1 {
		k = 1
	}
	return s.holdOut(idx, k, seed, stream)
}

// The four files of an IDX dataset, each plain or with .gz added.
var idxFiles = [4]string{
	"train-images-idx3-ubyte", "train-labels-idx1-ubyte",
	"t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte",
}

// systemDirs lists where each IDX dataset is looked for after $DESCENT_DATA.
var systemDirs = map[string][]string{
	"fashion-mnist": {"/usr/share/datasets/fashion-mnist"},
}

var idxClassNames = map[string][]string{
	"mnist":         {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"},
	"fashion-mnist": {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"},
}

// idxDirs returns the directories to look in for the IDX dataset name, in
// order.
func idxDirs(name, dir string) []string {
	if dir != "" {
		return []string{filepath.Join(dir, name), dir}
	}
	var dirs []string
	if env := os.Getenv("DESCENT_DATA"); env != "" {
		dirs = append(dirs, filepath.Join(env, name), env)
	}
	return append(dirs, systemDirs[name]...)
}

// findIDX returns the paths of the four files of the IDX dataset name: from
// the first of dirs that holds its training images.
func findIDX(name string, dirs []string) ([4]string, error) {
	var paths [4]string
	if len(dirs) == 0 {
		return paths, fmt.Errorf("data: %s: %w: Options.Dir is empty and $DESCENT_DATA unset", name, ErrNoDataDir)
	}
	for _, dir := range dirs {
		var err error
		if paths[0], err = findFile(dir, idxFiles[0]); err != nil {
			return paths, err
		} else if paths[0] == "" {
			continue
		}
		for i, f := range idxFiles[1:] {
			if paths[i+1], err = findFile(dir, f); err != nil {
				return paths, err
			} else if paths[i+1] == "" {
				return paths, fmt.Errorf("data: %s: %s(.gz) not found in %s, which holds %s: %w", name, f, dir, filepath.Base(paths[0]), fs.ErrNotExist)
			}
		}
		return paths, nil
	}
	return paths, fmt.Errorf("data: %s: %s(.gz) not found; looked in %s: %w", name, idxFiles[0], strings.Join(dirs, ", "), fs.ErrNotExist)
}

// ErrNoDataDir is the error of loading an IDX dataset with no directory
// to look in: Options.Dir empty, $DESCENT_DATA unset and no system
// directory for the dataset. A command says which of its flags sets one.
var ErrNoDataDir = errors.New("no data directory to look in")

// findFile returns dir/base, or else dir/base.gz, if it is a regular file,
// or else "". A directory where the file should be is an error, not a
// missing file.
func findFile(dir, base string) (string, error) {
	for _, p := range []string{filepath.Join(dir, base), filepath.Join(dir, base+".gz")} {
		info, err := os.Stat(p)
		switch {
		case err == nil && info.Mode().IsRegular():
			return p, nil
		case err == nil && info.IsDir():
			return "", fmt.Errorf("data: %s is a directory, not an IDX file", p)
		}
	}
	return "", nil
}

// loadIDXDataset loads the IDX dataset name (mnist or fashion-mnist): it
// checks the four files' headers against their sizes and each other before
// reading the four at once, and splits the training images.
func loadIDXDataset(name string, opts Options) (*Splits, error) {
	paths, err := findIDX(name, idxDirs(name, opts.Dir))
	if err != nil {
		return nil, err
	}
	var files [4]*idxFile
	for i := range 2 {
		if files[2*i], files[2*i+1], err = openIDXPair(paths[2*i], paths[2*i+1]); err != nil {
			break
		}
	}
	defer func() {
		for _, f := range files {
			if f != nil {
				f.Close()
			}
		}
	}()
	if err != nil {
		return nil, err
	}
	if a, b := files[0].dims, files[2].dims; a[1] != b[1] || a[2] != b[2] {
		return nil, fmt.Errorf("data: %s holds %d×%d images but %s holds %d×%d", paths[0], a[1], a[2], paths[2], b[1], b[2])
	}
	var (
		x    [2][]float32
		y    [2][]int
		errs [4]error
		wg   sync.WaitGroup
	)
	for i := range 2 {
		wg.Go(func() { x[i], errs[2*i] = readIDXData(files[2*i], &pixelScale) })
		wg.Go(func() { y[i], errs[2*i+1] = readIDXData(files[2*i+1], &byteValue) })
	}
	wg.Wait()
	if err := errors.Join(errs[:]...); err != nil {
		return nil, err
	}
	classes := idxClassNames[name]
	var sets [2]*Set
	for i := range 2 {
		if sets[i], err = idxSet(x[i], files[2*i].dims, y[i], paths[2*i+1], len(classes)); err != nil {
			return nil, err
		}
		sets[i].ClassNames = classes
	}
	if opts.Classes != nil {
		if err := sets[1].Relabel(opts.Classes); err != nil {
			return nil, err
		}
	}
	o := opts
	o.TestFraction = 0
	sp, err := o.split(sets[0])
	if err != nil {
		return nil, err
	}
	sp.Test = sets[1]
	return sp, nil
}
