// Package commtest runs a package's tests on every rank of mpirun:
//
//	go test -tags mpi -c -o pkg.test ./pkg
//	mpirun --oversubscribe -np 3 ./pkg.test -test.run Distributed
//
// and on one process under plain go test -tags mpi; and (OnLocal) runs a
// function on the ranks of comm.Local, goroutines of the test's process.
package commtest

import (
	"fmt"
	"os"
	"testing"

	"github.com/descentml/descent/comm"
)

// Main is a TestMain: it starts the ranks (comm.Init), sets *world, runs
// the tests and exits. A rank whose tests fail aborts the job, since the
// other ranks may be waiting for it in a collective call.
func Main(m *testing.M, world **comm.Comm) {
	c, err := comm.Init()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	*world = c
	code := m.Run()
	if code != 0 {
		c.Abort(code)
	}
	if err := c.Close(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	os.Exit(code)
}
