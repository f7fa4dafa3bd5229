package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/descentml/descent/comm"
	"github.com/descentml/descent/explore"
	"github.com/descentml/descent/run"
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

// leaveRanks ends MPI on every rank and returns the error this rank should
// report: err on rank 0, and on the others nothing unless their error is
// their own and not rank 0's.
func leaveRanks(c *comm.Comm, err error) error {
	if !c.Distributed() {
		return err
	}
	code, msg := exitCode(err), ""
	if err != nil {
		msg = err.Error()
	}
	root, cerr := comm.BroadcastBytes(c, fmt.Appendf(nil, "%d %s", code, msg), 0)
	if cerr != nil {
		fmt.Fprintf(os.Stderr, "descent: %v: %v\n", c, errors.Join(err, cerr))
		c.Abort(1)
	}
	if err := c.Close(); err != nil {
		return err
	}
	rootCode, rootMsg, _ := strings.Cut(string(root), " ")
	switch {
	case err == nil || c.Rank() == 0:
		return err
	case rootMsg == msg || errors.Is(err, train.ErrOtherRank) || errors.Is(err, comm.ErrOtherRank):
		// Exit as rank 0 does: mpirun reports the first non-zero status.
		n, _ := strconv.Atoi(rootCode)
		return silentExit(max(n, 1))
	}
	return fmt.Errorf("%v: %w", c, err)
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

// resumeCommand is the command that continues the run in rn.
func resumeCommand(rn *run.Run) string {
	if n := rn.Ranks(); n > 1 {
		return fmt.Sprintf("mpirun -np %d descent train --resume %s", n, rn.Dir)
	}
	return "descent train --resume " + rn.Dir
}

// shared returns err on the ranks that have one and an error on the others
// if any has one (comm.Together); a single process's err as it is.
func shared(c *comm.Comm, err error, what string) error {
	if !c.Distributed() {
		return err
	}
	return comm.Together(c, err, what)
}

// fromRank0 gives every rank rank 0's *s, or its error; rank 0 passes the
// error it met making s, the others nil.
func fromRank0(c *comm.Comm, s *string, err error, what string) error {
	if err := shared(c, err, what); err != nil || !c.Distributed() {
		return err
	}
	b, err := comm.BroadcastBytes(c, []byte(*s), 0)
	if err != nil {
		return err
	}
	*s = string(b)
	return nil
}

// tuneDir makes and locks the output directory of descent tune: dir, or a
// new one under runs/ if "".
func tuneDir(dir string) (string, *run.Lock, error) {
	if dir == "" {
		var err error
		if dir, err = run.OutputDir("tune", "", explore.TuneFile); err != nil {
			return "", nil, err
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", nil, err
	}
	lock, err := run.LockDir(dir, "descent tune")
	return dir, lock, err
}
