// Package data provides descent's datasets: labelled examples for
// classification, read from files or embedded, split for training,
// validation and testing, standardised, shuffled and cut into batches.
// It imports nothing else of descent.
//
// # Sets
//
// A [Set] holds n examples in memory: their features as float32, row-major
// (X), their labels as class indices (Y), the shape of one example ([1 28 28]
// for a grey image, channels first; [d] for a row of a table) and, where
// known, class and feature names. Callers who keep their examples elsewhere
// implement the small [Dataset] interface instead.
//
// # Loading
//
// [Load] is the single entry point (the command's --data flag): it takes a
// spec, "digits", "mnist", "fashion-mnist" or "csv:PATH", and [Options], and
// returns [Splits]:
//
//	dataset        train   validation  test   features
//	digits          1374          153   270   8×8 pixels, embedded ([Digits])
//	mnist          54000         6000 10000   28×28 pixels, IDX files
//	fashion-mnist  54000         6000 10000   28×28 pixels, IDX files
//	csv:PATH        75%          10%    15%   the file's numeric columns
//
// (the counts are those of [DefaultOptions]). MNIST and Fashion-MNIST come
// with a test split, their t10k files; digits and CSV files do not, so
// TestFraction of them is held out with a fixed seed, the same whatever
// Options.Seed, so that test scores stay comparable. ValFraction of what is
// left is held out for validation with Options.Seed. Both splits are
// stratified: each class is divided in the same proportion.
//
// The IDX files of mnist and fashion-mnist (train-images-idx3-ubyte,
// train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte,
// each plain or gzipped) are looked for in Options.Dir or else
// $DESCENT_DATA, in the subdirectory named after the dataset and then
// directly; Fashion-MNIST is also found where Debian's dataset-fashion-mnist
// package installs it. A missing file is an error naming it and every place
// looked in; a truncated or corrupt file is an error naming it and the
// problem. [LoadIDX], [LoadCSV] and [ReadCSV] read single files.
//
// # Normalisation
//
// Pixels are scaled to [0, 1] as they are read (digits' counts 0..16 divided
// by 16, IDX bytes by 255). Load then standardises the features with a
// [Normalizer] fitted on the training split alone and applied to all three:
// one mean and standard deviation over all pixels for images ([FitGlobal],
// as PyTorch users write Normalize((0.1307,), (0.3081,)) for MNIST), one per
// column for CSV files ([FitPerFeature]; a constant column is centred, not
// divided by zero). Splits.Norm keeps it: save it with a model, and pass it
// back as Options.Norm to prepare new data the same way.
//
// # Batches
//
// An epoch visits the training examples in the order [Permute] gives, a pure
// function of (seed, epoch), so a run that stopped at batch k of an epoch
// resumes exactly from (seed, epoch, k) with no generator state saved.
// [Batches] cuts that order into batches (the last one shorter, or dropped),
// and [Gather] copies a batch's features, as float32 or float64, and labels
// into buffers the caller reuses: a training step allocates nothing here.
//
// # Text
//
// Language models read a [Text] instead: a corpus encoded as token ids by a
// [Vocab] (one token per character, or the 256 bytes) and split by
// position into train, validation and test parts. [LoadText] takes "text"
// (the embedded [DefaultCorpus], Newton's Opticks), "text:PATH" (any UTF-8
// file) or "kjv" (the King James Bible from Debian's bible-kjv, [KJV]).
// [Windows] draws batches of random windows of ctx tokens and their
// next-token targets; the k-th window is a pure function of (seed, k), so
// its only state is [Windows.Position], saved with a checkpoint and restored
// with [Windows.Seek]. Save the Vocab with the model ([Vocab.WriteTo],
// [ReadVocab]) and pass it back as TextOptions.Vocab to encode new text the
// same way:
//
//	tx, err := data.LoadText("kjv", data.DefaultTextOptions())
//	win, err := data.NewWindows(tx.Train, ctx, seed)
//	win.Seek(savedPosition) // when resuming
//	x, y := make([]int, batch*ctx), make([]int, batch*ctx)
//	for step := … {
//		win.Next(x, y) // x: [batch, ctx] ids; y: the next token of each
//		data.Tokens(input, x)
//		…
//	}
package data
