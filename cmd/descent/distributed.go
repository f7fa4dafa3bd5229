package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"runtime"
	"strconv"
	"strings"
	"sync"

	"github.com/descentml/descent/comm"
	"github.com/descentml/descent/tensor"
	"github.com/descentml/descent/train"
)

// Data-parallel training: `mpirun -np N descent train …` (a build with
// -tags mpi), or `descent train --replicas N`, N ranks as goroutines of
// one process (comm.Local), each on one core. Every rank parses the same
// flags and opens the run with run.Options.Comm; rank 0 alone writes the
// run's files and the output. Every error of the run is shared by the
// ranks (packages run and train see to it), so each rank ends (under
// mpirun, with MPI_Finalize), and the error is printed once: by rank 0,
// and by another rank only if it differs from rank 0's (that rank's own
// failure).

// replicasFlag defines --replicas: how a run runs, like --threads, not
// what it trains (config.json records the ranks, but a run may be resumed
// with another number).
func replicasFlag(fs *flag.FlagSet) *int {
	return fs.Int("replicas", 1, "train data-parallel on `N` replicas of the model in this process, one core each, as mpirun -np N does (to the same bits)")
}

// onRanks runs body, the command cmd, on every rank of the run and returns
// the command's error: on the processes mpirun started (joinRanks,
// leaveRanks), or, with replicas above 1, on as many goroutines of this
// process (inProcess). It sets the kernels' threads first: threads, or one
// per replica. body gets its rank's Comm and the writers of its output.
func onRanks(cmd string, replicas, threads int, stdout, stderr io.Writer, body func(c *comm.Comm, stdout, stderr io.Writer) error) error {
	console := stderr // the process's own, for the error every rank ends with
	c, stdout, stderr, err := joinRanks(stdout, stderr)
	if err != nil {
		return err
	}
	err = checkReplicas(c, replicas, threads)
	if err != nil || replicas == 1 {
		if err == nil {
			tensor.SetThreads(threads)
			err = body(c, stdout, stderr)
		}
		return leaveRanks(c, err, cmd, console)
	}
	if p := runtime.GOMAXPROCS(0); replicas > p {
		fmt.Fprintf(stderr, "warning: --replicas %d on %s (GOMAXPROCS): the replicas will take turns; the results do not change\n", replicas, plural(p, "core"))
	}
	tensor.SetThreads(1)
	return inProcess(comm.Local(replicas), cmd, stdout, stderr, body)
}

// checkReplicas checks --replicas n, with --threads threads, on the ranks
// of c (mpirun's, if several).
func checkReplicas(c *comm.Comm, n, threads int) error {
	switch {
	case n < 1:
		return fmt.Errorf("--replicas %d: must be at least 1", n)
	case n == 1:
		return nil
	case threads != 0 && threads != 1:
		return fmt.Errorf("--replicas %d --threads %d: each replica runs on one thread; leave out --threads, or give 1", n, threads)
	case c.Distributed():
		return fmt.Errorf("--replicas %d under mpirun (%d ranks): run either N processes under mpirun or N replicas in one process, not both", n, c.Size())
	}
	return nil
}

// inProcess runs body on every rank of cs, the ranks of comm.Local, each on
// its own goroutine, with the writers of the command's output for rank 0
// and none for the others, and returns the command's error as leaveRanks
// ends an MPI run: rank 0's error, and another rank's only if it is its
// own.
func inProcess(cs []*comm.Comm, cmd string, stdout, stderr io.Writer, body func(c *comm.Comm, stdout, stderr io.Writer) error) error {
	errs := make([]error, len(cs))
	var wg sync.WaitGroup
	for r, c := range cs {
		out, e := stdout, stderr
		if r > 0 {
			out, e = io.Discard, io.Discard
		}
		wg.Go(func() { errs[r] = body(c, out, e) })
	}
	wg.Wait()
	var own []error // the other ranks' errors that are not rank 0's
	for r, err := range errs[1:] {
		if err != nil && (errs[0] == nil || !echoes(err, errs[0].Error())) {
			own = append(own, fmt.Errorf("%v: %w", cs[r+1], err))
		}
	}
	if len(own) == 0 {
		return errs[0]
	}
	code := exitWith(stderr, cmd, errs[0])
	for _, err := range own {
		code = max(code, exitWith(stderr, cmd, err))
	}
	return silentExit(code)
}

// echoes reports whether err, the error of a rank other than 0, says no
// more than rank 0's error, whose message is root: it is the same, or says
// that another rank failed.
func echoes(err error, root string) bool {
	return err.Error() == root || errors.Is(err, train.ErrOtherRank) || errors.Is(err, comm.ErrOtherRank)
}

// joinRanks starts the processes of the run (comm.Init) and returns the
// writers this rank's output goes to: the command's for rank 0 and a single
// process, none for the others.
func joinRanks(stdout, stderr io.Writer) (*comm.Comm, io.Writer, io.Writer, error) {
	c, err := comm.Init()
	if err != nil {
		return nil, nil, nil, &exitError{2, err}
	}
	if c.Rank() != 0 {
		return c, io.Discard, io.Discard, nil
	}
	return c, stdout, stderr, nil
}

// leaveRanks ends MPI on every rank and prints the error of the command
// named cmd to stderr, the process's own: rank 0 prints its error, and
// another rank only an error of its own that is not rank 0's. Every rank
// has printed before any leaves, since mpirun stops the job, and with it a
// rank still printing, as soon as one process exits with a non-zero
// status. The error returned carries only the exit status. On a single
// process it returns err as it is, for the command to print.
func leaveRanks(c *comm.Comm, err error, cmd string, stderr io.Writer) error {
	if !c.Distributed() {
		return err
	}
	code, msg := exitCode(err), ""
	if err != nil {
		msg = err.Error()
	}
	root, cerr := comm.BroadcastBytes(c, fmt.Appendf(nil, "%d %s", code, msg), 0)
	if cerr != nil {
		fmt.Fprintf(stderr, "descent: %v: %v\n", c, errors.Join(err, cerr))
		c.Abort(1)
	}
	rootCode, rootMsg, _ := strings.Cut(string(root), " ")
	switch {
	case err == nil:
	case c.Rank() == 0:
		code = exitWith(stderr, cmd, err)
	case echoes(err, rootMsg):
		// Exit as rank 0 does: mpirun reports the first non-zero status.
		n, _ := strconv.Atoi(rootCode)
		code = max(n, 1)
	default:
		code = exitWith(stderr, cmd, fmt.Errorf("%v: %w", c, err))
	}
	berr := c.Barrier()
	if err := errors.Join(berr, c.Close()); err != nil {
		fmt.Fprintf(stderr, "descent %s: %v: %v\n", cmd, c, err)
		return silentExit(max(code, 1))
	}
	if code == 0 {
		return nil
	}
	return silentExit(code)
}

// exitCode is the status the command exits with after err.
func exitCode(err error) int {
	var ee *exitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		return ee.code
	case errors.Is(err, errUsage):
		return 2
	}
	return 1
}

// silentExit is an exit status with nothing to print: another rank has
// said why.
type silentExit int

func (e silentExit) Error() string { return fmt.Sprintf("exit status %d", int(e)) }
