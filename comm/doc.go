// Package comm moves buffers between the processes of a distributed run:
// rank, size, all-reduce, broadcast and barrier over MPI, or between the
// goroutines of one process that stand for them ([Local]; there, also
// [ShareLocal], one value read by every rank). It knows no model and no
// optimizer; package train builds data-parallel training on it.
//
// # Builds
//
// MPI comes in through cgo behind the build tag mpi (Open MPI from Debian's
// libopenmpi-dev, found with pkg-config ompi-c):
//
//	go build -tags mpi ./cmd/descent
//	mpirun -np 4 descent train …
//
// Without the tag, descent stays pure Go and [Init] returns the single
// process communicator, in which every operation is a no-op; a nil *Comm
// is that single process too, for every method and function. A build with
// the tag that is not started by mpirun (no OMPI_COMM_WORLD_SIZE or
// PMIX_RANK in the environment) is a single process too and never calls
// MPI. A build without the tag that finds itself started as one of several
// ranks returns an error that says how to build with MPI, rather than
// running N copies of the same job.
//
// # Exact reductions
//
// MPI's own MPI_Allreduce picks its algorithm (and so the order of the
// additions) from the message size and the number of ranks, and may give
// different ranks results that differ in the last bit. [AllReduceSum] does
// the arithmetic itself, in an order fixed by the rank numbers alone:
//
//  1. the buffer is cut into Size chunks, chunk r of ⌊n·r/N⌋ … ⌊n·(r+1)/N⌋;
//  2. MPI_Alltoallv sends chunk r of every rank to rank r (data movement
//     only);
//  3. rank r adds the N copies of its chunk in rank order,
//     ((x₀ + x₁) + x₂) + …, in the element type;
//  4. MPI_Allgatherv copies every reduced chunk to every rank.
//
// This is the reduce-scatter then all-gather of a ring all-reduce, so each
// rank sends and receives 2·(N−1)/N of the buffer, the bandwidth optimum;
// every rank ends with the same bytes, and two runs with the same N give
// the same bytes whatever MPI's transport.
//
// # Errors
//
// MPI errors are returned (MPI_ERRORS_RETURN), with MPI's message. A rank
// that exits or dies makes mpirun stop the job. After an error that only
// some ranks see, the others may be blocked in a collective: a program
// should then call [Comm.Abort], not [Comm.Close], which would wait for them.
package comm
