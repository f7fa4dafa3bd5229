//go:build mpi && cgo

package tune

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/descentml/descent/comm"
	"github.com/descentml/descent/internal/commtest"
)

// The tests in this file run on every rank of
//
//	go test -tags mpi -c -o tune.test ./tune
//	mpirun --oversubscribe -np 3 ./tune.test -test.run Distributed
//
// and on one process under plain go test -tags mpi.

var world *comm.Comm

func TestMain(m *testing.M) { commtest.Main(m, &world) }

// TestDistributedSearch runs each method on every rank and checks that
// every rank returns the single-process report, that the journal (rank
// 0's) records each trial once, and that a search stopped on the last rank
// after its second trial resumes to the same report without repeating a
// trial.
func TestDistributedSearch(t *testing.T) {
	for _, m := range []Method{Random{Trials: 10}, Halving{Configs: 9, MinBudget: 1, MaxBudget: 9}} {
		t.Run(m.String(), func(t *testing.T) {
			single := Search{Space: bowlSpace(t), Method: m, Seed: 3, Workers: 1, Budget: 5}
			want, err := single.Run(context.Background(), bowl)
			if err != nil {
				t.Fatal(err)
			}
			s := single
			s.Comm, s.Journal = world, filepath.Join(t.TempDir(), "journal") // rank 0's is written
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			runs := 0
			stopping := func(ctx context.Context, tr Trial) (Outcome, error) {
				if runs++; runs == 2 && world.Rank() == world.Size()-1 {
					cancel()
					return Outcome{}, ctx.Err()
				}
				return bowl(ctx, tr)
			}
			_, err = s.Run(ctx, stopping)
			if world.Distributed() && !errors.Is(err, context.Canceled) && !errors.Is(err, comm.ErrOtherRank) {
				t.Fatalf("%v: a search stopped on the last rank: %v; want it stopped", world, err)
			}
			got, err := s.Run(context.Background(), bowl)
			if err != nil {
				t.Fatal(err)
			}
			if g, w := reportJSON(t, got), reportJSON(t, want); g != w {
				t.Errorf("%v: report\n%s\nwant the single process's\n%s", world, g, w)
			}
			if world.Rank() == 0 {
				b, err := os.ReadFile(s.Journal)
				if err != nil {
					t.Fatal(err)
				}
				if lines := bytes.Count(b, []byte("\n")); lines != 1+len(want.Trials) {
					t.Errorf("the journal has %d lines; want the header and %d trials, each once", lines, len(want.Trials))
				}
			}
		})
	}
}

// TestDistributedSlowTrial gives the first trial of a random search a long
// objective and the others a short one, and checks that the ranks that do
// not run it take the other trials meanwhile (in waves of N trials, the
// rank running it would take every N-th trial as well), and that every
// rank still returns the single process's report.
func TestDistributedSlowTrial(t *testing.T) {
	if !world.Distributed() {
		t.Skip("needs several ranks")
	}
	m := Random{Trials: 12}
	single := Search{Space: bowlSpace(t), Method: m, Seed: 3, Workers: 1, Budget: 5}
	want, err := single.Run(context.Background(), bowl)
	if err != nil {
		t.Fatal(err)
	}
	s := single
	s.Comm = world
	ran := 0 // trials on this rank
	slow := false
	got, err := s.Run(context.Background(), func(ctx context.Context, tr Trial) (Outcome, error) {
		ran++
		d := 10 * time.Millisecond
		if tr.ID == 0 {
			slow, d = true, 3*time.Second // long enough for the other trials on a loaded machine
		}
		time.Sleep(d)
		return bowl(ctx, tr)
	})
	if err != nil {
		t.Fatal(err)
	}
	if g, w := reportJSON(t, got), reportJSON(t, want); g != w {
		t.Errorf("%v: report\n%s\nwant the single process's\n%s", world, g, w)
	}
	counts := make([]float64, world.Size())
	counts[world.Rank()] = float64(ran)
	if slow {
		counts[world.Rank()] += 1000
	}
	if err := comm.AllReduceSum(world, counts); err != nil {
		t.Fatal(err)
	}
	for k, n := range counts {
		if n >= 1000 && n != 1001 {
			t.Errorf("rank %d ran the slow trial and %v others; want none: the other ranks take them meanwhile (trials per rank %v)", k, n-1001, counts)
		}
	}
	t.Logf("trials per rank (1000 + those of the rank with the slow trial): %v", counts)
}
