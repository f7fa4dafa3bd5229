// Command descent trains models with gradient-based optimizers and shows how
// the optimizers behave.
//
//	descent train        train a model (default: an MLP with batch norm, AdamW, the embedded digits)
//	descent eval         evaluate a trained model on a dataset
//	descent sample       generate text from a trained language model
//	descent compare      train several optimizers side by side
//	descent landscape    run optimizers on 2-D test functions and draw their paths
//	descent lr-find      find a learning rate with a range test
//	descent tune         search hyperparameters
//
// Run "descent help COMMAND" or "descent COMMAND -h" for a command's flags. The command is a thin
// layer over the library: everything it does, a Go program can do with the
// packages run, recipe, optim/spec, explore, landscape, tune, train, optim,
// schedule, data, nn and plot.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"sort"
	"strings"
)

// version is set by the linker for releases (-ldflags "-X main.version=v1.2.3");
// otherwise it comes from the module's build information.
var version = ""

type command struct {
	summary string
	run     func(args []string, stdout, stderr io.Writer) error
}

var commands = map[string]command{
	"train":  {"train a model", runTrain},
	"eval":   {"evaluate a trained model on a dataset", runEval},
	"sample": {"generate text from a trained language model", runSample},

	"compare":   {"train several optimizers on the same model, data and seeds", runCompare},
	"landscape": {"run optimizers on 2-D test functions and draw their paths", runLandscape},
	"lr-find":   {"find a learning rate with a range test", runLRFind},
	"serve":     {"a live web view of runs, comparisons, landscapes and searches", runServe},
	"tune":      {"search hyperparameters, in parallel and resumably", runTune},
}

// errUsage marks an error already explained by a usage message.
var errUsage = errors.New("usage")

// exitError carries a specific exit status.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func main() {
	os.Exit(dispatch(os.Args[1:], os.Stdout, os.Stderr))
}

func dispatch(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	switch args[0] {
	case "help":
		if len(args) > 1 { // descent help COMMAND: the command's own help
			cmd, ok := commands[args[1]]
			if !ok {
				fmt.Fprintf(stderr, "descent help: unknown command %q (valid: %s)\n", args[1], strings.Join(commandNames(), ", "))
				return 2
			}
			return exitWith(stderr, args[1], cmd.run([]string{"-h"}, stdout, stderr))
		}
		usage(stdout)
		return 0
	case "-h", "-help", "--help":
		usage(stdout)
		return 0
	case "-version", "--version", "version":
		fmt.Fprintln(stdout, "descent", versionString())
		return 0
	}
	cmd, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "descent: unknown command %q (valid: %s)\n", args[0], strings.Join(commandNames(), ", "))
		return 2
	}
	return exitWith(stderr, args[0], cmd.run(args[1:], stdout, stderr))
}

// exitWith prints what the command named cmd ended with, if anything, and
// returns its exit status.
func exitWith(stderr io.Writer, cmd string, err error) int {
	var ee *exitError
	var silent silentExit
	switch {
	case err == nil:
		return 0
	case errors.As(err, &silent):
		return int(silent)
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		return 2
	case errors.As(err, &ee):
		fmt.Fprintf(stderr, "descent %s: %v\n", cmd, ee.err)
		return ee.code
	default:
		fmt.Fprintf(stderr, "descent %s: %v\n", cmd, err)
		return 1
	}
}

func commandNames() []string {
	var names []string
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func usage(w io.Writer) {
	fmt.Fprint(w, "descent trains models with gradient-based optimizers and shows how they behave.\n\nUsage:\n\n  descent COMMAND [flags]\n\nCommands:\n\n")
	for _, n := range commandNames() {
		fmt.Fprintf(w, "  %-10s %s\n", n, commands[n].summary)
	}
	fmt.Fprint(w, "\nRun \"descent help COMMAND\" or \"descent COMMAND -h\" for a command's flags, \"descent --version\" for the version.\n")
}

func versionString() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		v := bi.Main.Version
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				v += " (" + s.Value[:12] + ")"
			}
		}
		return v + " " + bi.GoVersion
	}
	return "(unknown)"
}

// newFlagSet returns a flag set that reports errors instead of exiting.
// Its help lists its flags but for those of "descent train" that the
// command does not take (notTaken).
func newFlagSet(name, synopsis, about string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: descent %s %s\n\n%s\n\nFlags:\n\n", name, synopsis, about)
		printTakenDefaults(fs)
	}
	return fs
}

// parseFlags parses args, turning a flag error into errUsage (the flag
// package has already printed it with the usage, to stderr). Help asked for
// with -h goes to stdout. A flag of "descent train" that the command does
// not take (notTaken) is an error that says why.
func parseFlags(fs *flag.FlagSet, args []string, stdout, stderr io.Writer) error {
	fs.SetOutput(stderr)
	for _, a := range args {
		if a == "-h" || a == "-help" || a == "--help" || a == "--h" {
			fs.SetOutput(stdout)
		}
		if a == "--" {
			break
		}
	}
	if err := refuseUndefined(fs, args); err != nil {
		return err
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(fs.Output(), "descent %s: unexpected argument %q (flags start with -)\n", fs.Name(), fs.Arg(0))
		return errUsage
	}
	return refuseUntaken(fs)
}
