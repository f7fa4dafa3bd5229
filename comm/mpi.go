//go:build mpi && cgo

package comm

/*
#cgo pkg-config: ompi-c
#include <stdlib.h>
#include <mpi.h>

static MPI_Comm world(void) { return MPI_COMM_WORLD; }
static MPI_Datatype dtype(int t) {
	switch (t) {
	case 0: return MPI_FLOAT;
	case 1: return MPI_DOUBLE;
	default: return MPI_BYTE;
	}
}

static int init_serialized(int *provided) {
	int err = MPI_Init_thread(NULL, NULL, MPI_THREAD_SERIALIZED, provided);
	if (err != MPI_SUCCESS) return err;
	return MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
}

static int rank_size(int *rank, int *size) {
	int err = MPI_Comm_rank(MPI_COMM_WORLD, rank);
	if (err != MPI_SUCCESS) return err;
	return MPI_Comm_size(MPI_COMM_WORLD, size);
}

static int alltoallv(void *send, int *scounts, int *sdispls, void *recv, int *rcounts, int *rdispls, int t) {
	return MPI_Alltoallv(send, scounts, sdispls, dtype(t), recv, rcounts, rdispls, dtype(t), MPI_COMM_WORLD);
}

static int allgatherv(void *buf, int *counts, int *displs, int t) {
	return MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, buf, counts, displs, dtype(t), MPI_COMM_WORLD);
}

static int bcast(void *buf, int n, int root) { return MPI_Bcast(buf, n, MPI_BYTE, root, MPI_COMM_WORLD); }
static int barrier(void) { return MPI_Barrier(MPI_COMM_WORLD); }
static int abort_world(int code) { return MPI_Abort(MPI_COMM_WORLD, code); }
*/
import "C"

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"time"
	"unsafe"
)

// Available reports whether this build can run on several processes: it
// was built with the tag mpi (and cgo).
const Available = true

// mpiError turns an MPI return code into an error with MPI's message.
func mpiError(code C.int) error {
	if code == C.MPI_SUCCESS {
		return nil
	}
	var buf [C.MPI_MAX_ERROR_STRING]C.char
	var n C.int
	if C.MPI_Error_string(code, &buf[0], &n) != C.MPI_SUCCESS {
		return fmt.Errorf("MPI error %d", int(code))
	}
	return errors.New("MPI: " + C.GoStringN(&buf[0], n))
}

// MPI is called from one OS thread only, that of the goroutine mpiInit
// starts (locked with runtime.LockOSThread): MPI_Init_thread and
// MPI_Finalize must run on the same thread, and MPI_THREAD_SERIALIZED
// promises MPI nothing more than one call at a time. Every MPI call is a
// function sent to that goroutine, and waits for it.
var calls chan func()

// onMPIThread runs f on MPI's thread and returns when it has run.
func onMPIThread(f func()) {
	done := make(chan struct{})
	calls <- func() { f(); close(done) }
	<-done
}

// mpiThread is the goroutine of every MPI call.
func mpiThread(ready chan<- error, rankSize *[2]int) {
	runtime.LockOSThread() // never unlocked: the thread ends with the process
	// Open MPI's handlers for SIGSEGV and the like would replace the Go
	// runtime's, which must see them; Go prints its own stack traces.
	if _, ok := os.LookupEnv("OMPI_MCA_opal_signal"); !ok {
		os.Setenv("OMPI_MCA_opal_signal", "")
	}
	var provided C.int
	if err := mpiError(C.init_serialized(&provided)); err != nil {
		ready <- fmt.Errorf("comm: MPI_Init_thread: %w", err)
		return
	}
	if provided < C.MPI_THREAD_SERIALIZED {
		C.abort_world(1)
		ready <- fmt.Errorf("comm: this MPI library offers thread level %d; descent needs MPI_THREAD_SERIALIZED", int(provided))
		return
	}
	var r, s C.int
	if err := mpiError(C.rank_size(&r, &s)); err != nil {
		ready <- fmt.Errorf("comm: MPI rank and size: %w", err)
		return
	}
	rankSize[0], rankSize[1] = int(r), int(s)
	ready <- nil
	for f := range calls {
		f()
	}
}

func mpiInit() (rank, size int, err error) {
	calls = make(chan func())
	ready := make(chan error)
	var rs [2]int
	go mpiThread(ready, &rs)
	if err := <-ready; err != nil {
		return 0, 0, err
	}
	return rs[0], rs[1], nil
}

func mpiFinalize() error {
	var err error
	onMPIThread(func() { err = mpiError(C.MPI_Finalize()) })
	if err != nil {
		return fmt.Errorf("comm: MPI_Finalize: %w", err)
	}
	return nil
}

// mpiAbort calls MPI_Abort on MPI's thread, or, if that thread is still
// busy in a collective call after a second (the reason to abort, often),
// on this one: MPI_Abort must stop the job even then.
func mpiAbort(code int) {
	select {
	case calls <- func() { C.abort_world(C.int(code)) }:
		time.Sleep(10 * time.Second) // MPI_Abort does not return
	case <-time.After(time.Second):
	}
	C.abort_world(C.int(code))
}

func mpiBarrier() (err error) {
	onMPIThread(func() { err = mpiError(C.barrier()) })
	return err
}

func mpiBcast(buf unsafe.Pointer, n, root int) (err error) {
	onMPIThread(func() { err = mpiError(C.bcast(buf, C.int(n), C.int(root))) })
	return err
}

// cints copies ints into C memory (cgo may not be passed Go memory holding
// Go pointers; these hold none, but C ints are 32 bits).
func cints(v []int) *C.int {
	p := (*C.int)(C.malloc(C.size_t(len(v)) * C.size_t(unsafe.Sizeof(C.int(0)))))
	s := unsafe.Slice(p, len(v))
	for i, x := range v {
		s[i] = C.int(x)
	}
	return p
}

func mpiAlltoallv(send unsafe.Pointer, scounts, sdispls []int, recv unsafe.Pointer, rcounts, rdispls []int, t dtype) error {
	a, b, c, d := cints(scounts), cints(sdispls), cints(rcounts), cints(rdispls)
	defer C.free(unsafe.Pointer(a))
	defer C.free(unsafe.Pointer(b))
	defer C.free(unsafe.Pointer(c))
	defer C.free(unsafe.Pointer(d))
	var err error
	onMPIThread(func() { err = mpiError(C.alltoallv(send, a, b, recv, c, d, C.int(t))) })
	return err
}

func mpiAllgatherv(buf unsafe.Pointer, counts, displs []int, t dtype) error {
	a, b := cints(counts), cints(displs)
	defer C.free(unsafe.Pointer(a))
	defer C.free(unsafe.Pointer(b))
	var err error
	onMPIThread(func() { err = mpiError(C.allgatherv(buf, a, b, C.int(t))) })
	return err
}
