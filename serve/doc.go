// Package serve is descent's web view: a read-only HTTP handler that shows
// the run, compare, AdamW-vs-L2, landscape, lr-find and tune directories
// under the directories it is given, with live curves while runs train.
//
// A Server scans its directories on every request for the list (a run that
// appears while it serves is listed within a poll), tells each directory's
// kind by the files descent writes into it (metrics.jsonl, compare.json,
// landscape.json, ...) and a run's status by what the directory holds (see
// Status). The page, its script and the chart library (uPlot, vendored under
// static/uplot with its licence) are embedded in the binary, so the view
// works offline and needs no build step. uPlot is 51 KB minified with no
// dependencies, draws on a canvas, and has log axes, bands and uPlot.join
// (overlaid runs' series on different x values) built in; Chart.js is
// about four times larger and needs plugins for bands. The page polls the server twice a
// second (polling rather than server-sent events: nothing to hold open per
// page, and a server restarted under an open page is picked up again), so
// a point appended to metrics.jsonl shows within a second or so.
//
// Every file is read through an os.Root opened on one of the given
// directories: a path with "..", an absolute path, or a symbolic link that
// leads outside the directory is refused, whatever its encoding in the URL.
// Only regular files and directories are read: a symbolic link, a FIFO, a
// device or a socket is neither listed nor opened (a FIFO opened to read
// would hold the request until something wrote to it). Only GET and HEAD
// are answered; nothing is ever written, and the locks that descent's
// commands hold on their directories are read without being taken.
//
// The command "descent serve" binds the handler to 127.0.0.1:6006 unless
// told otherwise.
package serve
