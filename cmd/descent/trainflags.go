package main

import (
	"flag"
	"fmt"
	"strings"

	"github.com/descentml/descent/optim/spec"
)

// untaken is a flag of "descent train", or a group of them, that a command
// taking the others does not take, and why.
type untaken struct {
	flags []string // their names, without "--"
	hyper bool     // instead of flags: the optimizer's hyperparameters (spec.Flags)
	why   string
}

// notTaken are, for each command that takes the flags of "descent train",
// those it does not take, and why: it takes every other, with train's
// meaning. Its help says so (notTakenDoc); of those it defines all the
// same (recipe.AddFlags defines the recipe's), its help leaves them out
// (newFlagSet) and parseFlags refuses them, with the reason
// (TestTakesTrainFlags).
var notTaken = map[string][]untaken{
	"compare": {
		{hyper: true, why: "give them in each --opt"},
		{flags: []string{"to-adamw", "to-muon"}, why: "Muon's routing, which the other optimizers would refuse"},
		{flags: []string{"resume"}, why: "a comparison is not resumed: run it again"},
		{flags: []string{"replicas"}, why: "compare trains whole runs in parallel instead (--workers)"},
		{flags: []string{"sync-bn"}, why: "each run trains in one process, on one replica: there are no ranks whose batch norm to synchronise"},
		{flags: []string{"tensorboard"}, why: "compare writes no run directories, only compare.json and its figures"},
	},
	"lr-find": {
		{flags: []string{"lr", "epochs", "schedule", "warmup", "schedule-unit"}, why: "the test sets the rate, from --min-lr to --max-lr over --steps batches"},
		{flags: []string{"patience", "eval-every", "average"}, why: "the test evaluates and saves no model: it records the training loss of every step"},
		{flags: []string{"quiet"}, why: "the test prints no progress, only its result"},
		{flags: []string{"resume"}, why: "a range test is not resumed: run it again"},
		{flags: []string{"replicas"}, why: "the test trains one model, in this process"},
		{flags: []string{"sync-bn"}, why: "the test trains one model, in this process: there are no ranks whose batch norm to synchronise"},
		{flags: []string{"tensorboard"}, why: "the test writes no run directory, only lr-find.json and lr-find.png"},
	},
	"tune": {
		{flags: []string{"resume"}, why: "a search continues with the same command and --out DIR"},
		{flags: []string{"replicas"}, why: "tune trains whole trials in parallel instead (--workers; one a rank under mpirun)"},
		{flags: []string{"sync-bn"}, why: "each trial trains in one process, on one replica: there are no ranks whose batch norm to synchronise"},
		{flags: []string{"tensorboard"}, why: "the trials write no run directories, only the search's tune-journal.jsonl, tune.json and tune.png"},
	},
}

// names writes the flags as a help names them.
func (u untaken) names() string {
	if u.hyper {
		return "the optimizer's hyperparameters (--lr, --wd, …)"
	}
	return "--" + strings.Join(u.flags, ", --")
}

// notTakenDoc says which flags of "descent train" the command cmd takes.
func notTakenDoc(cmd string) string {
	var b strings.Builder
	b.WriteString(`The other flags are those of "descent train", with its meanings, but for:`)
	for _, u := range notTaken[cmd] {
		fmt.Fprintf(&b, "\n  %s: %s", u.names(), u.why)
	}
	return b.String()
}

// untakenFlags returns the flags of "descent train" that the command cmd
// does not take, each with why.
func untakenFlags(cmd string) map[string]string {
	why := map[string]string{}
	for _, u := range notTaken[cmd] {
		names := u.flags
		if u.hyper {
			names = nil
			for _, k := range spec.Flags() {
				names = append(names, k.Name)
			}
		}
		for _, n := range names {
			why[n] = u.why
		}
	}
	return why
}

// printTakenDefaults prints the defaults of fs's flags as PrintDefaults
// does, but for those of "descent train" that its command does not take.
func printTakenDefaults(fs *flag.FlagSet) {
	skip := untakenFlags(fs.Name())
	shown := flag.NewFlagSet(fs.Name(), flag.ContinueOnError)
	shown.SetOutput(fs.Output())
	fs.VisitAll(func(fl *flag.Flag) {
		if _, ok := skip[fl.Name]; !ok {
			shown.Var(fl.Value, fl.Name, fl.Usage)
			shown.Lookup(fl.Name).DefValue = fl.DefValue
		}
	})
	shown.PrintDefaults()
}

// refuseUntaken returns an error for the first flag given on fs that its
// command does not take, saying why.
func refuseUntaken(fs *flag.FlagSet) error {
	skip := untakenFlags(fs.Name())
	var err error
	fs.Visit(func(fl *flag.Flag) {
		if why, ok := skip[fl.Name]; ok && err == nil {
			err = fmt.Errorf("--%s does not apply: %s", fl.Name, why)
		}
	})
	return err
}

// refuseUndefined returns, for the first flag in args that fs does not
// define but that "descent train" has and fs's command does not take, the
// error refuseUntaken gives one it defines, with the reason: not the flag
// package's "flag provided but not defined".
func refuseUndefined(fs *flag.FlagSet, args []string) error {
	skip := untakenFlags(fs.Name())
	for _, a := range args {
		if a == "--" {
			break
		}
		if !strings.HasPrefix(a, "-") {
			continue
		}
		name, _, _ := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if why, ok := skip[name]; ok && fs.Lookup(name) == nil {
			return fmt.Errorf("--%s does not apply: %s", name, why)
		}
	}
	return nil
}
