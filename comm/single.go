//go:build !mpi || !cgo

package comm

import "unsafe"

// Available reports whether this build can run on several processes: it
// was built with the tag mpi (and cgo).
const Available = false

// The single-process build never calls these: Init returns a Comm of one
// process, whose operations return before reaching MPI.

func mpiInit() (rank, size int, err error) { panic("comm: no MPI in this build") }
func mpiFinalize() error                   { panic("comm: no MPI in this build") }
func mpiAbort(int)                         { panic("comm: no MPI in this build") }
func mpiBarrier() error                    { panic("comm: no MPI in this build") }

func mpiBcast(unsafe.Pointer, int, int) error { panic("comm: no MPI in this build") }

func mpiAlltoallv(unsafe.Pointer, []int, []int, unsafe.Pointer, []int, []int, dtype) error {
	panic("comm: no MPI in this build")
}

func mpiAllgatherv(unsafe.Pointer, []int, []int, dtype) error {
	panic("comm: no MPI in this build")
}
