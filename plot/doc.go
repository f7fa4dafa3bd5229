// Package plot draws descent's figures with gonum/plot: plain data in, a
// PNG or GIF image out, written to an io.Writer.
//
//   - [Lines]: named series against a shared x — loss, accuracy or learning
//     rate per epoch; optimizers overlaid with a mean ± std band over seeds
//     ([MeanStd] computes both); loss against learning rate on a log x axis
//     with a [Marker] at the suggested rate.
//   - [Contour]: contour lines of a function of two variables over a
//     rectangle, with optimizer paths on top, their starts and ends, and
//     the minima.
//   - [PathsGIF]: the same figure animated, the paths drawn step by step
//     over contours drawn once.
//   - [Heatmap]: a value over a grid of categories, such as validation
//     error over learning rate × weight decay, with the value printed in
//     each cell; several panels side by side share one colour scale.
//
// The package knows nothing of models or optimizers. Non-finite values are
// skipped (and on a log axis, values ≤ 0 too); a series or path with
// nothing left to draw is an error that names it. A figure never panics:
// where gonum/plot would, the drawing function returns an error, as it
// does for a nil writer.
//
// The same input always gives the same bytes: figures use gonum/plot's
// built-in fonts and a fixed palette, and a GIF's palette is built in a
// fixed order.
package plot
