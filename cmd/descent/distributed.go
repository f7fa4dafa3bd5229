package main

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/descentml/descent/comm"
	"github.com/descentml/descent/train"
)

// Data-parallel training: `mpirun -np N descent train …` (a build with
// -tags mpi). Every rank parses the same flags and opens the run with
// run.Options.Comm; rank 0 alone writes the run's files and the output.
// Every error of the run is shared by the ranks (packages run and train
// see to it), so each rank ends with MPI_Finalize, and the error is printed
// once: by rank 0, and by another rank only if it differs from rank 0's
// (that rank's own failure).

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
	case rootMsg == msg || errors.Is(err, train.ErrOtherRank) || errors.Is(err, comm.ErrOtherRank):
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
