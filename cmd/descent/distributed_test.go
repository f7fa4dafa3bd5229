package main

import (
	"os"
	"strings"
)

// onRank reports whether the DESCENT_TEST_SIGNAL spec "NAME:step[:rank]"
// is for this process: any, or the MPI rank it names.
func onRank(spec string) bool {
	parts := strings.Split(spec, ":")
	return len(parts) < 3 || parts[2] == os.Getenv("OMPI_COMM_WORLD_RANK")
}
