package comm

import (
	"os"
	"strings"
	"testing"
)

// TestSingleIsNoOp checks that on one process, Single's or a nil *Comm,
// every collective call returns at once with what it was given.
func TestSingleIsNoOp(t *testing.T) {
	for _, c := range []*Comm{Single(), nil} {
		if c.Rank() != 0 || c.Size() != 1 || c.Distributed() || c.String() != "rank 0 of 1" {
			t.Fatalf("%v: want rank 0 of 1", c)
		}
		buf := []float64{1, 2, 3}
		if err := AllReduceSum(c, buf); err != nil || buf[0] != 1 || buf[2] != 3 {
			t.Errorf("AllReduceSum on one process = %v, %v; want [1 2 3], nil", buf, err)
		}
		if err := AllReduceMean(c, buf); err != nil || buf[1] != 2 {
			t.Errorf("AllReduceMean on one process = %v, %v; want [1 2 3], nil", buf, err)
		}
		if err := Broadcast(c, buf, 0); err != nil || buf[1] != 2 {
			t.Errorf("Broadcast on one process = %v, %v; want [1 2 3], nil", buf, err)
		}
		if b, err := BroadcastBytes(c, []byte("x"), 0); err != nil || string(b) != "x" {
			t.Errorf("BroadcastBytes on one process = %q, %v; want \"x\", nil", b, err)
		}
		if err := Agree(c, []byte("x"), "config"); err != nil {
			t.Errorf("Agree on one process = %v; want nil", err)
		}
		if any, err := AnyOf(c, true); err != nil || !any {
			t.Errorf("AnyOf(true) on one process = %v, %v; want true, nil", any, err)
		}
		if err := Together(c, os.ErrNotExist, "x"); err != os.ErrNotExist {
			t.Errorf("Together on one process = %v; want its error", err)
		}
		if v := ShareLocal(c, 7, 0); v != 7 {
			t.Errorf("ShareLocal on one process = %v; want 7", v)
		}
		if err := c.Barrier(); err != nil {
			t.Errorf("Barrier on one process = %v", err)
		}
		if err := c.Close(); err != nil {
			t.Errorf("Close on one process = %v", err)
		}
	}
}

func TestInitOutsideMPIRun(t *testing.T) {
	t.Setenv("OMPI_COMM_WORLD_SIZE", "")
	if n, _ := launchedRanks(); n != 0 {
		t.Skip("started by mpirun")
	}
	c, err := initWorld()
	if err != nil || c.Size() != 1 {
		t.Fatalf("initWorld() outside mpirun = %v, %v; want one process", c, err)
	}
}

func TestInitWithoutMPIBuild(t *testing.T) {
	if Available {
		t.Skip("built with MPI")
	}
	t.Setenv("OMPI_COMM_WORLD_SIZE", "4")
	_, err := initWorld()
	if err == nil || !strings.Contains(err.Error(), "-tags mpi") {
		t.Fatalf("initWorld() as rank of 4 without MPI = %v; want an error saying how to build with MPI", err)
	}
}

func TestChunks(t *testing.T) {
	for _, n := range []int{0, 1, 2, 5, 7, 100, 1001} {
		for size := 1; size <= 5; size++ {
			next := 0
			for r := range size {
				lo, hi := chunk(n, r, size)
				if lo != next || hi < lo || hi-lo > n/size+1 || hi-lo < n/size {
					t.Fatalf("chunk(%d, %d, %d) = %d, %d; want a start of %d and a size of %d or %d", n, r, size, lo, hi, next, n/size, n/size+1)
				}
				next = hi
			}
			if next != n {
				t.Fatalf("chunks of %d over %d end at %d", n, size, next)
			}
		}
	}
}

func TestSumChunksInOrder(t *testing.T) {
	// 1 + 1e-16 + (−1) in that order is 0 in float64; another order is not.
	src := []float64{1, 2, 1e-16, 0, -1, -2}
	dst := make([]float64, 2)
	sumChunks(dst, src, 3)
	if dst[0] != 0 || dst[1] != 0 {
		t.Errorf("sumChunks(%v, 3) = %v; want [0 0] (rank order)", src, dst)
	}
}

func TestLaunchedRanksPMIx(t *testing.T) {
	for _, name := range []string{"OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_RANK", "PMI_SIZE", "PMI_RANK", "SLURM_STEP_NUM_TASKS", "SLURM_NTASKS"} {
		t.Setenv(name, "")
		os.Unsetenv(name)
	}
	t.Setenv("PMIX_RANK", "0")
	t.Setenv("SLURM_NTASKS", "1")
	if n, r := launchedRanks(); n != 1 || r != 0 {
		t.Errorf("launchedRanks() under srun -n 1 = %d, %d; want 1, 0", n, r)
	}
	if c, err := initWorld(); err != nil || c.Size() != 1 {
		t.Errorf("initWorld() under srun -n 1 = %v, %v; want one process", c, err)
	}
	t.Setenv("SLURM_NTASKS", "5")
	if n, _ := launchedRanks(); n != 5 {
		t.Errorf("launchedRanks() under srun -n 5 = %d; want 5", n)
	}
	os.Unsetenv("SLURM_NTASKS")
	t.Setenv("PMIX_RANK", "3")
	if n, r := launchedRanks(); n != -1 || r != 3 {
		t.Errorf("launchedRanks() with PMIX_RANK alone = %d, %d; want -1 (unknown), 3", n, r)
	}
	if !Available {
		_, err := initWorld()
		if err == nil || !strings.Contains(err.Error(), "rank 3 of an MPI job") {
			t.Errorf("initWorld() as PMIx rank 3 without MPI = %v; want an error naming the rank", err)
		}
	}
}
